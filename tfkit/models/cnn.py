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
    image_shape=None,
    *,
    filters=32,
    kernel_size=3,
    pool_size=2,
    dropout=0.25,
    dense_units=128,
    dense_dropout=0.5,
    gradient_clip_norm=None,
    l1=0.0,
    l2=0.0,
    sequential=False,
    name="cnn",
) -> keras.Model:
    """(Conv2D -> MaxPooling2D) per entry of `filters` -> Dropout -> Flatten -> Dense -> Dropout -> head.

    The feature layer's dense output (e.g. one `ImageColumn("pixels", shape=(28, 28))`, flattened) is reshaped to
    `image_shape` first.

    Args:
        features: an adapted `FeatureLayer`, or a list of columns that need no adapting.
        head: a tfkit head, e.g. `MultiClassHead(10)`.
        image_shape: `(height, width, channels)`; their product must be the features' width. None takes the
            `image_shape` of the features' one `ImageColumn`.
        filters: the convolutions' filters (ReLU): a number for one convolution and pooling, or a list, one
            convolution and pooling each, e.g. `[32, 64]`.
        kernel_size: the convolutions' window.
        pool_size: the max poolings' window.
        dropout: probability of dropping a unit after pooling; `dense_dropout` after the dense layer.
        dense_units: the dense layer's units (ReLU).
        gradient_clip_norm: clip the gradients to this global norm while training.
        l1, l2: weight penalties added to the training loss, `l1 * sum(|w|) + l2 * sum(w ** 2)` over every
            kernel and embedding table (a linear model's weights are tables); 0 for none. See `tfkit.layers`.
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
    shape, filters, rates = check_cnn_args(
        WHERE, image_shape, filters, kernel_size, pool_size, dropout, dense_units, dense_dropout
    )
    features = as_feature_layer(WHERE, features)
    if shape is None:
        shape = _column_image_shape(features.columns)
    if math.prod(shape) != features.output_dim:
        raise ValueError(
            f"{WHERE}: `image_shape` must be (height, width, channels) holding the features' "
            f"{features.output_dim} values. Received: image_shape={image_shape!r} ({math.prod(shape)} values)."
        )
    convolutions = []
    for i, count in enumerate(filters):
        suffix = f"_{i + 1}" if len(filters) > 1 else ""
        convolutions += [
            keras.layers.Conv2D(count, kernel_size, activation="relu", name=f"conv{suffix}"),
            keras.layers.MaxPooling2D(pool_size, name=f"pool{suffix}"),
        ]
    layers = [
        keras.layers.Reshape(shape, name="image"),
        *convolutions,
        *([keras.layers.Dropout(rates[0], name="dropout")] if rates[0] else []),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(dense_units, activation="relu", name="dense"),
        *([keras.layers.Dropout(rates[1], name="dense_dropout")] if rates[1] else []),
    ]
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


def _column_image_shape(columns) -> tuple:
    images = [column for column in columns if hasattr(column, "image_shape")]
    if len(images) != 1 or len(columns) != 1:
        raise ValueError(
            f"{WHERE}: `image_shape` must be given unless the features are one ImageColumn. Received: "
            f"image_shape=None with columns {[column.name for column in columns]}. Pass image_shape=(height, "
            "width, channels)."
        )
    return images[0].image_shape


def check_cnn_args(
    where: str,
    image_shape=None,
    filters=32,
    kernel_size=3,
    pool_size=2,
    dropout=0.25,
    dense_units=128,
    dense_dropout=0.5,
) -> tuple:
    """`(image shape or None, filters as a tuple, (dropout rate, dense dropout rate))` once the arguments are
    valid; needs no features."""
    shape = None
    if image_shape is not None:
        shape = tuple(image_shape) if isinstance(image_shape, (list, tuple)) else ()
        if len(shape) != 3 or not all(is_count(size) for size in shape):
            raise ValueError(
                f"{where}: `image_shape` must be (height, width, channels), three positive integers, or None for "
                f"the ImageColumn's. Received: image_shape={image_shape!r}."
            )
    counts = tuple(filters) if isinstance(filters, (list, tuple)) else (filters,)
    if not counts or not all(is_count(count) for count in counts):
        raise ValueError(
            f"{where}: `filters` must be a positive integer or a non-empty list of them. Received: filters={filters!r}."
        )
    for argument, value in (("kernel_size", kernel_size), ("pool_size", pool_size), ("dense_units", dense_units)):
        if not is_count(value):
            raise ValueError(f"{where}: `{argument}` must be a positive integer. Received: {argument}={value!r}.")
    rates = tuple(None if rate is None else check_rate(where, rate, argument) for argument, rate in
                  (("dropout", dropout), ("dense_dropout", dense_dropout)))  # fmt: skip
    return shape, counts, rates
