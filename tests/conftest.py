"""Shared fixtures: quiet TensorFlow, seeded runs, the real data directory, and a trained taxi-fare model."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import shutil

import keras
import pytest

DATA_DIR = os.environ.get("TFKIT_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
TAXI_DIR = os.path.join(DATA_DIR, "taxifare")
CENSUS_DIR = os.path.join(DATA_DIR, "census")
TAXI_CONFIG = os.path.join(os.path.dirname(__file__), "..", "examples", "taxifare", "config.toml")


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(1234)


def _data_folder(folder: str, probe: str) -> str:
    if not os.path.exists(os.path.join(folder, probe)):
        pytest.fail(f"{probe} is missing from {folder}; set TFKIT_DATA to the shared data folder")
    return folder


@pytest.fixture(scope="session")
def taxi_dir():
    return _data_folder(TAXI_DIR, "taxi-train.csv")


@pytest.fixture(scope="session")
def census_dir():
    return _data_folder(CENSUS_DIR, "adult.data")


@pytest.fixture(scope="session")
def taxi_model(taxi_dir, tmp_path_factory):
    """`(estimator, test rides without fares)`: the taxi example's model after one epoch on a copy of the rides.

    The copy is deleted before this returns, so whatever a test exports carries everything it needs (bucket
    boundaries and the rest live in the model). Trained once per session for the serving tests (REST, gRPC).
    """
    import dataclasses

    import pandas as pd

    from tfkit import pipeline
    from tfkit.config import load_config

    tmp = tmp_path_factory.mktemp("taxi")
    shutil.copytree(taxi_dir, tmp / "data" / "taxifare")
    config = load_config(TAXI_CONFIG, environ={"TFKIT_DATA": str(tmp / "data")})
    config = dataclasses.replace(config, training={**config.training, "model_dir": None})
    estimator = pipeline.make_estimator(config).train(config.data_path("train"), epochs=1, verbose=0)
    shutil.rmtree(tmp / "data")
    rides = pd.read_csv(os.path.join(taxi_dir, "taxi-test.csv")).dropna().head(300).drop(columns="fare_amount")
    return estimator, rides


@pytest.fixture(scope="session")
def census_column_names():
    """The UCI Adult files' column names (they have no header row), as the census example's config declares them."""
    from tfkit.config import load_config

    return list(
        load_config(os.path.join(os.path.dirname(__file__), "..", "examples", "census", "config.toml")).csv_options[
            "column_names"
        ]
    )
