"""`FeatureEncoder`: preprocessed values and ids to one dense float tensor; owns the embedding tables."""

from __future__ import annotations

import keras
from keras import ops

from feature_columns import columns as fc
from feature_columns.specs import check_columns


def _embedding_initializer(column):
    if column.initializer:
        return keras.initializers.get(column.initializer)
    return keras.initializers.TruncatedNormal(stddev=column.resolved_dimension**-0.5)


@keras.saving.register_keras_serializable(package="feature_columns")
class FeatureEncoder(keras.layers.Layer):
    """Concatenates the columns' dense forms in column order: values, embeddings, one-hot indicators.

    Takes what `FeaturePreprocessor` returns, `{column name: [batch, n] values or ids}`.

    >>> import numpy as np
    >>> from feature_columns import HashedColumn, IndicatorColumn, NumericColumn
    >>> enc = FeatureEncoder([NumericColumn("x"), IndicatorColumn(HashedColumn("h", num_bins=3))])
    >>> enc({"x": np.array([[0.5]], "float32"), "h_indicator": np.array([[2]])}).numpy().tolist()
    [[0.5, 0.0, 0.0, 1.0]]
    """

    def __init__(self, columns, **kwargs):
        super().__init__(**kwargs)
        self.columns = check_columns(columns)
        self.embeddings = {
            column.name: keras.layers.Embedding(
                column.categorical_column.num_buckets,
                column.resolved_dimension,
                embeddings_initializer=_embedding_initializer(column),
                embeddings_constraint=keras.constraints.MaxNorm(column.max_norm, axis=1) if column.max_norm else None,
                trainable=column.trainable,
                name=column.name,
            )
            for column in self.columns
            if isinstance(column, fc.EmbeddingColumn)
        }
        # The tables' shapes are known from the specs: create them now, so a reloaded model has them to fill.
        for embedding in self.embeddings.values():
            embedding.build()

    def build(self, input_shape=None):
        """Nothing left to build: the embedding tables are created in `__init__`."""

    def call(self, preprocessed):
        parts = [self._encode(column, preprocessed[column.name]) for column in self.columns]
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def _encode(self, column, value):
        if isinstance(column, fc.EmbeddingColumn):
            vectors = self.embeddings[column.name](value)  # [batch, n, dim]
            if column.combiner == "sum":
                return ops.sum(vectors, axis=1)
            if column.combiner == "sqrtn":
                return ops.sum(vectors, axis=1) / ops.sqrt(ops.cast(ops.shape(vectors)[1], vectors.dtype))
            return ops.mean(vectors, axis=1)
        if isinstance(column, fc.IndicatorColumn):
            return ops.sum(ops.one_hot(value, column.output_dim, dtype="float32"), axis=1)
        return ops.cast(value, "float32")

    def compute_output_shape(self, input_shape):
        batch = next(iter(input_shape.values()))[0]
        return (batch, sum(column.output_dim for column in self.columns))

    def get_config(self):
        config = super().get_config()
        config["columns"] = [fc.serialize(c) for c in self.columns]
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["columns"] = [fc.from_config(c) for c in config["columns"]]
        return cls(**config)
