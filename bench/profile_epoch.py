"""Where one training epoch's time goes: tfkit's input pipeline against its model step, on the benchmark's data.

Trains the benchmark's tfkit model (`bench/run_tfkit.py`, tfkit's defaults) for one epoch, then, in the same
process and on the same compiled model, times three passes of one epoch each:
- `pipeline`: the training input pipeline alone, drained (`tfkit.data.preprocessed_batches`);
- `step`: the model step alone, on one preprocessed batch repeated (no input work at all);
- `train`: both together, as `Estimator.train` runs them.
Steady-state rates leave out the first block of steps (tracing). With two cores, the pipeline's threads and the
step share the CPU, so `train` is slower than the slower of the other two.

    .venv/bin/python bench/profile_epoch.py --data runs/bench/data
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pandas as pd

import tfkit
from bench import taxi
from bench.run_keras import Clock, drain
from bench.run_tfkit import columns
from tfkit.models import split


def fit_rate(core, dataset, steps: int) -> float:
    """Steady-state training examples per second of `core.fit` over `dataset` (one epoch of `steps` steps)."""
    clock = taxi.StepClock(taxi.BATCH_SIZE)
    clock.start()
    core.fit(dataset, epochs=1, callbacks=[Clock(clock, steps)], verbose=0)
    return clock.steady()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder written by bench.taxi.prepare")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    features, labels, _ = taxi.load(args.data)
    estimator = tfkit.Estimator(columns(), "regression", label=taxi.LABEL,
                                model_params={"hidden_units": taxi.HIDDEN_UNITS}, seed=0,
                                learning_rate=taxi.LEARNING_RATE)  # the rate every variant trains at
    estimator.train(pd.DataFrame({**features, taxi.LABEL: labels}), epochs=1, batch_size=taxi.BATCH_SIZE, verbose=0)
    preprocessor, core = split(estimator.model)
    steps = len(labels) // taxi.BATCH_SIZE

    def pipeline():
        return tfkit.data.preprocessed_batches(features, labels, lambda x, y: (preprocessor(x), y),
                                               batch_size=taxi.BATCH_SIZE, shuffle=True, drop_remainder=True)

    pipeline_rate = drain(pipeline())["examples_per_s"]
    step_rate = fit_rate(core, pipeline().take(1).cache().repeat(steps), steps)
    train_rate = fit_rate(core, pipeline(), steps)
    rows = steps * taxi.BATCH_SIZE
    result = {
        "pipeline_per_s": pipeline_rate,
        "step_per_s": step_rate,
        "train_per_s": train_rate,
        "epoch_s": {"pipeline alone": rows / pipeline_rate, "step alone": rows / step_rate, "train": rows / train_rate},
    }
    taxi.report(args.out, result)
    print(json.dumps({key: f"{value:.2f} s" for key, value in result["epoch_s"].items()}))


if __name__ == "__main__":
    main()
