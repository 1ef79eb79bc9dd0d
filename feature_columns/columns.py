"""Declarative feature column specs: immutable, validated, serializable config.

A column says *what* a feature is; `FeatureLayer` owns the state (statistics, bin boundaries, embedding
tables) that turns raw tensors into model inputs. Specs hold no tensors and no variables.

>>> lat = BucketizedColumn("pickup_latitude", bin_boundaries=(40.7, 40.8))
>>> lat.name, lat.num_buckets
('pickup_latitude_bucketized', 3)
>>> EmbeddingColumn(CrossedColumn((lat, "vendor"), num_bins=81)).resolved_dimension
3
>>> from_config(serialize(lat)) == lat
True
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

NUMERIC_DTYPES = ("float32", "float64", "int32", "int64")
INTEGER_DTYPES = ("int32", "int64")
CATEGORICAL_DTYPES = ("string", "int32", "int64")
NORMALIZATIONS = (None, "zscore", "minmax", "log")
COMBINERS = ("mean", "sum", "sqrtn")

_REGISTRY: dict[str, type] = {}


def embedding_dim(num_values: int) -> int:
    """The fourth-root rule of thumb for an embedding's width.

    >>> embedding_dim(81), embedding_dim(168), embedding_dim(500_000)
    (3, 4, 27)
    """
    _check_positive_int("embedding_dim", "num_values", num_values)
    return max(1, round(num_values**0.25))


def embedding_dim_search_space(num_values: int) -> tuple[int, int]:
    """A (low, high) tuning range around `embedding_dim`: 0.55 to 1.3 times the rule's value, rounded.

    The ratios are the course's: it suggests 15 to 35 dimensions for 500,000 values, whose rule value is 27.

    >>> embedding_dim_search_space(500_000), embedding_dim_search_space(168)
    ((15, 35), (2, 5))
    """
    center = embedding_dim(num_values)
    return max(1, round(center * 0.55)), max(center, round(center * 1.3))


def _check_positive_int(where: str, arg: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{where}: `{arg}` must be a positive integer. Received: {arg}={value!r} (of type {type(value).__name__})."
        )


def _check_key(where: str, key: Any) -> None:
    if not isinstance(key, str) or not key:
        raise TypeError(
            f"{where}: `key` must be a non-empty string naming a raw feature. "
            f"Received: key={key!r} (of type {type(key).__name__})."
        )


def _check_choice(where: str, arg: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{where}: `{arg}` must be one of {choices}. Received: {arg}={value!r}.")


def _freeze(spec: Any, **fields: Any) -> None:
    """Sets derived or normalized fields on a frozen dataclass during `__post_init__`."""
    for field, value in fields.items():
        object.__setattr__(spec, field, value)


def _as_tuple(where: str, arg: str, value: Any) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(
            f"{where}: `{arg}` must be a list or tuple. Received: {arg}={value!r} (of type {type(value).__name__})."
        )
    return tuple(value)


class _Serializable:
    """`get_config` / `from_config` shared by every spec; nested specs serialize recursively."""

    def get_config(self) -> dict:
        return {f.name: _to_config(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**{k: _from_config_value(v) for k, v in config.items()})


def _to_config(value: Any) -> Any:
    if isinstance(value, _Serializable):
        return serialize(value)
    if isinstance(value, tuple):
        return [_to_config(v) for v in value]
    return value


def _from_config_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
        return from_config(value)
    if isinstance(value, list):
        return tuple(_from_config_value(v) for v in value)
    return value


def serialize(column) -> dict:
    """`{"class_name": ..., "config": ...}`, the form `from_config` reads back."""
    return {"class_name": type(column).__name__, "config": column.get_config()}


def from_config(config: dict):
    """Rebuilds a column from `serialize(column)` or `column.get_config()` with its class name."""
    class_name = config.get("class_name")
    if class_name not in _REGISTRY:
        raise ValueError(
            f"feature_columns.from_config: unknown column class {class_name!r}. Known: {sorted(_REGISTRY)}."
        )
    return _REGISTRY[class_name].from_config(config["config"])


def _column(cls):
    """Class decorator: a frozen dataclass registered for `from_config`."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    _REGISTRY[cls.__name__] = cls
    return cls


