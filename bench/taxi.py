"""The training benchmark's shared ground: its data, its feature set and how each variant reports.

Plain NumPy and pandas only: the legacy-estimator variant imports this module too, in its own virtualenv
with TensorFlow 2.15, so nothing here may import TensorFlow, Keras or tfkit.

The data: the real rides of `taxifare/taxi-train.csv`, cleaned the same way for every variant (rides with
coordinates outside New York City dropped), resampled with replacement to `rows` rides with each coordinate
jittered by N(0, 0.001 deg) (about 100 m), seeded; the label is the resampled ride's real fare. RMSE is
measured on the real `taxi-test.csv` rides, cleaned the same way. Bucket boundaries and the numerics' mean
and standard deviation are computed once here and given to the variants that take fixed values (the
hand-written Keras pipelines and the estimator); tfkit learns its own with `adapt`, as a user would.

>>> embedding_dim(CELL_BUCKETS), embedding_dim(DAY_HOUR_BUCKETS)
(6, 4)
"""

from __future__ import annotations

import json
import os
import resource
import time

import numpy as np
import pandas as pd

DATA_DIR = os.environ.get("TFKIT_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
LABEL = "fare_amount"
LONGITUDES = ["pickup_longitude", "dropoff_longitude"]
LATITUDES = ["pickup_latitude", "dropoff_latitude"]
COORDINATES = ["pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude"]
FLOATS = [*COORDINATES, "passenger_count"]
INTEGERS = ["hourofday", "dayofweek"]

# The course's feature set and model, as the issue fixes them.
NUM_BINS = 16
CELL_BUCKETS = 1024
DAY_HOUR_BUCKETS = 168
HIDDEN_UNITS = [64, 32, 16]
BATCH_SIZE = 512
LEARNING_RATE = 1e-3


def embedding_dim(num_values: int) -> int:
    """The fourth-root rule, written out here because the estimator variant cannot import tfkit."""
    return max(1, round(num_values**0.25))


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Rides inside New York City (the course's filter), with the benchmark's dtypes."""
    inside = np.ones(len(frame), dtype=bool)
    for key in LONGITUDES:
        inside &= frame[key].between(-74.3, -73.7).to_numpy()
    for key in LATITUDES:
        inside &= frame[key].between(40.5, 41.0).to_numpy()
    frame = frame[inside].reset_index(drop=True)
    return frame.astype(
        {key: "float32" for key in [*FLOATS, LABEL] if key in frame}
        | dict.fromkeys([key for key in INTEGERS if key in frame], "int64")
    )


def distance(frame) -> np.ndarray:
    """The course's engineered feature: Euclidean distance in degrees between pickup and dropoff."""
    dx = frame["dropoff_longitude"] - frame["pickup_longitude"]
    dy = frame["dropoff_latitude"] - frame["pickup_latitude"]
    return np.sqrt(np.asarray(dx) ** 2 + np.asarray(dy) ** 2).astype("float32")


SHARDS = 10  # the CSV shards streaming variants read: shards/rides-00.csv ... rides-09.csv


def _resampled(source: pd.DataFrame, rows: int, rng) -> pd.DataFrame:
    rides = source.iloc[rng.integers(0, len(source), rows)].reset_index(drop=True)
    for key in COORDINATES:
        rides[key] = (rides[key] + rng.normal(0.0, 1e-3, rows)).astype("float32")
    return rides[[*FLOATS, *INTEGERS, LABEL]]


def prepare(folder: str, rows: int, seed: int = 0) -> dict:
    """Writes `rides.npz`, `rides.csv` (and the same rows in `SHARDS` files, `shards/rides-NN.csv`), `test.npz`
    and `meta.json` to `folder` (reused when already there)."""
    meta_path = os.path.join(folder, "meta.json")
    if os.path.exists(meta_path):
        with open(meta_path) as file:
            meta = json.load(file)
        if meta["rows"] == rows and meta["seed"] == seed and meta.get("shards") == SHARDS:
            return meta
    os.makedirs(os.path.join(folder, "shards"), exist_ok=True)
    source = clean(pd.read_csv(os.path.join(DATA_DIR, "taxifare", "taxi-train.csv")))
    rides = _resampled(source, rows, np.random.default_rng(seed))
    columns = list(rides.columns)
    np.savez(os.path.join(folder, "rides.npz"), **{key: rides[key].to_numpy() for key in columns})
    rides.to_csv(os.path.join(folder, "rides.csv"), index=False, float_format="%.6f")
    for i, start in enumerate(range(0, rows, -(-rows // SHARDS))):
        shard = rides.iloc[start : start + -(-rows // SHARDS)]
        shard.to_csv(os.path.join(folder, "shards", f"rides-{i:02d}.csv"), index=False, float_format="%.6f")
    test = clean(pd.read_csv(os.path.join(DATA_DIR, "taxifare", "taxi-test.csv")))[columns]
    np.savez(os.path.join(folder, "test.npz"), **{key: test[key].to_numpy() for key in columns})
    quantiles = np.arange(1, NUM_BINS) / NUM_BINS
    trip = distance(rides)
    meta = {
        "rows": rows,
        "seed": seed,
        "shards": SHARDS,
        "train_rides": len(source),
        "test_rides": len(test),
        "boundaries": {key: np.quantile(rides[key], quantiles).tolist() for key in COORDINATES},
        "mean": {"passenger_count": float(rides["passenger_count"].mean()), "distance": float(trip.mean())},
        "std": {"passenger_count": float(rides["passenger_count"].std()), "distance": float(trip.std())},
    }
    with open(meta_path, "w") as file:
        json.dump(meta, file, indent=1)
    return meta


def prepare_large(folder: str, rows: int, seed: int = 0) -> str:
    """`SHARDS` CSV files of `rows` rides in `folder/shards` (made a million rows at a time, so that 10 million
    never sit in this process's memory), with `test.npz`; returns the shards' glob. Reused when there."""
    pattern = os.path.join(folder, "shards", "rides-*.csv")
    done = os.path.join(folder, "meta.json")  # written last: its presence says the shards are whole
    if os.path.exists(done):
        with open(done) as file:
            if json.load(file) == {"rows": rows, "seed": seed}:
                return pattern
    os.makedirs(os.path.join(folder, "shards"), exist_ok=True)
    source = clean(pd.read_csv(os.path.join(DATA_DIR, "taxifare", "taxi-train.csv")))
    rng = np.random.default_rng(seed)
    per_shard = -(-rows // SHARDS)
    for i in range(SHARDS):
        path = os.path.join(folder, "shards", f"rides-{i:02d}.csv")
        left = min(per_shard, rows - i * per_shard)
        for first, start in enumerate(range(0, left, 1_000_000)):
            chunk = _resampled(source, min(1_000_000, left - start), rng)
            chunk.to_csv(path, mode="w" if first == 0 else "a", header=first == 0, index=False, float_format="%.6f")
    columns = [*FLOATS, *INTEGERS, LABEL]
    test = clean(pd.read_csv(os.path.join(DATA_DIR, "taxifare", "taxi-test.csv")))[columns]
    np.savez(os.path.join(folder, "test.npz"), **{key: test[key].to_numpy() for key in columns})
    with open(done, "w") as file:
        json.dump({"rows": rows, "seed": seed}, file)
    return pattern


def load(folder: str, name: str = "rides") -> tuple:
    """`(features, labels, meta)`: dict of NumPy columns, fares, and `prepare`'s meta."""
    with np.load(os.path.join(folder, f"{name}.npz")) as arrays:
        columns = {key: arrays[key] for key in arrays.files}
    with open(os.path.join(folder, "meta.json")) as file:
        meta = json.load(file)
    return {key: value for key, value in columns.items() if key != LABEL}, columns[LABEL], meta


class StepClock:
    """Times training steps: call `tick(step)` after each step (or block of steps) finishes.

    Steady-state throughput counts only the examples after the first tick, so tracing, compilation and
    start-up are left out; `start()` marks the call into training, for end-to-end throughput.
    """

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        self.started = None
        self.ticks: list = []

    def start(self) -> None:
        self.started = time.perf_counter()

    def tick(self, step: int) -> None:
        self.ticks.append((step, time.perf_counter()))

    def steady(self, from_step: int = 0) -> float | None:
        """Examples per second between the first tick at or after `from_step` and the last tick.

        `None` when fewer than two ticks fall there (a smoke run's few steps).
        """
        ticks = [tick for tick in self.ticks if tick[0] >= from_step]
        if len(ticks) < 2:
            return None
        (first_step, first_time), (last_step, last_time) = ticks[0], ticks[-1]
        return (last_step - first_step) * self.batch_size / (last_time - first_time)

    def end_to_end(self, examples: int) -> float:
        return examples / (self.ticks[-1][1] - self.started)


def report(path: str | None, result: dict) -> None:
    """Adds the process's peak resident memory and writes `result` as JSON (stdout too)."""
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = json.dumps(result)
    print(text, flush=True)
    if path:
        with open(path, "w") as file:
            file.write(text)
