"""`tfkit tune` and `tfkit.tune`: a search over a pipeline config's settings on the taxi rides that resumes after an
interruption and exports the best trial's settings; and the [tune] section's errors, each naming its fix."""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import tfkit
from feature_columns import embedding_dim_search_space
from tfkit import cli
from tfkit.config import load_config
from tfkit.search_space import TUNE_OPTIONS
from tfkit.tuning import trial_config

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
# A quick taxi model: the day-hour cross (168 values) embedded, the distance and the passenger count; 3,000 rides.
CONFIG = """
[data]
dir = "{data}"
train = "taxifare/taxi-train.csv"
eval = "taxifare/taxi-valid.csv"
label = "fare_amount"
max_rows = 3000

[columns.dayofweek]
type = "identity"
num_buckets = 7

[columns.hourofday]
type = "identity"
num_buckets = 24

[columns.day_hour]
type = "crossed"
keys = ["dayofweek", "hourofday"]
num_bins = 168

[columns.day_hour_embedding]
type = "embedding"
categorical_column = "day_hour"

[columns.distance]
type = "distance"
keys = ["pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude"]
clip = [0.0, 1.0]
normalization = "zscore"

[columns.passenger_count]
type = "numeric"
normalization = "zscore"

[model]
features = ["day_hour_embedding", "distance", "passenger_count"]
hidden_units = [16]

[training]
model_dir = "{tmp}/model"
epochs = 1
batch_size = 256
learning_rate = 0.01
seed = 7

[export]
dir = "{tmp}/exports"

[tune]
max_trials = 4
objective = "rmse"
seed = 3
{tune}
[tune.space]
{space}
"""
SPACE = """
"model.hidden_units" = {choices = [[16], [32, 16]]}
"model.dropout" = {min = 0.0, max = 0.2, step = 0.1}
"columns.day_hour_embedding.dimension" = "auto"
"""


def _config(tmp_path, data_dir, space: str = SPACE, tune: str = "") -> str:
    path = tmp_path / "tune.toml"
    path.write_text(CONFIG.format(data=os.path.dirname(data_dir), tmp=tmp_path, space=space, tune=tune))
    return str(path)


def _rows(tmp_path) -> list:
    with open(tmp_path / "model" / "tuning" / "trials.csv") as file:
        return list(csv.DictReader(file))


class _InterruptTheThirdTrial(keras.callbacks.Callback):
    """Ctrl-C in the middle of the third trial's first epoch (a KeyboardInterrupt, which KerasTuner lets through)."""

    def __init__(self):
        super().__init__()
        self.trainings = 0

    def on_train_begin(self, logs=None):
        self.trainings += 1

    def on_train_batch_end(self, batch, logs=None):
        if self.trainings == 3:
            raise KeyboardInterrupt


def test_an_interrupted_search_resumes_and_exports_the_best_trial(taxi_dir, tmp_path, capsys):
    path = _config(tmp_path, taxi_dir)
    with pytest.raises(KeyboardInterrupt):
        tfkit.tune(path, callbacks=[_InterruptTheThirdTrial()])
    assert [row["status"] for row in _rows(tmp_path)] == ["COMPLETED", "COMPLETED"]
    tuning = tmp_path / "model" / "tuning"
    interrupted = json.loads((tuning / "trial_2" / "trial.json").read_text())["hyperparameters"]["values"]
    assert not (tuning / "trial_2" / "trained.json").exists()

    # The same command again: the interrupted trial runs again with its settings, then one more, then the best.
    assert cli.main(["tune", path]) == 0
    out = capsys.readouterr().out
    rows = _rows(tmp_path)
    assert [(row["trial_id"], row["status"]) for row in rows] == [(str(i), "COMPLETED") for i in range(4)]
    assert json.loads((tuning / "trial_2" / "trial.json").read_text())["hyperparameters"]["values"] == interrupted
    low, high = embedding_dim_search_space(168)  # (2, 5) around the fourth-root rule's 4
    assert {int(row["columns.day_hour_embedding.dimension"]) for row in rows} <= set(range(low, high + 1))
    assert {row["model.hidden_units"] for row in rows} <= {"[16]", "[32, 16]"}
    assert (tuning / "objective.png").stat().st_size > 0

    # The best trial is the lowest validation RMSE; retrained with its (seeded) settings, the model scores the same.
    best = min(rows, key=lambda row: float(row["rmse"]))
    assert float(best["objective"]) == float(best["rmse"])
    assert f"best trial: {best['trial_id']} " in out
    assert json.loads((tuning / "best.json").read_text())["trial_id"] == best["trial_id"]
    exports = tmp_path / "exports"
    (version,) = os.listdir(exports)
    assert f"exported: {exports / version}" in out
    serve = tf.saved_model.load(str(exports / version)).signatures["serving_default"]
    valid = pd.read_csv(os.path.join(taxi_dir, "taxi-valid.csv"), nrows=3000)
    inputs = {
        key: tf.constant(valid[key].to_numpy(np.int64 if key in ("dayofweek", "hourofday") else np.float32))
        for key in ("dayofweek", "hourofday", "passenger_count", "pickup_longitude", "pickup_latitude",
                    "dropoff_longitude", "dropoff_latitude")
    }  # fmt: skip
    predictions = serve(**inputs)["predictions"].numpy().reshape(-1)
    rmse = float(np.sqrt(np.mean((predictions - valid["fare_amount"].to_numpy()) ** 2)))
    assert rmse == pytest.approx(float(best["rmse"]), rel=1e-3)
    assert all(rmse <= float(row["rmse"]) * (1 + 1e-3) for row in rows)


