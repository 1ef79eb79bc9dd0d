"""Declarative feature column specs: immutable, validated, serializable config.

A column says *what* a feature is; `FeatureLayer` owns the state (statistics, bin boundaries, vocabularies,
embedding tables) that turns raw tensors into model inputs. Specs hold no tensors and no variables.

Dense columns (numeric, distance, embedding, shared embedding, indicator) give floats. Categorical columns give
int64 ids in `[0, num_buckets)`, `id_width` of them per example: 1, a fixed number, or None when it varies
(multivalent input); -1 marks "no value" (padding, or an unknown value without an OOV id) and adds nothing
downstream.

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

from feature_columns.validation import is_count, is_number
from feature_columns.vocabulary import check_vocabulary, padding_value, read_vocabulary_file

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
    if not is_count(value):
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


class PretrainedSource(_Serializable):
    """Base of the references in `feature_columns.pretrained`: where an embedding table's initial rows come from.

    Declared here so that `EmbeddingColumn` can check its `pretrained` argument without importing the readers.
    """

    def load(self, column, state: dict, initial):
        """`column`'s table: the source's rows matched to the column's ids, `initial` rows where it has none."""
        raise NotImplementedError


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
        if self.default_value is not None and not is_number(self.default_value):
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

    id_width = 1


def _check_bool(where: str, arg: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(
            f"{where}: `{arg}` must be True or False. Received: {arg}={value!r} (of type {type(value).__name__})."
        )


@_column
class IdentityColumn(_Serializable):
    """Integer ids used as they are, in `[0, num_buckets)`.

    Ids outside the range map to `default_value` when it is given; otherwise they are an error. With
    `multivalent=True` each example holds several ids (`[batch, n]` padded with -1, or a `tf.RaggedTensor`).
    """

    key: str
    num_buckets: int
    default_value: int | None = None
    dtype: str = "int64"
    multivalent: bool = False
    name: str | None = None

    def __post_init__(self):
        where = f"IdentityColumn({self.key!r})"
        _check_key(where, self.key)
        _check_positive_int(where, "num_buckets", self.num_buckets)
        _check_choice(where, "dtype", self.dtype, INTEGER_DTYPES)
        _check_bool(where, "multivalent", self.multivalent)
        if self.default_value is not None and (
            not is_count(self.default_value, minimum=0) or self.default_value >= self.num_buckets
        ):
            raise ValueError(
                f"{where}: `default_value` must be an integer in [0, num_buckets={self.num_buckets}). "
                f"Received: default_value={self.default_value!r}."
            )
        _freeze(self, name=self.name or self.key)

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    @property
    def id_width(self) -> int | None:
        return None if self.multivalent else 1

    needs_adapt = False


@_column
class HashedColumn(_Serializable):
    """Strings or integers hashed into `num_bins` buckets (`keras.layers.Hashing`, FarmHash64).

    With `multivalent=True` each example holds several values, padded with `""` (strings) or -1 (integers).
    """

    key: str
    num_bins: int
    dtype: str = "string"
    multivalent: bool = False
    name: str | None = None

    def __post_init__(self):
        where = f"HashedColumn({self.key!r})"
        _check_key(where, self.key)
        _check_positive_int(where, "num_bins", self.num_bins)
        _check_choice(where, "dtype", self.dtype, CATEGORICAL_DTYPES)
        _check_bool(where, "multivalent", self.multivalent)
        _freeze(self, name=self.name or self.key)

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    @property
    def num_buckets(self) -> int:
        return self.num_bins

    @property
    def id_width(self) -> int | None:
        return None if self.multivalent else 1

    needs_adapt = False


@_column
class VocabularyColumn(_Serializable):
    """Values looked up in a vocabulary (`keras.layers.StringLookup` / `IntegerLookup`), OOV ids first.

    Ids: values outside the vocabulary hash into `[0, num_oov_indices)`, then `vocabulary[i]` gets
    `num_oov_indices + i`, as in Keras lookup layers. (`tf.feature_column` put the OOV buckets after the
    vocabulary; `feature_columns.legacy` says how its ids map.) With `num_oov_indices=0`, unknown values get no
    id at all: they add nothing to an embedding or indicator, like `tf.feature_column`'s `default_value=-1`.

    Args:
        key: the raw feature's name.
        vocabulary: a list of values, the path of a text file with one value per line, or None to learn the
            `max_tokens - num_oov_indices` most frequent values with `FeatureLayer.adapt` (on ties, the greater
            value first, as Keras orders them).
        max_tokens: with a learned vocabulary, the number of ids, OOV ids included (Keras's meaning). Required
            then, because embedding tables are sized before data is seen; ids the data does not fill stay unused.
        num_oov_indices: ids reserved for values outside the vocabulary.
        vocabulary_size: with a file, use only its first lines; counted from the file when omitted.
        dtype: `"string"`, `"int64"` or `"int32"` raw values.
        multivalent: each example holds several values (padded with `""` or -1, or a `tf.RaggedTensor`).
        name: defaults to `key`.

    >>> VocabularyColumn("city", ["nyc", "sf"], num_oov_indices=2).num_buckets
    4
    """

    key: str
    vocabulary: tuple | str | None = None
    max_tokens: int | None = None
    num_oov_indices: int = 1
    vocabulary_size: int | None = None
    dtype: str = "string"
    multivalent: bool = False
    name: str | None = None

    def __post_init__(self):
        where = f"VocabularyColumn({self.key!r})"
        _check_key(where, self.key)
        _check_choice(where, "dtype", self.dtype, CATEGORICAL_DTYPES)
        _check_bool(where, "multivalent", self.multivalent)
        if not is_count(self.num_oov_indices, minimum=0):
            raise ValueError(
                f"{where}: `num_oov_indices` must be a non-negative integer. "
                f"Received: num_oov_indices={self.num_oov_indices!r}."
            )
        vocabulary, size = self.vocabulary, self.vocabulary_size
        if vocabulary is None:
            if self.max_tokens is None:
                raise ValueError(
                    f"{where}: give `vocabulary` (a list or a file), or `max_tokens` to learn one with "
                    "`FeatureLayer.adapt`: embedding tables are sized before any data is seen. "
                    "Received: vocabulary=None, max_tokens=None."
                )
            _check_positive_int(where, "max_tokens", self.max_tokens)
            if self.max_tokens <= self.num_oov_indices:
                raise ValueError(
                    f"{where}: `max_tokens` counts the OOV ids too, so it must exceed "
                    f"num_oov_indices={self.num_oov_indices}. Received: max_tokens={self.max_tokens}."
                )
        elif self.max_tokens is not None:
            raise ValueError(
                f"{where}: give `vocabulary` or `max_tokens` (to learn one), not both. "
                f"Received: max_tokens={self.max_tokens}."
            )
        elif isinstance(vocabulary, str):
            if size is None:  # counted now, as tf.feature_column did; a saved config carries it, needing no file
                size = len(read_vocabulary_file(where, vocabulary, self.dtype))
            _check_positive_int(where, "vocabulary_size", size)
        else:
            if size is not None:
                raise ValueError(f"{where}: `vocabulary_size` applies to a vocabulary file only. Received: {size}.")
            vocabulary = check_vocabulary(where, vocabulary, self.dtype)
        if self.multivalent and isinstance(vocabulary, tuple) and padding_value(self.dtype) in vocabulary:
            raise ValueError(
                f"{where}: {padding_value(self.dtype)!r} pads multivalent features, so it cannot be in "
                "`vocabulary`. Remove it."
            )
        _freeze(self, vocabulary=vocabulary, vocabulary_size=size, name=self.name or self.key)

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    @property
    def needs_adapt(self) -> bool:
        return self.vocabulary is None

    @property
    def num_buckets(self) -> int:
        if self.vocabulary is None:
            return self.max_tokens
        known = self.vocabulary_size if isinstance(self.vocabulary, str) else len(self.vocabulary)
        return self.num_oov_indices + known

    @property
    def id_width(self) -> int | None:
        return None if self.multivalent else 1


TEXT_STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
TEXT_SPLIT = (None, "whitespace", "character")


@_column
class TextColumn(_Serializable):
    """Free text split into tokens by `keras.layers.TextVectorization`, each token an id.

    Ids follow `VocabularyColumn` with one OOV id: unknown tokens get 0, `vocabulary[i]` gets `1 + i`; padding
    gets none. Fed to `EmbeddingColumn` it is a bag of words (the combiner averages the tokens; padding never
    counts), to `IndicatorColumn` token counts. With `output_sequence_length=L` the ids are a sequence padded
    or cut to `L` tokens, which `EmbeddingColumn(..., combiner=None)` embeds position by position.

    Args:
        key: the raw string feature, one text per example.
        max_tokens: with a learned vocabulary, the number of ids (the OOV id included), as `VocabularyColumn`.
        vocabulary: the tokens, or None to learn the most frequent ones with `FeatureLayer.adapt`.
        standardize, split, ngrams: as in `TextVectorization`.
        output_sequence_length: a fixed number of token ids per example; None for a bag of words.
        name: defaults to `key`.

    >>> TextColumn("review", vocabulary=["good", "bad"]).num_buckets
    3
    """

    key: str
    max_tokens: int | None = None
    vocabulary: tuple | None = None
    standardize: str | None = "lower_and_strip_punctuation"
    split: str | None = "whitespace"
    ngrams: int | None = None
    output_sequence_length: int | None = None
    name: str | None = None

    def __post_init__(self):
        where = f"TextColumn({self.key!r})"
        _check_key(where, self.key)
        _check_choice(where, "standardize", self.standardize, TEXT_STANDARDIZE)
        _check_choice(where, "split", self.split, TEXT_SPLIT)
        for arg in ("ngrams", "output_sequence_length"):
            if getattr(self, arg) is not None:
                _check_positive_int(where, arg, getattr(self, arg))
        vocabulary = self.vocabulary
        if vocabulary is None:
            if self.max_tokens is None:
                raise ValueError(
                    f"{where}: give `vocabulary`, or `max_tokens` to learn one with `FeatureLayer.adapt`: embedding "
                    "tables are sized before any data is seen. Received: vocabulary=None, max_tokens=None."
                )
            _check_positive_int(where, "max_tokens", self.max_tokens)
            if self.max_tokens < 2:
                raise ValueError(
                    f"{where}: `max_tokens` counts the OOV id too, so it must be at least 2. "
                    f"Received: max_tokens={self.max_tokens}."
                )
        elif self.max_tokens is not None:
            raise ValueError(
                f"{where}: give `vocabulary` or `max_tokens`, not both. Received: max_tokens={self.max_tokens}."
            )
        else:
            vocabulary = check_vocabulary(where, vocabulary, "string")
        _freeze(self, vocabulary=vocabulary, name=self.name or self.key)

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    @property
    def needs_adapt(self) -> bool:
        return self.vocabulary is None

    @property
    def num_buckets(self) -> int:
        return self.max_tokens if self.vocabulary is None else 1 + len(self.vocabulary)

    @property
    def id_width(self) -> int | None:
        return self.output_sequence_length


CROSSABLE_TYPES: tuple = ()  # completed below, once every crossable class exists


def _leaf_keys(where: str, keys: tuple) -> tuple:
    """Flattens crossed columns of crossed columns, as `tf.feature_column.crossed_column` does."""
    leaves: list = []
    for key in keys:
        if isinstance(key, CrossedColumn):
            leaves.extend(key.keys)
        elif isinstance(key, (str, *CROSSABLE_TYPES)):
            leaves.append(key)
        else:
            raise TypeError(
                f"{where}: each of `keys` must be a raw string feature name or a categorical column "
                f"(Bucketized, Identity, Hashed, Vocabulary, Crossed). "
                f"Received: {key!r} (of type {type(key).__name__})."
            )
    return tuple(leaves)


@_column
class CrossedColumn(_Serializable):
    """The hashed cross of several categorical features into `num_bins` buckets.

    Uses TensorFlow's `sparse_cross_hashed`, the op behind `tf.feature_column.crossed_column`, hashing the keys
    in the order given; a `VocabularyColumn` enters with tf.feature_column's ids (OOV ids after the
    vocabulary), so crossed ids agree with it (`feature_columns.legacy.crossed_column` orders keys as tf did). A
    string in `keys` names a raw string feature. Crossing multivalent columns gives every combination.
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

    @property
    def id_width(self) -> int | None:
        return 1 if all(isinstance(k, str) or k.id_width == 1 for k in self.keys) else None


CROSSABLE_TYPES = (BucketizedColumn, IdentityColumn, HashedColumn, VocabularyColumn, CrossedColumn)
WEIGHTABLE_TYPES = (IdentityColumn, HashedColumn, VocabularyColumn)


@_column
class WeightedCategoricalColumn(_Serializable):
    """A categorical column whose every id carries a weight from another raw feature.

    `weight_feature_key` holds one float per id (same shape and padding as the ids). An embedding's combiner
    then weighs each id's vector (`mean` divides by the sum of the weights); an indicator sums the weights.

    >>> WeightedCategoricalColumn(VocabularyColumn("tags", ["a", "b"], multivalent=True), "tag_weights").name
    'tags_weighted_by_tag_weights'
    """

    categorical_column: Any
    weight_feature_key: str
    dtype: str = "float32"
    name: str | None = None

    def __post_init__(self):
        where = f"WeightedCategoricalColumn({getattr(self.categorical_column, 'name', self.categorical_column)!r})"
        if not isinstance(self.categorical_column, WEIGHTABLE_TYPES):
            raise TypeError(
                f"{where}: `categorical_column` must be one of {[t.__name__ for t in WEIGHTABLE_TYPES]}. "
                f"Received: {self.categorical_column!r} (of type {type(self.categorical_column).__name__})."
            )
        _check_key(where, self.weight_feature_key)
        _check_choice(where, "dtype", self.dtype, ("float32", "float64"))
        if self.weight_feature_key == self.categorical_column.key:
            raise ValueError(
                f"{where}: `weight_feature_key` must name another raw feature than the ids' "
                f"({self.categorical_column.key!r}). Received: weight_feature_key={self.weight_feature_key!r}."
            )
        name = self.name or f"{self.categorical_column.name}_weighted_by_{self.weight_feature_key}"
        _freeze(self, name=name)

    @property
    def input_keys(self) -> tuple:
        return (*self.categorical_column.input_keys, self.weight_feature_key)

    @property
    def needs_adapt(self) -> bool:
        return self.categorical_column.needs_adapt

    @property
    def num_buckets(self) -> int:
        return self.categorical_column.num_buckets

    @property
    def id_width(self) -> int | None:
        return self.categorical_column.id_width


CATEGORICAL_TYPES = (*CROSSABLE_TYPES, TextColumn, WeightedCategoricalColumn)


def _check_categorical(where: str, column: Any, arg: str = "categorical_column") -> None:
    if not isinstance(column, CATEGORICAL_TYPES):
        raise TypeError(
            f"{where}: `{arg}` must be one of {[t.__name__ for t in CATEGORICAL_TYPES]}. "
            f"Received: {column!r} (of type {type(column).__name__})."
        )


def _check_embedding_args(where: str, spec: Any, categoricals: tuple) -> None:
    """Validates the arguments `EmbeddingColumn` and `SharedEmbeddingColumns` share."""
    if spec.dimension is not None:
        _check_positive_int(where, "dimension", spec.dimension)
    if spec.combiner is None:
        varying = [c.name for c in categoricals if c.id_width is None]
        if varying:
            raise ValueError(
                f"{where}: `combiner=None` keeps one vector per position, so it needs a fixed number of ids per "
                f"example; {varying} vary. Use 'mean', 'sum' or 'sqrtn', or TextColumn(output_sequence_length=...)."
            )
    else:
        _check_choice(where, "combiner", spec.combiner, COMBINERS)
    if spec.initializer is not None and not isinstance(spec.initializer, str):
        raise TypeError(
            f"{where}: `initializer` must be the name of a Keras initializer, e.g. 'glorot_uniform'. "
            f"Received: initializer={spec.initializer!r} (of type {type(spec.initializer).__name__})."
        )
    if spec.max_norm is not None and (not is_number(spec.max_norm) or spec.max_norm <= 0):
        raise ValueError(
            f"{where}: `max_norm` must be a positive number or None. Received: max_norm={spec.max_norm!r}."
        )
    _check_bool(where, "trainable", spec.trainable)
    if spec.pretrained is not None and not isinstance(spec.pretrained, PretrainedSource):
        raise TypeError(
            f"{where}: `pretrained` must be a PretrainedCheckpoint, PretrainedModel or PretrainedMatrix "
            f"(from feature_columns), or None. Received: pretrained={spec.pretrained!r} "
            f"(of type {type(spec.pretrained).__name__})."
        )


@_column
class EmbeddingColumn(_Serializable):
    """A dense, trainable embedding of a categorical column.

    `dimension=None` uses `embedding_dim(num_buckets)`, the fourth-root rule. The default initializer is a
    truncated normal with standard deviation `1/sqrt(dimension)`, as `tf.feature_column` used.

    Args:
        categorical_column: the ids to embed.
        dimension: the embedding width.
        combiner: how several ids of one example combine: `"mean"`, `"sum"` or `"sqrtn"` (sum over the square
            root of the number of ids, or of the sum of squared weights), padding never counting; or None to
            keep each position's vector (`[batch, id_width * dimension]`, for `TextColumn` sequences).
        initializer: a Keras initializer name.
        max_norm: vectors longer than this are scaled down to it when looked up (as `tf.feature_column`).
        trainable: False freezes the table.
        name: defaults to `<categorical name>_embedding`.
        pretrained: where the table's initial rows come from: a `PretrainedCheckpoint`, `PretrainedModel` or
            `PretrainedMatrix`. Read once, when the `FeatureLayer` is built (after `adapt` for a learned
            vocabulary), and then saved with the model's weights; rows the source lacks (new tokens) start
            from `initializer`. With `trainable=False` the loaded table stays as it is.
    """

    categorical_column: Any
    dimension: int | None = None
    combiner: str | None = "mean"
    initializer: str | None = None
    max_norm: float | None = None
    trainable: bool = True
    name: str | None = None
    pretrained: PretrainedSource | None = None

    def __post_init__(self):
        where = f"EmbeddingColumn({getattr(self.categorical_column, 'name', self.categorical_column)!r})"
        _check_categorical(where, self.categorical_column)
        _check_embedding_args(where, self, (self.categorical_column,))
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
        width = self.categorical_column.id_width if self.combiner is None else 1
        return self.resolved_dimension * width


@_column
class SharedEmbeddingColumns(_Serializable):
    """One embedding table looked up by several categorical columns; their vectors are concatenated in order.

    For features that share a vocabulary, such as a watched and a recommended video id: each is learned
    from both. The columns must have the same `num_buckets`. `split()` gives one column per categorical
    column instead (`SharedEmbeddingColumn`, the form `tf.feature_column.shared_embeddings` returned), to
    place each anywhere among a `FeatureLayer`'s columns; they still look up this one table.

    Args:
        categorical_columns: the ids to embed, two or more, with the same `num_buckets`.
        dimension, combiner, initializer, max_norm, trainable: as for `EmbeddingColumn`.
        name: the table's name; defaults to the columns' names joined, then `_shared_embedding`.
        pretrained: where the table's initial rows come from, as for `EmbeddingColumn`: read once, when the
            `FeatureLayer` is built, shape-checked against `(num_buckets, dimension)`, kept as loaded with
            `trainable=False`. The columns share the table's rows but may name them differently: rows are
            matched by token to the vocabulary of the FIRST categorical column (when it has one), so give
            that column the vocabulary the table was trained with.

    >>> watched = IdentityColumn("watched", num_buckets=100)
    >>> shared = SharedEmbeddingColumns((watched, IdentityColumn("impression", num_buckets=100)), dimension=8)
    >>> shared.name, shared.output_dim
    ('watched_impression_shared_embedding', 16)
    >>> [(column.name, column.output_dim) for column in shared.split()]
    [('watched_shared_embedding', 8), ('impression_shared_embedding', 8)]
    """

    categorical_columns: tuple
    dimension: int | None = None
    combiner: str | None = "mean"
    initializer: str | None = None
    max_norm: float | None = None
    trainable: bool = True
    name: str | None = None
    pretrained: PretrainedSource | None = None

    def __post_init__(self):
        where = "SharedEmbeddingColumns"
        columns = _as_tuple(where, "categorical_columns", self.categorical_columns)
        if len(columns) < 2:
            raise ValueError(
                f"{where}: `categorical_columns` must hold at least two columns to share a table; use "
                f"EmbeddingColumn for one. Received: {len(columns)} column(s)."
            )
        for column in columns:
            _check_categorical(where, column, "categorical_columns")
        sizes = {column.name: column.num_buckets for column in columns}
        if len(set(sizes.values())) != 1:
            raise ValueError(
                f"{where}: all `categorical_columns` must have the same num_buckets to share one table. "
                f"Received: {sizes}. Give them the same vocabulary or bucket count."
            )
        names = [column.name for column in columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: `categorical_columns` must be different columns. Received names: {names}.")
        _check_embedding_args(where, self, columns)
        _freeze(self, categorical_columns=columns, name=self.name or "_".join(names) + "_shared_embedding")

    @property
    def input_keys(self) -> tuple:
        return tuple(key for column in self.categorical_columns for key in column.input_keys)

    @property
    def needs_adapt(self) -> bool:
        return any(column.needs_adapt for column in self.categorical_columns)

    @property
    def num_buckets(self) -> int:
        return self.categorical_columns[0].num_buckets

    @property
    def resolved_dimension(self) -> int:
        return self.dimension or embedding_dim(self.num_buckets)

    @property
    def output_dim(self) -> int:
        return sum(column.output_dim for column in self.split())

    def split(self) -> tuple:
        """One `SharedEmbeddingColumn` per categorical column, in order, each looking up this table."""
        return tuple(SharedEmbeddingColumn(self, index) for index in range(len(self.categorical_columns)))


@_column
class SharedEmbeddingColumn(_Serializable):
    """One categorical column's embedding, looked up in the table of a `SharedEmbeddingColumns`.

    `SharedEmbeddingColumns.split()` makes them, one per categorical column, as
    `tf.feature_column.shared_embeddings` did. Each may go anywhere among a `FeatureLayer`'s columns; the
    `FeatureLayer` creates the table once, named after `shared`, however many of its columns it holds, and uses
    `shared`'s `dimension`, `combiner`, `max_norm`, `trainable` and `pretrained` for all of them.

    Args:
        shared: the `SharedEmbeddingColumns` whose table is looked up.
        index: which of `shared.categorical_columns` this column embeds.
        name: defaults to `<categorical column name>_shared_embedding`, tf.feature_column's name.

    >>> day = IdentityColumn("pickup_day", num_buckets=7)
    >>> pickup, dropoff = SharedEmbeddingColumns((day, IdentityColumn("dropoff_day", 7)), dimension=2).split()
    >>> dropoff.name, dropoff.categorical_column.key, dropoff.shared.name
    ('dropoff_day_shared_embedding', 'dropoff_day', 'pickup_day_dropoff_day_shared_embedding')
    """

    shared: Any
    index: int
    name: str | None = None

    def __post_init__(self):
        if not isinstance(self.shared, SharedEmbeddingColumns):
            raise TypeError(
                f"SharedEmbeddingColumn: `shared` must be a SharedEmbeddingColumns. Received: shared={self.shared!r} "
                f"(of type {type(self.shared).__name__}). Make the columns with `SharedEmbeddingColumns(...).split()`."
            )
        where = f"SharedEmbeddingColumn({self.shared.name!r})"
        count = len(self.shared.categorical_columns)
        if not is_count(self.index, minimum=0) or self.index >= count:
            raise ValueError(
                f"{where}: `index` must be an integer in [0, {count}), a position in "
                f"`shared.categorical_columns`. Received: index={self.index!r}."
            )
        _freeze(self, name=self.name or f"{self.categorical_column.name}_shared_embedding")

    @property
    def categorical_column(self):
        return self.shared.categorical_columns[self.index]

    @property
    def input_keys(self) -> tuple:
        return self.categorical_column.input_keys

    @property
    def needs_adapt(self) -> bool:
        return self.categorical_column.needs_adapt

    @property
    def combiner(self) -> str | None:
        return self.shared.combiner

    @property
    def max_norm(self) -> float | None:
        return self.shared.max_norm

    @property
    def resolved_dimension(self) -> int:
        return self.shared.resolved_dimension

    @property
    def output_dim(self) -> int:
        width = self.categorical_column.id_width if self.combiner is None else 1
        return self.resolved_dimension * width


@_column
class IndicatorColumn(_Serializable):
    """One-hot encoding of a categorical column: `num_buckets` floats per example.

    Several ids per example give a multi-hot vector that counts repeated ids (weights sum instead, for a
    `WeightedCategoricalColumn`), as `tf.feature_column.indicator_column` did; padding adds nothing.
    """

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


DENSE_TYPES = (
    NumericColumn,
    DistanceColumn,
    EmbeddingColumn,
    SharedEmbeddingColumns,
    SharedEmbeddingColumn,
    IndicatorColumn,
)
