"""`FeatureEncoder`: preprocessed values and ids to one dense float tensor; owns the embedding tables."""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
from keras import ops

from feature_columns import columns as fc
from feature_columns.preprocessing import FeaturePreprocessor, resolve_state
from feature_columns.remap import row_keys, vocabulary_ready
from feature_columns.specs import check_columns, id_slots, weights_key

EMBEDDING_TYPES = (fc.EmbeddingColumn, fc.SharedEmbeddingColumns)


def _embedding_initializer(column):
    if column.initializer:
        return keras.initializers.get(column.initializer)
    return keras.initializers.TruncatedNormal(stddev=column.resolved_dimension**-0.5)


def _table_size(column) -> int:
    if isinstance(column, fc.SharedEmbeddingColumns):
        return column.num_buckets
    return column.categorical_column.num_buckets


def _clip_norm(vectors, max_norm: float):
    """Scales vectors longer than `max_norm` down to it, at lookup time (as `tf.nn.embedding_lookup`)."""
    norms = ops.sqrt(ops.sum(ops.square(vectors), axis=-1, keepdims=True))
    return vectors * ops.minimum(1.0, max_norm / ops.maximum(norms, 1e-12))


def combine(vectors, weights, combiner: str | None):
    """Reduces `[batch, n, dim]` vectors with `[batch, n]` weights (0 where there is no id) to `[batch, dim]`.

    `mean` divides by the sum of weights, `sqrtn` by the square root of the sum of squared weights (both as
    `tf.nn.embedding_lookup_sparse`); an example without ids gets zeros. `None` keeps the positions:
    `[batch, n * dim]`.

    >>> import numpy as np
    >>> v = np.array([[[1.0, 0.0], [3.0, 4.0], [9.0, 9.0]]])
    >>> combine(v, np.array([[1.0, 1.0, 0.0]]), "mean").numpy().tolist()  # ([1, 0] + [3, 4]) / 2
    [[2.0, 2.0]]
    """
    weighted = vectors * ops.expand_dims(weights, -1)
    if combiner is None:
        return ops.reshape(weighted, (-1, weighted.shape[1] * weighted.shape[2]))
    total = ops.sum(weighted, axis=1)
    if combiner == "sum":
        return total
    if combiner == "mean":
        denominator = ops.sum(weights, axis=1, keepdims=True)
    else:
        denominator = ops.sqrt(ops.sum(ops.square(weights), axis=1, keepdims=True))
    return ops.divide_no_nan(total, denominator)


