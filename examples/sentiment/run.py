"""Sentiment of Rotten Tomatoes snippets, end to end: train the config's text model, evaluate it on the seeded
test split, export it, reload the export and check it scores raw sentences as the in-memory model does.

Usage: python examples/sentiment/run.py [--quick] [CONFIG]   (defaults to the config.toml beside this file)

`--quick` trains one epoch on the first 3,000 rows of the file, into a temporary folder: a smoke test of the
pipeline (the test suite runs it), not a result. `baseline.py` measures the scikit-learn reference.
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
QUICK_ROWS = 3000
PARITY = 1e-4  # the export against the in-memory model, on the largest probability difference
SENTENCES = [
    "A moving, beautifully acted film that earns every one of its tears.",
    "Dull, overlong and never once funny.",
]


def configure(config_path: str = os.path.join(HERE, "config.toml"), *, quick=False, workdir=None, environ=os.environ):
    """The example's config; with `quick`, one epoch on the first rows, writing under `workdir`."""
    config = load_config(config_path, environ=environ)
    if not quick:
        return config
    workdir = workdir or tempfile.mkdtemp(prefix="sentiment-")
    training = {**config.training, "epochs": 1, "model_dir": os.path.join(workdir, "model")}
    return dataclasses.replace(
        config, max_rows=QUICK_ROWS, training=training, export_dir=os.path.join(workdir, "export")
    )


def run(config) -> dict:
    """Trains, evaluates and exports; returns `{"test_metrics", "export_path", "parity", "sentences"}`, where
    `parity` is the largest probability difference between the reloaded export and the in-memory model on
    the example sentences, and `sentences` their served probabilities of the positive label."""
    result = pipeline.train(config, verbose=2)
    key = config.columns[config.features[0]].categorical_column.key
    reviews = {key: SENTENCES}
    served = export.load(result["export_path"])(reviews)["probabilities"]
    in_memory = result["estimator"].predict_batch(reviews)["probabilities"]
    parity = float(np.abs(served - in_memory).max())
    if parity > PARITY:
        raise RuntimeError(f"the reloaded export differs from the in-memory model by {parity:.2e} > {PARITY}")
    return {
        "test_metrics": result["test_metrics"],
        "export_path": result["export_path"],
        "parity": parity,
        "sentences": served[:, 1],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one epoch on 3,000 rows, into a temporary folder")
    parser.add_argument("config", nargs="?", default=os.path.join(HERE, "config.toml"))
    args = parser.parse_args(argv)
    outcome = run(configure(args.config, quick=args.quick))
    metrics = outcome["test_metrics"]
    print(f"sentiment: test accuracy {metrics['accuracy']:.4f}, AUC {metrics['auc']:.4f}")
    for sentence, fresh in zip(SENTENCES, outcome["sentences"], strict=True):
        print(f"  P(fresh) = {fresh:.3f}  {sentence}")
    print(f"export: {outcome['export_path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
