"""Sequences of a fixed number of positions, for sequence models: `SequenceCategoricalColumn` (ids, position by
position) and `SequenceNumericColumn` (values). `feature_columns.legacy`'s `sequence_*` functions make them.

tf.feature_column's sequence columns fed `SequenceFeatures`, which padded each batch to its longest example and
returned the lengths beside, for recurrent layers. Here every example has `sequence_length` positions (cut, or
padded: no id, or 0.0), as `TextColumn(output_sequence_length=...)` gives a text's tokens, so the positions fit
a Keras model's fixed-width inputs: `EmbeddingColumn(sequence, combiner=None)` embeds each position
(`[batch, sequence_length * dimension]`), and a `SequenceNumericColumn` gives `[batch, sequence_length * n]`.

>>> from feature_columns import EmbeddingColumn, FeatureLayer, VocabularyColumn
>>> words = SequenceCategoricalColumn(VocabularyColumn("words", ["a", "b"], multivalent=True), sequence_length=3)
>>> layer = FeatureLayer([EmbeddingColumn(words, dimension=2, combiner=None)])
>>> import tensorflow as tf
>>> ids = layer.preprocessor({"words": tf.constant([["b", "a", "a", "b"], ["a", "", "", ""]])})["words_embedding"]
>>> ids.numpy().tolist()  # VocabularyColumn's ids: OOV 0, "a" 1, "b" 2; -1 (no id) pads
[[2, 1, 1], [1, -1, -1]]
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from feature_columns.base import CategoricalColumn, DenseColumn, Read, check_categorical, column_spec, describe
from feature_columns.tensors import raw_tensor
from feature_columns.validation import as_tuple, check_choice, check_key, check_positive_int, freeze

FLOAT_DTYPES = ("float32", "float64")


def _fixed_width(values, width: int, pad):
    """`values`, `[batch, n]`, cut or padded with `pad` to `[batch, width]`."""
    values = values[:, :width]
    values = tf.pad(values, [[0, 0], [0, width - tf.shape(values)[1]]], constant_values=pad)
    return tf.reshape(values, [-1, width])


@column_spec
class SequenceCategoricalColumn(CategoricalColumn):
    """A multivalent categorical column's ids as `sequence_length` positions: the first `sequence_length` values
    of each example, in order, then no id (-1) where the example has fewer.

    Args:
        categorical_column: a multivalent column (`multivalent=True`): `IdentityColumn`, `HashedColumn` or
            `VocabularyColumn`.
        sequence_length: the positions per example.
        name: defaults to the categorical column's name, as in tf.feature_column.
    """

    categorical_column: Any
    sequence_length: int
    name: str | None = None

    def __post_init__(self):
        where = f"SequenceCategoricalColumn({getattr(self.categorical_column, 'name', self.categorical_column)!r})"
        check_categorical(where, self.categorical_column)
        if self.categorical_column.id_width is not None:
            raise ValueError(
                f"{where}: `categorical_column` must hold several values per example (`multivalent=True`). "
                f"Received: {self.categorical_column!r}. Declare it multivalent."
            )
        check_positive_int(where, "sequence_length", self.sequence_length)
        freeze(self, name=self.name or self.categorical_column.name)

    @property
    def input_keys(self) -> tuple:
        return self.categorical_column.input_keys

    @property
    def needs_adapt(self) -> bool:
        return self.categorical_column.needs_adapt

    @property
    def num_buckets(self) -> int:
        return self.categorical_column.num_buckets

    @property
    def id_width(self) -> int:
        return self.sequence_length

    always_one_id = False  # short sequences have positions without an id

    @property
    def ids_column(self):
        return self.categorical_column.ids_column

    def children(self) -> tuple:
        return (self.categorical_column,)

    def compute_ids(self, preprocessor, features: dict, memo: dict):
        return _fixed_width(preprocessor.ids(self.categorical_column, features, memo), self.sequence_length, -1)


@column_spec
class SequenceNumericColumn(DenseColumn):
    """Several numbers per example as `sequence_length` positions of `shape` values each: `[batch,
    sequence_length * prod(shape)]`, the example's values in order, cut, or padded with 0.0.

    The raw feature is multivalent: a `tf.RaggedTensor`, or `[batch, n]` padded with 0.0 (as lists of different
    lengths are when converted), flat (`n` a multiple of `prod(shape)`).

    Args:
        key: the raw feature's name.
        sequence_length: the positions per example.
        shape: the values at each position.
        dtype: the raw dtype, `"float32"` or `"float64"` (padding is 0.0); values are float32 for the model.
        name: defaults to `key`.
    """

    key: str
    sequence_length: int
    shape: tuple = (1,)
    dtype: str = "float32"
    name: str | None = None

    def __post_init__(self):
        where = f"SequenceNumericColumn({self.key!r})"
        check_key(where, self.key)
        check_positive_int(where, "sequence_length", self.sequence_length)
        shape = as_tuple(where, "shape", self.shape)
        for dim in shape:
            check_positive_int(where, "shape", dim)
        check_choice(where, "dtype", self.dtype, FLOAT_DTYPES)
        freeze(self, shape=shape, name=self.name or self.key)

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    needs_adapt = False

    @property
    def output_dim(self) -> int:
        return self.sequence_length * math.prod(self.shape)

    def reads(self) -> tuple:
        return (Read(self.key, self.dtype, (None,), numeric=True),)

    def preprocess(self, preprocessor, features: dict, memo: dict):
        values = tf.cast(raw_tensor(features, self.key, describe(self), "number", pad=0), tf.float32)
        return _fixed_width(values, self.output_dim, 0.0)
