"""The categorical family's weighted ids: `WeightedCategoricalColumn`, another column's ids each with a weight."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from keras import ops

from feature_columns.base import CategoricalColumn, Read, column_spec, describe, registered
from feature_columns.tensors import raw_tensor, require
from feature_columns.validation import check_choice, check_key, freeze


def weights_key(key: str) -> str:
    """The preprocessed key of the weights that go with the ids under `key`."""
    return f"{key}_weights"


def slot_weights(preprocessed: dict, key: str, present):
    """The float32 weights preprocessed beside the ids of slot `key`, 0 where an example has no id."""
    return ops.where(present, ops.cast(preprocessed[weights_key(key)], "float32"), 0.0)


@column_spec
class WeightedCategoricalColumn(CategoricalColumn):
    """A categorical column whose every id carries a weight from another raw feature.

    `weight_feature_key` holds one float per id (same shape and padding as the ids). An embedding's combiner
    then weighs each id's vector (`mean` divides by the sum of the weights); an indicator sums the weights.

    >>> from feature_columns import VocabularyColumn
    >>> WeightedCategoricalColumn(VocabularyColumn("tags", ["a", "b"], multivalent=True), "tag_weights").name
    'tags_weighted_by_tag_weights'
    """

    categorical_column: Any
    weight_feature_key: str
    dtype: str = "float32"
    name: str | None = None

    def __post_init__(self):
        where = f"WeightedCategoricalColumn({getattr(self.categorical_column, 'name', self.categorical_column)!r})"
        if not (isinstance(self.categorical_column, CategoricalColumn) and self.categorical_column.weightable):
            weightable = [cls.__name__ for cls in registered(CategoricalColumn) if cls.weightable]
            raise TypeError(
                f"{where}: `categorical_column` must be one of {weightable}. "
                f"Received: {self.categorical_column!r} (of type {type(self.categorical_column).__name__})."
            )
        check_key(where, self.weight_feature_key)
        check_choice(where, "dtype", self.dtype, ("float32", "float64"))
        if self.weight_feature_key == self.categorical_column.key:
            raise ValueError(
                f"{where}: `weight_feature_key` must name another raw feature than the ids' "
                f"({self.categorical_column.key!r}). Received: weight_feature_key={self.weight_feature_key!r}."
            )
        name = self.name or f"{self.categorical_column.name}_weighted_by_{self.weight_feature_key}"
        freeze(self, name=name)

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

    always_one_id = False  # the ids carry weights

    def children(self) -> tuple:
        return (self.categorical_column,)

    def reads(self) -> tuple:
        return (Read(self.weight_feature_key, self.dtype, (None,) if self.id_width is None else ()),)

    @property
    def ids_column(self):
        return self.categorical_column

    def compute_ids(self, preprocessor, features: dict, memo: dict):
        return preprocessor.ids(self.categorical_column, features, memo)

    def slot_spec(self, key: str) -> dict:
        return {key: ((self.id_width,), "int64"), weights_key(key): ((self.id_width,), "float32")}

    def slot_tensors(self, preprocessor, key: str, ids, features: dict) -> dict:
        return {key: ids, weights_key(key): self._weights(features, ids)}

    def id_weights(self, preprocessed: dict, key: str, present):
        return slot_weights(preprocessed, key, present)

    def _weights(self, features: dict, ids) -> tf.Tensor:
        """The float32 weights, shaped like the ids, zero where there is no id."""
        where = describe(self)
        pad = 0.0 if self.id_width is None else None
        weights = tf.cast(
            raw_tensor(features, self.weight_feature_key, where, "number", pad=pad, single=pad is None), tf.float32
        )
        weights = require(
            weights,
            tf.reduce_all(tf.equal(tf.shape(weights), tf.shape(ids))),
            f"{where}: raw feature {self.weight_feature_key!r} must hold one weight per id of "
            f"{self.categorical_column.key!r}, padded the same way. Align the two features.",
        )
        return tf.where(ids >= 0, weights, 0.0)
