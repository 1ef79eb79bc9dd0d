"""The numeric family: real values (`NumericColumn`, `DistanceColumn`), optionally scaled, and their buckets
(`BucketizedColumn`, whose ids are categorical).

>>> lat = BucketizedColumn("pickup_latitude", bin_boundaries=(40.7, 40.8))
>>> lat.name, lat.num_buckets
('pickup_latitude_bucketized', 3)
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from feature_columns.accumulators import Moments, Quantiles
from feature_columns.base import CategoricalColumn, DenseColumn, Read, column_spec, describe
from feature_columns.tensors import raw_tensor, require
from feature_columns.validation import as_tuple, check_choice, check_key, check_positive_int, freeze, is_number

NUMERIC_DTYPES = ("float32", "float64", "int32", "int64")
NORMALIZATIONS = (None, "zscore", "minmax", "log")
# The `normalizer_fn`s of the `LegacyNumericColumn`s made in this process, by (key, function name): a config records
# a function by its name only (code does not serialize), and `from_config` finds the function here.
_NORMALIZERS: dict = {}


class _NumericValue(DenseColumn):
    """What numeric and distance columns share: a float value from raw numbers (`_unclipped`), clipped, then
    scaled."""

    @property
    def needs_adapt(self) -> bool:
        return self.normalization in ("zscore", "minmax")

    @property
    def keeps_state(self) -> bool:
        return self.needs_adapt

    @property
    def adapt_reason(self) -> str:
        return f"normalization={self.normalization!r}"

    def accumulator(self):
        return Moments()

    def observe(self, batch: dict, defaults: dict, memo: dict):
        # np.asarray views the tensor's buffer; Tensor.numpy() would copy it, only to be copied again by the update.
        return np.asarray(self.value(batch, defaults, memo))

    def stage(self, stats):
        """A `Normalization` layer: z-score from mean/variance, min-max as mean=min, variance=(max-min)**2."""
        if not self.needs_adapt:
            return None
        if self.normalization == "zscore":
            mean, variance = stats["mean"], stats["variance"]
        else:
            mean, variance = stats["min"], (stats["max"] - stats["min"]) ** 2
        layer = keras.layers.Normalization(mean=mean, variance=variance, name=f"{self.name}_scaling")
        layer.build((None, self.output_dim))  # now, not lazily inside a tf.data or tracing graph
        return layer

    def preprocess(self, preprocessor, features: dict, memo: dict):
        value = self.value(features, preprocessor.defaults, memo)
        return preprocessor.stages[self.name](value) if self.name in preprocessor.stages else value

    def value(self, features: dict, defaults: dict, memo: dict | None = None) -> tf.Tensor:
        """The float32 value before statistics-based scaling: `[batch, n]`.

        Missing values (NaN) become their raw feature's default (`defaults`), or are an error without one;
        clipping and `log` apply here. `memo` keeps each raw feature's checked value for the other columns that
        read it.
        """
        value = self._unclipped(features, defaults, memo)
        if self.clip is not None:
            value = tf.clip_by_value(value, *self.clip)
        if self.normalization == "log":
            value = tf.math.log1p(value)
        return value


def numeric_feature(column, key: str, features, defaults: dict, memo: dict | None = None) -> tf.Tensor:
    """The raw feature `key` as float32, `[batch, ...]`: missing values (NaN) filled from `defaults`, or an error
    naming `column` without one. `memo` keeps it for the other columns reading `key` (as `value`'s)."""
    if memo is not None:
        if key not in memo:
            memo[key] = numeric_feature(column, key, features, defaults)
        return memo[key]
    where = describe(column)
    value = raw_tensor(features, key, where, "number")
    if not value.dtype.is_floating:
        return tf.cast(value, tf.float32)
    value = tf.cast(value, tf.float32)
    if key in defaults:
        return tf.where(tf.math.is_nan(value), tf.constant(defaults[key], tf.float32), value)
    return require(
        value,
        ~tf.math.is_nan(value),
        f"{where}: raw feature {key!r} has a missing value (NaN) and no numeric column reading it has a "
        "`default_value`. Give one a `default_value`, or fill the data.",
    )


@column_spec
class NumericColumn(_NumericValue):
    """A real-valued feature, optionally scaled.

    Args:
        key: the raw feature's name.
        shape: values per example, `(1,)` for a scalar.
        dtype: the raw dtype; integers are cast to float32 for the model.
        default_value: the number a blank (missing value: NaN, an empty CSV cell) stands for; without one a blank
            is an error (see "Blanks" in `feature_columns.categorical`).
        normalization: `None`, `"zscore"` or `"minmax"` (statistics adapted from data), or `"log"` (`log1p`).
        clip: optional `(low, high)` applied to the raw value before scaling.
        name: the column's name; defaults to `key`.
    """

    key: str
    shape: tuple = (1,)
    dtype: str = "float32"
    default_value: float | None = None
    normalization: str | None = None
    clip: tuple | None = None
    name: str | None = None

    def __post_init__(self):
        where = f"NumericColumn({self.key!r})"
        check_key(where, self.key)
        shape = as_tuple(where, "shape", self.shape)
        for dim in shape:
            check_positive_int(where, "shape", dim)
        check_choice(where, "dtype", self.dtype, NUMERIC_DTYPES)
        check_choice(where, "normalization", self.normalization, NORMALIZATIONS)
        if self.default_value is not None and not is_number(self.default_value):
            raise TypeError(f"{where}: `default_value` must be a number or None. Received: {self.default_value!r}.")
        clip = None
        if self.clip is not None:
            clip = as_tuple(where, "clip", self.clip)
            if len(clip) != 2 or not clip[0] < clip[1]:
                raise ValueError(f"{where}: `clip` must be (low, high) with low < high. Received: clip={self.clip!r}.")
        freeze(self, shape=shape, clip=clip, name=self.name or self.key)

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    @property
    def output_dim(self) -> int:
        return math.prod(self.shape)

    def reads(self) -> tuple:
        shape = () if self.shape == (1,) else self.shape
        option = "`default_value=` the number a blank stands for"
        return (Read(self.key, self.dtype, shape, numeric=True, default=self.default_value, blank_option=option),)

    def _unclipped(self, features, defaults, memo):
        value = numeric_feature(self, self.key, features, defaults, memo)
        return tf.reshape(value, [-1, self.output_dim]) if len(self.shape) > 1 else value


def normalizer_name(function) -> str:
    """How a config records a `normalizer_fn`: its module and qualified name (a callable object's: its class's).

    >>> normalizer_name(math.log1p)
    'math.log1p'
    """
    named = function if hasattr(function, "__qualname__") else type(function)
    return f"{named.__module__}.{named.__qualname__}"


@column_spec
class LegacyNumericColumn(NumericColumn):
    """A `NumericColumn` whose value goes through a Python function first: `tf.feature_column.numeric_column`'s
    `normalizer_fn`, made by `feature_columns.legacy.numeric_column`.

    `normalizer_fn` takes the float32 value, `[batch, *shape]` with blanks already filled from `default_value`,
    and returns floats of the same shape; `clip`, `normalization` and bucketizing apply to its result. It runs
    in the preprocessing, so it is traced into the `.keras` model and the SavedModel export, which need no
    Python to serve. A config (a model_dir's `estimator.json`, an export's record) holds the function's NAME,
    `normalizer_name(fn)`: as tf.estimator's model_fn did, reopening a model_dir in a new process needs the same
    function, so make the columns with it (e.g. `numeric_column("x", normalizer_fn=fn)`) before reopening: a
    config naming a function that no column of this process was made with is refused. Two different functions
    of the same name for the same key (closures of one factory) cannot be told apart by a config: the last one
    made is used.

    >>> from feature_columns import from_config, serialize
    >>> column = LegacyNumericColumn("x", normalizer_fn=math.sqrt)
    >>> column.get_config()["normalizer_fn"], from_config(serialize(column)) == column
    ('math.sqrt', True)
    """

    normalizer_fn: Any = None

    def __post_init__(self):
        super().__post_init__()
        where = f"{type(self).__name__}({self.key!r})"
        function = self.normalizer_fn
        if isinstance(function, str):  # a config's record of the function: `from_config`
            function = _NORMALIZERS.get((self.key, function))
            if function is None:
                raise ValueError(
                    f"{where}: `normalizer_fn` {self.normalizer_fn!r} is not a function of this process. A model "
                    "written with a Python `normalizer_fn` needs the same function to be reopened, as tf.estimator's "
                    f"model_fn did: make the column with it first, e.g. numeric_column({self.key!r}, "
                    "normalizer_fn=...), then reopen the model."
                )
        elif not callable(function):
            raise TypeError(
                f"{where}: `normalizer_fn` must be a function of the value, e.g. `lambda x: (x - mean) / std`. "
                f"Received: normalizer_fn={function!r} (of type {type(function).__name__})."
            )
        _NORMALIZERS[(self.key, normalizer_name(function))] = function
        freeze(self, normalizer_fn=function)

    def get_config(self) -> dict:
        return {**super().get_config(), "normalizer_fn": normalizer_name(self.normalizer_fn)}

    def _unclipped(self, features, defaults, memo):
        value = self.normalizer_fn(tf.reshape(super()._unclipped(features, defaults, memo), [-1, *self.shape]))
        value = tf.convert_to_tensor(value)
        if not value.dtype.is_floating or not value.shape[1:].is_compatible_with(self.shape):
            raise ValueError(
                f"{describe(self)}: `normalizer_fn` must return floats of the value's shape, [batch, "
                f"{', '.join(map(str, self.shape))}]. Received: {value.dtype.name} of shape {value.shape.as_list()}. "
                "Make the function elementwise, e.g. `lambda x: (x - mean) / std`."
            )
        return tf.reshape(tf.cast(value, tf.float32), [-1, self.output_dim])


@column_spec
class DistanceColumn(_NumericValue):
    """The Euclidean distance between two points given as four raw features, `(x0, y0, x1, y1)`.

    The taxi-fare course's engineered feature: `sqrt((x1 - x0)**2 + (y1 - y0)**2)` in degrees.
    Computed inside the model, so serving takes the raw coordinates.

    >>> DistanceColumn(("x0", "y0", "x1", "y1")).name
    'x0_y0_x1_y1_distance'
    """

    keys: tuple
    normalization: str | None = None
    clip: tuple | None = None
    name: str | None = None

    def __post_init__(self):
        where = "DistanceColumn"
        keys = as_tuple(where, "keys", self.keys)
        if len(keys) != 4:
            raise ValueError(f"{where}: `keys` must name four raw features (x0, y0, x1, y1). Received: keys={keys!r}.")
        for key in keys:
            check_key(where, key)
        check_choice(where, "normalization", self.normalization, NORMALIZATIONS)
        clip = None if self.clip is None else as_tuple(where, "clip", self.clip)
        freeze(self, keys=keys, clip=clip, name=self.name or "_".join(keys) + "_distance")

    @property
    def input_keys(self) -> tuple:
        return self.keys

    @property
    def output_dim(self) -> int:
        return 1

    def reads(self) -> tuple:
        return tuple(Read(key, "float32", numeric=True) for key in self.keys)

    def _unclipped(self, features, defaults, memo):
        x0, y0, x1, y1 = (numeric_feature(self, k, features, defaults, memo) for k in self.keys)
        return tf.sqrt(tf.square(x1 - x0) + tf.square(y1 - y0))


def _as_numeric_source(where: str, source: Any) -> NumericColumn:
    if isinstance(source, str):
        return NumericColumn(source)
    if not isinstance(source, NumericColumn):
        raise TypeError(
            f"{where}: `source` must be a NumericColumn or a raw feature name. "
            f"Received: source={source!r} (of type {type(source).__name__})."
        )
    if source.output_dim != 1:
        raise ValueError(f"{where}: `source` must be a scalar numeric column. Received shape {source.shape}.")
    return source


@column_spec
class BucketizedColumn(CategoricalColumn):
    """A numeric feature cut into buckets: ids in `[0, len(bin_boundaries)]`.

    Give `bin_boundaries`, or `num_bins` to place the boundaries at the data's quantiles during adapt.
    Bucket `i` holds `bin_boundaries[i-1] <= x < bin_boundaries[i]`, as in `keras.layers.Discretization`.
    The raw value is bucketized (the source's normalization does not apply).
    """

    source: Any
    bin_boundaries: tuple | None = None
    num_bins: int | None = None
    name: str | None = None

    def __post_init__(self):
        where = f"BucketizedColumn({getattr(self.source, 'name', self.source)!r})"
        source = _as_numeric_source(where, self.source)
        if (self.bin_boundaries is None) == (self.num_bins is None):
            raise ValueError(
                f"{where}: give exactly one of `bin_boundaries` or `num_bins`. "
                f"Received: bin_boundaries={self.bin_boundaries!r}, num_bins={self.num_bins!r}."
            )
        boundaries = None
        if self.bin_boundaries is not None:
            boundaries = tuple(float(b) for b in as_tuple(where, "bin_boundaries", self.bin_boundaries))
            if not boundaries or any(a >= b for a, b in itertools.pairwise(boundaries)):
                raise ValueError(
                    f"{where}: `bin_boundaries` must be a non-empty, strictly increasing list. "
                    f"Received: bin_boundaries={self.bin_boundaries!r}."
                )
        else:
            check_positive_int(where, "num_bins", self.num_bins)
            if self.num_bins < 2:
                raise ValueError(f"{where}: `num_bins` must be at least 2. Received: num_bins={self.num_bins}.")
        freeze(self, source=source, bin_boundaries=boundaries, name=self.name or f"{source.name}_bucketized")

    @property
    def input_keys(self) -> tuple:
        return self.source.input_keys

    @property
    def needs_adapt(self) -> bool:
        return self.bin_boundaries is None

    @property
    def num_buckets(self) -> int:
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins

    id_width = 1
    crossable = True

    def children(self) -> tuple:
        return (self.source,)

    @property
    def keeps_state(self) -> bool:
        return self.needs_adapt

    @property
    def adapt_reason(self) -> str:
        return f"num_bins={self.num_bins} boundaries are quantiles"

    def accumulator(self):
        return Quantiles(self.num_bins)

    def observe(self, batch: dict, defaults: dict, memo: dict):
        return np.asarray(self.source.value(batch, defaults, memo))

    def stage(self, stats):
        boundaries = self.bin_boundaries or tuple(stats["bin_boundaries"])
        return keras.layers.Discretization(bin_boundaries=list(boundaries), name=f"{self.name}_discretization")

    def compute_ids(self, preprocessor, features: dict, memo: dict):
        value = self.source.value(features, preprocessor.defaults, memo)
        return tf.cast(preprocessor.stages[self.name](value), tf.int64)
