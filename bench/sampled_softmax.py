"""Sampled softmax and NCE vs the full softmax: training steps per second, and what the speed costs in accuracy.

    .venv/bin/python bench/sampled_softmax.py                  # speed at 100k and 1M classes, then accuracy
    .venv/bin/python bench/sampled_softmax.py --skip-accuracy  # speed only
    .venv/bin/python bench/sampled_softmax.py --classes 1000000 --optimizers adam lazy_adam --skip-accuracy
    .venv/bin/python bench/sampled_softmax.py --skip-speed --accuracy-optimizer lazy_adam

Speed: one `HeadModel` per (head, class count, optimizer) — a Dense body of width `--dim` and the head — is
trained on one fixed in-memory batch (no input pipeline in the timing), after warm-up steps that trace and
build everything; steps/s is the median of `--repeats` timed runs of about `--seconds` each. The optimizer
decides whether a step's cost still grows with the number of classes, so there are four: SGD, whose Keras
update of a sparse (IndexedSlices) gradient touches only the gathered rows; Adagrad, which scatters its update
into those rows but computes `sqrt(accumulator)` for every row; Adam, which Keras applies densely to every
row of the output weights each step; and `tfkit.optimizers.LazyAdam`, Adam restricted to the rows a sparse
gradient touches (`--optimizers` picks a subset).

Accuracy: a synthetic problem with 100,000 classes, each a random prototype in 16 dimensions; examples are a
prototype plus noise, classes drawn Zipf-like (log-uniform, the sampler's own assumption, as word frequencies
are). The same data and steps train a full-softmax MultiClassHead, a SampledSoftmaxHead and an NCEHead; all are
scored by top-5 accuracy on held-out examples with the full softmax. The optimizer is Adam(0.02), or
`--accuracy-optimizer lazy_adam` for LazyAdam(0.02), which moves a class's row only in steps that gather it.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from tfkit.heads import MultiClassHead, NCEHead, SampledSoftmaxHead
from tfkit.models import HeadModel
from tfkit.optimizers import LazyAdam

HEADS = {"full softmax": MultiClassHead, "sampled softmax": SampledSoftmaxHead, "NCE": NCEHead}
# Each with its defaults, as `compile` would make it from Keras's name.
OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adagrad": keras.optimizers.Adagrad,
    "adam": keras.optimizers.Adam,
    "lazy_adam": LazyAdam,
}


def log_uniform_classes(rng, num_classes: int, rows: int) -> np.ndarray:
    """Class ids with P(k) proportional to log((k + 2) / (k + 1)): Zipf-like, most frequent first."""
    ids = np.floor(np.exp(rng.uniform(size=rows) * np.log(num_classes + 1))) - 1
    return np.minimum(ids, num_classes - 1).astype("int64")


def make_model(head_name: str, num_classes: int, num_sampled: int, dim: int, optimizer) -> HeadModel:
    head = HEADS[head_name]
    head = head(num_classes, top_k=5) if head is MultiClassHead else head(num_classes, num_sampled, top_k=5, seed=1)
    inputs = keras.Input((dim,))
    model = HeadModel(keras.Model(inputs, keras.layers.Dense(dim)(inputs)), head)
    model.compile(optimizer=optimizer, steps_per_execution=1)
    return model


def steps_per_second(model: HeadModel, batch, seconds: float, repeats: int) -> float:
    """The median rate of `repeats` runs of about `seconds` each, after warm-up steps that also size the runs."""
    data = tf.data.Dataset.from_tensors(batch).repeat()

    def run(steps: int) -> float:
        start = time.perf_counter()
        model.fit(data, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
        return steps / (time.perf_counter() - start)

    run(2)  # traces the step, builds the optimizer
    steps = max(3, round(seconds * run(3)))
    return statistics.median(run(steps) for _ in range(repeats))


def speed(args) -> None:
    rng = np.random.default_rng(0)
    print(f"speed: batch {args.batch}, dim {args.dim}, num_sampled {args.num_sampled}, median of {args.repeats}")
    print(f"{'classes':>9} {'optimizer':>9} {'head':>16} {'steps/s':>9} {'x full':>8}")
    for num_classes in args.classes:
        x = rng.normal(size=(args.batch, args.dim)).astype("float32")
        batch = (x, log_uniform_classes(rng, num_classes, args.batch))
        for optimizer in args.optimizers:
            rates = {}
            for name in ("full softmax", "sampled softmax", "NCE"):
                keras.utils.set_random_seed(0)
                model = make_model(name, num_classes, args.num_sampled, args.dim, OPTIMIZERS[optimizer]())
                rates[name] = steps_per_second(model, batch, args.seconds, args.repeats)
                ratio = rates[name] / rates["full softmax"]
                print(f"{num_classes:>9} {optimizer:>9} {name:>16} {rates[name]:>9.2f} {ratio:>8.1f}", flush=True)
                del model
                gc.collect()  # a 1M-class model holds gigabytes: free it before the next


def prototype_problem(rng, prototypes: np.ndarray, rows: int) -> tuple:
    classes = log_uniform_classes(rng, len(prototypes), rows)
    noise = 0.5 * rng.normal(size=(rows, prototypes.shape[1])).astype("float32")
    return prototypes[classes] + noise, classes


def accuracy(args) -> None:
    num_classes, dim, steps = 100_000, 16, args.accuracy_steps
    prototypes = np.random.default_rng(123).normal(size=(num_classes, dim)).astype("float32")
    train = prototype_problem(np.random.default_rng(0), prototypes, steps * args.batch)
    test = prototype_problem(np.random.default_rng(1), prototypes, 8192)
    print(
        f"\naccuracy: {num_classes} classes, {steps} steps of {args.batch}, {args.accuracy_optimizer}(0.02), "
        f"num_sampled {args.num_sampled}; top-5 accuracy on 8192 held-out examples "
        f"({np.isin(test[1], train[1]).mean():.1%} of them of a class seen in training)"
    )
    results = {}
    for name in ("full softmax", "sampled softmax", "NCE"):
        keras.utils.set_random_seed(0)
        model = make_model(name, num_classes, args.num_sampled, dim, OPTIMIZERS[args.accuracy_optimizer](0.02))
        start = time.perf_counter()
        model.fit(*train, batch_size=args.batch, epochs=1, verbose=0)
        seconds = time.perf_counter() - start
        results[name] = model.evaluate(*test, batch_size=1024, verbose=0, return_dict=True)
        top5 = results[name]["top_5_accuracy"]
        gap = 100 * (top5 - results["full softmax"]["top_5_accuracy"])
        print(
            f"{name:>16}: top-5 {top5:.4f} ({gap:+.2f} points vs full), accuracy "
            f"{results[name]['accuracy']:.4f}, eval loss {results[name]['loss']:.3f}, trained in {seconds:.0f} s",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--optimizers", nargs="+", choices=sorted(OPTIMIZERS), default=list(OPTIMIZERS))
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--num-sampled", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=5.0, help="about how long each timed run lasts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--accuracy-steps", type=int, default=200)
    parser.add_argument("--accuracy-optimizer", choices=["adam", "lazy_adam"], default="adam")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, devices {tf.config.list_physical_devices()}")
    if not args.skip_speed:
        speed(args)
    if not args.skip_accuracy:
        accuracy(args)


if __name__ == "__main__":
    main()
