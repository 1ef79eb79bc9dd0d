"""Prediction latency of two raw-feature SavedModels in-process: tfkit's export against the estimator's.

Both are loaded with `tf.saved_model.load` in this process's TensorFlow; each is called with 1 and with 256
real test rides (tensors built beforehand), alternating between the two models, after a warm-up.

    .venv/bin/python bench/latency.py --data runs/bench/data --tfkit EXPORT_DIR --estimator EXPORT_DIR
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

from bench import taxi


def timings(signature, inputs: dict, calls: int) -> list:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        signature(**inputs)
        times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--tfkit", required=True, help="a tfkit export version folder")
    parser.add_argument("--estimator", help="an estimator export version folder (left out: tfkit only)")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    features, _, _ = taxi.load(args.data, "test")
    models = {"tfkit": tf.saved_model.load(args.tfkit).signatures["serving_default"]}
    if args.estimator:
        models["estimator"] = tf.saved_model.load(args.estimator).signatures["predict"]
    result = {"variant": "latency"}
    for rows in (1, 256):
        inputs = {key: tf.constant(value[:rows]) for key, value in features.items()}  # both take [n] columns
        times = {name: [] for name in models}
        for signature in models.values():
            timings(signature, inputs, 20)  # warm-up
        for _ in range(10):  # alternate, so both see the same machine
            for name, signature in models.items():
                times[name] += timings(signature, inputs, max(1, args.calls // 10))
        for name, values in times.items():
            result[f"{name}_{rows}_p50_ms"] = float(np.median(values) * 1e3)
            result[f"{name}_{rows}_p99_ms"] = float(np.quantile(values, 0.99) * 1e3)
    taxi.report(args.out, result)


if __name__ == "__main__":
    main()
