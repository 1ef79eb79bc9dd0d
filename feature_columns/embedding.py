"""The dense/embedding family's tables: categorical ids made dense by `EmbeddingColumn`, and by
`SharedEmbeddingColumns` with the `SharedEmbeddingColumn`s it splits into (one-hot: `indicator`).

>>> from feature_columns import BucketizedColumn, CrossedColumn
>>> lat = BucketizedColumn("pickup_latitude", bin_boundaries=(40.7, 40.8))
>>> EmbeddingColumn(CrossedColumn((lat, "vendor"), num_bins=81)).resolved_dimension
3
"""

from __future__ import annotations

from typing import Any

from keras import ops

from feature_columns.base import DenseColumn, OverOneCategorical, PretrainedSource, check_categorical, column_spec
from feature_columns.validation import (
    as_tuple,
    check_bool,
    check_choice,
    check_positive_int,
    freeze,
    is_count,
    is_number,
)

COMBINERS = ("mean", "sum", "sqrtn")


def embedding_dim(num_values: int) -> int:
    """The fourth-root rule of thumb for an embedding's width.

    >>> embedding_dim(81), embedding_dim(168), embedding_dim(500_000)
    (3, 4, 27)
    """
    check_positive_int("embedding_dim", "num_values", num_values)
    return max(1, round(num_values**0.25))


def embedding_dim_search_space(num_values: int) -> tuple[int, int]:
    """A (low, high) tuning range around `embedding_dim`: 0.55 to 1.3 times the rule's value, rounded.

    The ratios are the course's: it suggests 15 to 35 dimensions for 500,000 values, whose rule value is 27.

    >>> embedding_dim_search_space(500_000), embedding_dim_search_space(168)
    ((15, 35), (2, 5))
    """
    center = embedding_dim(num_values)
    return max(1, round(center * 0.55)), max(center, round(center * 1.3))


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


def _check_embedding_args(where: str, spec: Any, categoricals: tuple) -> None:
    """Validates the arguments `EmbeddingColumn` and `SharedEmbeddingColumns` share."""
    if spec.dimension is not None:
        check_positive_int(where, "dimension", spec.dimension)
    if spec.combiner is None:
        varying = [c.name for c in categoricals if c.id_width is None]
        if varying:
            raise ValueError(
                f"{where}: `combiner=None` keeps one vector per position, so it needs a fixed number of ids per "
                f"example; {varying} vary. Use 'mean', 'sum' or 'sqrtn', or TextColumn(output_sequence_length=...)."
            )
    else:
        check_choice(where, "combiner", spec.combiner, COMBINERS)
    if spec.initializer is not None and not isinstance(spec.initializer, str):
        raise TypeError(
            f"{where}: `initializer` must be the name of a Keras initializer, e.g. 'glorot_uniform'. "
            f"Received: initializer={spec.initializer!r} (of type {type(spec.initializer).__name__})."
        )
    if spec.max_norm is not None and (not is_number(spec.max_norm) or spec.max_norm <= 0):
        raise ValueError(
            f"{where}: `max_norm` must be a positive number or None. Received: max_norm={spec.max_norm!r}."
        )
    check_bool(where, "trainable", spec.trainable)
    if spec.pretrained is not None and not isinstance(spec.pretrained, PretrainedSource):
        raise TypeError(
            f"{where}: `pretrained` must be a PretrainedCheckpoint, PretrainedModel or PretrainedMatrix "
            f"(from feature_columns), or None. Received: pretrained={spec.pretrained!r} "
            f"(of type {type(spec.pretrained).__name__})."
        )


class _TableLookup(DenseColumn):
    """What embedding columns share: ids' vectors from the table of `table_owner`, `max_norm` applied, combined."""

    def encode_single(self, tables: dict, ids):
        return self._vectors(tables, ids)

    def encode_ids(self, tables: dict, ids, weights):
        return combine(self._vectors(tables, ids), weights, self.combiner)

    def _vectors(self, tables: dict, ids):
        """The embedding vectors of `ids` (any shape), with `max_norm` applied."""
        vectors = tables[self.table_owner.name](ids)
        return _clip_norm(vectors, self.max_norm) if self.max_norm else vectors


