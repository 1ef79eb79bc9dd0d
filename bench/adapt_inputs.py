"""`FeatureLayer.adapt` through four kinds of `tf.data` input, with its one-pass options and with tf.data's own.

adapt reads a dataset once, without tf.data's graph rewrites and autotuning unless the dataset's options set
them (`feature_columns/adapt.py`). This bench checks that choice on inputs users write, each adapted with the
choice and with the dataset's options asking for tf.data's defaults (both on), alternately:
- `slices`: the benchmark's in-memory rides in whole 8,192-row slices (as `python -m bench` adapts);
- `guide`: `from_tensor_slices(...).batch(32)`, as the FeatureSpace guide feeds adapt (first 200,000 rides);
- `csv-batch`: `rides.csv` lines in 8,192-line batches, parsed by one `decode_csv` per batch;
- `csv-row`: `rides.csv` lines parsed one by one, then batched by 256 (first 200,000 rides).
Columns: the benchmark's (`bench/run_tfkit.py`). Data: the folder `python -m bench` prepares.

    .venv/bin/python bench/adapt_inputs.py --data runs/bench/data
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import tensorflow as tf

import feature_columns as fc
from bench import taxi
from bench.run_keras import adapt_batches
from bench.run_tfkit import columns

SMALL = 200_000  # rides for the slow inputs


def inputs(folder: str) -> dict:
    """`{name: function making a fresh dataset}`: a new dataset for every adapt, as a user's code makes one."""
    features, labels, _ = taxi.load(folder)
    path = os.path.join(folder, "rides.csv")
    with open(path) as file:
        names = file.readline().strip().split(",")

    defaults = [[0] if name in taxi.INTEGERS else [0.0] for name in names]

    def parse(lines):
        return dict(zip(names, tf.io.decode_csv(lines, defaults), strict=True))

    lines = tf.data.TextLineDataset(path).skip(1)
    head = {key: value[:SMALL] for key, value in features.items()}
    return {
        "slices": lambda: adapt_batches(features, labels),
        "guide": lambda: tf.data.Dataset.from_tensor_slices(head).batch(32),
        "csv-batch": lambda: lines.batch(8192).map(parse),
        "csv-row": lambda: lines.take(SMALL).map(parse).batch(256),
    }


def with_tf_data_defaults(dataset: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    options.autotune.enabled = True
    options.experimental_optimization.apply_default_optimizations = True
    return dataset.with_options(options)


def adapt_seconds(dataset: tf.data.Dataset) -> float:
    layer = fc.FeatureLayer(columns())  # built before the clock starts, as in `python -m bench`
    start = time.perf_counter()
    layer.adapt(dataset)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder written by bench.taxi.prepare")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    makers = inputs(args.data)
    modes = {"one-pass options": lambda dataset: dataset, "tf.data defaults": with_tf_data_defaults}
    for make in makers.values():  # warm-up: trace each input's functions once
        fc.FeatureLayer(columns()).adapt(make().take(1))
    seconds = {(name, mode): [] for name in makers for mode in modes}
    for _ in range(args.reps):
        for name, make in makers.items():
            for mode, apply in modes.items():
                seconds[name, mode].append(adapt_seconds(apply(make())))
    print(f"{args.reps} repetitions, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}")
    print("| input | one-pass options s | tf.data defaults s | defaults / one-pass |")
    print("| --- | ---: | ---: | ---: |")
    for name in makers:
        ours, theirs = (np.median(seconds[name, mode]) for mode in modes)
        print(f"| {name} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.2f} |")


if __name__ == "__main__":
    main()
