"""The categorical family's columns of one raw feature: ids used as they are (`IdentityColumn`), hashed
(`HashedColumn`) or looked up in a vocabulary (`VocabularyColumn`).

>>> VocabularyColumn("city", ["nyc", "sf"], num_oov_indices=2).num_buckets
4

Blanks (missing values)
-----------------------
This section is the one statement of the policy for every column that reads a raw feature.

A blank is a value that is not there: an empty CSV cell, NaN / None / `pd.NA` in pandas, NumPy or a list, a JSON
`null` in a prediction request, a feature absent from a parsed `tf.Example`. No column guesses what a blank
means: unless a column reading the feature says, a blank is a `ValueError` that names the source (the file),
its line (or row), the feature, and the argument that says what a blank means, e.g.
``train.csv: feature 'company' has a missing value (line 7) and no column reading it says what a blank means.
Give VocabularyColumn('company') `missing_value=""`, or fill the data.``

- `NumericColumn(default_value=x)`: a blank is the number `x` (tf.feature_column's `default_value`).
- `IdentityColumn(missing_value=i)`: a blank is the id `i`, in `[0, num_buckets)`. Separately,
  `default_value=d` maps ids outside `[0, num_buckets)` to `d` (tf.feature_column's meaning); it does not
  cover blanks.
- `VocabularyColumn`, `HashedColumn` and `TextColumn` (`missing_value=v`): a blank reads as the raw value `v`,
  then is looked up, hashed or tokenized like any other value. `missing_value=""` is the usual choice: a
  given vocabulary without `""` puts a blank in an OOV bucket (the one `""` hashes to; no id at all with
  `num_oov_indices=0`), a learned vocabulary learns `""` as a token of its own when blanks are frequent enough,
  a hashed column hashes `""`, and a text column finds no token in it. For integer values, e.g.
  `missing_value=-1`. In a multivalent column, the padding value (`""` or -1) makes a blank add no value.
- `DistanceColumn`, `ImageColumn`, the weights of a `WeightedCategoricalColumn` and the raw string keys of a
  `CrossedColumn` have no such argument: a blank there is an error unless another column reading the same
  feature gives a value, or the data is filled.

The value fills the raw feature itself (before TensorFlow sees the data, and as the default of its parsed
`tf.Example` feature), so every column reading that feature sees it; columns that read one feature must give the
same value. In a TOML config the argument is a key of the column's table, e.g. `missing_value = ""`.

>>> from feature_columns.integration import raw_features, to_feature_arrays
>>> company = VocabularyColumn("company", ["Flash Cab", "Sun Taxi"], missing_value="")
>>> to_feature_arrays({"company": ["Sun Taxi", None]}, raw_features([company]))["company"].tolist()
['Sun Taxi', '']
"""

from __future__ import annotations

import keras
import tensorflow as tf

from feature_columns.accumulators import Vocabulary
from feature_columns.base import CategoricalColumn, Read, column_spec, describe
from feature_columns.tensors import raw_tensor, require
from feature_columns.validation import check_bool, check_choice, check_key, check_positive_int, freeze, is_count
from feature_columns.vocabulary import check_vocabulary, padding_value, read_vocabulary_file

INTEGER_DTYPES = ("int32", "int64")
CATEGORICAL_DTYPES = ("string", "int32", "int64")


def check_min_frequency(where: str, min_frequency, learned: bool) -> None:
    """`min_frequency` must be a positive integer, and above 1 only for a vocabulary learned by adapt.

    >>> check_min_frequency("VocabularyColumn('c')", 5, learned=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: VocabularyColumn('c'): `min_frequency` applies to a vocabulary learned by adapt ...
    """
    check_positive_int(where, "min_frequency", min_frequency)
    if min_frequency > 1 and not learned:
        raise ValueError(
            f"{where}: `min_frequency` applies to a vocabulary learned by adapt (`max_tokens`); this one is given. "
            f"Received: min_frequency={min_frequency}. Remove it, or learn the vocabulary."
        )


def check_missing_value(where: str, value, dtype: str) -> None:
    """`missing_value` must be a raw value of the column's `dtype`, or None.

    >>> check_missing_value("VocabularyColumn('c')", 0, "string")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    TypeError: VocabularyColumn('c'): `missing_value` must be a string such as "" ... missing_value=0 (of type int).
    """
    if value is None:
        return
    if dtype == "string":
        ok, expected = isinstance(value, str), 'a string such as ""'
    else:
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer such as -1"
    if not ok:
        raise TypeError(
            f"{where}: `missing_value` must be {expected} (the raw value a blank reads as), or None for blanks "
            f"to be an error. Received: missing_value={value!r} (of type {type(value).__name__})."
        )


