"""The taxi-fare job on the real NYC rides: accuracy, export parity, and serving-time input errors."""

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfkit import export, pipeline
from tfkit.config import load_config

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "taxifare", "config.toml")


def _config(taxi_dir, tmp_path, **training):
    config = load_config(EXAMPLE, environ={"TFKIT_DATA": os.path.dirname(taxi_dir)})
    return dataclasses.replace(
        config,
        training={**config.training, "model_dir": str(tmp_path / "model"), **training},
        export_dir=str(tmp_path / "exports"),
    )


@pytest.fixture(scope="module")
def short_run(taxi_dir, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("taxi")
    return pipeline.train(_config(taxi_dir, tmp_path, epochs=2), verbose=0), tmp_path


def test_short_training_already_beats_the_mean_predictor(short_run):
    result, _ = short_run
    # Always predicting the mean scores 10.12 on the test split; two epochs of the course's model do far better.
    assert result["test_metrics"]["rmse"] < 6.0


def test_reloaded_export_matches_the_in_memory_model_on_raw_test_rows(short_run, taxi_dir):
    result, _ = short_run
    rides = pd.read_csv(os.path.join(taxi_dir, "taxi-test.csv")).dropna()
    serving = tf.saved_model.load(result["export_path"]).signatures["serving_default"]
    inputs = {
        key: tf.constant(rides[key].to_numpy(), dtype=spec.dtype)
        for key, spec in serving.structured_input_signature[1].items()
    }
    served = serving(**inputs)["predictions"].numpy()
    in_memory = result["estimator"].predict_batch(rides)["predictions"]
    assert served.shape == (len(rides),)
    assert np.abs(served - in_memory).max() < 1e-4


def test_missing_coordinates_take_the_default_when_served(short_run):
    result, _ = short_run
    predictor = export.load(result["export_path"])
    ride = {
        "pickup_longitude": [np.nan],
        "pickup_latitude": [np.nan],
        "dropoff_longitude": [-73.98],
        "dropoff_latitude": [40.75],
        "hourofday": [8],
        "dayofweek": [2],
        "passenger_count": [1],
    }
    # The columns' default is midtown (-73.98, 40.75), so a missing pickup means a zero-length trip.
    missing = predictor(ride)["predictions"]
    ride.update(pickup_longitude=[-73.98], pickup_latitude=[40.75])
    np.testing.assert_allclose(missing, predictor(ride)["predictions"], atol=1e-5)


def test_prediction_request_missing_a_feature_is_named_and_changes_nothing(short_run):
    result, tmp_path = short_run
    before = sorted(os.listdir(tmp_path / "exports"))
    predictor = export.load(result["export_path"])
    with pytest.raises(ValueError, match=r"missing feature\(s\) \['hourofday'\]"):
        predictor(
            {
                "pickup_longitude": [-73.99],
                "pickup_latitude": [40.75],
                "dropoff_longitude": [-73.97],
                "dropoff_latitude": [40.78],
                "dayofweek": [2],
                "passenger_count": [1],
            }
        )
    assert sorted(os.listdir(tmp_path / "exports")) == before


@pytest.mark.slow
def test_full_training_beats_the_issue_target(taxi_dir, tmp_path):
    result = pipeline.train(_config(taxi_dir, tmp_path), verbose=0)
    # The target is 4.25 dollars; the gradient-boosted-trees reference scores 4.16 on the same split.
    assert result["test_metrics"]["rmse"] <= 4.25
