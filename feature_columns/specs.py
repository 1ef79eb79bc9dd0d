"""Walks column trees: the raw features they read, the leaf columns that hold state, what preprocessing gives."""

from __future__ import annotations

from dataclasses import dataclass, replace

from feature_columns.columns import (
    DENSE_TYPES,
    BucketizedColumn,
    CrossedColumn,
    DistanceColumn,
    EmbeddingColumn,
    HashedColumn,
    IdentityColumn,
    IndicatorColumn,
    NumericColumn,
    SharedEmbeddingColumn,
    SharedEmbeddingColumns,
    TextColumn,
    VocabularyColumn,
    WeightedCategoricalColumn,
)

STATEFUL_TYPES = (NumericColumn, DistanceColumn, BucketizedColumn, VocabularyColumn, TextColumn)


@dataclass(frozen=True)
class RawFeature:
    """What the model takes for one raw feature.

    Attributes:
        key: the feature's name.
        dtype: `"string"`, `"float32"`, `"float64"`, `"int32"` or `"int64"`.
        shape: per-example shape: `()` for one value, `(n,)` for a fixed vector, `(None,)` for a multivalent
            feature (padded with `""`, -1, or 0.0 for weights).
        default: replaces a missing (NaN) value; from the `default_value` of a numeric column reading it.
        num_buckets: integer ids must lie in `[0, num_buckets)`; set when an `IdentityColumn` without a
            `default_value` reads the feature.
    """

    key: str
    dtype: str
    shape: tuple = ()
    default: float | None = None
    num_buckets: int | None = None


def children(column) -> tuple:
    """The columns a column is built from."""
    if isinstance(column, (EmbeddingColumn, SharedEmbeddingColumn, IndicatorColumn, WeightedCategoricalColumn)):
        return (column.categorical_column,)
    if isinstance(column, SharedEmbeddingColumns):
        return column.categorical_columns
    if isinstance(column, BucketizedColumn):
        return (column.source,)
    if isinstance(column, CrossedColumn):
        return tuple(k for k in column.keys if not isinstance(k, str))
    return ()


def walk(columns) -> list:
    """Every column in the trees, children before parents, each distinct spec once."""
    seen: list = []

    def visit(column):
        for child in children(column):
            visit(child)
        if column not in seen:
            seen.append(column)

    for column in columns:
        visit(column)
    return seen


def is_dense(column) -> bool:
    """Whether a column gives dense values (numeric, distance, embedding, indicator), not categorical ids."""
    return isinstance(column, DENSE_TYPES)


def keeps_state(column) -> bool:
    """Whether `FeatureLayer.state` holds something for the column: adapted statistics, or a file's vocabulary."""
    if isinstance(column, VocabularyColumn) and isinstance(column.vocabulary, str):
        return True
    return isinstance(column, STATEFUL_TYPES) and column.needs_adapt


def id_slots(column) -> tuple:
    """`(preprocessed key, categorical column)` for each id tensor a dense column reads."""
    if isinstance(column, SharedEmbeddingColumns):
        return tuple((f"{column.name}_{c.name}", c) for c in column.categorical_columns)
    if isinstance(column, (EmbeddingColumn, SharedEmbeddingColumn, IndicatorColumn)):
        return ((column.name, column.categorical_column),)
    return ()


def always_one_id(column) -> bool:
    """Whether a categorical column gives every example exactly one id: never none (-1), never several.

    True of single-valued bucketized, identity and hashed columns, of vocabularies with OOV ids, and of crosses
    of those and raw strings; a weighted column also carries weights, so it is not counted.

    >>> [always_one_id(VocabularyColumn("city", ["nyc"], num_oov_indices=oov)) for oov in (1, 0)]
    [True, False]
    """
    if isinstance(column, CrossedColumn):
        return all(isinstance(key, str) or always_one_id(key) for key in column.keys)
    if isinstance(column, (TextColumn, WeightedCategoricalColumn)):
        return False
    if isinstance(column, VocabularyColumn) and column.num_oov_indices == 0:
        return False
    return column.id_width == 1


def table_owner(column):
    """The spec whose embedding table a column looks up: itself, a shared column's set, or None (no table)."""
    if isinstance(column, SharedEmbeddingColumn):
        return column.shared
    if isinstance(column, (EmbeddingColumn, SharedEmbeddingColumns)):
        return column
    return None


def weights_key(key: str) -> str:
    """The preprocessed key of the weights that go with the ids under `key`."""
    return f"{key}_weights"


def preprocessed_spec(columns) -> dict:
    """`{key: (per-example shape, dtype)}` of what `FeaturePreprocessor` returns, in column order.

    Numeric columns give float32 `(output_dim,)` values; each id slot gives int64 `(id_width,)` ids (None
    when it varies), plus float32 weights for a `WeightedCategoricalColumn`.

    >>> from feature_columns import IndicatorColumn, NumericColumn, HashedColumn
    >>> preprocessed_spec([NumericColumn("x"), IndicatorColumn(HashedColumn("h", 4, multivalent=True))])
    {'x': ((1,), 'float32'), 'h_indicator': ((None,), 'int64')}
    """
    spec: dict = {}
    for column in columns:
        slots = id_slots(column)
        if not slots:
            spec[column.name] = ((column.output_dim,), "float32")
        for key, categorical in slots:
            spec[key] = ((categorical.id_width,), "int64")
            if isinstance(categorical, WeightedCategoricalColumn):
                spec[weights_key(key)] = ((categorical.id_width,), "float32")
    return spec


