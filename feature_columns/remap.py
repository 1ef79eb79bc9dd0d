"""Matching embedding rows by token when a table moves between vocabularies.

Each row of a table means something: an out-of-vocabulary (OOV) bucket or a vocabulary token. `row_keys` names
the rows of a column's table in id order; `remap_rows` moves a source table's rows to the target's ids by those
names, so a table survives a re-ordered vocabulary, missing or new tokens, or `tf.feature_column`'s layout (OOV
buckets after the vocabulary). Target rows the source lacks keep their freshly initialised values.

>>> import numpy as np
>>> from feature_columns import VocabularyColumn
>>> target = row_keys(VocabularyColumn("day", ["mon", "tue", "sun"]), {})
>>> target
[OovBucket(index=0, count=1), 'mon', 'tue', 'sun']
>>> source = np.array([[1.0], [2.0], [9.0]])  # rows of "tue", "mon", "sat"
>>> remap_rows("example", "a source", source, ["tue", "mon", "sat"], target, np.zeros((4, 1))).ravel().tolist()
[0.0, 2.0, 1.0, 0.0]
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class OovBucket:
    """The row of OOV bucket `index` out of `count`: the same hash picks the same bucket only when the counts
    agree, so rows match only then."""

    index: int
    count: int


def oov_rows(count: int) -> list:
    """The keys of `count` OOV rows."""
    return [OovBucket(j, count) for j in range(count)]


def has_vocabulary(column) -> bool:
    """Whether the categorical column's ids are vocabulary positions, so its rows can be matched by token."""
    return column.ids_column.has_vocabulary


def vocabulary_ready(column, state: dict) -> bool:
    """Whether `row_keys` can name the column's rows: it has no vocabulary, or its vocabulary is known."""
    column = column.ids_column
    return not column.has_vocabulary or isinstance(column.vocabulary, tuple) or column.name in state


def vocabulary(column, state: dict) -> tuple:
    """The tokens of a column with a vocabulary: its own list, or the one `state` holds (file or adapted)."""
    column = column.ids_column
    return column.vocabulary if isinstance(column.vocabulary, tuple) else tuple(state[column.name]["vocabulary"])


def num_oov(column) -> int:
    """How many OOV ids come first in the ids of a column with a vocabulary."""
    return column.ids_column.num_oov_ids


def token_keys(tokens) -> list:
    """Tokens as row keys: strings, so that integer vocabularies match the lines of text files."""
    return [str(token) for token in tokens]


def row_keys(column, state: dict) -> list | None:
    """What each row of `column`'s table holds, in id order; None for columns without a vocabulary.

    Ids that a learned vocabulary leaves unused (fewer tokens than `max_tokens`) get the key None.
    """
    if not has_vocabulary(column):
        return None
    keys = oov_rows(num_oov(column)) + token_keys(vocabulary(column, state))
    return keys + [None] * (column.ids_column.num_buckets - len(keys))


def explain_rows(column) -> str:
    """How a categorical column's `num_buckets` rows are counted, for shape errors."""
    column = column.ids_column
    rows = column.rows_description
    return (
        f"{column.name!r} has num_buckets={column.num_buckets} rows: {rows}. There is no mask row: padding and "
        "missing values get no id. (tf.feature_column put its OOV rows after the vocabulary.)"
    )


def remap_rows(
    where: str, source: str, matrix, source_keys: list, target_keys: list, initial, *, unused: int = 0
) -> np.ndarray:
    """The target table: `initial` with each row whose key the source has replaced by the source's row.

    Logs how many rows were matched, are new (kept from `initial`) and were dropped (source rows the target
    does not use; `unused` counts those a reader already skipped).

    Args:
        where: names the column or variable, for messages.
        source: names the source, for messages.
        matrix: the source table, `[len(source_keys), dimension]`.
        source_keys: what each source row holds (see `row_keys`).
        target_keys: what each target row holds.
        initial: the target table as initialised, `[len(target_keys), dimension]`.
    """
    matrix, initial = np.asarray(matrix), np.asarray(initial)
    if len(source_keys) != matrix.shape[0]:
        raise ValueError(
            f"{where}: the vocabulary of {source} must name one row of its table per line. Received: "
            f"{len(source_keys)} rows named ({sum(isinstance(k, OovBucket) for k in source_keys)} OOV rows and "
            f"{sum(not isinstance(k, OovBucket) for k in source_keys)} tokens) for a table of {matrix.shape[0]} rows. "
            "Give the vocabulary the table was trained with, and its `num_oov_indices`."
        )
    check_dimension(where, source, matrix, initial.shape[1])
    rows = {key: row for row, key in enumerate(source_keys)}
    table = initial.copy()
    matched = 0
    for row, key in enumerate(target_keys):
        if key is not None and key in rows:
            table[row] = matrix[rows[key]]
            matched += 1
    new = sum(key is not None for key in target_keys) - matched
    logger.info(
        "%s: rows from %s matched by token: %d matched, %d new (freshly initialised), %d dropped.",
        where,
        source,
        matched,
        new,
        len(source_keys) - matched + unused,
    )
    return table


def check_dimension(where: str, source: str, matrix, dimension: int) -> None:
    """Raises unless `matrix` is a 2-D table of vectors of `dimension` values."""
    shape = np.shape(matrix)
    if len(shape) != 2 or shape[1] != dimension:
        raise ValueError(
            f"{where}: the table of {source} must be 2-D with {dimension} values per row (the column's "
            f"`dimension`). Received: shape {shape}. Set the column's `dimension` to the source's."
        )