@column_spec
class EmbeddingColumn(_TableLookup, OverOneCategorical):
    """A dense, trainable embedding of a categorical column.

    `dimension=None` uses `embedding_dim(num_buckets)`, the fourth-root rule. The default initializer is a
    truncated normal with standard deviation `1/sqrt(dimension)`, as `tf.feature_column` used.

    Args:
        categorical_column: the ids to embed.
        dimension: the embedding width.
        combiner: how several ids of one example combine: `"mean"`, `"sum"` or `"sqrtn"` (sum over the square
            root of the number of ids, or of the sum of squared weights), padding never counting; or None to
            keep each position's vector (`[batch, id_width * dimension]`, for `TextColumn` sequences).
        initializer: a Keras initializer name.
        max_norm: vectors longer than this are scaled down to it when looked up (as `tf.feature_column`).
        trainable: False freezes the table.
        name: defaults to `<categorical name>_embedding`.
        pretrained: where the table's initial rows come from: a `PretrainedCheckpoint`, `PretrainedModel` or
            `PretrainedMatrix`. Read once, when the `FeatureLayer` is built (after `adapt` for a learned
            vocabulary), and then saved with the model's weights; rows the source lacks (new tokens) start
            from `initializer`. With `trainable=False` the loaded table stays as it is.
    """

    categorical_column: Any
    dimension: int | None = None
    combiner: str | None = "mean"
    initializer: str | None = None
    max_norm: float | None = None
    trainable: bool = True
    name: str | None = None
    pretrained: PretrainedSource | None = None

    def __post_init__(self):
        where = f"EmbeddingColumn({getattr(self.categorical_column, 'name', self.categorical_column)!r})"
        check_categorical(where, self.categorical_column)
        _check_embedding_args(where, self, (self.categorical_column,))
        freeze(self, name=self.name or f"{self.categorical_column.name}_embedding")

    @property
    def resolved_dimension(self) -> int:
        return self.dimension or embedding_dim(self.categorical_column.num_buckets)

    @property
    def output_dim(self) -> int:
        width = self.categorical_column.id_width if self.combiner is None else 1
        return self.resolved_dimension * width

    @property
    def table_owner(self):
        return self

    @property
    def rows_column(self):
        """The categorical column whose ids (and vocabulary) name the table's rows."""
        return self.categorical_column


