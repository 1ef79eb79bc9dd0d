"""`FeatureEncoder`: preprocessed values and ids to one dense float tensor; owns the embedding tables."""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
from keras import ops

from feature_columns import columns as fc
from feature_columns.keras_internals import walk_layers
from feature_columns.preprocessing import FeaturePreprocessor, resolve_state
from feature_columns.remap import row_keys, vocabulary_ready
from feature_columns.specs import always_one_id, check_columns, id_slots, table_owner, weights_key


def _embedding_initializer(column):
    if column.initializer:
        return keras.initializers.get(column.initializer)
    return keras.initializers.TruncatedNormal(stddev=column.resolved_dimension**-0.5)


def table_owners(columns) -> list:
    """The specs that own the columns' embedding tables, each once, in first-use order (see `table_owner`)."""
    return list(dict.fromkeys(owner for owner in map(table_owner, columns) if owner is not None))


def rows_column(owner):
    """The categorical column whose ids (and vocabulary) name the rows of `owner`'s table: a shared table's
    first categorical column, as `SharedEmbeddingColumns` documents."""
    if isinstance(owner, fc.SharedEmbeddingColumns):
        return owner.categorical_columns[0]
    return owner.categorical_column


def _as_embedding_column(owner) -> fc.EmbeddingColumn:
    """`owner` as the `EmbeddingColumn` a pretrained source fits rows to: its name and `rows_column` are what
    the sources read, so a shared table is loaded exactly as an embedding of its first column would be."""
    if isinstance(owner, fc.EmbeddingColumn):
        return owner
    return fc.EmbeddingColumn(
        rows_column(owner), owner.resolved_dimension, name=owner.name, pretrained=owner.pretrained
    )


