"""`FeaturePreprocessor`: raw feature tensors to scaled values and categorical ids.

This is the stateless-at-train-time half of a `FeatureLayer`: no trainable variables, so it runs inside
`tf.data` (parallel, prefetched) while training, and inside the exported model while serving.
"""

from __future__ import annotations

import keras

from feature_columns.base import from_config, serialize
from feature_columns.specs import check_columns, preprocessed_spec, raw_features, walk


def resolve_state(columns, state) -> dict:
    """`state` plus what columns read from files (vocabularies), read once, so saved configs need no file."""
    resolved = dict(state or {})
    for column in walk(columns):
        if column.name not in resolved and (from_files := column.state_from_files()) is not None:
            resolved[column.name] = from_files
    return resolved


@keras.saving.register_keras_serializable(package="feature_columns")
class FeaturePreprocessor(keras.layers.Layer):
    """Maps raw features to `{key: tensor}`: float32 `[batch, n]` values, int64 `[batch, n]` ids (-1: none).

    Keys and shapes are `preprocessed_spec(columns)`: a dense column's name; for an embedding or indicator
    column, its name for the ids (and `<name>_weights` for a weighted column's weights).

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
        self.state = resolve_state(self.columns, state)
        self.defaults = {key: f.default for key, f in raw_features(self.columns).items() if f.default is not None}
        self.stages: dict = {}
        for column in walk(self.columns):
            stats = self.state.get(column.name)
            if column.keeps_state and stats is None:
                raise ValueError(
                    f"FeaturePreprocessor: column {column.name!r} needs statistics from data "
                    f"({column.adapt_reason}). Call `FeatureLayer.adapt(data)` first, or give them explicitly."
                )
            stage = column.stage(stats)
            if stage is not None:
                self.stages[column.name] = stage
        # Constant id tables (crosses of few id combinations), kept apart from the Keras layers in `stages`.
        self.cross_tables = {
            column.name: table for column in walk(self.columns) if (table := column.constant_table()) is not None
        }

    def build(self, input_shape=None):
        """Nothing to build: scaling layers are built in `__init__`, and the lookup layers hold no weights."""

    def call(self, features):
        outputs = {}
        # Each raw feature is checked, and each categorical column's ids computed, once per batch, however many
        # columns read them (a bucketized coordinate feeds its indicator and a cross, say).
        memo: dict = {}
        for column in self.columns:
            slots = column.id_slots()
            if not slots:
                outputs[column.name] = column.preprocess(self, features, memo)
            for key, categorical in slots:
                outputs.update(categorical.slot_tensors(self, key, self.ids(categorical, features, memo), features))
        return dict(sorted(outputs.items()))  # the key order of the model's preprocessed `Input`s

    def ids(self, column, features, memo: dict | None = None):
        """A categorical column's int64 ids, `[batch, n]`, with -1 where an example has no value."""
        if memo is None:
            memo = {}
        if column not in memo:
            memo[column] = column.compute_ids(self, features, memo)
        return memo[column]

    def compute_output_spec(self, features):
        batch = next(iter(features.values())).shape[0]
        return {
            key: keras.KerasTensor((batch, *shape), dtype=dtype)
            for key, (shape, dtype) in preprocessed_spec(self.columns).items()
        }

    def get_config(self):
        config = super().get_config()
        config.update(columns=[serialize(c) for c in self.columns], state=self.state)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["columns"] = [from_config(c) for c in config["columns"]]
        return cls(**config)
