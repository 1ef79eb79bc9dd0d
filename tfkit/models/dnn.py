"""`dnn`: a feed-forward network over a feature layer's dense output."""

from __future__ import annotations

import keras

from tfkit.layers.dropout import check_rate
from tfkit.models.assembly import as_feature_layer, assemble
from tfkit.models.head_model import HeadModel


def _check_hidden_units(hidden_units) -> tuple:
    units = tuple(hidden_units) if isinstance(hidden_units, (list, tuple)) else None
    if not units or any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in units):
        raise ValueError(
            f"tfkit.models.dnn: `hidden_units` must be a non-empty list of positive integers, e.g. [64, 32]. "
            f"Received: hidden_units={hidden_units!r}."
        )
    return units


def dnn_body(inputs: dict, encoder, hidden_units, *, activation="relu", dropout=None, batch_norm=False, name="dnn"):
    """The hidden layers over `encoder(inputs)`, as a model from preprocessed `inputs` to the last activations."""
    units = _check_hidden_units(hidden_units)
    rate = None if dropout is None else check_rate("tfkit.models.dnn", dropout, "dropout")
    hidden = encoder(inputs)
    for i, width in enumerate(units):
        hidden = keras.layers.Dense(width, activation=activation, name=f"hidden_{i}")(hidden)
        if batch_norm:
            hidden = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(hidden)
        if rate:
            hidden = keras.layers.Dropout(rate, name=f"dropout_{i}")(hidden)
    return keras.Model(inputs, hidden, name=f"{name}_body")


def dnn(
    features,
    head,
    hidden_units=(64, 32, 16),
    *,
    activation="relu",
    dropout=None,
    batch_norm=False,
    gradient_clip_norm=None,
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

    >>> from feature_columns import NumericColumn
    >>> from tfkit.heads import RegressionHead
    >>> model = dnn([NumericColumn("x")], RegressionHead(), hidden_units=[4])
    >>> import numpy as np
    >>> model({"x": np.array([1.0, 2.0])}).shape
    TensorShape([2, 1])
    """
    features = as_feature_layer("tfkit.models.dnn", features)
    inputs = features.preprocessed_inputs()
    body = dnn_body(
        inputs, features.encoder, hidden_units, activation=activation, dropout=dropout, batch_norm=batch_norm, name=name
    )
    core = HeadModel(body, head, gradient_clip_norm=gradient_clip_norm, name=f"{name}_core")
    return assemble(features, core, name=name)
