"""`FeatureEncoder`: preprocessed values and ids to one dense float tensor; owns the embedding tables."""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
from keras import ops

from feature_columns.base import from_config, serialize
from feature_columns.keras_internals import walk_layers
from feature_columns.preprocessing import FeaturePreprocessor, resolve_state
from feature_columns.remap import row_keys, vocabulary_ready
from feature_columns.specs import check_columns


def _embedding_initializer(owner):
    if owner.initializer:
        return keras.initializers.get(owner.initializer)
    return keras.initializers.TruncatedNormal(stddev=owner.resolved_dimension**-0.5)


def table_owners(columns) -> list:
    """The specs that own the columns' embedding tables (`table_owner`), each once, in first-use order."""
    return list(dict.fromkeys(column.table_owner for column in columns if column.table_owner is not None))


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
                owner.rows_column.num_buckets,
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
            if not vocabulary_ready(owner.rows_column, state):
                awaiting.append(owner)
                continue
            table = self.embeddings[owner.name].embeddings
            table.assign(owner.pretrained.load(owner, state, ops.convert_to_numpy(table)))
        self._awaiting = awaiting

    def build(self, input_shape=None):
        """The embedding tables are created in `__init__`; this checks that the pretrained ones are loaded."""
        if self._awaiting:
            names = [owner.name for owner in self._awaiting]
            # A table owner with several categorical columns shares its table among them.
            shared = {o.name: o.rows_column.name for o in self._awaiting if len(o.children()) > 1}
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
        slots = column.id_slots()
        if not slots:
            return ops.cast(preprocessed[column.name], "float32")
        parts = []
        for key, categorical in slots:
            ids = preprocessed[key]
            if categorical.always_one_id:  # nothing to mask, weigh or combine: fewer ops per batch and request
                parts.append(column.encode_single(self.embeddings, ids[:, 0]))
                continue
            present = ids >= 0
            weights = categorical.id_weights(preprocessed, key, present)
            parts.append(column.encode_ids(self.embeddings, ops.where(present, ids, 0), weights))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

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
        config.update(columns=[serialize(c) for c in self.columns], read_pretrained=False)
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
        config["columns"] = [from_config(c) for c in config["columns"]]
        return cls(**config)


@dataclasses.dataclass(frozen=True)
class EmbeddingTable:
    """An embedding table of a model: its column, its variable, and what each row holds.

    `column` owns the table (an `EmbeddingColumn` or `SharedEmbeddingColumns`). `keys` follows
    `feature_columns.remap.row_keys` for the column that names the rows (its `rows_column`: a shared table's first
    categorical column); None when the rows are plain ids (no vocabulary, or a model that does not hold the vocabulary).
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
            categorical = owner.rows_column
            keys = row_keys(categorical, state) if vocabulary_ready(categorical, state) else None
            tables[owner.name] = EmbeddingTable(owner, layer.embeddings[owner.name].embeddings, keys)
    return tables
