"""The dense/embedding family's one-hot encoding: `IndicatorColumn`.

>>> from feature_columns import HashedColumn
>>> IndicatorColumn(HashedColumn("h", num_bins=4, multivalent=True)).output_dim
4
"""

from __future__ import annotations

from typing import Any

from keras import ops

from feature_columns.base import OverOneCategorical, check_categorical, column_spec
from feature_columns.validation import freeze


def _counts(ids, weights, width: int):
    """`[batch, width]` sums of `weights` per id: one-hot, multi-hot counts or summed weights.

    Static shapes throughout: `bincount`'s data-dependent width makes XLA compile the training step again for
    every batch. One id per example is a weighted one-hot; several are one scatter-add, as a one-hot row per id
    would cost n times the memory.
    """
    if ids.shape[1] == 1:
        return ops.one_hot(ids[:, 0], width) * weights
    batch, slots = ops.shape(ids)[0], ops.shape(ids)[1]
    rows = ops.repeat(ops.arange(batch, dtype=ids.dtype), slots)
    indices = ops.stack([rows, ops.reshape(ids, (-1,))], axis=1)
    return ops.scatter(indices, ops.reshape(weights, (-1,)), (batch, width))


@column_spec
class IndicatorColumn(OverOneCategorical):
    """One-hot encoding of a categorical column: `num_buckets` floats per example.

    Several ids per example give a multi-hot vector that counts repeated ids (weights sum instead, for a
    `WeightedCategoricalColumn`), as `tf.feature_column.indicator_column` did; padding adds nothing.
    """

    categorical_column: Any
    name: str | None = None

    def __post_init__(self):
        where = f"IndicatorColumn({getattr(self.categorical_column, 'name', self.categorical_column)!r})"
        check_categorical(where, self.categorical_column)
        freeze(self, name=self.name or f"{self.categorical_column.name}_indicator")

    @property
    def output_dim(self) -> int:
        return self.categorical_column.num_buckets

    def encode_single(self, tables: dict, ids):
        return ops.one_hot(ids, self.output_dim)

    def encode_ids(self, tables: dict, ids, weights):
        return _counts(ids, weights, self.output_dim)
