# Two commands do all the set-up on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test lint doctest bench bench-env clean

# The exact versions come from constraints.txt; setup.cfg holds the library's compatible ranges.
# tensorflow-serving-api (TF Serving's protos, for `tfkit serve`'s gRPC API) goes in with --no-deps: its wheel asks
# for the `tensorflow` distribution, which must not sit beside tensorflow-cpu; its real needs come from setup.cfg.
$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[cpu,dev]"
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt tensorflow-serving-api
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/taxifare/run.py

lint: $(STAMP)
	$(BIN)/ruff check .

doctest: $(STAMP)
	$(BIN)/python -m pytest --doctest-modules -q tfkit feature_columns

# One pytest worker per core (xdist): most of the suite's time is single-threaded Python (tracing, building).
test: lint doctest
	$(BIN)/python -m pytest -q -n auto --dist worksteal

# The performance benchmark (bench/__main__.py): tfkit against hand-written Keras and tf.estimator.
ESTIMATOR_VENV := .venv-estimator
ESTIMATOR_STAMP := $(ESTIMATOR_VENV)/.installed

$(ESTIMATOR_STAMP): bench/requirements-estimator.txt
	test -x $(ESTIMATOR_VENV)/bin/python || $(PYTHON) -m venv $(ESTIMATOR_VENV)
	$(ESTIMATOR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(ESTIMATOR_VENV)/bin/python -m pip install --quiet -r bench/requirements-estimator.txt
	touch $(ESTIMATOR_STAMP)

bench-env: $(STAMP) $(ESTIMATOR_STAMP)

bench: bench-env
	$(BIN)/python -m bench --out runs/bench/results.json

clean:
	rm -rf $(VENV) $(ESTIMATOR_VENV) runs build *.egg-info
