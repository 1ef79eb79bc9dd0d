"""Estimator: train / evaluate / predict, model_dir restore, and errors that leave model_dir intact."""

import json
import os

import numpy as np
import pandas as pd
import pytest

import feature_columns as fc
from tfkit import Estimator
from tfkit.models import split


def _frame(rows=512, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, rows)
    city = rng.choice(["a", "b", "c"], rows)
    y = 3 * x + np.select([city == "a", city == "b"], [1.0, -1.0], 0.0)
    return pd.DataFrame({"x": x, "city": city, "y": y})


COLUMNS = [fc.NumericColumn("x", normalization="zscore"), fc.EmbeddingColumn(fc.HashedColumn("city", 16), dimension=2)]


def _estimator(model_dir=None, **kwargs):
    kwargs.setdefault("model_params", {"hidden_units": [16, 8]})
    return Estimator(COLUMNS, "regression", label="y", model_dir=model_dir, learning_rate=0.01, seed=0, **kwargs)


def test_trains_evaluates_and_predicts_a_learnable_function(tmp_path):
    frame = _frame()
    estimator = _estimator(str(tmp_path)).train(frame, epochs=30, batch_size=64, verbose=0)
    metrics = estimator.evaluate(frame)
    # y = 3x + city offset is exactly representable; the mean predictor's RMSE is about std(y) = 1.9
    assert metrics["rmse"] < 0.25 < frame["y"].std()
    assert metrics["loss"] == pytest.approx(metrics["rmse"] ** 2, rel=1e-3)
    rows = list(estimator.predict(frame.head(3)))
    assert [set(r) for r in rows] == [{"predictions"}] * 3
    np.testing.assert_allclose([r["predictions"] for r in rows], frame["y"].head(3), atol=0.5)
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert saved["metrics"]["rmse"] == pytest.approx(metrics["rmse"])
    assert os.listdir(tmp_path / "logs")  # TensorBoard event files


def test_model_dir_restores_the_trained_model(tmp_path):
    frame = _frame()
    trained = _estimator(str(tmp_path)).train(frame, epochs=2, verbose=0)
    restored = _estimator(str(tmp_path))
    np.testing.assert_allclose(
        restored.predict_batch(frame)["predictions"], trained.predict_batch(frame)["predictions"]
    )


def test_steps_trains_that_many_batches():
    estimator = _estimator().train(_frame(), steps=5, batch_size=64, verbose=0)
    _, core = split(estimator.model)
    assert int(core.optimizer.iterations.numpy()) == 5


def test_early_stopping_needs_validation_data():
    with pytest.raises(ValueError, match="needs `validation_data`"):
        _estimator().train(_frame(), early_stopping_patience=2)


def test_a_different_model_in_model_dir_is_refused_and_left_alone(tmp_path):
    _estimator(str(tmp_path)).train(_frame(), epochs=1, verbose=0)
    before = {p: os.path.getmtime(tmp_path / p) for p in ("estimator.json", "model.weights.h5")}
    with pytest.raises(ValueError, match="holds checkpoints of a different model"):
        _estimator(str(tmp_path), model_params={"hidden_units": [4]})
    assert before == {p: os.path.getmtime(tmp_path / p) for p in before}


def test_evaluate_before_train_is_explained():
    with pytest.raises(ValueError, match=r"has not been trained\. Call `train` first"):
        _estimator().evaluate(_frame())


def test_missing_label_is_named(tmp_path):
    with pytest.raises(ValueError, match="label column 'y' is missing"):
        _estimator(str(tmp_path)).train(_frame().drop(columns="y"))
    assert os.listdir(tmp_path) == []  # nothing written


def test_bad_training_data_writes_nothing(tmp_path):
    frame = _frame().astype({"x": object})
    frame.loc[7, "x"] = "oops"
    with pytest.raises(ValueError, match=r"feature 'x' must be numeric .* row 7 holds 'oops'"):
        _estimator(str(tmp_path)).train(frame)
    assert os.listdir(tmp_path) == []


def test_one_epoch_runs_each_batch_once_despite_steps_per_execution():
    # 300 rows in batches of 64: floor(300 / 64) = 4 steps (training leaves the partial last batch of an epoch
    # out), fewer than steps_per_execution (32).
    estimator = _estimator().train(_frame(300), epochs=1, batch_size=64, verbose=0)
    _, core = split(estimator.model)
    assert int(core.optimizer.iterations.numpy()) == 4
