"""`dnn`: a feed-forward network over a feature layer's dense output."""

from __future__ import annotations

import keras

from tfkit.models.assembly import as_feature_layer, assemble


def _check_hidden_units(hidden_units) -> tuple:
    units = tuple(hidden_units) if isinstance(hidden_units, (list, tuple)) else None
    if not units or any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in units):
        raise ValueError(
            f"tfkit.models.dnn: `hidden_units` must be a non-empty list of positive integers, e.g. [64, 32]. "
            f"Received: hidden_units={hidden_units!r}."
        )
    return units


def check_dropout(where: str, dropout) -> float | None:
    """`dropout` is the probability of DROPPING a unit (Keras's meaning), not tf.compat.v1's keep_prob."""
    if dropout is None:
        return None
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(
            f"{where}: `dropout` must be the probability of dropping a unit, in [0, 1). Received: dropout={dropout!r}. "
            "If you meant a keep probability p (tf.compat.v1.nn.dropout's keep_prob), pass 1 - p."
        )
    return float(dropout) or None


def dnn(
    features, head, hidden_units=(64, 32, 16), *, activation="relu", dropout=None, batch_norm=False, name="dnn"
) -> keras.Model:
    """A DNN from raw features to the head's outputs.

    Args:
        features: an adapted `FeatureLayer`, or a list of columns that need no adapting.
        head: a tfkit head, e.g. `RegressionHead()`.
        hidden_units: units of each hidden layer.
        activation: the hidden layers' activation.
        dropout: probability of dropping a unit after each hidden layer.
        batch_norm: add batch normalization after each hidden layer.

    >>> from feature_columns import NumericColumn
    >>> from tfkit.heads import RegressionHead
    >>> model = dnn([NumericColumn("x")], RegressionHead(), hidden_units=[4])
    >>> import numpy as np
    >>> model({"x": np.array([1.0, 2.0])}).shape
    TensorShape([2, 1])
    """
    features = as_feature_layer("tfkit.models.dnn", features)
    units = _check_hidden_units(hidden_units)
    rate = check_dropout("tfkit.models.dnn", dropout)
    inputs = features.preprocessed_inputs()
    hidden = features.encoder(inputs)
    for i, width in enumerate(units):
        hidden = keras.layers.Dense(width, activation=activation, name=f"hidden_{i}")(hidden)
        if batch_norm:
            hidden = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(hidden)
        if rate:
            hidden = keras.layers.Dropout(rate, name=f"dropout_{i}")(hidden)
    core = keras.Model(inputs, head(hidden), name=f"{name}_core")
    return assemble(features, core, name=name)
