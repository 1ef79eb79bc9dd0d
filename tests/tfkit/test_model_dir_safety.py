"""model_dir and export safety, column checks failing while a `tf.data` input streams, and true progress counts.

Every refused run must leave the model_dir and the export folder byte for byte as they were: `_hashes` covers
every file and folder under them.
"""

import json
import os
import re

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from snapshots import tree_hashes

import feature_columns as fc
from tfkit import Estimator, heads
from tfkit.config import load_config
from tfkit.pipeline import train as train_pipeline

HIDDEN = {"hidden_units": [4]}


def _frame(rows=64):
    x = np.linspace(0.0, 1.0, rows)
    return pd.DataFrame({"x": x, "s": np.where(np.arange(rows) % 2, "a", "b"), "y": 2 * x})


def _estimator(model_dir, **overrides):
    options = {
        "feature_columns": [fc.NumericColumn("x"), fc.EmbeddingColumn(fc.VocabularyColumn("s", ["a", "b"]), 2)],
        "head": "regression",
        "label": "y",
        "model_params": HIDDEN,
        "model_dir": str(model_dir),
        "steps_per_execution": 1,
        "seed": 0,
    }
    options.update(overrides)
    return Estimator(options.pop("feature_columns"), options.pop("head"), **options)


# -- foreign files ------------------------------------------------------------------------------------------


def test_a_model_dir_holding_files_tfkit_did_not_write_is_refused_unless_told_to_overwrite(tmp_path):
    model_dir = tmp_path / "model"
    (model_dir / "backup").mkdir(parents=True)
    (model_dir / "backup" / "latest.weights.h5").write_bytes(b"another model's checkpoint")
    (model_dir / "model.weights.h5").write_bytes(b"another model's weights")
    (model_dir / "notes.txt").write_text("keep me")
    before = tree_hashes(model_dir)

    estimator = _estimator(model_dir)  # creating one writes nothing, so it may look
    message = (
        f"Estimator.train: model_dir '{model_dir}' holds files tfkit did not write: "
        "['backup', 'model.weights.h5', 'notes.txt'] (and no estimator.json, so no Estimator trained there). "
        "Pass an empty or new model_dir, or train with `overwrite=True`"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        estimator.train(_frame(), verbose=0)
    assert tree_hashes(model_dir) == before
    with pytest.raises(TypeError, match=r"`overwrite` must be True or False. Received: overwrite='yes'"):
        estimator.train(_frame(), verbose=0, overwrite="yes")
    assert tree_hashes(model_dir) == before

    # Told to overwrite: tfkit's names are replaced (the foreign backup is not resumed from), the rest stays.
    estimator.train(_frame(), epochs=2, batch_size=16, verbose=0, overwrite=True)
    assert len(estimator.history["loss"]) == 2  # both epochs ran: nothing was restored from the foreign backup
    assert (model_dir / "notes.txt").read_text() == "keep me"
    assert sorted(os.listdir(model_dir)) == [
        "distribution.json", "estimator.json", "logs", "model.weights.h5", "notes.txt"
    ]  # fmt: skip
    restored = _estimator(model_dir)
    assert restored.trained
    np.testing.assert_allclose(
        restored.predict_batch(_frame())["predictions"], estimator.predict_batch(_frame())["predictions"], atol=1e-6
    )
    # Its own model_dir now: training again needs no `overwrite`, even with notes.txt beside it.
    restored.train(_frame(), verbose=0)


def test_an_estimator_json_tfkit_did_not_write_is_refused(tmp_path):
    (tmp_path / "estimator.json").write_text('{"name": "something else"}')
    before = tree_hashes(tmp_path)
    with pytest.raises(ValueError, match=r"holds an estimator.json that tfkit did not write .* Use another model_dir"):
        _estimator(tmp_path)
    assert tree_hashes(tmp_path) == before


# -- exports ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A trained model_dir and an export base holding version 1 of its model."""
    root = tmp_path_factory.mktemp("exported")
    estimator = _estimator(root / "model").train(_frame(), verbose=0)
    estimator.export_saved_model(str(root / "export"))
    return root


@pytest.mark.parametrize(
    ("inside", "message"),
    [
        ("export/1", r"inside the SavedModel '{root}/export/1' \(it holds saved_model.pb\)"),
        ("export/1/variables", r"inside the SavedModel '{root}/export/1' \(it holds saved_model.pb\)"),
        ("export", r"inside the export base '{root}/export' \(it holds the exported versions \[1\]\)"),
        ("export/new_model", r"inside the export base '{root}/export' \(it holds the exported versions \[1\]\)"),
    ],
)
def test_a_model_dir_inside_an_export_is_refused(exported, inside, message):
    before = tree_hashes(exported)
    model_dir = exported / inside
    expected = (
        rf"Estimator: `model_dir` must be a folder outside any export. Received: model_dir='{model_dir}', "
        + message.format(root=exported)
        + r"\. An Estimator writes estimator.json, model.weights.h5, logs/ and eval/ in its model_dir"
    )
    with pytest.raises(ValueError, match=expected):
        _estimator(model_dir)
    assert tree_hashes(exported) == before


def test_a_model_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "model").write_text("a file")
    with pytest.raises(ValueError, match=r"`model_dir` must be a folder. Received: model_dir='.*model', a file."):
        _estimator(tmp_path / "model")


