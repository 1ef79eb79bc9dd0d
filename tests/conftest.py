"""Shared fixtures: quiet TensorFlow, seeded runs, and the real data directory."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import pytest

DATA_DIR = os.environ.get("TFKIT_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
TAXI_DIR = os.path.join(DATA_DIR, "taxifare")
CENSUS_DIR = os.path.join(DATA_DIR, "census")


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
