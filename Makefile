# Two commands do all the set-up on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test lint doctest clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[cpu,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/taxifare/run.py

lint: $(STAMP)
	$(BIN)/ruff check .

doctest: $(STAMP)
	$(BIN)/python -m pytest --doctest-modules -q tfkit feature_columns

test: lint doctest
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs build *.egg-info