class _KeyedColumn(CategoricalColumn):
    """What identity, hashed and vocabulary columns share: the values of one raw feature, several per example
    when `multivalent` (padding gets no id), each mapped to an id by `_lookup`; a blank reads as `missing_value`
    (see "Blanks" above)."""

    crossable = True
    weightable = True

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    @property
    def id_width(self) -> int | None:
        return None if self.multivalent else 1

    def reads(self) -> tuple:
        shape = (None,) if self.multivalent else ()
        return (Read(self.key, self.dtype, shape, default=self.missing_value, blank_option=self._blank_option()),)

    def _blank_option(self) -> str:
        """The `missing_value` that the error for a blank suggests."""
        return '`missing_value=""`' if self.dtype == "string" else "`missing_value=-1`"

    def values(self, features: dict) -> tf.Tensor:
        """The raw values, `[batch, n]`, padding included."""
        kind = "string" if self.dtype == "string" else "integer"
        pad = padding_value(self.dtype) if self.multivalent else None
        value = raw_tensor(features, self.key, describe(self), kind, pad=pad, single=not self.multivalent)
        return value if kind == "string" else tf.cast(value, tf.int64)

    def compute_ids(self, preprocessor, features: dict, memo: dict):
        values = self.values(features)
        ids = self._lookup(preprocessor, values)
        if self.multivalent:
            ids = tf.where(values == padding_value(self.dtype), tf.constant(-1, tf.int64), ids)
        return ids


@column_spec
class IdentityColumn(_KeyedColumn):
    """Integer ids used as they are, in `[0, num_buckets)`.

    Ids outside the range map to `default_value` when it is given; otherwise they are an error. A blank (a
    missing id) is the id `missing_value`; without one it is an error (`default_value` does not cover blanks:
    see "Blanks" above). With `multivalent=True` each example holds several ids (`[batch, n]` padded with -1,
    or a `tf.RaggedTensor`), and `missing_value=-1` makes a blank add no id.

    >>> IdentityColumn("hour", 24, missing_value=0).reads()[0].default
    0
    """

    key: str
    num_buckets: int
    default_value: int | None = None
    dtype: str = "int64"
    multivalent: bool = False
    missing_value: int | None = None
    name: str | None = None

    def __post_init__(self):
        where = f"IdentityColumn({self.key!r})"
        check_key(where, self.key)
        check_positive_int(where, "num_buckets", self.num_buckets)
        check_choice(where, "dtype", self.dtype, INTEGER_DTYPES)
        check_bool(where, "multivalent", self.multivalent)
        for arg in ("default_value", "missing_value"):
            value = getattr(self, arg)
            padding = arg == "missing_value" and self.multivalent and value == -1
            if value is not None and not padding and (not is_count(value, minimum=0) or value >= self.num_buckets):
                raise ValueError(
                    f"{where}: `{arg}` must be an integer in [0, num_buckets={self.num_buckets}). "
                    f"Received: {arg}={value!r}."
                )
        freeze(self, name=self.name or self.key)

    needs_adapt = False

    def _blank_option(self) -> str:
        return f"`missing_value=` an id in [0, {self.num_buckets})"

    def reads(self) -> tuple:
        if self.default_value is not None:  # it takes the ids outside the range
            return super().reads()
        return tuple(read._replace(num_buckets=self.num_buckets) for read in super().reads())

    def _lookup(self, preprocessor, ids):
        in_range = (ids >= 0) & (ids < self.num_buckets)
        if self.multivalent:
            in_range |= ids == -1  # padding
        if self.default_value is not None:
            return tf.where(in_range, ids, tf.constant(self.default_value, tf.int64))
        return require(
            ids,
            in_range,
            f"{describe(self)}: raw feature {self.key!r} must hold ids in [0, {self.num_buckets}). "
            "Give the column a `default_value` to map other ids to one bucket, or fix the data.",
            offending=lambda: tf.boolean_mask(ids, ~in_range),
        )


@column_spec
class HashedColumn(_KeyedColumn):
    """Strings or integers hashed into `num_bins` buckets (`keras.layers.Hashing`, FarmHash64).

    With `multivalent=True` each example holds several values, padded with `""` (strings) or -1 (integers). A
    blank is hashed as `missing_value`, or is an error without one (see "Blanks" above).
    """

    key: str
    num_bins: int
    dtype: str = "string"
    multivalent: bool = False
    missing_value: str | int | None = None
    name: str | None = None

    def __post_init__(self):
        where = f"HashedColumn({self.key!r})"
        check_key(where, self.key)
        check_positive_int(where, "num_bins", self.num_bins)
        check_choice(where, "dtype", self.dtype, CATEGORICAL_DTYPES)
        check_bool(where, "multivalent", self.multivalent)
        check_missing_value(where, self.missing_value, self.dtype)
        freeze(self, name=self.name or self.key)

    @property
    def num_buckets(self) -> int:
        return self.num_bins

    needs_adapt = False

    def stage(self, stats):
        return keras.layers.Hashing(self.num_bins, name=f"{self.name}_hashing")

    def _lookup(self, preprocessor, values):
        return tf.cast(preprocessor.stages[self.name](values), tf.int64)


