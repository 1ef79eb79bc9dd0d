"""Export: versioned, atomic, raw-feature signature with parity to the in-memory model."""

import os

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
from tfkit import Estimator, export


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": rng.uniform(0, 5, 256), "day": rng.integers(0, 7, 256), "s": rng.choice(["p", "q"], 256)}
    )
    frame["y"] = frame.x * 2 + frame.day
    columns = [
        fc.NumericColumn("x", normalization="zscore"),
        fc.EmbeddingColumn(fc.IdentityColumn("day", num_buckets=7)),
        fc.IndicatorColumn(fc.HashedColumn("s", num_bins=3)),
    ]
    estimator = Estimator(columns, "regression", label="y", model_params={"hidden_units": [8]}, seed=0)
    return estimator.train(frame, epochs=2, verbose=0), frame


def test_signature_takes_raw_scalars_and_matches_the_model(trained, tmp_path):
    estimator, frame = trained
    path = estimator.export_saved_model(str(tmp_path / "fares"))
    assert path == str(tmp_path / "fares" / "1")
    serving = tf.saved_model.load(path).signatures["serving_default"]
    _, specs = serving.structured_input_signature
    assert {k: (s.shape.as_list(), s.dtype.name) for k, s in specs.items()} == {
        "x": ([None], "float32"),
        "day": ([None], "int64"),
        "s": ([None], "string"),
    }
    out = serving(x=tf.constant(frame.x, tf.float32), day=tf.constant(frame.day), s=tf.constant(frame.s.astype(str)))
    expected = estimator.predict_batch(frame)["predictions"]
    assert np.abs(out["predictions"].numpy() - expected).max() < 1e-4


def test_versions_increase_and_load_picks_the_latest(trained, tmp_path):
    estimator, frame = trained
    base = str(tmp_path / "fares")
    assert [os.path.basename(estimator.export_saved_model(base)) for _ in range(2)] == ["1", "2"]
    predictor = export.load(base)
    assert predictor.path.endswith(os.sep + "2")
    np.testing.assert_allclose(
        predictor(frame.head(5))["predictions"], estimator.predict_batch(frame.head(5))["predictions"], atol=1e-4
    )


def test_existing_version_is_not_overwritten(trained, tmp_path):
    estimator, _ = trained
    estimator.export_saved_model(str(tmp_path), version=7)
    with pytest.raises(FileExistsError, match="version 7 already exists"):
        estimator.export_saved_model(str(tmp_path), version=7)


def test_failed_export_leaves_no_version_behind(trained, tmp_path, monkeypatch):
    estimator, _ = trained
    first = estimator.export_saved_model(str(tmp_path))
    written = []

    def crash_after_writing(staging, final):
        written.extend(os.listdir(staging))  # the variables and graph are on disk ...
        raise OSError("disk full")  # ... when the process fails

    monkeypatch.setattr("tfkit.export.os.rename", crash_after_writing)
    with pytest.raises(OSError, match="disk full"):
        estimator.export_saved_model(str(tmp_path))
    assert "saved_model.pb" in written and "variables" in written
    assert os.listdir(tmp_path) == ["1"]  # no version 2, no staging folder
    assert export.load(str(tmp_path)).path == first


def test_predictor_names_a_missing_feature(trained, tmp_path):
    estimator, frame = trained
    predictor = export.load(estimator.export_saved_model(str(tmp_path)))
    with pytest.raises(ValueError, match=r"prediction request: missing feature\(s\) \['day'\]"):
        predictor(frame[["x", "s"]])


def test_predictor_names_a_non_numeric_value(trained, tmp_path):
    estimator, _ = trained
    predictor = export.load(estimator.export_saved_model(str(tmp_path)))
    with pytest.raises(ValueError, match="feature 'x' must be numeric"):
        predictor({"x": ["three"], "day": [1], "s": ["p"]})
