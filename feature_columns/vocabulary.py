"""Vocabulary values: checked once, from a list or a file, before any lookup layer sees them.

Keras lookup layers fail late (inside a graph) on a repeated token or a token of the wrong type; these
checks fail when the column is declared, naming it.

>>> check_vocabulary("VocabularyColumn('city')", ["nyc", "sf"], "string")
('nyc', 'sf')
"""

from __future__ import annotations

import numbers

import tensorflow as tf

# What marks "no value" in a padded multivalent feature, as in tf.feature_column: "" for strings, -1 for ids.
STRING_PADDING = ""
INTEGER_PADDING = -1


def padding_value(dtype: str):
    """The padding of a multivalent raw feature of `dtype`: `""`, `-1`, or `0.0` for weights."""
    if dtype == "string":
        return STRING_PADDING
    return INTEGER_PADDING if dtype.startswith("int") else 0.0


def check_vocabulary(where: str, values, dtype: str) -> tuple:
    """The vocabulary as a tuple of `str` or `int`; raises if it is empty, repeats a value or mixes types."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(
            f"{where}: `vocabulary` must be a list of values or the path of a vocabulary file. "
            f"Received: vocabulary={values!r} (of type {type(values).__name__})."
        )
    values = tuple(values)
    if not values:
        raise ValueError(f"{where}: `vocabulary` must hold at least one value. Received: vocabulary=[].")
    if dtype == "string":
        wrong = [v for v in values if not isinstance(v, str)]
        fix = "Convert them to strings, or declare the column with dtype='int64'."
    else:
        wrong = [v for v in values if isinstance(v, bool) or not isinstance(v, numbers.Integral)]
        fix = "Give integer values, or declare the column with dtype='string'."
    if wrong:
        raise TypeError(
            f"{where}: `vocabulary` must hold {dtype} values to match `dtype={dtype!r}`. "
            f"Received: {wrong[:5]!r} (of type {type(wrong[0]).__name__}). {fix}"
        )
    values = tuple(int(v) for v in values) if dtype != "string" else values
    seen: set = set()
    repeated = [v for v in values if v in seen or seen.add(v)]
    if repeated:
        raise ValueError(
            f"{where}: `vocabulary` must not repeat values; each value has one id. "
            f"Received repeated values: {sorted(set(repeated))[:5]!r}. Remove the duplicates."
        )
    return values


def read_vocabulary_file(where: str, path: str, dtype: str, size: int | None = None) -> tuple:
    """The first `size` lines of a vocabulary file (all lines when `size` is None), one value per line.

    Read with `tf.io.gfile`, so cloud paths work as they did for `tf.feature_column`.
    """
    if not tf.io.gfile.exists(path):
        raise ValueError(
            f"{where}: the vocabulary file {path!r} does not exist. Give the path of a text file with one "
            "value per line."
        )
    with tf.io.gfile.GFile(path, "r") as file:
        lines = file.read().splitlines()
    if size is not None:
        if size > len(lines):
            raise ValueError(
                f"{where}: `vocabulary_size` must be at most the file's {len(lines)} lines. "
                f"Received: vocabulary_size={size}. Omit it to use the whole file."
            )
        lines = lines[:size]
    if dtype != "string":
        try:
            lines = [int(line) for line in lines]
        except ValueError as error:
            raise ValueError(
                f"{where}: the vocabulary file {path!r} must hold one integer per line for dtype={dtype!r}: "
                f"{error}. Fix the file, or declare the column with dtype='string'."
            ) from None
    return check_vocabulary(where, lines, dtype)