@column_spec
class VocabularyColumn(_KeyedColumn):
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
        missing_value: the raw value a blank reads as, looked up like any other (`""` puts blanks in an OOV
            bucket of a vocabulary without `""`); None makes a blank an error. See "Blanks" above.
        min_frequency: with a learned vocabulary, leave out values seen fewer times (they get OOV ids), however
            few values that leaves. Counts are exact up to `vocabulary_capacity(max_tokens)` distinct values; past
            that, short by at most `n / (capacity + 1)` in `n` values (see `feature_columns.accumulators`).
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
    missing_value: str | int | None = None
    min_frequency: int = 1
    name: str | None = None

    def __post_init__(self):
        where = f"VocabularyColumn({self.key!r})"
        check_key(where, self.key)
        check_choice(where, "dtype", self.dtype, CATEGORICAL_DTYPES)
        check_min_frequency(where, self.min_frequency, learned=self.vocabulary is None)
        check_bool(where, "multivalent", self.multivalent)
        check_missing_value(where, self.missing_value, self.dtype)
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
            check_positive_int(where, "max_tokens", self.max_tokens)
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
            check_positive_int(where, "vocabulary_size", size)
        else:
            if size is not None:
                raise ValueError(f"{where}: `vocabulary_size` applies to a vocabulary file only. Received: {size}.")
            vocabulary = check_vocabulary(where, vocabulary, self.dtype)
        if self.multivalent and isinstance(vocabulary, tuple) and padding_value(self.dtype) in vocabulary:
            raise ValueError(
                f"{where}: {padding_value(self.dtype)!r} pads multivalent features, so it cannot be in "
                "`vocabulary`. Remove it."
            )
        freeze(self, vocabulary=vocabulary, vocabulary_size=size, name=self.name or self.key)

    has_vocabulary = True

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
    def num_oov_ids(self) -> int:
        return self.num_oov_indices

    @property
    def always_one_id(self) -> bool:
        return self.num_oov_indices > 0 and self.id_width == 1  # without OOV ids, unknown values get none

    @property
    def rows_description(self) -> str:
        values = self.num_buckets - self.num_oov_indices
        tokens = f"up to {values} learned" if self.vocabulary is None else f"{values}"
        return f"{self.num_oov_indices} OOV row(s) first (num_oov_indices), then {tokens} vocabulary rows"

    @property
    def keeps_state(self) -> bool:
        return self.needs_adapt or isinstance(self.vocabulary, str)

    def state_from_files(self) -> dict | None:
        if not isinstance(self.vocabulary, str):
            return None
        tokens = read_vocabulary_file(describe(self), self.vocabulary, self.dtype, self.vocabulary_size)
        return {"vocabulary": list(tokens)}

    @property
    def adapt_reason(self) -> str:
        return f"its vocabulary of up to max_tokens={self.max_tokens} ids is learned"

    def accumulator(self):
        return Vocabulary(self, self.lookup_layer(), str if self.dtype == "string" else int)

    def observe(self, batch: dict, defaults: dict, memo: dict):
        values = self.values(batch)
        if self.multivalent:
            values = tf.boolean_mask(values, values != padding_value(self.dtype))
        return tf.reshape(values, [-1])

    def stage(self, stats):
        return self.lookup_layer(stats["vocabulary"] if stats else self.vocabulary, name=f"{self.name}_lookup")

    def lookup_layer(self, vocabulary=None, name: str | None = None) -> keras.layers.Layer:
        """The Keras lookup layer; without `vocabulary`, one to `update_state` (adapt).

        With `num_oov_indices=0` it looks up with one OOV id, which `_lookup` turns into "no id": Keras itself
        would fail on unknown values, which the column documents as dropped.
        """
        common = {
            "max_tokens": None if vocabulary is not None else self.max_tokens,
            "num_oov_indices": self.num_oov_indices if vocabulary is None else max(1, self.num_oov_indices),
            "vocabulary": None if vocabulary is None else list(vocabulary),
            "name": name,
        }
        if self.dtype == "string":
            return keras.layers.StringLookup(**common)
        # FarmHash of the decimal string, as tf.feature_column hashes integers into its OOV buckets.
        return keras.layers.IntegerLookup(vocabulary_dtype="int64", oov_method="farmhash", **common)

    def _lookup(self, preprocessor, values):
        ids = tf.cast(preprocessor.stages[self.name](values), tf.int64)
        if self.num_oov_indices == 0:
            ids -= 1  # built with one OOV id (see `lookup_layer`): it becomes "no id"
        return ids

    def cross_ids(self, preprocessor, ids):
        """The ids in `tf.feature_column`'s order (OOV ids after the vocabulary), so that crossed ids match it."""
        oov = self.num_oov_indices
        if not oov:
            return ids
        known = preprocessor.stages[self.name].vocabulary_size() - max(1, oov)  # built with at least one OOV id
        return tf.where(ids >= oov, ids - oov, ids + known)
