"""`dnn`: a feed-forward network over a feature layer's dense output."""

from __future__ import annotations

import keras

from feature_columns.integration import is_count
from tfkit.layers.dropout import check_rate
from tfkit.models.assembly import as_feature_layer, assemble_chain, check_activation, check_bool

WHERE = "tfkit.models.dnn"


def check_dnn_layers(where: str, hidden_units, *, activation="relu", dropout=None, batch_norm=False) -> tuple:
    """`(units, dropout rate or None)` once the hidden layers' arguments are known to be valid; builds nothing."""
    units = tuple(hidden_units) if isinstance(hidden_units, (list, tuple)) else None
    if not units or not all(is_count(u) for u in units):
        raise ValueError(
            f"{where}: `hidden_units` must be a non-empty list of positive integers, e.g. [64, 32]. "
            f"Received: hidden_units={hidden_units!r}."
        )
    check_activation(where, activation)
    check_bool(where, "batch_norm", batch_norm)
    return units, None if dropout is None else check_rate(where, dropout, "dropout")


def dnn_layers(hidden_units, *, activation="relu", dropout=None, batch_norm=False, where: str = WHERE) -> list:
    """The hidden layers, in order: each `Dense`, then its batch normalization and dropout if asked."""
    units, rate = check_dnn_layers(where, hidden_units, activation=activation, dropout=dropout, batch_norm=batch_norm)
    layers = []
    for i, width in enumerate(units):
        layers.append(keras.layers.Dense(width, activation=activation, name=f"hidden_{i}"))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization(name=f"batch_norm_{i}"))
        if rate:
            layers.append(keras.layers.Dropout(rate, name=f"dropout_{i}"))
    return layers


def dnn(
    features,
    head,
    hidden_units=(64, 32, 16),
    *,
    activation="relu",
    dropout=None,
    batch_norm=False,
    gradient_clip_norm=None,
    l1=0.0,
    l2=0.0,
    sequential=False,
    name="dnn",
) -> keras.Model:
    """A DNN from raw features to the head's outputs.

    The model is `core(preprocessor(raw))`, where the core is a `HeadModel(body, head)`: Keras trains the core
    with the head's loss (see `tfkit.models.split`).

    Args:
        features: an adapted `FeatureLayer`, or a list of columns that need no adapting.
        head: a tfkit head, e.g. `RegressionHead()`.
        hidden_units: units of each hidden layer.
        activation: the hidden layers' activation.
        dropout: probability of dropping a unit after each hidden layer.
        batch_norm: add batch normalization after each hidden layer.
        gradient_clip_norm: clip the gradients to this global norm while training.
        l1, l2: weight penalties added to the training loss, `l1 * sum(|w|) + l2 * sum(w ** 2)` over every
            kernel and embedding table (a linear model's weights are tables); 0 for none. See `tfkit.layers`.
        sequential: build a `keras.Sequential([preprocessor, core])` whose core's body is a
            `keras.Sequential([encoder, *hidden layers])`, instead of functional models; same layers and outputs
            (see `tfkit.models.assemble`).

    >>> from feature_columns import NumericColumn
    >>> from tfkit.heads import RegressionHead
    >>> model = dnn([NumericColumn("x")], RegressionHead(), hidden_units=[4])
    >>> import numpy as np
    >>> model({"x": np.array([1.0, 2.0])}).shape
    TensorShape([2, 1])
    >>> type(dnn([NumericColumn("x")], RegressionHead(), hidden_units=[4], sequential=True)).__name__
    'Sequential'
    """
    features = as_feature_layer(WHERE, features)
    layers = dnn_layers(hidden_units, activation=activation, dropout=dropout, batch_norm=batch_norm)
    return assemble_chain(
        WHERE,
        features,
        layers,
        head,
        sequential=sequential,
        gradient_clip_norm=gradient_clip_norm,
        l1=l1,
        l2=l2,
        name=name,
    )
