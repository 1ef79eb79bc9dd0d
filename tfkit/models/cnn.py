"""`cnn`: the course's small convolutional network, for image features."""

from __future__ import annotations

import math

import keras

from feature_columns.integration import is_count
from tfkit.layers.dropout import check_rate
from tfkit.models.assembly import as_feature_layer, assemble_chain

WHERE = "tfkit.models.cnn"


def cnn(
    features,
    head,
    image_shape,
    *,
    filters=32,
    kernel_size=3,
    pool_size=2,
    dropout=0.25,
    dense_units=128,
    dense_dropout=0.5,
    gradient_clip_norm=None,
    sequential=False,
    name="cnn",
) -> keras.Model:
    """Conv2D -> MaxPooling2D -> Dropout -> Flatten -> Dense -> Dropout -> head, over image features.

    The feature layer's dense output (e.g. one `NumericColumn("pixels", shape=(28, 28, 1))`, flattened) is
    reshaped to `image_shape` first.

    Args:
        features: an adapted `FeatureLayer`, or a list of columns that need no adapting.
        head: a tfkit head, e.g. `MultiClassHead(10)`.
        image_shape: `(height, width, channels)`; their product must be the features' width.
        filters, kernel_size: the convolution's (ReLU).
        pool_size: the max pooling's window.
        dropout: probability of dropping a unit after pooling; `dense_dropout` after the dense layer.
        dense_units: the dense layer's units (ReLU).
        gradient_clip_norm: clip the gradients to this global norm while training.
        sequential: build a `keras.Sequential([preprocessor, core])` whose core's body is a
            `keras.Sequential([encoder, Reshape, Conv2D, ...])`, instead of functional models; same layers and
            outputs (see `tfkit.models.assemble`).

    >>> import numpy as np
    >>> from feature_columns import NumericColumn
    >>> from tfkit.heads import MultiClassHead
    >>> model = cnn([NumericColumn("pixels", shape=(8, 8, 1))], MultiClassHead(3), (8, 8, 1), dense_units=4)
    >>> model({"pixels": np.zeros((2, 8, 8, 1), "float32")}).shape
    TensorShape([2, 3])
    """
    shape, rates = check_cnn_args(
        WHERE, image_shape, filters, kernel_size, pool_size, dropout, dense_units, dense_dropout
    )
    features = as_feature_layer(WHERE, features)
    if math.prod(shape) != features.output_dim:
        raise ValueError(
            f"{WHERE}: `image_shape` must be (height, width, channels) holding the features' "
            f"{features.output_dim} values. Received: image_shape={image_shape!r} ({math.prod(shape)} values)."
        )
    layers = [
        keras.layers.Reshape(shape, name="image"),
        keras.layers.Conv2D(filters, kernel_size, activation="relu", name="conv"),
        keras.layers.MaxPooling2D(pool_size, name="pool"),
        *([keras.layers.Dropout(rates[0], name="dropout")] if rates[0] else []),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(dense_units, activation="relu", name="dense"),
        *([keras.layers.Dropout(rates[1], name="dense_dropout")] if rates[1] else []),
    ]
    return assemble_chain(
        WHERE, features, layers, head, sequential=sequential, gradient_clip_norm=gradient_clip_norm, name=name
    )


def check_cnn_args(
    where: str, image_shape, filters=32, kernel_size=3, pool_size=2, dropout=0.25, dense_units=128, dense_dropout=0.5
) -> tuple:
    """`(image shape, (dropout rate, dense dropout rate))` once the arguments are valid; needs no features."""
    shape = tuple(image_shape) if isinstance(image_shape, (list, tuple)) else ()
    if len(shape) != 3 or not all(is_count(size) for size in shape):
        raise ValueError(
            f"{where}: `image_shape` must be (height, width, channels), three positive integers. "
            f"Received: image_shape={image_shape!r}."
        )
    for argument, value in (("filters", filters), ("kernel_size", kernel_size), ("pool_size", pool_size),
                            ("dense_units", dense_units)):  # fmt: skip
        if not is_count(value):
            raise ValueError(f"{where}: `{argument}` must be a positive integer. Received: {argument}={value!r}.")
    rates = tuple(None if rate is None else check_rate(where, rate, argument) for argument, rate in
                  (("dropout", dropout), ("dense_dropout", dense_dropout)))  # fmt: skip
    return shape, rates