@column_spec
class SharedEmbeddingColumns(_TableLookup):
    """One embedding table looked up by several categorical columns; their vectors are concatenated in order.

    For features that share a vocabulary, such as a watched and a recommended video id: each is learned
    from both. The columns must have the same `num_buckets`. `split()` gives one column per categorical
    column instead (`SharedEmbeddingColumn`, the form `tf.feature_column.shared_embeddings` returned), to
    place each anywhere among a `FeatureLayer`'s columns; they still look up this one table.

    Args:
        categorical_columns: the ids to embed, two or more, with the same `num_buckets`.
        dimension, combiner, initializer, max_norm, trainable: as for `EmbeddingColumn`.
        name: the table's name; defaults to the columns' names joined, then `_shared_embedding`.
        pretrained: where the table's initial rows come from, as for `EmbeddingColumn`: read once, when the
            `FeatureLayer` is built, shape-checked against `(num_buckets, dimension)`, kept as loaded with
            `trainable=False`. The columns share the table's rows but may name them differently: rows are
            matched by token to the vocabulary of the FIRST categorical column (when it has one), so give
            that column the vocabulary the table was trained with.

    >>> from feature_columns import IdentityColumn
    >>> watched = IdentityColumn("watched", num_buckets=100)
    >>> shared = SharedEmbeddingColumns((watched, IdentityColumn("impression", num_buckets=100)), dimension=8)
    >>> shared.name, shared.output_dim
    ('watched_impression_shared_embedding', 16)
    >>> [(column.name, column.output_dim) for column in shared.split()]
    [('watched_shared_embedding', 8), ('impression_shared_embedding', 8)]
    """

    categorical_columns: tuple
    dimension: int | None = None
    combiner: str | None = "mean"
    initializer: str | None = None
    max_norm: float | None = None
    trainable: bool = True
    name: str | None = None
    pretrained: PretrainedSource | None = None

    def __post_init__(self):
        where = "SharedEmbeddingColumns"
        columns = as_tuple(where, "categorical_columns", self.categorical_columns)
        if len(columns) < 2:
            raise ValueError(
                f"{where}: `categorical_columns` must hold at least two columns to share a table; use "
                f"EmbeddingColumn for one. Received: {len(columns)} column(s)."
            )
        for column in columns:
            check_categorical(where, column, "categorical_columns")
        sizes = {column.name: column.num_buckets for column in columns}
        if len(set(sizes.values())) != 1:
            raise ValueError(
                f"{where}: all `categorical_columns` must have the same num_buckets to share one table. "
                f"Received: {sizes}. Give them the same vocabulary or bucket count."
            )
        names = [column.name for column in columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: `categorical_columns` must be different columns. Received names: {names}.")
        _check_embedding_args(where, self, columns)
        freeze(self, categorical_columns=columns, name=self.name or "_".join(names) + "_shared_embedding")

    @property
    def input_keys(self) -> tuple:
        return tuple(key for column in self.categorical_columns for key in column.input_keys)

    @property
    def needs_adapt(self) -> bool:
        return any(column.needs_adapt for column in self.categorical_columns)

    @property
    def num_buckets(self) -> int:
        return self.categorical_columns[0].num_buckets

    @property
    def resolved_dimension(self) -> int:
        return self.dimension or embedding_dim(self.num_buckets)

    @property
    def output_dim(self) -> int:
        return sum(column.output_dim for column in self.split())

    def children(self) -> tuple:
        return self.categorical_columns

    def id_slots(self) -> tuple:
        return tuple((f"{self.name}_{c.name}", c) for c in self.categorical_columns)

    @property
    def table_owner(self):
        return self

    @property
    def rows_column(self):
        """The categorical column whose ids (and vocabulary) name the table's rows: the first, as documented."""
        return self.categorical_columns[0]

    def split(self) -> tuple:
        """One `SharedEmbeddingColumn` per categorical column, in order, each looking up this table."""
        return tuple(SharedEmbeddingColumn(self, index) for index in range(len(self.categorical_columns)))


@column_spec
class SharedEmbeddingColumn(_TableLookup, OverOneCategorical):
    """One categorical column's embedding, looked up in the table of a `SharedEmbeddingColumns`.

    `SharedEmbeddingColumns.split()` makes them, one per categorical column, as
    `tf.feature_column.shared_embeddings` did. Each may go anywhere among a `FeatureLayer`'s columns; the
    `FeatureLayer` creates the table once, named after `shared`, however many of its columns it holds, and uses
    `shared`'s `dimension`, `combiner`, `max_norm`, `trainable` and `pretrained` for all of them.

    Args:
        shared: the `SharedEmbeddingColumns` whose table is looked up.
        index: which of `shared.categorical_columns` this column embeds.
        name: defaults to `<categorical column name>_shared_embedding`, tf.feature_column's name.

    >>> from feature_columns import IdentityColumn
    >>> day = IdentityColumn("pickup_day", num_buckets=7)
    >>> pickup, dropoff = SharedEmbeddingColumns((day, IdentityColumn("dropoff_day", 7)), dimension=2).split()
    >>> dropoff.name, dropoff.categorical_column.key, dropoff.shared.name
    ('dropoff_day_shared_embedding', 'dropoff_day', 'pickup_day_dropoff_day_shared_embedding')
    """

    shared: Any
    index: int
    name: str | None = None

    def __post_init__(self):
        if not isinstance(self.shared, SharedEmbeddingColumns):
            raise TypeError(
                f"SharedEmbeddingColumn: `shared` must be a SharedEmbeddingColumns. Received: shared={self.shared!r} "
                f"(of type {type(self.shared).__name__}). Make the columns with `SharedEmbeddingColumns(...).split()`."
            )
        where = f"SharedEmbeddingColumn({self.shared.name!r})"
        count = len(self.shared.categorical_columns)
        if not is_count(self.index, minimum=0) or self.index >= count:
            raise ValueError(
                f"{where}: `index` must be an integer in [0, {count}), a position in "
                f"`shared.categorical_columns`. Received: index={self.index!r}."
            )
        freeze(self, name=self.name or f"{self.categorical_column.name}_shared_embedding")

    @property
    def categorical_column(self):
        return self.shared.categorical_columns[self.index]

    @property
    def combiner(self) -> str | None:
        return self.shared.combiner

    @property
    def max_norm(self) -> float | None:
        return self.shared.max_norm

    @property
    def resolved_dimension(self) -> int:
        return self.shared.resolved_dimension

    @property
    def output_dim(self) -> int:
        width = self.categorical_column.id_width if self.combiner is None else 1
        return self.resolved_dimension * width

    @property
    def table_owner(self):
        return self.shared
