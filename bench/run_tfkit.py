"""tfkit on the benchmark's features and model, with its defaults: what a user writes, nothing tuned.

Variants (`--variant`):
- `pandas`: `Estimator.train(DataFrame, epochs=1)`.
- `csv`: `Estimator.train("rides.csv", epochs=1)`; end-to-end throughput includes reading the file.
- `cached`: `Estimator.train(DataFrame, epochs=2)`, the second epoch reported (tfkit caches the preprocessed
  rows when they fit in memory).
- `pipeline`: tfkit's training input pipeline alone (`tfkit.data.preprocessed_batches` with the adapted
  preprocessor, as `Estimator.train` builds it for one epoch), drained.
- `pipeline-cached`: the pipeline `Estimator.train` builds for several epochs (`tfkit.data.cache_rows`, its
  batches left packed), drained once to fill its cache; the passes after it are reported.
- `adapt`: `FeatureLayer.adapt` on all columns, fed the same whole 8,192-row batches as FeatureSpace's.
- `pandas-5`, `csv-5`: `Estimator.train(DataFrame or "rides.csv", epochs=5)`, end to end (adapt, tracing and
  compilation included), steady state over epochs 2-5.
- `csv-stream`: `Estimator.train(CsvFiles("shards/rides-*.csv", streaming=True), epochs=1)`; `tfrecord-stream`:
  the same rides from `rides-NN.tfrecord` (`TFRecordFiles(..., streaming=True)`).
- `stream-memory-1x`, `stream-memory-10x`: train one epoch and evaluate from the CSV shards of `--data`,
  streaming (for peak RSS at 1 and 10 million rows, which `python -m bench` prepares: `bench.taxi.prepare_large`);
  `tfrecord-memory-1x`, `tfrecord-memory-10x`: the same from those rides as TFRecord shards
  (`run_expert.py --variant write-tfrecord-shards`).
With `--export DIR` the trained model is exported for `bench/latency.py`.

    .venv/bin/python bench/run_tfkit.py --data runs/bench/data --variant pandas
"""

from __future__ import annotations

import argparse
import glob
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
    dropoff_cell = fc.CrossedColumn((bins["dropoff_latitude"], bins["dropoff_longitude"]), num_bins=taxi.CELL_BUCKETS)
    day_hour = fc.CrossedColumn(
        (fc.IdentityColumn("dayofweek", 7), fc.IdentityColumn("hourofday", 24)), num_bins=taxi.DAY_HOUR_BUCKETS
    )
    return [
        *(fc.IndicatorColumn(bins[key]) for key in taxi.COORDINATES),
        fc.EmbeddingColumn(pickup_cell),
        fc.EmbeddingColumn(dropoff_cell),
        fc.EmbeddingColumn(day_hour),
        fc.NumericColumn("passenger_count", normalization="zscore"),
        fc.DistanceColumn(tuple(taxi.COORDINATES), normalization="zscore"),
    ]


def _estimator() -> tfkit.Estimator:
    return tfkit.Estimator(
        columns(),
        "regression",
        label=taxi.LABEL,
        model_params={"hidden_units": taxi.HIDDEN_UNITS},
        seed=0,
        learning_rate=taxi.LEARNING_RATE,
    )  # the rate every variant trains at


def _rmse(estimator: tfkit.Estimator, folder: str) -> float:
    test_features, test_labels, _ = taxi.load(folder, "test")
    predictions = estimator.predict_batch(test_features)["predictions"]
    return float(np.sqrt(np.mean((predictions - test_labels) ** 2)))


