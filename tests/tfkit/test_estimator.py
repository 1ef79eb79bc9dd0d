"""Estimator: train / evaluate / predict, model_dir restore, and errors that leave model_dir intact."""

import json
import os
import random

import keras
import numpy as np
import pandas as pd
import pytest

import feature_columns as fc
import tfkit.data
from tfkit import Estimator, RegressionHead
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


def test_the_same_seed_trains_the_same_model_whatever_ran_before():
    # Keras draws an initializer's seed when its layer is made: the head (made here before the Estimator) and the
    # embedding table (made with the FeatureLayer) must take theirs from the Estimator's seed as well.
    frame = _frame()

    def trained(seed):
        random.random()  # whatever the program drew before
        estimator = Estimator(COLUMNS, RegressionHead(), label="y", model_params={"hidden_units": [8]}, seed=seed)
        return estimator.train(frame, epochs=2, batch_size=64, verbose=0).model.get_weights()

    first, again, other = trained(0), trained(0), trained(1)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not any(np.array_equal(a, b) for a, b in zip(first[:1], other[:1], strict=True))  # the embedding table


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
    with pytest.raises(ValueError, match=r"`early_stopping_patience` must be .* Received: early_stopping_patience=-1"):
        _estimator().train(_frame(), validation_data=_frame(), early_stopping_patience=-1)


def test_with_validation_data_training_stops_early_by_default_and_keeps_the_best_weights():
    frame = _frame()
    # Labels of opposite sign: the better the model fits the training rows, the worse its validation loss, so
    # the best validation loss is the first epoch's.
    opposite = frame.assign(y=-frame["y"])
    estimator = _estimator().train(frame, epochs=30, batch_size=64, validation_data=opposite, verbose=0)
    val_loss = estimator.history["val_loss"]
    assert int(np.argmin(val_loss)) == 0
    assert len(val_loss) == 1 + 3  # the best epoch, then the default patience of 3 epochs without a better one
    assert estimator.evaluate(opposite)["loss"] == pytest.approx(val_loss[0], rel=1e-4)  # its weights are back

    never = _estimator().train(frame, epochs=6, batch_size=64, validation_data=opposite, early_stopping_patience=None,
                               verbose=0)
    assert len(never.history["val_loss"]) == 6


class _CrashAtStep(keras.callbacks.Callback):
    """Raises after training step `step` (counted over all epochs), as a crash would."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.step:
            raise RuntimeError("crash")


def test_save_checkpoints_steps_keeps_the_state_of_the_last_step_checkpoint(tmp_path):
    frame = _frame()  # 512 rows / 64 = 8 steps an epoch
    options = {"save_checkpoints_steps": 3, "steps_per_execution": 1}
    with pytest.raises(RuntimeError, match="crash"):
        _estimator(str(tmp_path), **options).train(frame, epochs=2, batch_size=64, callbacks=[_CrashAtStep(13)],
                                                   verbose=0)
    # Checkpoints were written after steps 3, 6, 9 and 12; epoch checkpoints alone would have kept step 8.
    resumed = _estimator(str(tmp_path), **options)
    _, core = split(resumed.model)
    start = _StepsAtStart()
    resumed.train(frame, epochs=2, batch_size=64, callbacks=[start], verbose=0)
    assert start.iterations == 12
    # Keras's BackupAndRestore then runs the interrupted epoch (the second) from its first batch: 12 + 8 steps.
    assert int(core.optimizer.iterations.numpy()) == 20
    assert len(resumed.history["loss"]) == 1


class _StepsAtStart(keras.callbacks.Callback):
    """Records the optimizer's step counter when training starts (after BackupAndRestore has restored it)."""

    def on_train_begin(self, logs=None):
        self.iterations = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.iterations is None:
            self.iterations = int(self.model.optimizer.iterations.numpy())


def test_save_checkpoints_steps_must_be_a_positive_integer():
    with pytest.raises(ValueError, match=r"`save_checkpoints_steps` must be a positive integer.*=0"):
        _estimator(save_checkpoints_steps=0)


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


def test_rows_cached_packed_train_the_same_weights_as_rows_preprocessed_every_epoch(taxi_dir, monkeypatch):
    # Several epochs over arrays: the rows are preprocessed once, cached packed (one array per dtype: the ids and
    # the floats here) and unpacked in the training step; preprocessed anew each epoch instead, the same seed deals
    # the same rows in the same order.
    rides = pd.read_csv(os.path.join(taxi_dir, "taxi-train.csv"), nrows=3000)
    columns = [
        fc.NumericColumn("pickup_longitude", normalization="zscore"),
        fc.IndicatorColumn(fc.BucketizedColumn(fc.NumericColumn("dropoff_latitude"), num_bins=8)),
        fc.EmbeddingColumn(fc.IdentityColumn("hourofday", num_buckets=24), dimension=2),
    ]

    def trained():
        estimator = Estimator(columns, "regression", label="fare_amount", model_params={"hidden_units": [8]}, seed=3)
        return estimator.train(rides, epochs=3, batch_size=256, verbose=0).model.get_weights()

    caches, cache_rows = [], tfkit.data.cache_rows

    def recorded(*args, **kwargs):
        caches.append(cache_rows(*args, **kwargs))
        return caches[-1]

    monkeypatch.setattr(tfkit.data, "cache_rows", recorded)
    cached = trained()
    assert len(caches) == 1 and caches[0].packed.keys() == {"<f4", "<i8"}
    monkeypatch.setattr(tfkit.data, "cache_rows", lambda *args, **kwargs: None)  # as for data too large to cache
    for got, want in zip(cached, trained(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
