"""Walks column trees: the raw features they read, the leaf columns that hold state, what preprocessing gives.

Everything here asks the columns (their methods in `feature_columns.base`), never their types.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from feature_columns.base import DenseColumn, describe


@dataclass(frozen=True)
class RawFeature:
    """What the model takes for one raw feature.

    Attributes:
        key: the feature's name.
        dtype: `"string"`, `"float32"`, `"float64"`, `"int32"` or `"int64"`.
        shape: per-example shape: `()` for one value, `(n,)` for a fixed vector, `(None,)` for a multivalent
            feature (padded with `""`, -1, or 0.0 for weights).
        default: replaces a missing value (a blank); from the `default_value` of a numeric column or the
            `missing_value` of a categorical or text column reading it (see `feature_columns.categorical`).
        num_buckets: integer ids must lie in `[0, num_buckets)`; set when an `IdentityColumn` without a
            `default_value` reads the feature.
        blank_options: for each column reading the feature that can say what a blank means, the column and
            that argument as the error for a blank suggests them (`Read.blank_option`).
        free_text: the text column reading the feature as words (`Read.free_text`), for the error when the
            feature holds only numbers; None when none does.
    """

    key: str
    dtype: str
    shape: tuple = ()
    default: float | int | str | None = None
    num_buckets: int | None = None
    blank_options: tuple = ()
    free_text: str | None = None


def walk(columns) -> list:
    """Every column in the trees, children before parents, each distinct spec once."""
    seen: list = []

    def visit(column):
        for child in column.children():
            visit(child)
        if column not in seen:
            seen.append(column)

    for column in columns:
        visit(column)
    return seen


def is_dense(column) -> bool:
    """Whether a column gives dense values (numeric, distance, embedding, indicator), not categorical ids."""
    return isinstance(column, DenseColumn)


def id_slots(column) -> tuple:
    """`(preprocessed key, categorical column)` for each id tensor a dense column reads."""
    return column.id_slots()


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
        slots = column.id_slots()
        if not slots:
            spec[column.name] = ((column.output_dim,), "float32")
        for key, categorical in slots:
            spec.update(categorical.slot_spec(key))
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
    named = list(columns) + [c for c in walk(columns) if c.keeps_state]
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
        owner = column.table_owner
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
    options: dict = {}
    free_text: dict = {}
    for column in walk(columns):
        for read in column.reads():
            want(read.key, read.dtype, read.shape, numeric_ok=read.numeric)
            if read.default is not None:
                previous = defaults.setdefault(read.key, read.default)
                if previous != read.default:
                    raise ValueError(
                        f"FeatureLayer: raw feature {read.key!r} has two different values for a blank (missing "
                        f"value), {previous!r} and {read.default!r}. Give the columns reading it the same "
                        "`default_value` (numeric columns) or `missing_value` (categorical and text columns)."
                    )
            if read.num_buckets is not None:
                limits[read.key] = min(limits.get(read.key, read.num_buckets), read.num_buckets)
            if read.blank_option is not None:
                options.setdefault(read.key, []).append(f"{describe(column)} {read.blank_option}")
            if read.free_text:
                free_text.setdefault(read.key, describe(column))
    return {
        key: replace(
            spec,
            default=defaults.get(key),
            num_buckets=limits.get(key),
            blank_options=tuple(options.get(key, ())),
            free_text=free_text.get(key),
        )
        for key, spec in wanted.items()
    }
