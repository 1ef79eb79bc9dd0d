"""The legacy yardstick: `tf.estimator.DNNRegressor` on `tf.feature_column`, the same features and model.

Runs in its own virtualenv with TensorFlow 2.15 (`make bench-env`; bench/requirements-estimator.txt), the last
release with `tf.estimator`. Default `RunConfig`, Adam at the same learning rate, batch 512, one epoch.

Input modes (`--variant`):
- `docs`: `from_tensor_slices -> shuffle(len) -> batch`, as the estimator guides wrote input functions.
- `batched`: whole 512-row batches cut up front, batch order shuffled (the estimator's best input mode).
- `csv`: `tf.data.experimental.make_csv_dataset` over the rides' CSV file.
- `batched-cached`: `batched` with the batches cached; two epochs, the second reported.
With `--export DIR` the trained model is exported with a raw-feature serving input (the distance computed in
the receiver, as the input functions do) for `bench/latency.py`.

    .venv-estimator/bin/python bench/run_estimator.py --data runs/bench/data --variant batched
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import tensorflow as tf

from bench import taxi


def feature_columns(meta: dict) -> list:
    fc = tf.feature_column
    bins = {key: fc.bucketized_column(fc.numeric_column(key), meta["boundaries"][key]) for key in taxi.COORDINATES}
    pickup_cell = fc.crossed_column([bins["pickup_latitude"], bins["pickup_longitude"]], taxi.CELL_BUCKETS)
    dropoff_cell = fc.crossed_column([bins["dropoff_latitude"], bins["dropoff_longitude"]], taxi.CELL_BUCKETS)
    day_hour = fc.crossed_column([fc.categorical_column_with_identity("dayofweek", 7),
                                  fc.categorical_column_with_identity("hourofday", 24)], taxi.DAY_HOUR_BUCKETS)

    def zscore(key):
        mean, std = meta["mean"][key], meta["std"][key]
        return lambda x: (x - mean) / std

    return [
        *(fc.indicator_column(bins[key]) for key in taxi.COORDINATES),
        fc.embedding_column(pickup_cell, taxi.embedding_dim(taxi.CELL_BUCKETS)),
        fc.embedding_column(dropoff_cell, taxi.embedding_dim(taxi.CELL_BUCKETS)),
        fc.embedding_column(day_hour, taxi.embedding_dim(taxi.DAY_HOUR_BUCKETS)),
        fc.numeric_column("passenger_count", normalizer_fn=zscore("passenger_count")),
        fc.numeric_column("distance", normalizer_fn=zscore("distance")),
    ]


def add_distance(features, label=None):
    features = dict(features)
    features["distance"] = tf.sqrt((features["dropoff_longitude"] - features["pickup_longitude"]) ** 2
                                   + (features["dropoff_latitude"] - features["pickup_latitude"]) ** 2)
    return features if label is None else (features, label)


def whole_batches(features, labels, *, shuffle: bool = True):
    size = taxi.BATCH_SIZE
    batches = -(-len(labels) // size)
    columns = {key: tf.constant(value) for key, value in features.items()}
    label_tensor = tf.constant(labels)

    def batch(i):
        return {key: value[i * size:(i + 1) * size] for key, value in columns.items()}, label_tensor[
            i * size:(i + 1) * size]

    dataset = tf.data.Dataset.range(batches)
    if shuffle:
        dataset = dataset.shuffle(batches)
    return dataset.map(batch, num_parallel_calls=tf.data.AUTOTUNE)


def input_fn(variant: str, folder: str):
    def make():
        if variant == "csv":
            dataset = tf.data.experimental.make_csv_dataset(
                os.path.join(folder, "rides.csv"), batch_size=taxi.BATCH_SIZE, label_name=taxi.LABEL, num_epochs=1,
                shuffle=True, column_defaults=[0.0] * len(taxi.FLOATS) + [tf.int64] * len(taxi.INTEGERS) + [0.0])
        else:
            features, labels, _ = taxi.load(folder)
            if variant == "docs":
                dataset = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(len(labels))
                dataset = dataset.batch(taxi.BATCH_SIZE)
            else:
                dataset = whole_batches(features, labels)
        dataset = dataset.map(add_distance, num_parallel_calls=tf.data.AUTOTUNE)
        if variant == "batched-cached":
            batches = -(-len(labels) // taxi.BATCH_SIZE)
            dataset = dataset.cache().shuffle(batches).repeat(2)
        return dataset.map(lambda x, y: (x, y[:, None])).prefetch(tf.data.AUTOTUNE)

    return make


class ClockHook(tf.estimator.SessionRunHook):
    def __init__(self, clock: taxi.StepClock):
        self.clock, self.step = clock, 0

    def after_run(self, run_context, run_values):
        self.step += 1
        self.clock.tick(self.step)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--variant", required=True, choices=["docs", "batched", "csv", "batched-cached"])
    parser.add_argument("--export", help="export the trained model under this folder")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    _, labels, meta = taxi.load(args.data)
    rows = len(labels)
    tf.random.set_seed(0)
    with tempfile.TemporaryDirectory() as model_dir:
        estimator = tf.estimator.DNNRegressor(
            hidden_units=taxi.HIDDEN_UNITS, feature_columns=feature_columns(meta), model_dir=model_dir,
            optimizer="Adam")  # learning rate 0.001, as taxi.LEARNING_RATE
        clock = taxi.StepClock(taxi.BATCH_SIZE)
        clock.start()
        estimator.train(input_fn(args.variant, args.data), hooks=[ClockHook(clock)])
        test_features, test_labels, _ = taxi.load(args.data, "test")
        test = lambda: whole_batches(test_features, test_labels, shuffle=False).map(add_distance)  # noqa: E731
        predictions = np.concatenate([p["predictions"] for p in estimator.predict(test)])
        cached = args.variant == "batched-cached"
        batches = -(-rows // taxi.BATCH_SIZE)
        result = {
            "variant": f"estimator-{args.variant}",
            "examples_per_s": clock.steady(from_step=batches if cached else 0),
            "end_to_end_per_s": None if cached else rows / (clock.ticks[-1][1] - clock.started),
            "rmse": float(np.sqrt(np.mean((predictions - test_labels) ** 2))),
        }
        if args.export:
            def serving_input():
                raw = {key: tf.compat.v1.placeholder(tf.float32, [None], name=key) for key in taxi.FLOATS}
                raw |= {key: tf.compat.v1.placeholder(tf.int64, [None], name=key) for key in taxi.INTEGERS}
                return tf.estimator.export.ServingInputReceiver(add_distance(raw), raw)

            path = estimator.export_saved_model(args.export, serving_input)
            result["export"] = path.decode() if isinstance(path, bytes) else path
    taxi.report(args.out, result)


if __name__ == "__main__":
    main()
