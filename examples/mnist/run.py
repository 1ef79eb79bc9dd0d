"""MNIST four ways, end to end on the real digits: for each config, train, evaluate on the 10,000 test images,
export, reload the export and check it predicts as the in-memory model does; for the embedding model, also
draw the test digits in its 3-d embedding space (a PNG beside the model).

Usage: python examples/mnist/run.py [--quick] [linear|dnn|cnn|embedding ...]   (default: all four)

`--quick` trains one epoch on the first 2,000 images of each split, into a temporary folder: a smoke test of
the whole pipeline (the test suite runs it), not a result.
"""

import argparse
import dataclasses
import os
import sys
import tempfile

import numpy as np

from tfkit import export, pipeline
from tfkit.config import load_config

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = ("linear", "dnn", "cnn", "embedding")
QUICK_ROWS = 2000
PARITY = 1e-4  # the export against the in-memory model, on the largest probability difference


def configure(model: str, *, quick: bool = False, workdir: str | None = None, environ=os.environ):
    """The example's config for `model`; with `quick`, one epoch on the first rows, writing under `workdir`."""
    config = load_config(os.path.join(HERE, f"{model}.toml"), environ=environ)
    if not quick:
        return config
    workdir = workdir or tempfile.mkdtemp(prefix=f"mnist-{model}-")
    training = {**config.training, "epochs": 1, "model_dir": os.path.join(workdir, "model")}
    return dataclasses.replace(
        config, max_rows=QUICK_ROWS, training=training, export_dir=os.path.join(workdir, "export")
    )


def run(config) -> dict:
    """Trains, evaluates and exports `config`'s model; reloads the export and compares it on test images.

    Returns `{"test_metrics", "export_path", "parity"}` (the largest probability difference between the
    reloaded export and the in-memory model), plus `"scatter"` (the PNG's path) for the embedding model.
    """
    result = pipeline.train(config, verbose=2)
    test = config.data_source("test")
    images = {"pixels": test["pixels"][:500]}
    served = export.load(result["export_path"])(images)["probabilities"]
    in_memory = result["estimator"].predict_batch(images)["probabilities"]
    parity = float(np.abs(served - in_memory).max())
    if parity > PARITY:
        raise RuntimeError(f"the reloaded export differs from the in-memory model by {parity:.2e} > {PARITY}")
    outcome = {"test_metrics": result["test_metrics"], "export_path": result["export_path"], "parity": parity}
    if "embedding" in config.export_signatures:
        outcome["scatter"] = scatter(result["export_path"], test, config.training["model_dir"])
    return outcome


def scatter(export_path: str, test: dict, folder: str) -> str:
    """Draws the test digits at their 3-d embedding (the export's `embedding` signature), coloured by label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outputs = export.load(export_path)({"pixels": test["pixels"]}, signature_name="embedding")
    points = next(iter(outputs.values()))
    figure = plt.figure(figsize=(8, 7))
    axes = figure.add_subplot(projection="3d")
    shown = axes.scatter(*points.T, c=test["label"], cmap="tab10", s=2, alpha=0.6)
    figure.colorbar(shown, ax=axes, ticks=range(10), label="digit")
    axes.set_title(f"{len(points):,} MNIST test digits in the 3-d embedding of their lit pixels")
    path = os.path.join(folder, "embedding_3d.png")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one epoch on 2,000 images, into a temporary folder")
    parser.add_argument("models", nargs="*", metavar="MODEL", help=f"any of {', '.join(MODELS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    for model in args.models or MODELS:
        outcome = run(configure(model, quick=args.quick))
        metrics = outcome["test_metrics"]
        print(f"mnist {model}: test accuracy {metrics['accuracy']:.4f}, export {outcome['export_path']}")
        if "scatter" in outcome:
            print(f"mnist {model}: embedding scatter {outcome['scatter']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