def _clip_norm(vectors, max_norm: float):
    """Scales vectors longer than `max_norm` down to it, at lookup time (as `tf.nn.embedding_lookup`)."""
    norms = ops.sqrt(ops.sum(ops.square(vectors), axis=-1, keepdims=True))
    return vectors * ops.minimum(1.0, max_norm / ops.maximum(norms, 1e-12))


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
        embeddings_regularizers: `{table name: Keras regularizer}`, the penalties set on tables (e.g. by
            `tfkit.layers.l2(..., embeddings=True)`); `get_config` records them, so reloaded tables keep them.

    >>> import numpy as np
    >>> from feature_columns import HashedColumn, IndicatorColumn, NumericColumn
    >>> enc = FeatureEncoder([NumericColumn("x"), IndicatorColumn(HashedColumn("h", num_bins=3))])
    >>> enc({"x": np.array([[0.5]], "float32"), "h_indicator": np.array([[2]])}).numpy().tolist()
    [[0.5, 0.0, 0.0, 1.0]]
    """

    def __init__(self, columns, state=None, *, read_pretrained: bool = True, embeddings_regularizers=None, **kwargs):
        super().__init__(**kwargs)
        self.columns = check_columns(columns)
        regularizers = embeddings_regularizers or {}
        # One table per owner: the columns split from one SharedEmbeddingColumns all look up the same one.
        owners = table_owners(self.columns)
        self.embeddings = {
            owner.name: keras.layers.Embedding(
                rows_column(owner).num_buckets,
                owner.resolved_dimension,
                embeddings_initializer=_embedding_initializer(owner),
                embeddings_regularizer=keras.regularizers.get(regularizers.get(owner.name)),
                trainable=owner.trainable,
                name=owner.name,
            )
            for owner in owners
        }
        # The tables' shapes are known from the specs: create them now, so a reloaded model has them to fill.
        for embedding in self.embeddings.values():
            embedding.build()
        pretrained = [owner for owner in owners if owner.pretrained is not None]
        self._awaiting = pretrained if read_pretrained else []
        if self._awaiting:
            self.load_pretrained(resolve_state(self.columns, state))  # vocabulary files are read here if not given

    def load_pretrained(self, state: dict) -> None:
        """Copies the pretrained tables whose vocabularies `state` holds; `FeatureLayer.adapt` calls it.

        Each source is read once: a table, once loaded, is no longer awaited.
        """
        # A shared table follows its first column's vocabulary, whose file the layer's own columns may not read.
        state = resolve_state(self._awaiting, state)
        awaiting = []
        for owner in self._awaiting:
            if not vocabulary_ready(rows_column(owner), state):
                awaiting.append(owner)
                continue
            table = self.embeddings[owner.name].embeddings
            table.assign(owner.pretrained.load(_as_embedding_column(owner), state, ops.convert_to_numpy(table)))
        self._awaiting = awaiting

    def build(self, input_shape=None):
        """The embedding tables are created in `__init__`; this checks that the pretrained ones are loaded."""
        if self._awaiting:
            names = [owner.name for owner in self._awaiting]
            shared = {o.name: rows_column(o).name for o in self._awaiting if isinstance(o, fc.SharedEmbeddingColumns)}
            raise ValueError(
                f"FeatureEncoder: the pretrained tables of {names} are matched to vocabularies learned by adapt, "
                "which this layer has not received. Adapt the FeatureLayer first, or pass the adapted `state`."
                + (
                    f" A shared table's rows follow its first categorical column ({shared}): one of the layer's "
                    "columns must read that column for adapt to learn its vocabulary."
                    if shared
                    else ""
                )
            )

    def call(self, preprocessed, columns=None):
        """The dense forms of all the layer's columns, or of those named in `columns` (in the layer's order).

        A model whose parts read different columns (wide and deep) calls its one encoder once per part, so that
        every embedding table exists once.
        """
        parts = [self._encode(column, preprocessed) for column in self._selected(columns)]
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def _selected(self, columns) -> tuple:
        if columns is None:
            return self.columns
        names = [column.name for column in self.columns]
        wanted = [columns] if isinstance(columns, str) else list(columns)
        unknown = [name for name in wanted if name not in names]
        if not wanted or unknown:
            raise ValueError(
                f"FeatureEncoder: `columns` must name some of the layer's columns {names}. Received: "
                f"columns={columns!r}. Unknown: {unknown}."
            )
        return tuple(column for column in self.columns if column.name in wanted)

    def _encode(self, column, preprocessed):
        slots = id_slots(column)
        if not slots:
            return ops.cast(preprocessed[column.name], "float32")
        parts = []
        for key, categorical in slots:
            ids = preprocessed[key]
            if always_one_id(categorical):  # nothing to mask, weigh or combine: fewer ops per batch and request
                if isinstance(column, fc.IndicatorColumn):
                    parts.append(ops.one_hot(ids[:, 0], column.output_dim))
                else:
                    parts.append(self._vectors(column, ids[:, 0]))
                continue
            present = ids >= 0
            if isinstance(categorical, fc.WeightedCategoricalColumn):
                weights = ops.where(present, ops.cast(preprocessed[weights_key(key)], "float32"), 0.0)
            else:
                weights = ops.cast(present, "float32")
            safe_ids = ops.where(present, ids, 0)
            if isinstance(column, fc.IndicatorColumn):
                parts.append(_counts(safe_ids, weights, column.output_dim))
                continue
            parts.append(combine(self._vectors(column, safe_ids), weights, column.combiner))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def _vectors(self, column, ids):
        """The embedding vectors of `ids` (any shape), with `max_norm` applied."""
        vectors = self.embeddings[table_owner(column).name](ids)
        return _clip_norm(vectors, column.max_norm) if column.max_norm else vectors

    def compute_output_shape(self, input_shape):
        batch = next(iter(input_shape.values()))[0]
        return (batch, sum(column.output_dim for column in self.columns))

    def compute_output_spec(self, preprocessed, columns=None):
        batch = next(iter(preprocessed.values())).shape[0]
        width = sum(column.output_dim for column in self._selected(columns))
        return keras.KerasTensor((batch, width), dtype="float32")

    def get_config(self):
        config = super().get_config()
        # The saved weights hold the pretrained tables: a reloaded layer never reads the sources again.
        config.update(columns=[fc.serialize(c) for c in self.columns], read_pretrained=False)
        regularizers = {
            name: keras.regularizers.serialize(table.embeddings_regularizer)
            for name, table in self.embeddings.items()
            if table.embeddings_regularizer is not None
        }
        if regularizers:
            config["embeddings_regularizers"] = regularizers
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["columns"] = [fc.from_config(c) for c in config["columns"]]
        return cls(**config)


@dataclasses.dataclass(frozen=True)
class EmbeddingTable:
    """An embedding table of a model: its column, its variable, and what each row holds.

    `column` owns the table (an `EmbeddingColumn` or `SharedEmbeddingColumns`). `keys` follows
    `feature_columns.remap.row_keys` for the column that names the rows (a shared table's first categorical
    column); None when the rows are plain ids (no vocabulary, or a model that does not hold the vocabulary).
    """

    column: Any
    variable: Any
    keys: list | None


def embedding_tables(model) -> dict:
    """`{column name: EmbeddingTable}` for every table of the `FeatureEncoder`s in a Keras model.

    Vocabularies come from the columns, or from the model's `FeaturePreprocessor` state (files, adapt).
    """
    layers = walk_layers(model)
    state: dict = {}
    for layer in layers:
        if isinstance(layer, FeaturePreprocessor):
            state.update(layer.state)
    tables = {}
    for layer in layers:
        if not isinstance(layer, FeatureEncoder):
            continue
        for owner in table_owners(layer.columns):
            categorical = rows_column(owner)
            keys = row_keys(categorical, state) if vocabulary_ready(categorical, state) else None
            tables[owner.name] = EmbeddingTable(owner, layer.embeddings[owner.name].embeddings, keys)
    return tables
