"""The `tfkit` command starts fast and quietly: `--help`, `<command> --help` and `--version` import no TensorFlow,
and commands hide TensorFlow's own log lines unless `--verbose` follows the command.

Each case runs in a fresh interpreter, which reports on its last stderr line the modules it imported and the
logging settings it was left with: what is checked is what was imported, never how long it took."""

import configparser
import importlib.metadata
import json
import logging
import os
import re
import subprocess
import sys

import pytest

import tfkit

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
HEAVY = ("tensorflow", "keras", "feature_columns")
REPORT = """
import json, logging, os, sys
sys.argv = {argv!r}
try:
    {run}
finally:
    print(json.dumps({{
        "heavy": sorted(name for name in sys.modules if name.split(".")[0] in {heavy!r}),
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
        "tensorflow_logger": logging.getLogger("tensorflow").level,
    }}), file=sys.stderr)
"""
# TensorFlow's C++ log lines ("I0000 00:00:1796401172.189523   30080 cpu_feature_guard.cc:227] ...") and the
# notices seen in `tfkit train` runs before the CLI hid them.
TF_LOG_LINE = re.compile(r"^[IW]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.]+:\d+\]")
NOISE = ("absl::InitializeLog", "cpu_feature_guard", "oneDNN", "Ignoring Assert operator", "XLA", "rebuild TensorFlow")

CONFIG = """
[data]
dir = "{data}"
train = "rides.csv"
test = "rides.csv"
label = "fare"

[columns.x]
type = "numeric"

[columns.hour]
type = "identity"
num_buckets = 24

[columns.hour_embedding]
type = "embedding"
categorical_column = "hour"
dimension = 2

[model]
features = ["x", "hour_embedding"]
hidden_units = [4]

[training]
model_dir = "{data}/model"
jit_compile = true   # XLA logs its own notices: they must be hidden too

[export]
dir = "{data}/exports"
"""


def _console_script() -> str:
    """The `tfkit` console script as setup.cfg declares it: `"module:function"`."""
    setup = configparser.ConfigParser()
    setup.read(os.path.join(ROOT, "setup.cfg"))
    scripts = setup["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict(line.replace(" ", "").split("=") for line in scripts)["tfkit"]


def _tfkit(*argv, environ=None, module=False):
    """Runs the `tfkit` console script (or `python -m tfkit.cli` when `module`) with `argv` in a fresh
    interpreter whose environment lacks TF_CPP_MIN_LOG_LEVEL (which tests/conftest.py sets) unless `environ` adds
    it. Returns the exit code, stdout, stderr without the report, and the report."""
    if module:
        run = "import runpy; runpy.run_module('tfkit.cli', run_name='__main__')"
    else:
        name, function = _console_script().split(":")
        run = f"from {name} import {function}; sys.exit({function}())"
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(environ or {})
    program = REPORT.format(argv=["tfkit", *argv], run=run, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=ROOT)
    *stderr, report = done.stderr.splitlines()
    return done.returncode, done.stdout, "\n".join(stderr), json.loads(report)


def test_the_tested_entry_point_is_the_installed_one():
    (installed,) = importlib.metadata.entry_points(group="console_scripts", name="tfkit")
    assert installed.value == _console_script() == "tfkit.cli:main"


@pytest.mark.parametrize(
    ("argv", "first_line"),
    [
        (["--help"], "usage: tfkit [-h] [--version] {train,tune,evaluate,predict,export,serve} ..."),
        (["tune", "--help"], "usage: tfkit tune [-h] [--data-dir DATA_DIR] [--model-dir MODEL_DIR]"),
        (["--version"], "tfkit 0.1.0"),
        (["train", "--help"], "usage: tfkit train [-h] [--data-dir DATA_DIR] [--model-dir MODEL_DIR]"),
        (["evaluate", "--help"], "usage: tfkit evaluate [-h] [--data-dir DATA_DIR] [--model-dir MODEL_DIR]"),
        (["predict", "--help"], "usage: tfkit predict [-h] [--data-dir DATA_DIR] [--model-dir MODEL_DIR]"),
        (["export", "--help"], "usage: tfkit export [-h] [--data-dir DATA_DIR] [--model-dir MODEL_DIR]"),
        (["serve", "--help"], "usage: tfkit serve [-h] --model_base_path MODEL_BASE_PATH"),
    ],
)
def test_help_and_version_import_no_tensorflow(argv, first_line):
    code, out, err, report = _tfkit(*argv)
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith(first_line)
    assert report["heavy"] == [], f"`tfkit {' '.join(argv)}` imported {report['heavy'][:5]}..."


def test_python_m_tfkit_cli_help_imports_no_tensorflow():
    code, out, _, report = _tfkit("train", "--help", module=True)
    assert code == 0 and "--verbose" in out and report["heavy"] == []


def test_import_tfkit_defers_tensorflow_until_a_public_name_is_used():
    program = (
        "import sys, tfkit\n"
        f"print([name for name in sys.modules if name.split('.')[0] in {HEAVY!r}])\n"
        "print(sorted(set(tfkit.__all__) - set(dir(tfkit))))"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.splitlines() == ["[]", "[]"]  # nothing heavy imported, every public name listed by dir()
    # Here TensorFlow is loaded already: the names resolve to the objects of their modules.
    from tfkit import Estimator

    assert Estimator.__module__ == "tfkit.estimator.estimator" and tfkit.heads.BinaryHead is tfkit.BinaryHead
    with pytest.raises(AttributeError, match="module 'tfkit' has no attribute 'Estimater'"):
        tfkit.Estimater  # noqa: B018


def _rides(tmp_path) -> str:
    rows = [f"{2 + i % 7},{i % 5 / 10},{i % 24}" for i in range(32)]
    (tmp_path / "rides.csv").write_text("fare,x,hour\n" + "\n".join(rows) + "\n")
    path = tmp_path / "pipeline.toml"
    path.write_text(CONFIG.format(data=tmp_path))
    return str(path)


def test_train_hides_tensorflow_log_lines(tmp_path):
    code, out, err, report = _tfkit("train", _rides(tmp_path))
    assert code == 0 and "test: " in out and f"exported: {tmp_path / 'exports' / '1'}" in out
    noise = [line for line in err.splitlines() if TF_LOG_LINE.match(line) or any(word in line for word in NOISE)]
    assert noise == []
    # WARNING and INFO lines of TensorFlow's C++ core are off, its errors stay; so for its Python loggers.
    assert (report["TF_CPP_MIN_LOG_LEVEL"], report["tensorflow_logger"]) == ("2", logging.ERROR)


@pytest.mark.parametrize(
    ("flags", "environ", "level", "logger"),
    [
        (["--verbose"], {}, None, logging.NOTSET),  # TensorFlow logs as it would without tfkit
        ([], {"TF_CPP_MIN_LOG_LEVEL": "1"}, "1", logging.ERROR),  # a level the user chose is kept
    ],
)
def test_verbose_and_a_user_log_level_leave_tensorflow_logging_alone(tmp_path, flags, environ, level, logger):
    code, _, err, report = _tfkit("export", str(tmp_path / "missing.toml"), *flags, environ=environ)
    assert code == 2 and "missing.toml' does not exist" in err
    assert (report["TF_CPP_MIN_LOG_LEVEL"], report["tensorflow_logger"]) == (level, logger)