def test_an_export_base_around_the_model_dir_is_refused(exported):
    estimator = _estimator(exported / "model")
    before = tree_hashes(exported)
    for base in (exported / "model", exported):
        with pytest.raises(ValueError, match=r"`export_dir_base` must not be the model_dir or a folder above it"):
            estimator.export_saved_model(str(base))
        assert tree_hashes(exported) == before
    # Inside the model_dir is fine (tf.estimator's `model_dir/export`), and the model_dir still opens.
    path = estimator.export_saved_model(str(exported / "model" / "export"))
    assert path == str(exported / "model" / "export" / "1")
    assert _estimator(exported / "model").trained


# -- a different model -----------------------------------------------------------------------------------------


def test_a_model_dir_written_before_a_column_argument_existed_still_opens(tmp_path):
    # A model_dir from before `missing_value` existed: its estimator.json lacks the key, which means the default.
    _estimator(tmp_path).train(_frame(), verbose=0)
    path = tmp_path / "estimator.json"

    def without_missing_value(value):
        if isinstance(value, dict):
            return {k: without_missing_value(v) for k, v in value.items() if k != "missing_value"}
        return [without_missing_value(v) for v in value] if isinstance(value, list) else value

    assert '"missing_value"' in path.read_text()
    path.write_text(json.dumps(without_missing_value(json.loads(path.read_text()))))
    assert "missing_value" not in path.read_text()
    assert _estimator(tmp_path).trained  # the same model: restored, not refused


def test_a_different_model_says_which_parts_differ(tmp_path):
    _estimator(tmp_path).train(_frame(), verbose=0)
    before = tree_hashes(tmp_path)
    with pytest.raises(ValueError) as error:
        _estimator(
            tmp_path,
            feature_columns=[
                fc.NumericColumn("x", normalization="zscore"),
                fc.EmbeddingColumn(fc.VocabularyColumn("s", ["a", "b", "c"]), 3),
                fc.NumericColumn("z"),
            ],
            head=heads.RegressionHead(weight_column="w"),
            model_params={"hidden_units": [8, 4]},
            label="fare",
        )
    lines = str(error.value).splitlines()
    assert lines[0] == (
        f"Estimator: model_dir '{tmp_path}' holds checkpoints of a different model. Its estimator.json differs "
        "from this Estimator in:"
    )
    # Columns by name first (added, then the changed settings of each), then head, builder parameters, label.
    assert lines[1:-1] == [
        "  feature_columns: added ['z']",
        "  feature_columns['x'].normalization: saved None, now 'zscore'",
        "  feature_columns['s_embedding'].categorical_column.vocabulary: saved ['a', 'b'], now ['a', 'b', 'c']",
        "  feature_columns['s_embedding'].dimension: saved 2, now 3",
        "  head.weight_column: saved None, now 'w'",
        "  model_params.hidden_units: saved [4], now [8, 4]",
        "  label: saved 'y', now 'fare'",
    ]
    assert lines[-1] == "Use a new model_dir, or delete the old one to start over."

    with pytest.raises(ValueError) as error:
        _estimator(tmp_path, feature_columns=[fc.NumericColumn("x")], head="binary", model="linear", model_params={})
    assert str(error.value).splitlines()[1:-1] == [
        "  feature_columns: removed ['s_embedding']",
        "  head: saved RegressionHead, now BinaryHead",
        "  model: saved 'dnn', now 'linear'",
        "  model_params.hidden_units: saved [4], now (absent)",
    ]
    assert tree_hashes(tmp_path) == before


# -- every named input, before training --------------------------------------------------------------------------

CONFIG = """
[data]
dir = "{data}"
train = "train.csv"
eval = "{eval}"
test = "{test}"
label = "y"

[columns.x]
type = "numeric"

[model]
type = "linear"
head = "binary"
features = ["x"]

[training]
model_dir = "{model_dir}"

[export]
dir = "{export_dir}"
"""


def _write_csv(path, labels, column="x"):
    path.write_text(f"{column},y\n" + "".join(f"{i / 10},{label}\n" for i, label in enumerate(labels)))


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ("test", r"missing.csv"),
        ("test", r"'x'"),  # a file without the feature column
        ("test", r"\[data\] test: the labels in column 'y' do not fit the head"),  # label 2 for a binary head
        ("eval", r"Estimator.train\(validation_data\): the labels in column 'y' do not fit the head"),
    ],
)
def test_every_named_input_is_checked_before_training(tmp_path, split, message):
    _write_csv(tmp_path / "train.csv", [0, 1] * 8)
    _write_csv(tmp_path / "good.csv", [0, 1] * 4)
    _write_csv(tmp_path / "no_x.csv", [0, 1] * 4, column="w")
    _write_csv(tmp_path / "label_2.csv", [0, 1, 2, 1])
    bad = {r"missing.csv": "missing.csv", r"'x'": "no_x.csv"}.get(message, "label_2.csv")
    files = {"eval": "good.csv", "test": "good.csv", split: bad}
    (tmp_path / "model").mkdir()
    (tmp_path / "export").mkdir()
    path = tmp_path / "pipeline.toml"
    path.write_text(CONFIG.format(data=tmp_path, model_dir=tmp_path / "model", export_dir=tmp_path / "export", **files))
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        train_pipeline(load_config(str(path), environ={}), verbose=0)
    assert tree_hashes(tmp_path / "model") == {} and tree_hashes(tmp_path / "export") == {}  # nothing written


