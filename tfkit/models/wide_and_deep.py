"""`wide_and_deep`: a linear model and a DNN side by side, added in the head's logits."""

from __future__ import annotations

import keras

from tfkit.models.assembly import as_feature_layer, assemble, check_common, make_core
from tfkit.models.dnn import check_dnn_layers, dnn_layers
from tfkit.models.linear import LINEAR_SUFFIX

WHERE = "tfkit.models.wide_and_deep"


def wide_and_deep(
    features,
    head,
    linear_features,
    hidden_units=(64, 32, 16),
    *,
    activation="relu",
    dropout=None,
    batch_norm=False,
    gradient_clip_norm=None,
    l1=0.0,
    l2=0.0,
    sequential=False,
    name="wide_and_deep",
) -> keras.Model:
    """A wide (linear) and a deep (DNN) model over one feature layer, whose logits add up.

    The body concatenates the linear columns' outputs (see `tfkit.models.linear`) and the DNN's last hidden layer;
    the head's projection over that concatenation is the linear model's logits plus the DNN's. Both sides read
    the feature layer's one encoder (each its own columns), so every embedding table exists once. Train the two
    sides with their own optimizers through `wide_and_deep_optimizer`.

    Args:
        features: an adapted `FeatureLayer` holding both sides' columns (the wide ones through
            `tfkit.models.linear_columns`), or a list of columns that need no adapting.
        head: a tfkit head.
        linear_features: the names of the columns of the wide side; the other columns feed the DNN.
        hidden_units, activation, dropout, batch_norm: the DNN's, as in `tfkit.models.dnn`.
        gradient_clip_norm: clip the gradients to this global norm while training.
        l1, l2: weight penalties added to the training loss, `l1 * sum(|w|) + l2 * sum(w ** 2)` over every
            kernel and embedding table (a linear model's weights are tables); 0 for none. See `tfkit.layers`.
        sequential: must be False: the two sides are branches that meet in the head, which a
            `keras.Sequential` (one chain of layers) cannot express.

    >>> import numpy as np
    >>> from feature_columns import NumericColumn, HashedColumn
    >>> from tfkit.heads import BinaryHead
    >>> from tfkit.models import linear_columns
    >>> columns = linear_columns([HashedColumn("h", num_bins=8)]) + [NumericColumn("x")]
    >>> model = wide_and_deep(columns, BinaryHead(), ["h_linear"], hidden_units=[4])
    >>> model({"x": np.array([1.0, 2.0]), "h": np.array(["a", "b"])}).shape
    TensorShape([2, 1])
    """
    check_wide_and_deep_args(WHERE, linear_features, hidden_units, activation=activation, dropout=dropout,
                             batch_norm=batch_norm, sequential=sequential)  # fmt: skip
    check_common(WHERE, gradient_clip_norm=gradient_clip_norm, l1=l1, l2=l2, name=name)
    features = as_feature_layer(WHERE, features)
    names = [column.name for column in features.columns]
    wide = [linear_features] if isinstance(linear_features, str) else list(linear_features)
    unknown = [feature for feature in wide if feature not in names]
    if unknown or len(wide) == len(names):
        raise ValueError(
            f"{WHERE}: `linear_features` must name some, not all, of the columns {names}; the others feed the DNN. "
            f"Received: linear_features={linear_features!r}."
        )
    deep = [name for name in names if name not in wide]
    # One encoder, called once per side: each side reads its own columns, and every table exists once.
    inputs = features.preprocessed_inputs()
    hidden = features.encoder(inputs, columns=deep)
    for layer in dnn_layers(hidden_units, activation=activation, dropout=dropout, batch_norm=batch_norm, where=WHERE):
        hidden = layer(hidden)
    linear_part = features.encoder(inputs, columns=wide)
    hidden = keras.layers.Concatenate(name="wide_and_deep")([linear_part, hidden])
    body = keras.Model(inputs, hidden, name=f"{name}_body")
    core = make_core(body, head, gradient_clip_norm=gradient_clip_norm, l1=l1, l2=l2, name=f"{name}_core")
    return assemble(features, core, name=name)


def check_wide_and_deep_args(where: str, linear_features, hidden_units=(64, 32, 16), *, sequential=False, **dnn_args):
    """Raises unless the arguments can make a wide-and-deep model; needs no features (see `wide_and_deep`)."""
    if sequential is not False:
        raise ValueError(
            f"{where}: `sequential` must be False: a wide-and-deep model has two branches (the linear and the DNN "
            f"side) that meet in the head, and a keras.Sequential is a single chain of layers. Received: "
            f"sequential={sequential!r}. Use the functional form (sequential=False), or `tfkit.models.dnn` or "
            "`tfkit.models.linear` with sequential=True for one side alone."
        )
    wanted = [linear_features] if isinstance(linear_features, str) else linear_features
    if not isinstance(wanted, (list, tuple)) or not wanted or not all(isinstance(name, str) for name in wanted):
        raise ValueError(
            f"{where}: `linear_features` must name some, not all, of the columns; the others feed the DNN. "
            f"Received: linear_features={linear_features!r}."
        )
    check_dnn_layers(where, hidden_units, **dnn_args)


def wide_and_deep_optimizer(
    linear_optimizer="ftrl", dnn_optimizer="adam", *, linear_learning_rate=0.05, dnn_learning_rate=0.001
):
    """A `keras.optimizers.MultiOptimizer` training a `wide_and_deep` model's linear weights (the tables of the
    `<column>_linear` columns `linear_columns` makes) with `linear_optimizer` (Ftrl, as `tf.estimator` did) and
    everything else — the DNN and the head's projection — with `dnn_optimizer`.

    >>> type(wide_and_deep_optimizer()).__name__
    'MultiOptimizer'
    """

    def make(identifier, learning_rate):
        if isinstance(identifier, keras.optimizers.Optimizer):
            return identifier
        return keras.optimizers.get({"class_name": identifier, "config": {"learning_rate": learning_rate}})

    optimizers = keras.optimizers.OptimizerMap(
        make(dnn_optimizer, dnn_learning_rate),
        {f".*{LINEAR_SUFFIX}/embeddings": make(linear_optimizer, linear_learning_rate)},
    )
    return keras.optimizers.MultiOptimizer(optimizers)