@keras.saving.register_keras_serializable(package="feature_columns")
class FeatureEncoder(keras.layers.Layer):
    """Concatenates the columns' dense forms in column order: values, embeddings, one-hot indicators.

    Takes what `FeaturePreprocessor` returns (see `preprocessed_spec`): ids are `[batch, n]` with -1 where an
    example has no value, which adds nothing to an embedding's combiner or an indicator.

    Args:
        columns: the dense columns, in output order.
        state: the preprocessor's state; it holds the vocabularies that pretrained tables are matched to.
        read_pretrained: read the `pretrained` sources of embedding columns now, or (for a learned vocabulary)
            in `load_pretrained` after adapt. A reloaded layer passes False: its saved weights hold the tables.

    >>> import numpy as np
    >>> from feature_columns import HashedColumn, IndicatorColumn, NumericColumn
    >>> enc = FeatureEncoder([NumericColumn("x"), IndicatorColumn(HashedColumn("h", num_bins=3))])
    >>> enc({"x": np.array([[0.5]], "float32"), "h_indicator": np.array([[2]])}).numpy().tolist()
    [[0.5, 0.0, 0.0, 1.0]]
    """

    def __init__(self, columns, state=None, *, read_pretrained: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.columns = check_columns(columns)
        self.embeddings = {
            column.name: keras.layers.Embedding(
                _table_size(column),
                column.resolved_dimension,
                embeddings_initializer=_embedding_initializer(column),
                trainable=column.trainable,
                name=column.name,
            )
            for column in self.columns
            if isinstance(column, EMBEDDING_TYPES)
        }
        # The tables' shapes are known from the specs: create them now, so a reloaded model has them to fill.
        for embedding in self.embeddings.values():
            embedding.build()
        pretrained = [c for c in self.columns if isinstance(c, fc.EmbeddingColumn) and c.pretrained is not None]
        self._awaiting = pretrained if read_pretrained else []
        if self._awaiting:
            self.load_pretrained(resolve_state(self.columns, state))  # vocabulary files are read here if not given

    def load_pretrained(self, state: dict) -> None:
        """Copies the pretrained tables whose vocabularies `state` holds; `FeatureLayer.adapt` calls it.

        Each source is read once: a table, once loaded, is no longer awaited.
        """
        awaiting = []
        for column in self._awaiting:
            if not vocabulary_ready(column.categorical_column, state):
                awaiting.append(column)
                continue
            table = self.embeddings[column.name].embeddings
            table.assign(column.pretrained.load(column, state, ops.convert_to_numpy(table)))
        self._awaiting = awaiting

    def build(self, input_shape=None):
        """The embedding tables are created in `__init__`; this checks that the pretrained ones are loaded."""
        if self._awaiting:
            names = [column.name for column in self._awaiting]
            raise ValueError(
                f"FeatureEncoder: the pretrained tables of {names} are matched to vocabularies learned by adapt, "
                "which this layer has not received. Adapt the FeatureLayer first, or pass the adapted `state`."
            )

    def call(self, preprocessed):
        parts = [self._encode(column, preprocessed) for column in self.columns]
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def _encode(self, column, preprocessed):
        slots = id_slots(column)
        if not slots:
            return ops.cast(preprocessed[column.name], "float32")
        parts = []
        for key, categorical in slots:
            ids = preprocessed[key]
            present = ids >= 0
            if isinstance(categorical, fc.WeightedCategoricalColumn):
                weights = ops.where(present, ops.cast(preprocessed[weights_key(key)], "float32"), 0.0)
            else:
                weights = ops.cast(present, "float32")
            safe_ids = ops.where(present, ids, 0)
            if isinstance(column, fc.IndicatorColumn):
                # One op for one-hot, multi-hot counts and summed weights; one one-hot row per id would cost n times
                # the memory. Its width is dynamic in a graph: restore the static one.
                counts = ops.bincount(safe_ids, weights=weights, minlength=column.output_dim)
                parts.append(ops.reshape(counts, (-1, column.output_dim)))
                continue
            vectors = self.embeddings[column.name](safe_ids)
            if column.max_norm:
                vectors = _clip_norm(vectors, column.max_norm)
            parts.append(combine(vectors, weights, column.combiner))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        batch = next(iter(input_shape.values()))[0]
        return (batch, sum(column.output_dim for column in self.columns))

    def get_config(self):
        config = super().get_config()
        # The saved weights hold the pretrained tables: a reloaded layer never reads the sources again.
        config.update(columns=[fc.serialize(c) for c in self.columns], read_pretrained=False)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["columns"] = [fc.from_config(c) for c in config["columns"]]
        return cls(**config)


@dataclasses.dataclass(frozen=True)
class EmbeddingTable:
    """An embedding table of a model: its column, its variable, and what each row holds.

    `keys` follows `feature_columns.remap.row_keys`; None when the rows are plain ids (no vocabulary, a shared
    table, or a model that does not hold the vocabulary).
    """

    column: Any
    variable: Any
    keys: list | None


def embedding_tables(model) -> dict:
    """`{column name: EmbeddingTable}` for every table of the `FeatureEncoder`s in a Keras model.

    Vocabularies come from the columns, or from the model's `FeaturePreprocessor` state (files, adapt).
    """
    layers = list(model._flatten_layers(include_self=True, recursive=True))
    state: dict = {}
    for layer in layers:
        if isinstance(layer, FeaturePreprocessor):
            state.update(layer.state)
    tables = {}
    for layer in layers:
        if not isinstance(layer, FeatureEncoder):
            continue
        for column in layer.columns:
            if column.name not in layer.embeddings:
                continue
            categorical = getattr(column, "categorical_column", None)  # None: a shared table
            ready = categorical is not None and vocabulary_ready(categorical, state)
            keys = row_keys(categorical, state) if ready else None
            tables[column.name] = EmbeddingTable(column, layer.embeddings[column.name].embeddings, keys)
    return tables
