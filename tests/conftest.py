"""Shared fixtures: quiet TensorFlow, seeded runs, and the real data directory."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import pytest

DATA_DIR = os.environ.get("TFKIT_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
TAXI_DIR = os.path.join(DATA_DIR, "taxifare")


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(1234)


@pytest.fixture(scope="session")
def taxi_dir():
    if not os.path.exists(os.path.join(TAXI_DIR, "taxi-train.csv")):
        pytest.fail(f"the taxi-fare data is missing from {TAXI_DIR}; set TFKIT_DATA to the shared data folder")
    return TAXI_DIR