def check_columns(columns) -> tuple:
    """Validates the top-level columns given to a `FeatureLayer` and returns them as a tuple."""
    if isinstance(columns, (str, bytes)) or not hasattr(columns, "__iter__"):
        raise TypeError(f"FeatureLayer: `columns` must be a list of feature columns. Received: {columns!r}.")
    columns = tuple(columns)
    if not columns:
        raise ValueError("FeatureLayer: `columns` must hold at least one column. Received: [].")
    for column in columns:
        if not is_dense(column):
            raise TypeError(
                f"FeatureLayer: column {getattr(column, 'name', column)!r} is a {type(column).__name__}, which "
                f"gives ids, not dense values. Wrap categorical columns in EmbeddingColumn or IndicatorColumn."
            )
    # Names key the layer's outputs (top-level columns) and its state (columns that learn from data or files).
    named = list(columns) + [c for c in walk(columns) if keeps_state(c)]
    by_name: dict = {}
    for column in named:
        other = by_name.setdefault(column.name, column)
        if other != column:
            raise ValueError(
                f"FeatureLayer: two different columns are named {column.name!r}: {other!r} and {column!r}. "
                f"Give one of them another `name=`."
            )
    # A table is created once per name: the columns that look one up must agree on the spec that owns it.
    tables: dict = {}
    for column in columns:
        owner = table_owner(column)
        if owner is None:
            continue
        first, other = tables.setdefault(owner.name, (column, owner))
        if other != owner:
            raise ValueError(
                f"FeatureLayer: columns {first.name!r} and {column.name!r} look up embedding tables both named "
                f"{owner.name!r}, but from different specs: {other!r} and {owner!r}. Columns that share a table must "
                "come from one SharedEmbeddingColumns(...).split(); otherwise give one table another `name=`."
            )
    owners: dict = {}
    for column in dict.fromkeys(columns):
        for key in preprocessed_spec([column]):
            other = owners.setdefault(key, column)
            if other != column:
                raise ValueError(
                    f"FeatureLayer: columns {other.name!r} and {column.name!r} both produce the preprocessed "
                    f"tensor {key!r}. Give one of them another `name=`."
                )
    return columns


def raw_features(columns) -> dict:
    """`{key: RawFeature}` for every raw feature the columns read, in first-use order."""
    wanted: dict = {}

    def want(key, dtype, shape=(), numeric_ok=False):
        feature = RawFeature(key, dtype, shape)
        previous = wanted.setdefault(key, feature)
        if previous == feature:
            return
        # A numeric column may read an integer feature that another column needs as ids.
        if numeric_ok and previous.dtype in ("int32", "int64") and previous.shape == shape:
            return
        if previous.dtype.startswith("float") and dtype in ("int32", "int64") and previous.shape == shape:
            wanted[key] = feature
            return
        raise ValueError(
            f"FeatureLayer: raw feature {key!r} is read as {previous.dtype}{list(previous.shape)} by one column "
            f"and as {dtype}{list(shape)} by another. Make the columns agree on its dtype and shape."
        )

    defaults: dict = {}
    limits: dict = {}
    for column in walk(columns):
        if isinstance(column, NumericColumn):
            shape = () if column.shape == (1,) else column.shape
            want(column.key, column.dtype, shape, numeric_ok=True)
            if column.default_value is not None:
                previous = defaults.setdefault(column.key, column.default_value)
                if previous != column.default_value:
                    raise ValueError(
                        f"FeatureLayer: raw feature {column.key!r} has two different defaults for missing values, "
                        f"{previous!r} and {column.default_value!r}. Give its numeric columns the same `default_value`."
                    )
        elif isinstance(column, DistanceColumn):
            for key in column.keys:
                want(key, "float32", numeric_ok=True)
        elif isinstance(column, (IdentityColumn, HashedColumn, VocabularyColumn)):
            want(column.key, column.dtype, (None,) if column.multivalent else ())
            if isinstance(column, IdentityColumn) and column.default_value is None:
                limits[column.key] = min(limits.get(column.key, column.num_buckets), column.num_buckets)
        elif isinstance(column, TextColumn):
            want(column.key, "string")
        elif isinstance(column, WeightedCategoricalColumn):
            want(column.weight_feature_key, column.dtype, (None,) if column.id_width is None else ())
        elif isinstance(column, CrossedColumn):
            for key in column.keys:
                if isinstance(key, str):
                    want(key, "string")
    return {key: replace(spec, default=defaults.get(key), num_buckets=limits.get(key)) for key, spec in wanted.items()}
