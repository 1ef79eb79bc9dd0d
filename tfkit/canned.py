"""Canned estimators under `tf.estimator`'s names and arguments, and `train_and_evaluate`.

Each is a function returning a `tfkit.Estimator` with the matching head and builder: code written for
`tf.estimator.DNNClassifier(feature_columns=..., hidden_units=...)` keeps its arguments. Two differences: labels
are read from the column named `label` (default `"label"`), and `config` is a dict of `Estimator` options
(`seed`, `steps_per_execution`, `jit_compile`, `learning_rate`, `save_checkpoints_steps`) instead of a `RunConfig`.

>>> import pandas as pd
>>> from feature_columns import NumericColumn
>>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "label": [0, 0, 1, 1]})
>>> classifier = DNNClassifier(hidden_units=[4], feature_columns=[NumericColumn("x")], config={"seed": 0})
>>> sorted(classifier.train(frame, epochs=1, verbose=0).evaluate(frame))[:4]
['accuracy', 'auc', 'auc_precision_recall', 'average_loss']
"""

from __future__ import annotations

import dataclasses

from feature_columns.integration import is_count
from tfkit.estimator import Estimator
from tfkit.heads import BinaryHead, MultiClassHead, RegressionHead
from tfkit.models import linear_columns, wide_and_deep_optimizer

_CONFIG_KEYS = ("seed", "steps_per_execution", "jit_compile", "learning_rate", "save_checkpoints_steps")


def _options(where: str, config) -> dict:
    """`config` as `Estimator` keyword arguments."""
    if config is None:
        return {}
    unknown = sorted(set(config) - set(_CONFIG_KEYS)) if isinstance(config, dict) else None
    if unknown is None or unknown:
        raise ValueError(
            f"{where}: `config` must be a dict with keys among {list(_CONFIG_KEYS)}. Received: config={config!r}."
        )
    return dict(config)


def _classifier_head(where: str, n_classes, label_vocabulary, weight_column):
    if not is_count(n_classes, minimum=2):
        raise ValueError(f"{where}: `n_classes` must be an integer >= 2. Received: n_classes={n_classes!r}.")
    if label_vocabulary is not None and len(label_vocabulary) != n_classes:
        raise ValueError(
            f"{where}: `label_vocabulary` must hold `n_classes` = {n_classes} labels. Received: label_vocabulary="
            f"{list(label_vocabulary)!r}. Set n_classes={len(label_vocabulary)}, or fix the vocabulary."
        )
    if n_classes == 2:
        return BinaryHead(label_vocabulary=label_vocabulary, weight_column=weight_column)
    return MultiClassHead(n_classes, label_vocabulary=label_vocabulary, weight_column=weight_column)


def _dnn_params(hidden_units, activation_fn, dropout, batch_norm) -> dict:
    return {
        "hidden_units": list(hidden_units),
        "activation": activation_fn,
        "dropout": dropout,
        "batch_norm": batch_norm,
    }


def _dnn(where, head, hidden_units, feature_columns, activation_fn, dropout, batch_norm, optimizer, config, **options):
    return Estimator(
        feature_columns,
        head,
        model="dnn",
        model_params=_dnn_params(hidden_units, activation_fn, dropout, batch_norm),
        optimizer=optimizer,
        **options,
        **_options(where, config),
    )


def DNNClassifier(
    hidden_units,
    feature_columns,
    model_dir=None,
    n_classes=2,
    weight_column=None,
    label_vocabulary=None,
    optimizer="adam",
    activation_fn="relu",
    dropout=None,
    config=None,
    warm_start_from=None,
    batch_norm=False,
    *,
    label="label",
) -> Estimator:
    """A DNN classifier (`BinaryHead` for 2 classes, else `MultiClassHead`); see the module's docstring."""
    head = _classifier_head("DNNClassifier", n_classes, label_vocabulary, weight_column)
    return _dnn(
        "DNNClassifier", head, hidden_units, feature_columns, activation_fn, dropout, batch_norm, optimizer, config,
        model_dir=model_dir, warm_start_from=warm_start_from, label=label,
    )  # fmt: skip


def DNNRegressor(
    hidden_units,
    feature_columns,
    model_dir=None,
    label_dimension=1,
    weight_column=None,
    optimizer="adam",
    activation_fn="relu",
    dropout=None,
    config=None,
    warm_start_from=None,
    batch_norm=False,
    *,
    label="label",
) -> Estimator:
    """A DNN regressor (`RegressionHead`, mean squared error)."""
    head = RegressionHead(label_dimension, weight_column=weight_column)
    return _dnn(
        "DNNRegressor", head, hidden_units, feature_columns, activation_fn, dropout, batch_norm, optimizer, config,
        model_dir=model_dir, warm_start_from=warm_start_from, label=label,
    )  # fmt: skip


