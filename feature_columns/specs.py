"""Walks column trees: the raw features they read and the leaf columns that hold state."""

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
)

STATEFUL_TYPES = (NumericColumn, DistanceColumn, BucketizedColumn)


@dataclass(frozen=True)
class RawFeature:
    """What the model takes for one raw feature: per-example `shape` (`()` for scalars), dtype, and the value
    that replaces a missing (NaN) one, from the `default_value` of a numeric column reading it."""

    key: str
    dtype: str
    shape: tuple = ()
    default: float | None = None


def children(column) -> tuple:
    """The columns a column is built from."""
    if isinstance(column, (EmbeddingColumn, IndicatorColumn)):
        return (column.categorical_column,)
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


def check_columns(columns) -> tuple:
    """Validates the top-level columns given to a `FeatureLayer` and returns them as a tuple."""
    if isinstance(columns, (str, bytes)) or not hasattr(columns, "__iter__"):
        raise TypeError(f"FeatureLayer: `columns` must be a list of feature columns. Received: {columns!r}.")
    columns = tuple(columns)
    if not columns:
        raise ValueError("FeatureLayer: `columns` must hold at least one column. Received: [].")
    for column in columns:
        if not isinstance(column, DENSE_TYPES):
            raise TypeError(
                f"FeatureLayer: column {getattr(column, 'name', column)!r} is a {type(column).__name__}, which "
                f"gives ids, not dense values. Wrap categorical columns in EmbeddingColumn or IndicatorColumn."
            )
    # Names key the layer's outputs (top-level columns) and its adapted state (columns that learn from data).
    named = list(columns) + [c for c in walk(columns) if c.needs_adapt and isinstance(c, STATEFUL_TYPES)]
    by_name: dict = {}
    for column in named:
        other = by_name.setdefault(column.name, column)
        if other != column:
            raise ValueError(
                f"FeatureLayer: two different columns are named {column.name!r}: {other!r} and {column!r}. "
                f"Give one of them another `name=`."
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
        elif isinstance(column, (IdentityColumn, HashedColumn)):
            want(column.key, column.dtype)
        elif isinstance(column, CrossedColumn):
            for key in column.keys:
                if isinstance(key, str):
                    want(key, "string")
    return {key: replace(spec, default=defaults.get(key)) for key, spec in wanted.items()}