@_column
class NumericColumn(_Serializable):
    """A real-valued feature, optionally scaled.

    Args:
        key: the raw feature's name.
        shape: values per example, `(1,)` for a scalar.
        dtype: the raw dtype; integers are cast to float32 for the model.
        default_value: used where the value is missing; without one a missing value is an error.
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
        _check_key(where, self.key)
        shape = _as_tuple(where, "shape", self.shape)
        for dim in shape:
            _check_positive_int(where, "shape", dim)
        _check_choice(where, "dtype", self.dtype, NUMERIC_DTYPES)
        _check_choice(where, "normalization", self.normalization, NORMALIZATIONS)
        if self.default_value is not None and (
            isinstance(self.default_value, bool) or not isinstance(self.default_value, (int, float))
        ):
            raise TypeError(f"{where}: `default_value` must be a number or None. Received: {self.default_value!r}.")
        clip = None
        if self.clip is not None:
            clip = _as_tuple(where, "clip", self.clip)
            if len(clip) != 2 or not clip[0] < clip[1]:
                raise ValueError(f"{where}: `clip` must be (low, high) with low < high. Received: clip={self.clip!r}.")
        _freeze(self, shape=shape, clip=clip, name=self.name or self.key)

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    @property
    def needs_adapt(self) -> bool:
        return self.normalization in ("zscore", "minmax")

    @property
    def output_dim(self) -> int:
        return math.prod(self.shape)


@_column
class DistanceColumn(_Serializable):
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
        keys = _as_tuple(where, "keys", self.keys)
        if len(keys) != 4:
            raise ValueError(f"{where}: `keys` must name four raw features (x0, y0, x1, y1). Received: keys={keys!r}.")
        for key in keys:
            _check_key(where, key)
        _check_choice(where, "normalization", self.normalization, NORMALIZATIONS)
        clip = None if self.clip is None else _as_tuple(where, "clip", self.clip)
        _freeze(self, keys=keys, clip=clip, name=self.name or "_".join(keys) + "_distance")

    @property
    def input_keys(self) -> tuple:
        return self.keys

    @property
    def needs_adapt(self) -> bool:
        return self.normalization in ("zscore", "minmax")

    @property
    def output_dim(self) -> int:
        return 1


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


@_column
class BucketizedColumn(_Serializable):
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
            boundaries = tuple(float(b) for b in _as_tuple(where, "bin_boundaries", self.bin_boundaries))
            if not boundaries or any(a >= b for a, b in itertools.pairwise(boundaries)):
                raise ValueError(
                    f"{where}: `bin_boundaries` must be a non-empty, strictly increasing list. "
                    f"Received: bin_boundaries={self.bin_boundaries!r}."
                )
        else:
            _check_positive_int(where, "num_bins", self.num_bins)
            if self.num_bins < 2:
                raise ValueError(f"{where}: `num_bins` must be at least 2. Received: num_bins={self.num_bins}.")
        _freeze(self, source=source, bin_boundaries=boundaries, name=self.name or f"{source.name}_bucketized")

    @property
    def input_keys(self) -> tuple:
        return self.source.input_keys

    @property
    def needs_adapt(self) -> bool:
        return self.bin_boundaries is None

    @property
    def num_buckets(self) -> int:
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins


@_column
class IdentityColumn(_Serializable):
    """Integer ids used as they are, in `[0, num_buckets)`.

    Ids outside the range map to `default_value` when it is given; otherwise they are an error.
    """

    key: str
    num_buckets: int
    default_value: int | None = None
    dtype: str = "int64"
    name: str | None = None

    def __post_init__(self):
        where = f"IdentityColumn({self.key!r})"
        _check_key(where, self.key)
        _check_positive_int(where, "num_buckets", self.num_buckets)
        _check_choice(where, "dtype", self.dtype, INTEGER_DTYPES)
        if self.default_value is not None and not 0 <= self.default_value < self.num_buckets:
            raise ValueError(
                f"{where}: `default_value` must lie in [0, num_buckets={self.num_buckets}). "
                f"Received: default_value={self.default_value!r}."
            )
        _freeze(self, name=self.name or self.key)

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    needs_adapt = False


@_column
class HashedColumn(_Serializable):
    """Strings or integers hashed into `num_bins` buckets (`keras.layers.Hashing`, FarmHash64)."""

    key: str
    num_bins: int
    dtype: str = "string"
    name: str | None = None

    def __post_init__(self):
        where = f"HashedColumn({self.key!r})"
        _check_key(where, self.key)
        _check_positive_int(where, "num_bins", self.num_bins)
        _check_choice(where, "dtype", self.dtype, CATEGORICAL_DTYPES)
        _freeze(self, name=self.name or self.key)

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    @property
    def num_buckets(self) -> int:
        return self.num_bins

    needs_adapt = False


CATEGORICAL_TYPES: tuple = ()  # completed below, once every categorical class exists


def _leaf_keys(where: str, keys: tuple) -> tuple:
    """Flattens crossed columns of crossed columns, as `tf.feature_column.crossed_column` does."""
    leaves: list = []
    for key in keys:
        if isinstance(key, CrossedColumn):
            leaves.extend(key.keys)
        elif isinstance(key, (str, *CATEGORICAL_TYPES)):
            leaves.append(key)
        else:
            raise TypeError(
                f"{where}: each of `keys` must be a raw string feature name or a categorical column "
                f"(Bucketized, Identity, Hashed, Crossed). Received: {key!r} (of type {type(key).__name__})."
            )
    return tuple(leaves)


@_column
class CrossedColumn(_Serializable):
    """The hashed cross of several categorical features into `num_bins` buckets.

    Uses TensorFlow's `sparse_cross_hashed`, the op behind `tf.feature_column.crossed_column`, so bucket
    ids agree with it. A string in `keys` names a raw string feature.
    """

    keys: tuple
    num_bins: int
    name: str | None = None

    def __post_init__(self):
        where = "CrossedColumn"
        keys = _leaf_keys(where, _as_tuple(where, "keys", self.keys))
        if len(keys) < 2:
            raise ValueError(f"{where}: `keys` must hold at least two features. Received: keys={self.keys!r}.")
        _check_positive_int(where, "num_bins", self.num_bins)
        names = [k if isinstance(k, str) else k.name for k in keys]
        _freeze(self, keys=keys, name=self.name or "_X_".join(names))

    @property
    def input_keys(self) -> tuple:
        return tuple(k for key in self.keys for k in ((key,) if isinstance(key, str) else key.input_keys))

    @property
    def num_buckets(self) -> int:
        return self.num_bins

    @property
    def needs_adapt(self) -> bool:
        return any(not isinstance(k, str) and k.needs_adapt for k in self.keys)


CATEGORICAL_TYPES = (BucketizedColumn, IdentityColumn, HashedColumn, CrossedColumn)


def _check_categorical(where: str, column: Any) -> None:
    if not isinstance(column, CATEGORICAL_TYPES):
        raise TypeError(
            f"{where}: `categorical_column` must be one of {[t.__name__ for t in CATEGORICAL_TYPES]}. "
            f"Received: {column!r} (of type {type(column).__name__})."
        )


@_column
class EmbeddingColumn(_Serializable):
    """A dense, trainable embedding of a categorical column.

    `dimension=None` uses `embedding_dim(num_buckets)`, the fourth-root rule. The default initializer is a
    truncated normal with standard deviation `1/sqrt(dimension)`, as `tf.feature_column` used.
    """

    categorical_column: Any
    dimension: int | None = None
    combiner: str = "mean"
    initializer: str | None = None
    max_norm: float | None = None
    trainable: bool = True
    name: str | None = None

    def __post_init__(self):
        where = f"EmbeddingColumn({getattr(self.categorical_column, 'name', self.categorical_column)!r})"
        _check_categorical(where, self.categorical_column)
        if self.dimension is not None:
            _check_positive_int(where, "dimension", self.dimension)
        _check_choice(where, "combiner", self.combiner, COMBINERS)
        if not isinstance(self.trainable, bool):
            raise TypeError(f"{where}: `trainable` must be a bool. Received: trainable={self.trainable!r}.")
        _freeze(self, name=self.name or f"{self.categorical_column.name}_embedding")

    @property
    def input_keys(self) -> tuple:
        return self.categorical_column.input_keys

    @property
    def needs_adapt(self) -> bool:
        return self.categorical_column.needs_adapt

    @property
    def resolved_dimension(self) -> int:
        return self.dimension or embedding_dim(self.categorical_column.num_buckets)

    @property
    def output_dim(self) -> int:
        return self.resolved_dimension


@_column
class IndicatorColumn(_Serializable):
    """One-hot (or multi-hot) encoding of a categorical column: `num_buckets` floats per example."""

    categorical_column: Any
    name: str | None = None

    def __post_init__(self):
        where = f"IndicatorColumn({getattr(self.categorical_column, 'name', self.categorical_column)!r})"
        _check_categorical(where, self.categorical_column)
        _freeze(self, name=self.name or f"{self.categorical_column.name}_indicator")

    @property
    def input_keys(self) -> tuple:
        return self.categorical_column.input_keys

    @property
    def needs_adapt(self) -> bool:
        return self.categorical_column.needs_adapt

    @property
    def output_dim(self) -> int:
        return self.categorical_column.num_buckets


DENSE_TYPES = (NumericColumn, DistanceColumn, EmbeddingColumn, IndicatorColumn)
