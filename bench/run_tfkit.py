"""tfkit on the benchmark's features and model, with its defaults: what a user writes, nothing tuned.

Variants (`--variant`):
- `pandas`: `Estimator.train(DataFrame, epochs=1)`.
- `csv`: `Estimator.train("rides.csv", epochs=1)`; end-to-end throughput includes reading the file.
- `cached`: `Estimator.train(DataFrame, epochs=2)`, the second epoch reported (tfkit caches the preprocessed
  rows when they fit in memory).
- `pipeline`: tfkit's training input pipeline alone (`tfkit.data.preprocessed_batches` with the adapted
  preprocessor, as `Estimator.train` builds it for one epoch), drained.
- `pipeline-cached`: the pipeline `Estimator.train` builds for several epochs (`tfkit.data.cached_batches`),
  drained once to fill its cache; the passes after it are reported.
- `adapt`: `FeatureLayer.adapt` on all columns, fed the same whole 8,192-row batches as FeatureSpace's.
With `--export DIR` the trained model is exported for `bench/latency.py`.

    .venv/bin/python bench/run_tfkit.py --data runs/bench/data --variant pandas
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import pandas as pd

import feature_columns as fc
import tfkit
from bench import taxi
from bench.run_keras import Clock, adapt_batches, drain


def columns() -> list:
    """The course's feature set as a tfkit user declares it; bins and scaling are learned by adapt."""
    bins = {key: fc.BucketizedColumn(key, num_bins=taxi.NUM_BINS) for key in taxi.COORDINATES}
    pickup_cell = fc.CrossedColumn((bins["pickup_latitude"], bins["pickup_longitude"]), num_bins=taxi.CELL_BUCKETS)
    dropoff_cell = fc.CrossedColumn((bins["dropoff_latitude"], bins["dropoff_longitude"]),
                                    num_bins=taxi.CELL_BUCKETS)
    day_hour = fc.CrossedColumn((fc.IdentityColumn("dayofweek", 7), fc.IdentityColumn("hourofday", 24)),
                                num_bins=taxi.DAY_HOUR_BUCKETS)
    return [
        *(fc.IndicatorColumn(bins[key]) for key in taxi.COORDINATES),
        fc.EmbeddingColumn(pickup_cell),
        fc.EmbeddingColumn(dropoff_cell),
        fc.EmbeddingColumn(day_hour),
        fc.NumericColumn("passenger_count", normalization="zscore"),
        fc.DistanceColumn(tuple(taxi.COORDINATES), normalization="zscore"),
    ]


def train(variant: str, folder: str, export: str | None) -> dict:
    features, labels, _ = taxi.load(folder)
    rows = len(labels)
    estimator = tfkit.Estimator(columns(), "regression", label=taxi.LABEL,
                                model_params={"hidden_units": taxi.HIDDEN_UNITS}, seed=0,
                                learning_rate=taxi.LEARNING_RATE)  # the rate every variant trains at
    data = os.path.join(folder, "rides.csv") if variant == "csv" else pd.DataFrame({**features, taxi.LABEL: labels})
    epochs = 2 if variant == "cached" else 1
    steps = -(-rows // taxi.BATCH_SIZE)
    clock = taxi.StepClock(taxi.BATCH_SIZE)
    clock.start()
    estimator.train(data, epochs=epochs, batch_size=taxi.BATCH_SIZE, callbacks=[Clock(clock, steps)], verbose=0)
    test_features, test_labels, _ = taxi.load(folder, "test")
    predictions = estimator.predict_batch(test_features)["predictions"]
    result = {
        "examples_per_s": clock.steady(from_step=steps if epochs == 2 else 0),
        "end_to_end_per_s": None if epochs == 2 else rows / (clock.ticks[-1][1] - clock.started),
        "rmse": float(np.sqrt(np.mean((predictions - test_labels) ** 2))),
    }
    if export:
        result["export"] = estimator.export_saved_model(export)
    return result


def pipeline(folder: str, cached: bool) -> dict:
    features, labels, _ = taxi.load(folder)
    layer = fc.FeatureLayer(columns())
    layer.adapt(features)
    preprocessor = layer.preprocessor
    make = tfkit.data.cached_batches if cached else tfkit.data.preprocessed_batches
    dataset = make(features, labels, lambda x, y: (preprocessor(x), y), batch_size=taxi.BATCH_SIZE, shuffle=True,
                   drop_remainder=True)
    if cached:
        drain(dataset, min_seconds=0)  # one pass, which fills the cache, as training's first epoch
    return drain(dataset)


def adapt(folder: str) -> dict:
    features, labels, _ = taxi.load(folder)
    dataset = adapt_batches(features, labels)
    fc.FeatureLayer(columns()).adapt(dataset.take(1))  # warm-up, as for FeatureSpace
    layer = fc.FeatureLayer(columns())  # built before the clock starts, as the FeatureSpace is
    start = time.perf_counter()
    layer.adapt(dataset)
    return {"adapt_s": time.perf_counter() - start}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--variant", required=True,
                        choices=["pandas", "csv", "cached", "pipeline", "pipeline-cached", "adapt"])
    parser.add_argument("--export", help="export the trained model under this folder")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.variant.startswith("pipeline"):
        result = pipeline(args.data, cached=args.variant == "pipeline-cached")
    elif args.variant == "adapt":
        result = adapt(args.data)
    else:
        result = train(args.variant, args.data, args.export)
    taxi.report(args.out, {"variant": f"tfkit-{args.variant}", **result})


if __name__ == "__main__":
    main()
