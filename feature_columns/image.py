"""The image family: fixed-shape pixel arrays (`ImageColumn`), scaled for the model, and dense values turned into
the ids of the positions above a threshold (`BinarizedColumn`, "MNIST pixels as a sparse input").

>>> from feature_columns import EmbeddingColumn
>>> pixels = ImageColumn("pixels", shape=(28, 28))
>>> lit = BinarizedColumn(pixels)
>>> pixels.image_shape, lit.name, lit.num_buckets, EmbeddingColumn(lit, dimension=3, combiner="sum").output_dim
((28, 28, 1), 'pixels_binarized', 784, 3)
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from feature_columns.base import CategoricalColumn, DenseColumn, Read, column_spec, describe
from feature_columns.numeric import NumericColumn, numeric_feature
from feature_columns.tensors import require
from feature_columns.validation import as_tuple, check_key, check_positive_int, freeze, is_number


@column_spec
class ImageColumn(DenseColumn):
    """A fixed-shape image of raw numbers (pixels), multiplied by `scale` and flattened for the model.

    The raw feature holds one `shape` array per example (`[batch, *shape]`); any integer or float dtype is read
    as float32, so uint8 pixels feed it directly. The output is `[batch, height * width * channels]` in row-major
    order, which `tfkit.models.cnn(..., image_shape=column.image_shape)` reshapes back into images. A missing value
    (NaN) is an error, as for a `NumericColumn` without `default_value`.

    Args:
        key: the raw feature's name.
        shape: `(height, width)` for one channel, or `(height, width, channels)`.
        scale: a positive number the raw values are multiplied by; the default maps 0..255 pixels to 0..1.
        name: the column's name; defaults to `key`.

    >>> import numpy as np
    >>> from feature_columns import FeatureLayer
    >>> image = ImageColumn("pixels", shape=(2, 2))
    >>> output = FeatureLayer([image])({"pixels": np.array([[[0, 255], [51, 102]]], "uint8")})
    >>> output.numpy().astype(float).round(3).tolist()  # 51 / 255 = 0.2, 102 / 255 = 0.4
    [[0.0, 1.0, 0.2, 0.4]]
    """

    key: str
    shape: tuple = (28, 28)
    scale: float = 1 / 255
    name: str | None = None

    def __post_init__(self):
        where = f"ImageColumn({self.key!r})"
        check_key(where, self.key)
        shape = as_tuple(where, "shape", self.shape)
        if len(shape) not in (2, 3):
            raise ValueError(
                f"{where}: `shape` must be (height, width) or (height, width, channels). Received: shape={shape!r}. "
                "Give the shape of one example's image, without the batch dimension."
            )
        for dim in shape:
            check_positive_int(where, "shape", dim)
        if not is_number(self.scale) or not math.isfinite(self.scale) or self.scale <= 0:
            raise ValueError(
                f"{where}: `scale` must be a positive number. Received: scale={self.scale!r} "
                f"(of type {type(self.scale).__name__}). Use 1 / 255 for 0..255 pixels, 1.0 to keep raw values."
            )
        freeze(self, shape=shape, name=self.name or self.key)

    needs_adapt = False

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    @property
    def image_shape(self) -> tuple:
        """`(height, width, channels)`: the images the flattened output holds."""
        return self.shape if len(self.shape) == 3 else (*self.shape, 1)

    @property
    def output_dim(self) -> int:
        return math.prod(self.shape)

    def reads(self) -> tuple:
        return (Read(self.key, "float32", self.shape, numeric=True),)

    def preprocess(self, preprocessor, features: dict, memo: dict):
        return self.value(features, preprocessor.defaults, memo)

    def value(self, features: dict, defaults: dict, memo: dict | None = None) -> tf.Tensor:
        """The scaled pixels, float32 `[batch, output_dim]`, as `NumericColumn.value` gives its values."""
        image = _checked_shape(self, numeric_feature(self, self.key, features, defaults, memo))
        return tf.reshape(image, [-1, self.output_dim]) * self.scale


def _checked_shape(column: ImageColumn, image: tf.Tensor) -> tf.Tensor:
    """`image` once it holds one `column.shape` array per example: a ValueError now when the static shape tells,
    otherwise (dimensions unknown inside a graph) a failing op. Flattening a wrong shape would mix up examples."""
    expected = column.shape
    message = (
        f"{describe(column)}: raw feature {column.key!r} must hold one image of shape {expected} per example, "
        f"a [batch, {', '.join(map(str, expected))}] array."
    )
    fix = f"Reshape the data, or declare the column with the data's shape (`ImageColumn({column.key!r}, shape=...)`)."
    per_example = image.shape[1:]
    if per_example.rank is not None:
        if per_example.rank != len(expected) or any(
            d not in (None, e) for d, e in zip(per_example, expected, strict=True)
        ):
            raise ValueError(f"{message} Received: shape {tuple(image.shape)}. {fix}")
        if per_example.is_fully_defined():
            return image
    matches = tf.cond(
        tf.rank(image) == len(expected) + 1,
        lambda: tf.reduce_all(tf.shape(image)[1:] == expected),
        lambda: tf.constant(False),
    )
    return require(image, matches, f"{message} {fix}", offending=lambda: tf.shape(image))  # "Received: [4 28 27]"


@column_spec
class BinarizedColumn(CategoricalColumn):
    """The positions where a dense numeric column's value exceeds `threshold`, as ids: a sparse, multivalent input.

    Example `b` gets the ids `i` (in `[0, source.output_dim)`, over the flattened value) where the source's value,
    after the source's own scaling (`source.value`), is greater than `threshold`: lit pixels first in increasing
    order, then -1 up to `source.output_dim` ids, so batches keep one shape. `EmbeddingColumn(..., combiner="sum")`
    of it adds the table rows of the lit positions, `binarized @ table`; `IndicatorColumn` gives the 0/1 vector.
    Serving still takes the source's raw feature.

    Args:
        source: an `ImageColumn`, or a `NumericColumn` (usually with several values, `shape=(n,)`) without
            statistics-based normalization.
        threshold: a value counts when it is strictly greater than this.
        name: defaults to `<source name>_binarized`.

    >>> import numpy as np
    >>> from feature_columns import FeatureLayer, IndicatorColumn
    >>> lit = BinarizedColumn(ImageColumn("pixels", shape=(2, 2)))
    >>> FeatureLayer([IndicatorColumn(lit)])({"pixels": np.array([[[0, 255], [200, 90]]])}).numpy().tolist()
    [[0.0, 1.0, 1.0, 0.0]]
    """

    source: Any
    threshold: float = 0.5
    name: str | None = None

    def __post_init__(self):
        where = f"BinarizedColumn({getattr(self.source, 'name', self.source)!r})"
        if not isinstance(self.source, (ImageColumn, NumericColumn)):
            raise TypeError(
                f"{where}: `source` must be a dense numeric column, an ImageColumn or a NumericColumn. Received: "
                f"source={self.source!r} (of type {type(self.source).__name__}). For a raw feature name, pass "
                "ImageColumn(key, shape=...) or NumericColumn(key, shape=(n,))."
            )
        if self.source.needs_adapt:
            # The threshold compares `source.value`, before statistics: learning them would change nothing.
            raise ValueError(
                f"{where}: `source` must not learn statistics from data, as the threshold applies before them. "
                f"Received: source={self.source!r}. Drop its `normalization`, or give a threshold on the raw scale."
            )
        if not is_number(self.threshold) or math.isnan(self.threshold):
            raise TypeError(
                f"{where}: `threshold` must be a real number. Received: threshold={self.threshold!r} "
                f"(of type {type(self.threshold).__name__})."
            )
        freeze(self, threshold=float(self.threshold), name=self.name or f"{self.source.name}_binarized")

    # The number of ids varies per example (so no `combiner=None`), although the tensor is always num_buckets wide.
    id_width = None
    always_one_id = False
    needs_adapt = False
    rows_description = "one row per position of the source's flattened value"

    @property
    def input_keys(self) -> tuple:
        return self.source.input_keys

    @property
    def num_buckets(self) -> int:
        return self.source.output_dim

    def children(self) -> tuple:
        return (self.source,)

    def slot_spec(self, key: str) -> dict:
        # A static width, rather than the batch's largest count: one XLA compilation and one `Input` shape.
        return {key: ((self.num_buckets,), "int64")}

    def compute_ids(self, preprocessor, features: dict, memo: dict):
        value = self.source.value(features, preprocessor.defaults, memo)
        positions = tf.range(self.num_buckets, dtype=tf.int64)
        # Unlit positions move past num_buckets, so one sort puts each row's lit positions first, in order.
        order = tf.sort(tf.where(value > self.threshold, positions, positions + self.num_buckets), axis=-1)
        return tf.where(order < self.num_buckets, order, tf.constant(-1, tf.int64))