def train(variant: str, folder: str, export: str | None) -> dict:
    estimator = _estimator()
    epochs = {"cached": 2, "pandas-5": 5, "csv-5": 5}.get(variant, 1)
    rows = taxi.load(folder)[1].size
    steps = rows // taxi.BATCH_SIZE  # training drops each epoch's last partial batch
    clock = taxi.StepClock(taxi.BATCH_SIZE)
    clock.start()  # before anything is read: the CSV variants' reading is part of training
    if variant in ("csv", "csv-5"):
        data = os.path.join(folder, "rides.csv")
    elif variant == "csv-stream":
        data = tfkit.data.CsvFiles(os.path.join(folder, "shards", "rides-*.csv"), streaming=True)
    elif variant == "tfrecord-stream":
        data = tfkit.data.TFRecordFiles(os.path.join(folder, "rides-*.tfrecord"), streaming=True)
    else:
        features, labels, _ = taxi.load(folder)
        data = pd.DataFrame({**features, taxi.LABEL: labels})
    estimator.train(data, epochs=epochs, batch_size=taxi.BATCH_SIZE, callbacks=[Clock(clock, steps)], verbose=0)
    result = {
        "examples_per_s": clock.steady(from_step=steps if epochs > 1 else 0),
        "end_to_end_per_s": None
        if epochs == 2
        else epochs * steps * taxi.BATCH_SIZE / (clock.ticks[-1][1] - clock.started),
        "rmse": _rmse(estimator, folder),
        "epochs": epochs,
    }
    if export:
        result["export"] = estimator.export_saved_model(export)
    return result


def stream_memory(folder: str, kind: str) -> dict:
    """One epoch of training and one evaluation streaming from the shards (`kind`: "csv" or "tfrecord", the same
    rides): the peak RSS is what counts."""
    shards = os.path.join(folder, "shards", "rides-*.csv")
    rows = 0
    for path in glob.glob(shards):
        with open(path, "rb") as file:
            rows += sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 24), b"")) - 1  # the header
    if kind == "csv":
        files = tfkit.data.CsvFiles(shards, streaming=True)
    else:
        files = tfkit.data.TFRecordFiles(os.path.join(folder, "tfrecords", "rides-*.tfrecord"), streaming=True)

    estimator = _estimator()
    start = time.perf_counter()
    estimator.train(files, epochs=1, batch_size=taxi.BATCH_SIZE, verbose=0)
    metrics = estimator.evaluate(files, batch_size=taxi.BATCH_SIZE)
    return {
        "rows": rows,
        "end_to_end_per_s": rows / (time.perf_counter() - start),
        "train_rmse": metrics["rmse"],
        "rmse": _rmse(estimator, folder),
    }


def pipeline(folder: str, cached: bool) -> dict:
    features, labels, _ = taxi.load(folder)
    layer = fc.FeatureLayer(columns())
    layer.adapt(features)
    preprocessor = layer.preprocessor
    prepare = lambda x, y: (preprocessor(x), y)  # noqa: E731
    options = {"batch_size": taxi.BATCH_SIZE, "shuffle": True, "drop_remainder": True}
    if cached:  # packed, as the Estimator trains on them (its training step unpacks them)
        dataset = tfkit.data.cache_rows(features, labels, prepare).batches(unpacked=False, **options)
    else:
        dataset = tfkit.data.preprocessed_batches(features, labels, prepare, **options)
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
    parser.add_argument(
        "--variant",
        required=True,
        choices=[
            "pandas",
            "csv",
            "cached",
            "pipeline",
            "pipeline-cached",
            "adapt",
            "pandas-5",
            "csv-5",
            "csv-stream",
            "tfrecord-stream",
            "stream-memory-1x",
            "stream-memory-10x",
            "tfrecord-memory-1x",
            "tfrecord-memory-10x",
        ],
    )
    parser.add_argument("--export", help="export the trained model under this folder")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.variant.startswith("pipeline"):
        result = pipeline(args.data, cached=args.variant == "pipeline-cached")
    elif args.variant == "adapt":
        result = adapt(args.data)
    elif "-memory-" in args.variant:  # the same run; the data's size differs
        result = stream_memory(args.data, "csv" if args.variant.startswith("stream") else "tfrecord")
    else:
        result = train(args.variant, args.data, args.export)
    taxi.report(args.out, {"variant": f"tfkit-{args.variant}", **result})


if __name__ == "__main__":
    main()
