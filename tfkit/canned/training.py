"""`train_and_evaluate` and its specs, as `tf.estimator.train_and_evaluate`."""

from __future__ import annotations

import dataclasses

from tfkit.estimator import Estimator


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """What `train_and_evaluate` trains on: `input_fn` (any data `Estimator.train` takes) and for how long."""

    input_fn: object
    max_steps: int | None = None
    epochs: int = 1
    batch_size: int = 512
    early_stopping_patience: int | str | None = "auto"


@dataclasses.dataclass(frozen=True)
class EvalSpec:
    """What `train_and_evaluate` evaluates on (each epoch, and at the end) and the evaluation's name."""

    input_fn: object
    name: str = "eval"
    batch_size: int = 512


def train_and_evaluate(estimator: Estimator, train_spec: TrainSpec, eval_spec: EvalSpec) -> tuple:
    """Trains (validating on `eval_spec` after each epoch), then evaluates, as `tf.estimator.train_and_evaluate`.

    Returns:
        `(metrics, [])`: the final evaluation's metrics, and no exports (call `export_saved_model`).
    """
    estimator.train(
        train_spec.input_fn,
        steps=train_spec.max_steps,
        epochs=train_spec.epochs,
        batch_size=train_spec.batch_size,
        validation_data=eval_spec.input_fn,
        early_stopping_patience=train_spec.early_stopping_patience,
    )
    return estimator.evaluate(eval_spec.input_fn, batch_size=eval_spec.batch_size, name=eval_spec.name), []