def _linear(where, head, feature_columns, optimizer, config, **options):
    # Ftrl's rate in tf.estimator's linear models.
    options = {"learning_rate": 0.2, **options, **_options(where, config)}
    return Estimator(linear_columns(feature_columns), head, model="linear", optimizer=optimizer, **options)


def LinearClassifier(
    feature_columns,
    model_dir=None,
    n_classes=2,
    weight_column=None,
    label_vocabulary=None,
    optimizer="ftrl",
    config=None,
    warm_start_from=None,
    *,
    label="label",
) -> Estimator:
    """A linear classifier: one weight per categorical id (looked up, never one-hot) and per numeric value."""
    head = _classifier_head("LinearClassifier", n_classes, label_vocabulary, weight_column)
    return _linear(
        "LinearClassifier", head, feature_columns, optimizer, config,
        model_dir=model_dir, warm_start_from=warm_start_from, label=label,
    )  # fmt: skip


def LinearRegressor(
    feature_columns,
    model_dir=None,
    label_dimension=1,
    weight_column=None,
    optimizer="ftrl",
    config=None,
    warm_start_from=None,
    *,
    label="label",
) -> Estimator:
    """A linear regressor."""
    head = RegressionHead(label_dimension, weight_column=weight_column)
    return _linear(
        "LinearRegressor", head, feature_columns, optimizer, config,
        model_dir=model_dir, warm_start_from=warm_start_from, label=label,
    )  # fmt: skip


def _combined(where, head, linear_feature_columns, dnn_feature_columns, optimizers, dnn_params, config, **options):
    wide = linear_columns(linear_feature_columns or ())
    deep = list(dnn_feature_columns or ())
    if not wide or not deep:
        raise ValueError(
            f"{where}: `linear_feature_columns` and `dnn_feature_columns` must both hold columns. Received: "
            f"{len(wide)} linear and {len(deep)} DNN columns. With one side only, use the Linear or DNN estimator."
        )
    shared = sorted({c.name for c in wide} & {c.name for c in deep})
    if shared:
        raise ValueError(
            f"{where}: a column must feed one side only. Received: {shared} in both `linear_feature_columns` and "
            "`dnn_feature_columns`. Give the DNN's copy another `name=`, or wrap it (e.g. in an EmbeddingColumn)."
        )
    return Estimator(
        wide + deep,
        head,
        model="wide_and_deep",
        model_params={"linear_features": [c.name for c in wide], **dnn_params},
        optimizer=wide_and_deep_optimizer(*optimizers),
        **options,
        **_options(where, config),
    )


def DNNLinearCombinedClassifier(
    model_dir=None,
    linear_feature_columns=None,
    linear_optimizer="ftrl",
    dnn_feature_columns=None,
    dnn_optimizer="adam",
    dnn_hidden_units=(64, 32, 16),
    dnn_activation_fn="relu",
    dnn_dropout=None,
    n_classes=2,
    weight_column=None,
    label_vocabulary=None,
    config=None,
    warm_start_from=None,
    batch_norm=False,
    *,
    label="label",
) -> Estimator:
    """Wide and deep: a linear model (trained with `linear_optimizer`) plus a DNN (with `dnn_optimizer`)."""
    head = _classifier_head("DNNLinearCombinedClassifier", n_classes, label_vocabulary, weight_column)
    dnn_params = _dnn_params(dnn_hidden_units, dnn_activation_fn, dnn_dropout, batch_norm)
    return _combined(
        "DNNLinearCombinedClassifier", head, linear_feature_columns, dnn_feature_columns,
        (linear_optimizer, dnn_optimizer), dnn_params, config,
        model_dir=model_dir, warm_start_from=warm_start_from, label=label,
    )  # fmt: skip


def DNNLinearCombinedRegressor(
    model_dir=None,
    linear_feature_columns=None,
    linear_optimizer="ftrl",
    dnn_feature_columns=None,
    dnn_optimizer="adam",
    dnn_hidden_units=(64, 32, 16),
    dnn_activation_fn="relu",
    dnn_dropout=None,
    label_dimension=1,
    weight_column=None,
    config=None,
    warm_start_from=None,
    batch_norm=False,
    *,
    label="label",
) -> Estimator:
    """Wide and deep regression."""
    head = RegressionHead(label_dimension, weight_column=weight_column)
    dnn_params = _dnn_params(dnn_hidden_units, dnn_activation_fn, dnn_dropout, batch_norm)
    return _combined(
        "DNNLinearCombinedRegressor", head, linear_feature_columns, dnn_feature_columns,
        (linear_optimizer, dnn_optimizer), dnn_params, config,
        model_dir=model_dir, warm_start_from=warm_start_from, label=label,
    )  # fmt: skip


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