def test_an_export_dir_around_the_model_dir_is_refused_before_training(tmp_path):
    _write_csv(tmp_path / "train.csv", [0, 1] * 8)
    path = tmp_path / "pipeline.toml"
    files = {"eval": "train.csv", "test": "train.csv"}
    path.write_text(CONFIG.format(data=tmp_path, model_dir=tmp_path / "model", export_dir=tmp_path, **files))
    before = tree_hashes(tmp_path)
    with pytest.raises(ValueError, match=r"\[export\] dir: `export_dir_base` must not be the model_dir or a folder"):
        train_pipeline(load_config(str(path), environ={}), verbose=0)
    assert tree_hashes(tmp_path) == before


# -- a column's check failing inside a tf.data input ------------------------------------------------------------


def _hours(values):
    features = {"hour": np.array(values, np.int64)}
    return tf.data.Dataset.from_tensor_slices((features, np.ones(len(values), np.float32))).batch(8)


HOUR_CHECK = (
    "IdentityColumn('hour'): raw feature 'hour' must hold ids in [0, 24). Give the column a `default_value` to map "
    "other ids to one bucket, or fix the data. Received: [30]"
)


def test_a_column_check_failing_in_a_tf_data_input_is_a_clear_error_and_keeps_the_checkpoints(tmp_path):
    columns = [fc.IndicatorColumn(fc.IdentityColumn("hour", num_buckets=24))]
    estimator = Estimator(
        columns, "regression", label="y", model_dir=str(tmp_path), model_params=HIDDEN, steps_per_execution=1,
        save_checkpoints_steps=4,
    )  # fmt: skip
    # 16 batches of 8: the last row of the last batch holds hour 30, so steps 1-15 run and the checkpoint of
    # step 12 (every 4 steps) is on disk when step 16 fails.
    hours = [h % 24 for h in range(127)] + [30]
    with pytest.raises(ValueError) as error:
        estimator.train(_hours(hours), verbose=0)
    lines = str(error.value).splitlines()
    assert lines == [
        f"Estimator.train: {HOUR_CHECK}",
        f"The last checkpoint, written before the failing batch, stays in '{tmp_path / 'backup'}': fix the data and "
        "train again to resume from it.",
    ]
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert sorted(os.listdir(tmp_path / "backup")) == ["latest.weights.h5", "training_metadata.json"]

    # Once trained on good data, evaluate and predict report the same check the same way.
    estimator.train(_hours([h % 24 for h in range(128)]), verbose=0)
    for where, call in [
        ("evaluate", lambda: estimator.evaluate(_hours([1, 2, 30]))),
        ("predict", lambda: estimator.predict_batch(_hours([1, 2, 30]).map(lambda x, y: x))),
    ]:
        with pytest.raises(ValueError, match=re.escape(f"Estimator.{where}: {HOUR_CHECK}")):
            call()


# -- the progress bar --------------------------------------------------------------------------------------------

# Keras's progress bar prints "<current>/<target>" in bold (ANSI escapes) on each update.
PROGRESS = re.compile(r"\x1b\[1m\s*(\d+)/(\d+)\x1b\[0m")


@pytest.mark.parametrize(
    ("rows", "counts"),
    [
        # 224 rows in batches of 8: 28 steps per epoch, run as one block of steps_per_execution=32. Each epoch
        # prints its first update and its final one: 28/28 both times (Keras's own bar printed 32/28 first).
        (224, [(28, 28)] * 4),
        # 320 rows: 40 steps, blocks of 32 ending at steps 32 and 40 (not 64). The update at 40 prints only if
        # 50 ms passed since the one at 32, so the list is checked below rather than spelled out.
        (320, None),
    ],
)
def test_the_progress_bar_counts_the_steps_that_ran(capsys, rows, counts):
    frame = pd.DataFrame({"x": np.arange(rows) / rows, "y": np.arange(rows) / rows})
    estimator = Estimator([fc.NumericColumn("x")], "regression", label="y", model_params=HIDDEN)
    assert estimator.steps_per_execution == 32
    capsys.readouterr()
    estimator.train(frame, epochs=2, batch_size=8, verbose=1)
    printed = [(int(current), int(target)) for current, target in PROGRESS.findall(capsys.readouterr().out)]
    if counts is not None:
        assert printed == counts
    else:
        assert set(printed) <= {(32, 40), (40, 40)} and printed[0] == (32, 40) and printed[-1] == (40, 40)
        assert printed.count((32, 40)) == 2  # the first update of each epoch always prints
