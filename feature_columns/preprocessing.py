"""`FeaturePreprocessor`: raw feature tensors to scaled values and categorical ids.

This is the stateless-at-train-time half of a `FeatureLayer`: no trainable variables, so it runs inside
`tf.data` (parallel, prefetched) while training, and inside the exported model while serving.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from feature_columns import columns as fc
from feature_columns.specs import check_columns, raw_features, walk


def _as_column_tensor(features, key: str, where: str, defaults: dict | None = None) -> tf.Tensor:
    """The raw feature `key`, shaped `[batch, n]`, missing (NaN) values replaced by `defaults[key]`."""
    if key not in features:
        raise ValueError(
            f"{where}: the raw feature {key!r} is missing from the input. "
            f"Received features: {sorted(features)}. Add {key!r} to every example."
        )
    value = tf.convert_to_tensor(features[key])
    if value.shape.rank == 1:
        value = tf.expand_dims(value, -1)
    elif value.shape.rank == 0:
        value = tf.reshape(value, [1, 1])
    if defaults and key in defaults and value.dtype.is_floating:
        value = tf.where(tf.math.is_nan(value), tf.cast(defaults[key], value.dtype), value)
    return value


def numeric_value(column, features, defaults: dict) -> tf.Tensor:
    """A numeric or distance column's float32 value before statistics-based scaling: `[batch, n]`.

    Missing values (NaN) become their raw feature's default (`defaults`); clipping and `log` apply here.
    """
    if isinstance(column, fc.DistanceColumn):
        x0, y0, x1, y1 = (
            tf.cast(_as_column_tensor(features, k, column.name, defaults), tf.float32) for k in column.keys
        )
        value = tf.sqrt(tf.square(x1 - x0) + tf.square(y1 - y0))
    else:
        value = tf.cast(_as_column_tensor(features, column.key, column.name, defaults), tf.float32)
        if len(column.shape) > 1:
            value = tf.reshape(value, [-1, column.output_dim])
    if column.clip is not None:
        value = tf.clip_by_value(value, *column.clip)
    if column.normalization == "log":
        value = tf.math.log1p(value)
    return value


def _scaling_layer(column, stats) -> keras.layers.Layer:
    """A `Normalization` layer: z-score from mean/variance, min-max as mean=min, variance=(max-min)**2."""
    if column.normalization == "zscore":
        mean, variance = stats["mean"], stats["variance"]
    else:
        mean, variance = stats["min"], (stats["max"] - stats["min"]) ** 2
    layer = keras.layers.Normalization(mean=mean, variance=variance, name=f"{column.name}_scaling")
    layer.build((None, column.output_dim))  # now, not lazily inside a tf.data or tracing graph
    return layer


@keras.saving.register_keras_serializable(package="feature_columns")
class FeaturePreprocessor(keras.layers.Layer):
    """Maps raw features to `{column name: tensor}`: float32 `[batch, n]` values or int64 `[batch, 1]` ids.

    Args:
        columns: the top-level (dense) columns of a `FeatureLayer`.
        state: adapted statistics, `{leaf column name: {...}}`, as `FeatureLayer.adapt` computes them.

    Example:

    >>> import numpy as np
    >>> from feature_columns import NumericColumn, BucketizedColumn, IndicatorColumn
    >>> pre = FeaturePreprocessor([NumericColumn("x"), IndicatorColumn(BucketizedColumn("x", bin_boundaries=[0.0]))])
    >>> out = pre({"x": np.array([-1.0, 2.0])})
    >>> out["x"].numpy().ravel().tolist(), out["x_bucketized_indicator"].numpy().ravel().tolist()
    ([-1.0, 2.0], [0, 1])
    """

    def __init__(self, columns, state=None, **kwargs):
        super().__init__(**kwargs)
        self.columns = check_columns(columns)
        self.state = dict(state or {})
        self.defaults = {key: f.default for key, f in raw_features(self.columns).items() if f.default is not None}
        self.stages: dict = {}
        for column in walk(self.columns):
            stats = self.state.get(column.name)
            if (
                column.needs_adapt
                and stats is None
                and not isinstance(column, (fc.CrossedColumn, fc.EmbeddingColumn, fc.IndicatorColumn))
            ):
                raise ValueError(
                    f"FeaturePreprocessor: column {column.name!r} needs statistics from data "
                    f"({_why_adapt(column)}). Call `FeatureLayer.adapt(data)` first, or give them explicitly."
                )
            if isinstance(column, (fc.NumericColumn, fc.DistanceColumn)) and column.needs_adapt:
                self.stages[column.name] = _scaling_layer(column, stats)
            elif isinstance(column, fc.BucketizedColumn):
                boundaries = column.bin_boundaries or tuple(stats["bin_boundaries"])
                self.stages[column.name] = keras.layers.Discretization(
                    bin_boundaries=list(boundaries), name=f"{column.name}_discretization"
                )
            elif isinstance(column, fc.HashedColumn):
                self.stages[column.name] = keras.layers.Hashing(column.num_bins, name=f"{column.name}_hashing")

    def build(self, input_shape=None):
        """Nothing to build: scaling layers are built in `__init__`, and the lookup layers hold no weights."""

    def call(self, features):
        return {column.name: self._transform(column, features) for column in self.columns}

    def _transform(self, column, features):
        if isinstance(column, (fc.EmbeddingColumn, fc.IndicatorColumn)):
            return self.ids(column.categorical_column, features)
        value = numeric_value(column, features, self.defaults)
        if column.name in self.stages:
            value = self.stages[column.name](value)
        return value

    def ids(self, column, features) -> tf.Tensor:
        """A categorical column's int64 ids, `[batch, n]`."""
        if isinstance(column, fc.BucketizedColumn):
            value = numeric_value(column.source, features, self.defaults)
            return tf.cast(self.stages[column.name](value), tf.int64)
        if isinstance(column, fc.HashedColumn):
            return tf.cast(self.stages[column.name](_as_column_tensor(features, column.key, column.name)), tf.int64)
        if isinstance(column, fc.IdentityColumn):
            return _identity_ids(column, _as_column_tensor(features, column.key, column.name))
        parts = [
            _as_column_tensor(features, key, column.name) if isinstance(key, str) else self.ids(key, features)
            for key in column.keys
        ]
        parts = [p if p.dtype == tf.string else tf.cast(p, tf.int64) for p in parts]
        return tf.sparse.to_dense(tf.sparse.cross_hashed(parts, num_buckets=column.num_bins))

    def compute_output_spec(self, features):
        batch = next(iter(features.values())).shape[0]
        specs = {}
        for column in self.columns:
            if isinstance(column, (fc.EmbeddingColumn, fc.IndicatorColumn)):
                specs[column.name] = keras.KerasTensor((batch, 1), dtype="int64")
            else:
                specs[column.name] = keras.KerasTensor((batch, column.output_dim), dtype="float32")
        return specs

    def get_config(self):
        config = super().get_config()
        config.update(columns=[fc.serialize(c) for c in self.columns], state=self.state)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["columns"] = [fc.from_config(c) for c in config["columns"]]
        return cls(**config)


def _identity_ids(column, value) -> tf.Tensor:
    ids = tf.cast(value, tf.int64)
    in_range = (ids >= 0) & (ids < column.num_buckets)
    if column.default_value is not None:
        return tf.where(in_range, ids, tf.constant(column.default_value, tf.int64))
    check = tf.debugging.Assert(
        tf.reduce_all(in_range),
        [
            f"IdentityColumn {column.name!r}: ids must lie in [0, {column.num_buckets}); "
            f"give `default_value` to map others to a bucket. Out-of-range ids:",
            tf.boolean_mask(ids, ~in_range),
        ],
    )
    with tf.control_dependencies([check]):
        return tf.identity(ids)


def _why_adapt(column) -> str:
    if isinstance(column, fc.BucketizedColumn):
        return f"num_bins={column.num_bins} boundaries are quantiles"
    return f"normalization={column.normalization!r}"
