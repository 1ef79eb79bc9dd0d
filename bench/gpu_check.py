"""Distribution check: training throughput on 1 and N replicas, mixed precision, and parity figures.

On a machine with GPUs: 1 GPU, mirrored over every GPU, `mixed_float16` (and XLA) on the benchmark's taxi model
(bench/run_tfkit.py's columns, DNN 64-32-16, batch 512), then the loss parity of mirrored against one device and
of mixed_float16 against float32, and the export-against-memory gap. Without a GPU it splits the CPU into
`--cpus` logical devices (2) and measures one device (tfkit's 32 steps per execution, then 1) against mirrored
over them: the cost of one step per execution, which tfkit runs on several replicas (keras-team/keras#19246).
Under 5 minutes at the default 200,000 rides.

    .venv/bin/python bench/gpu_check.py --data runs/bench/gpu --rows 200000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf


def _devices(cpus: int) -> int:
    """Splits the CPU into `cpus` logical devices where no GPU is visible (before TensorFlow starts); returns
    the number of replicas mirrored training gets."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return len(gpus)
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * cpus
    )
    return cpus


class _EpochClock:
    """Examples per second of the last epoch (the first one traces and compiles)."""

    def __init__(self):
        import keras

        outer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                outer.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                outer.seconds = time.perf_counter() - outer.start

        self.callback = Callback()


def run(name: str, frame, epochs: int, **options) -> dict:
    """Trains the benchmark's model with `options`; returns its throughput, losses and export gap."""
    import numpy as np

    import tfkit
    from bench import run_tfkit, taxi
    from tfkit.export import load

    estimator = tfkit.Estimator(
        run_tfkit.columns(), "regression", label=taxi.LABEL, model_params={"hidden_units": taxi.HIDDEN_UNITS},
        seed=42, **options,
    )  # fmt: skip
    clock = _EpochClock()
    # Batches in one fixed order, so that runs under different strategies read the same ones (tfkit's own shuffle
    # draws another order under a strategy). Sliced whole, batch by batch: slicing rows would cap the throughput.
    steps = len(frame) // taxi.BATCH_SIZE
    shape = (steps, taxi.BATCH_SIZE)
    kept = frame.iloc[: steps * taxi.BATCH_SIZE]
    features = {key: kept[key].to_numpy().reshape(*shape, 1) for key in frame.columns if key != taxi.LABEL}
    data = tf.data.Dataset.from_tensor_slices((features, kept[taxi.LABEL].to_numpy().reshape(shape)))
    estimator.train(data, epochs=epochs, batch_size=taxi.BATCH_SIZE, verbose=0, callbacks=[clock.callback])
    rows = frame.drop(columns=taxi.LABEL).head(1000)
    with tempfile.TemporaryDirectory() as folder:
        exported = load(estimator.export_saved_model(folder))(rows)["predictions"].reshape(-1)
    in_memory = estimator.predict_batch(rows)["predictions"].reshape(-1)
    result = {
        "name": name,
        "examples_per_s": round(steps * taxi.BATCH_SIZE / clock.seconds),
        "losses": [round(loss, 5) for loss in estimator.history["loss"]],
        "export_gap": float(np.max(np.abs(exported - in_memory))),
        "replicas": estimator.strategy.num_replicas_in_sync,
        "steps_per_execution": estimator._core.steps_per_execution,
        "xla": bool(estimator._core.jit_compile),
    }
    print(result, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join("runs", "bench", "gpu"))
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=2, help="logical CPU devices when no GPU is visible")
    args = parser.parse_args()
    replicas = _devices(args.cpus)
    gpu = bool(tf.config.list_physical_devices("GPU"))

    import pandas as pd

    from bench import taxi

    taxi.prepare(args.data, args.rows)
    features, labels, _ = taxi.load(args.data)
    frame = pd.DataFrame({**features, taxi.LABEL: labels})
    one = "one_device" if gpu else None
    results = [run("1 device", frame, args.epochs, strategy=one)]
    if not gpu:
        # What each of the mirrored replicas runs: one step per call, without XLA.
        results.append(
            run("1 device, 1 step/exec, no XLA", frame, args.epochs, strategy=one, steps_per_execution=1,
                jit_compile=False)
        )  # fmt: skip
    results.append(run(f"mirrored x{replicas}", frame, args.epochs, strategy="mirrored"))
    if gpu:
        results.append(run("1 GPU, mixed_float16", frame, args.epochs, strategy=one, mixed_precision="mixed_float16"))
        results.append(run("1 GPU, XLA", frame, args.epochs, strategy=one, jit_compile=True))
        results.append(
            run(f"mirrored x{replicas}, mixed_float16", frame, args.epochs, strategy="mirrored",
                mixed_precision="mixed_float16")
        )  # fmt: skip
    base = results[0]
    print("\nvariant | replicas | steps/exec | XLA | examples/s | x 1 device | last loss vs 1 device | export gap")
    for result in results:
        gap = abs(result["losses"][-1] - base["losses"][-1]) / base["losses"][-1]
        print(
            f"{result['name']} | {result['replicas']} | {result['steps_per_execution']} | {result['xla']} | "
            f"{result['examples_per_s']:,} | {result['examples_per_s'] / base['examples_per_s']:.2f} | "
            f"{gap:.2e} | {result['export_gap']:.1e}"
        )


if __name__ == "__main__":
    main()
