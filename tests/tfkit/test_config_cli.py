"""TOML pipeline configs and the `tfkit` command: parsing, clear errors, nothing corrupted on failure."""

import os
import subprocess
import sys

import pytest

import feature_columns as fc
import tfkit
from tfkit.cli import main
from tfkit.config import load_config

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.join(ROOT, "examples", "taxifare", "config.toml")

SMALL = """
[data]
dir = "{data}"
train = "rides.csv"
test = "rides.csv"
label = "fare"

[columns.distance]
type = "distance"
keys = ["x0", "y0", "x1", "y1"]

[columns.hour]
type = "identity"
num_buckets = 24

[columns.hour_embedding]
type = "embedding"
categorical_column = "hour"
dimension = 2

[model]
features = ["distance", "hour_embedding"]
hidden_units = [8]

[training]
model_dir = "{model_dir}"
epochs = 1

[export]
dir = "{export_dir}"
"""


def _write_rides(folder, rows=64, bad_row=None):
    lines = ["fare,x0,y0,x1,y1,hour"]
    for i in range(rows):
        x0 = "oops" if i == bad_row else str(i % 5 / 10)
        lines.append(f"{2 + i % 7},{x0},0.1,0.3,0.4,{i % 24}")
    (folder / "rides.csv").write_text("\n".join(lines) + "\n")


def _config(tmp_path, **replace):
    text = SMALL.format(data=tmp_path, model_dir=tmp_path / "model", export_dir=tmp_path / "exports")
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    return str(path)


def test_example_config_builds_the_course_columns():
    config = load_config(EXAMPLE, environ={})
    trip = config.columns["trip"]
    assert isinstance(trip, fc.CrossedColumn) and trip.num_bins == 256
    assert [k.name for k in trip.keys] == ["pickup_lat", "pickup_lon", "dropoff_lat", "dropoff_lon"]
    assert config.columns["day_hour_embedding"].resolved_dimension == 4  # 168 ** 0.25 = 3.6 -> 4
    assert config.data_dir == os.path.join("..", "shared", "data")
    assert load_config(EXAMPLE, environ={"TFKIT_DATA": "/data"}).data_path("train") == "/data/taxifare/taxi-train.csv"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('type = "distance"', 'type = "geo"', r"\[columns.distance\] `type` must be one of"),
        (
            "num_buckets = 24",
            "num_buckets = 24\nbins = 3",
            r"\[columns.hour\] \(identity\) has unknown option\(s\) \['bins'\]",
        ),
        ('"hour_embedding"]', '"hour_embedding", "nope"]', r"names undefined column\(s\) \['nope'\]"),
        ("epochs = 1", "epochs = 1\nepoch = 2", r"\[training\] has unknown option\(s\) \['epoch'\]"),
        ('label = "fare"', "", r"\[data\] needs `label`"),
        ("dimension = 2", "dimension = -2", r"\[columns.hour_embedding\] .*`dimension` must be a positive integer"),
    ],
)
def test_config_errors_name_the_file_and_option(tmp_path, old, new, message):
    path = _config(tmp_path, **{old: new})
    with pytest.raises((ValueError, TypeError), match=message):
        load_config(path)


def test_cli_trains_evaluates_and_exports(tmp_path, capsys):
    _write_rides(tmp_path)
    assert main(["train", _config(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "test: " in out and "rmse=" in out
    assert f"exported: {tmp_path / 'exports' / '1'}" in out
    assert (tmp_path / "model" / "estimator.json").exists()


def test_cli_column_missing_from_csv_fails_cleanly(tmp_path, capsys):
    _write_rides(tmp_path)
    code = main(["train", _config(tmp_path, **{'"y1"]': '"y2"]'})])
    err = capsys.readouterr().err
    assert code == 2 and "rides.csv: column(s) ['y2'] are not in the file" in err and "Traceback" not in err
    assert not (tmp_path / "model").exists() and not (tmp_path / "exports").exists()


def test_cli_non_numeric_value_names_file_column_and_line(tmp_path, capsys):
    _write_rides(tmp_path, bad_row=10)
    code = main(["train", _config(tmp_path)])
    err = capsys.readouterr().err
    # data row 10 is line 12 of the file: the header is line 1, row 0 is line 2
    assert code == 2 and "rides.csv: feature 'x0' must be numeric (float32), but line 12 holds 'oops'" in err
    assert not (tmp_path / "model").exists() and not (tmp_path / "exports").exists()


def test_cli_failure_leaves_an_existing_model_dir_untouched(tmp_path, capsys):
    _write_rides(tmp_path)
    assert main(["train", _config(tmp_path)]) == 0
    snapshot = {p: os.path.getmtime(p) for p in (tmp_path / "model").rglob("*") if p.is_file()}
    _write_rides(tmp_path, bad_row=3)
    assert main(["train", _config(tmp_path)]) == 2
    assert snapshot == {p: os.path.getmtime(p) for p in (tmp_path / "model").rglob("*") if p.is_file()}
    assert os.listdir(tmp_path / "exports") == ["1"]


def test_version_flag():
    result = subprocess.run(
        [sys.executable, "-m", "tfkit.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"tfkit {tfkit.__version__}"