def test_a_trial_config_rebuilds_the_columns_that_refer_to_a_changed_one(taxi_dir, tmp_path):
    config = load_config(_config(tmp_path, taxi_dir))
    trial = trial_config(config, {"columns.day_hour.num_bins": 100, "model.dropout": 0.1}, str(tmp_path / "t"))
    embedding = trial.columns["day_hour_embedding"]
    assert embedding.categorical_column.num_buckets == 100 and embedding.categorical_column is trial.columns["day_hour"]
    assert (trial.model_params["dropout"], trial.training["model_dir"]) == (0.1, str(tmp_path / "t"))
    assert config.columns["day_hour"].num_buckets == 168 and "dropout" not in config.model_params  # unchanged


@pytest.mark.parametrize(
    ("space", "tune", "message"),
    [
        (
            '"model.hiden_units" = {choices = [[8]]}',
            "",
            r"\[tune\]\.space: 'model.hiden_units' must name a setting of this config: \"model.KEY\" \[.*"
            r"'hidden_units'.*Fix the name",
        ),
        ('"columns.day_hour.num_bin" = {min = 8, max = 64}', "", r"\{'columns.day_hour.KEY': \[.*'num_bins'"),
        ('"model.type" = {choices = ["linear"]}', "", r"'model.type' must name a setting of this config"),
        (
            '"model.dropout" = {min = 0.3, max = 0.1}',
            "",
            r"the range of 'model.dropout' must not be empty: `min` must be less than `max`. Received: min=0.3, "
            r"max=0.1. Swap them",
        ),
        ('"model.dropout" = {choices = []}', "", r"'model.dropout' must have a non-empty list of `choices`"),
        (
            '"model.dropout" = "auto"',
            "",
            r"\"auto\" must be given only to an embedding column's dimension .* Received: 'model.dropout' = \"auto\". "
            r"Give a range or choices instead",
        ),
        ('"columns.day_hour.num_bins" = "auto"', "", r"\"auto\" must be given only to an embedding column's"),
        ('"training.learning_rate" = {min = 0.0, max = 0.1, sampling = "log"}', "", r"a log scale needs min > 0"),
        ('"model.dropout" = [0.1, 0.2]', "", r"'model.dropout' must be a table \{choices = \[...\]\}"),
        (SPACE, 'algorithm = "hyperband"', r"\['max_trials'\] must not be set with algorithm='hyperband'"),
        (SPACE, 'direction = "up"', r"`direction` must be one of \['min', 'max'\]"),
        (SPACE, "zz_unknown = 1", r"\[tune\] has unknown option\(s\) \['zz_unknown'\]"),
    ],
)
def test_a_wrong_search_space_is_refused_when_the_config_loads(taxi_dir, tmp_path, space, tune, message):
    with pytest.raises(ValueError, match=message) as error:
        load_config(_config(tmp_path, taxi_dir, space=space, tune=tune))
    assert str(error.value).startswith(str(tmp_path / "tune.toml"))


def test_tune_refuses_what_it_cannot_run_before_training(taxi_dir, tmp_path):
    path = _config(tmp_path, taxi_dir)
    with pytest.raises(ValueError, match=r"'units' = \"auto\" needs a config's embedding column.*embedding_dim_search"):
        tfkit.tune(lambda settings, model_dir: None, {"units": "auto"}, model_dir=tmp_path, train_data={}, eval_data={})
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['max_trial'\]"):
        tfkit.tune(path, max_trial=3)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"`model_dir` must be empty, new, or one an earlier search used"):
        tfkit.tune(path)
    (tmp_path / "model" / "notes.txt").unlink()
    (tmp_path / "model" / "tuning").mkdir()
    (tmp_path / "model" / "tuning" / "search.json").write_text('{"objective": "loss"}')
    with pytest.raises(ValueError, match=r"must be resumed with the same \['algorithm', 'direction', 'factor'"):
        tfkit.tune(path)
    assert os.listdir(tmp_path / "model" / "tuning") == ["search.json"]  # nothing trained


def test_the_taxi_example_config_has_a_search():
    config = load_config(os.path.join(ROOT, "examples", "taxifare", "config.toml"))
    assert config.tune["objective"] == "rmse" and config.eval is not None and config.training["model_dir"]
    assert "columns.trip_embedding.dimension" in config.tune["space"]


def test_the_reference_documents_exactly_the_tune_keys():
    with open(os.path.join(ROOT, "docs", "config.md")) as file:
        text = file.read().split("## [tune]", 1)[1].split("###", 1)[0]
    assert sorted(line.split("`")[1] for line in text.splitlines() if line.startswith("| `")) == sorted(TUNE_OPTIONS)


def test_tune_help_imports_no_tensorflow():
    program = (
        "import sys\nfrom tfkit.cli import main\n"
        "try:\n    main(['tune', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'tensorflow', 'keras', 'keras_tuner'}))"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.startswith("usage: tfkit tune [-h]") and done.stdout.splitlines()[-1] == "[]"
