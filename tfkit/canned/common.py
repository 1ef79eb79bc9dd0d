"""What the canned estimators share: their arguments' documentation, `config`, heads and learning rates."""

from __future__ import annotations

import inspect
import textwrap

from feature_columns.integration import is_count
from tfkit.estimator.compile import check_optimizer
from tfkit.heads import BinaryHead, MultiClassHead
from tfkit.run_config import RunConfig

# The `Estimator` settings a dict `config` may hold: run settings, as a `tf.estimator.RunConfig` held them.
CONFIG_KEYS = ("seed", "steps_per_execution", "jit_compile", "save_checkpoints_steps", "strategy", "mixed_precision")

# Every canned argument, documented once; each class's `Args:` section is made from its own signature.
ARGS = {
    "hidden_units": "units of each hidden layer, e.g. `[64, 32]`.",
    "feature_columns": "the dense columns the model reads.",
    "linear_feature_columns": "the columns of the linear (wide) side: categorical columns (read directly, one "
    "weight per id: see `tfkit.models.linear_columns`) and numeric ones.",
    "dnn_feature_columns": "the dense columns of the DNN (deep) side; a column feeds one side only.",
    "model_dir": "where the definition, weights, checkpoints, logs and metrics go; None keeps everything in "
    "memory. A model_dir holding a trained model restores it.",
    "n_classes": "the number of classes (2: a `BinaryHead`, more: a `MultiClassHead`).",
    "label_dimension": "the number of values each label holds.",
    "weight_column": "the feature holding each example's weight in the loss, or None.",
    "label_vocabulary": "the `n_classes` label strings, or None for labels that are class ids.",
    "optimizer": "a Keras optimizer instance, or the name of one in any case (`'Adagrad'`, `'Adam'`, `'Ftrl'`, "
    "`'RMSProp'`, `'SGD'`, ...: `tfkit.estimator.compile.OPTIMIZERS`).",
    "linear_optimizer": "the linear side's optimizer: an instance, or a name (see `optimizer`).",
    "dnn_optimizer": "the DNN side's (and the head's projection's) optimizer: an instance, or a name.",
    "activation_fn": "the hidden layers' activation: a Keras activation name or a callable.",
    "dnn_activation_fn": "the DNN's hidden layers' activation.",
    "dropout": "the probability of dropping a unit after each hidden layer, or None.",
    "dnn_dropout": "the DNN's dropout probability, or None.",
    "dnn_hidden_units": "units of each of the DNN's hidden layers.",
    "config": "a `tfkit.RunConfig` (tf.estimator's `RunConfig` arguments), a dict of run settings, keys among "
    f"{list(CONFIG_KEYS)} (see `tfkit.Estimator`), or None.",
    "warm_start_from": "an earlier model to start from (see `tfkit.Estimator`).",
    "batch_norm": "add batch normalization after each hidden layer.",
    "label": "the label's column name in CSV files and DataFrames.",
}


def document(**own):
    """A class decorator: inserts an `Args:` section made from `__init__`'s signature (and `ARGS`, or the
    class's `own` texts) before the docstring's `Example:`."""

    def decorate(cls):
        names = list(inspect.signature(cls.__init__).parameters)[1:]
        args = "".join(
            textwrap.fill(
                f"{name}: {own.get(name) or ARGS[name]}", 116, initial_indent=" " * 8, subsequent_indent=" " * 12
            )
            + "\n"
            for name in names
        )
        summary, example = cls.__doc__.split("    Example:")
        cls.__doc__ = f"{summary}    Args:\n{args}\n    Example:{example}"
        return cls

    return decorate


def run_options(where: str, config) -> dict:
    """`config` as `Estimator` keyword arguments: only run settings; anything else says where it goes."""
    if config is None:
        return {}
    if isinstance(config, RunConfig):
        return {"config": config}
    if not isinstance(config, dict):
        raise TypeError(
            f"{where}: `config` must be a tfkit.RunConfig, a dict with keys among {list(CONFIG_KEYS)}, or None. "
            f"Received: config={config!r} (of type {type(config).__name__})."
        )
    if "learning_rate" in config:
        raise ValueError(
            f"{where}: `config` must hold run settings only, keys among {list(CONFIG_KEYS)}. Received: "
            f"config={config!r}. Pass the learning rate as an argument instead: `learning_rate=`, or "
            "`linear_learning_rate=` and `dnn_learning_rate=` for wide and deep."
        )
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError(
            f"{where}: `config` must be a dict with keys among {list(CONFIG_KEYS)}. Received: config={config!r}, "
            f"whose {unknown} tfkit does not know. tf.estimator's RunConfig arguments go in "
            "`config=tfkit.RunConfig(...)`."
        )
    return dict(config)


def options(where: str, label, model_dir, warm_start_from, config) -> dict:
    """The `Estimator` arguments every canned estimator passes on as they are, and `config`'s run settings."""
    return {"label": label, "model_dir": model_dir, "warm_start_from": warm_start_from, **run_options(where, config)}


def classifier_head(where: str, n_classes, label_vocabulary, weight_column):
    """tf.estimator's head for `n_classes`: a `BinaryHead` for 2, else a `MultiClassHead`."""
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


def rate(where: str, optimizer, learning_rate, default, side: str = "") -> float | None:
    """`learning_rate`, or for a named optimizer without one, `default` (a rate, or a function of the name).

    `side` (`"linear_"`, `"dnn_"`) prefixes the argument names in errors."""
    check_optimizer(where, optimizer, learning_rate, arguments=(f"{side}optimizer", f"{side}learning_rate"))
    if learning_rate is not None or not isinstance(optimizer, str):
        return learning_rate
    return default(optimizer) if callable(default) else default


def optimizer_options(where: str, optimizer, learning_rate, default) -> dict:
    """`Estimator`'s `optimizer` and `learning_rate`, at tf.estimator's rate (`default`) for a name without one."""
    return {"optimizer": optimizer, "learning_rate": rate(where, optimizer, learning_rate, default)}


def dnn_params(hidden_units, activation_fn, dropout, batch_norm) -> dict:
    """The `dnn` builder's arguments under their tf.estimator names."""
    return {"hidden_units": hidden_units, "activation": activation_fn, "dropout": dropout, "batch_norm": batch_norm}
