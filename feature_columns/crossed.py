"""The categorical family's crosses: `CrossedColumn`, the hashed combination of several categorical features.

>>> from feature_columns import IdentityColumn
>>> day, hour = IdentityColumn("day", 7), IdentityColumn("hour", 24)
>>> CrossedColumn((day, hour), num_bins=168).name
'day_X_hour'
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from feature_columns.base import CategoricalColumn, Read, column_spec, describe, registered
from feature_columns.tensors import raw_tensor
from feature_columns.validation import as_tuple, check_positive_int, freeze

# A cross of single-id columns with at most this many id combinations (a 512 KiB table) looks its ids up in a
# table of every combination's crossed id, made once by the cross op itself: a gather per batch, where the sparse
# cross op and its conversions cost several times the rest of the taxi columns' preprocessing.
CROSS_TABLE_MAX_COMBINATIONS = 65536


def _leaf_keys(where: str, keys: tuple) -> tuple:
    """Flattens crossed columns of crossed columns, as `tf.feature_column.crossed_column` does."""
    leaves: list = []
    for key in keys:
        if isinstance(key, CrossedColumn):
            leaves.extend(key.keys)
        elif isinstance(key, str) or (isinstance(key, CategoricalColumn) and key.crossable):
            leaves.append(key)
        else:
            crossable = [cls.__name__ for cls in registered(CategoricalColumn) if cls.crossable]
            raise TypeError(
                f"{where}: each of `keys` must be a raw string feature name or a categorical column of "
                f"{crossable}. Received: {key!r} (of type {type(key).__name__})."
            )
    return tuple(leaves)


@column_spec
class CrossedColumn(CategoricalColumn):
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
        keys = _leaf_keys(where, as_tuple(where, "keys", self.keys))
        if len(keys) < 2:
            raise ValueError(f"{where}: `keys` must hold at least two features. Received: keys={self.keys!r}.")
        check_positive_int(where, "num_bins", self.num_bins)
        names = [k if isinstance(k, str) else k.name for k in keys]
        freeze(self, keys=keys, name=self.name or "_X_".join(names))

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

    crossable = True

    def children(self) -> tuple:
        return tuple(k for k in self.keys if not isinstance(k, str))

    def reads(self) -> tuple:
        return tuple(Read(key, "string") for key in self.keys if isinstance(key, str))

    @property
    def always_one_id(self) -> bool:
        return all(isinstance(key, str) or key.always_one_id for key in self.keys)

    def constant_table(self) -> np.ndarray | None:
        """The crossed id of every combination of the keys' ids (the last key's id varying fastest), or None when
        a key is a raw string, may have no id or several, or the combinations are too many."""
        if any(isinstance(key, str) or not key.always_one_id for key in self.keys):
            return None
        sizes = [key.num_buckets for key in self.keys]
        if np.prod(sizes, dtype=np.float64) > CROSS_TABLE_MAX_COMBINATIONS:
            return None
        grid = np.indices(sizes, dtype=np.int64).reshape(len(sizes), -1, 1)
        with tf.init_scope():  # computed now, even when the layer is built inside a graph
            crossed = tf.sparse.cross_hashed([tf.constant(ids) for ids in grid], num_buckets=self.num_bins)
            return tf.sparse.to_dense(crossed).numpy().ravel()

    def compute_ids(self, preprocessor, features: dict, memo: dict):
        values, present = [], []
        for key in self.keys:
            if isinstance(key, str):
                values.append(raw_tensor(features, key, describe(self), "string", single=True))
                present.append(None)
                continue
            ids = preprocessor.ids(key, features, memo)
            values.append(key.cross_ids(preprocessor, ids))
            present.append(None if key.always_one_id else ids >= 0)
        if self.name in preprocessor.cross_tables:
            combination = values[0]
            for key, value in zip(self.keys[1:], values[1:], strict=True):
                combination = combination * key.num_buckets + value
            return tf.gather(tf.constant(preprocessor.cross_tables[self.name]), combination)
        if all(mask is None for mask in present):
            return tf.sparse.to_dense(tf.sparse.cross_hashed(values, num_buckets=self.num_bins))  # one id each
        # The cross op takes sparse inputs before dense ones: make every input sparse to keep the keys' order.
        parts = [
            _sparse(value, tf.fill(tf.shape(value), True) if mask is None else mask)
            for value, mask in zip(values, present, strict=True)
        ]
        crossed = tf.sparse.cross_hashed(parts, num_buckets=self.num_bins)
        if self.id_width == 1:  # a row whose key had no id has none: keep the width at one
            batch = tf.shape(crossed, out_type=tf.int64)[0]
            crossed = tf.sparse.reset_shape(crossed, tf.stack([batch, tf.constant(1, tf.int64)]))
        return tf.sparse.to_dense(crossed, default_value=-1)


def _sparse(values, present) -> tf.SparseTensor:
    """The `present` entries of a dense `[batch, n]` tensor, as a SparseTensor of the same shape."""
    indices = tf.where(present)
    return tf.SparseTensor(indices, tf.gather_nd(values, indices), tf.shape(values, out_type=tf.int64))
