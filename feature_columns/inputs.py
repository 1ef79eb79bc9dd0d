"""The boundary between user data and TensorFlow: pandas, NumPy and lists become typed, checked arrays.

Keras 3 rejects NumPy string/object arrays in `fit`/`predict`, and a bad value found inside a graph gives a
stack trace instead of an answer; so every conversion and check happens here, before TensorFlow sees data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import tensorflow as tf

from feature_columns.vocabulary import padding_value

_NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64, "int32": np.int32, "int64": np.int64}


def to_feature_arrays(data, raw_features: dict, *, source: str = "input", first_line: int | None = None) -> dict:
    """Converts a DataFrame or a dict of arrays/lists into `{key: np.ndarray}` typed by `raw_features`.

    Args:
        data: a pandas DataFrame, or a mapping from feature name to list / array / Series.
        raw_features: `{key: RawFeature}` from `feature_columns.specs.raw_features`.
        source: what the data is, for error messages (a file name, "prediction request", ...).
        first_line: the file line of the first row, so errors in a file name its line; rows are counted from 0
            otherwise.

    Raises:
        ValueError: a feature is missing, features hold different numbers of examples, a numeric feature holds
            text, a value is blank (missing) and no column says what a blank means (`RawFeature.default`; see
            "Blanks" in `feature_columns.categorical`), or an id lies outside its IdentityColumn's range.
        TypeError: a string feature holds numbers.

    Multivalent features (`RawFeature.shape == (None,)`) take rows of several values (lists, arrays, a 2-D
    array, a Series of lists, a `tf.RaggedTensor`) and come back padded with `""`, -1, or 0.0.

    >>> from feature_columns.specs import RawFeature
    >>> arrays = to_feature_arrays({"n": ["1", 2.5]}, {"n": RawFeature("n", "float32")})
    >>> arrays["n"].tolist()
    [1.0, 2.5]
    """
    missing = [key for key in raw_features if key not in data]
    if missing:
        raise ValueError(
            f"{source}: missing feature(s) {missing}. The model reads {list(raw_features)}; "
            f"received {sorted(data.keys()) if hasattr(data, 'keys') else type(data).__name__}. Add the missing ones."
        )

    def where(row: int) -> str:
        return f"row {row}" if first_line is None else f"line {row + first_line}"

    arrays = {key: _convert(data[key], spec, source=source, where=where) for key, spec in raw_features.items()}
    # Checked here: TensorFlow would only fail later, gathering a batch past the end of the shorter feature.
    lengths = {key: len(array) if array.ndim else 1 for key, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"{source}: `data` must hold the same number of examples in every feature. Received: {lengths} "
            "examples by feature. Give every feature one value (or one row of values) per example."
        )
    return arrays


def _convert(values, spec, *, source: str, where) -> np.ndarray:
    if spec.shape == (None,):
        return _convert_multivalent(values, spec, source=source, where=where)
    series = values if isinstance(values, pd.Series) else None
    if spec.dtype == "string":
        array = series.to_numpy(dtype=object) if series is not None else np.asarray(values)
        _check_text(array if series is None else series, spec, source=source)
        return _fill_blanks(array.astype(object), spec, source=source, where=where).astype(str)
    if series is None:
        array = np.asarray(values)
        if array.ndim > 1 or spec.shape:
            return _convert_dense(array, spec, source=source, where=where)
        series = pd.Series(array)
    if series.dtype.kind in "iuf":  # numbers already (as pandas parses a numeric CSV column): no text to find
        return _fill_missing(series.to_numpy(dtype=np.float64), spec, source=source, where=where)
    numbers = pd.to_numeric(series, errors="coerce")
    text = numbers.isna() & ~series.isna()
    if text.any():
        row = int(np.flatnonzero(text.to_numpy())[0])
        raise ValueError(
            f"{source}: feature {spec.key!r} must be numeric ({spec.dtype}), but {where(row)} holds "
            f"{series.iloc[row]!r}. Fix the data, or declare the feature as a categorical column."
        )
    return _fill_missing(numbers.to_numpy(dtype=np.float64), spec, source=source, where=where)


def _check_text(values, spec, *, source: str) -> None:
    """A string feature must arrive as text: numbers would turn into strings such as '1.0' silently. Free text
    (a `TextColumn`) made only of numbers, as a CSV file gives it, is a column pointed at the wrong feature."""
    dtype = values.dtype
    numbers = pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    held = f"{dtype} values"
    if spec.free_text and not numbers:
        given = pd.Series(np.ravel(values)).dropna()
        given = given[given != ""]
        numbers = len(given) > 0 and bool(pd.to_numeric(given, errors="coerce").notna().all())
        held = f"only numbers (e.g. {given.iloc[0]!r})" if numbers else held
    if numbers and spec.free_text:
        raise TypeError(
            f"{source}: feature {spec.key!r} is read as free text by {spec.free_text}, but it holds {held}. Point "
            "the column at the text feature, or read numbers with a NumericColumn, an IdentityColumn or a "
            "VocabularyColumn."
        )
    if numbers:
        raise TypeError(
            f"{source}: feature {spec.key!r} is read as strings, but it holds {dtype} values. Convert them "
            f"(pandas: `df[{spec.key!r}].astype(str)`), or declare its column with an integer dtype."
        )


def _convert_multivalent(values, spec, *, source: str, where) -> np.ndarray:
    """Rows of several values (lists, arrays, a 2-D array, a `tf.RaggedTensor`) to a padded 2-D array."""
    pad = padding_value(spec.dtype)
    if isinstance(values, tf.RaggedTensor):
        values = values.to_list()
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=object)
    array = values if isinstance(values, np.ndarray) and values.ndim == 2 else None
    if array is None:
        rows = [np.ravel(np.asarray(row, dtype=object if spec.dtype == "string" else None)) for row in values]
        array = np.full((len(rows), max([len(row) for row in rows] + [1])), pad, dtype=object)
        for i, row in enumerate(rows):
            array[i, : len(row)] = row
    if spec.dtype == "string":
        if array.dtype != object:
            _check_text(array, spec, source=source)
        return _fill_blanks(array.astype(object), spec, source=source, where=where).astype(str)
    return _convert_dense(array, spec, source=source, where=where)


def _convert_dense(array: np.ndarray, spec, *, source: str, where) -> np.ndarray:
    try:
        numbers = array.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: feature {spec.key!r} must be numeric ({spec.dtype}): {error}.") from None
    return _fill_missing(numbers, spec, source=source, where=where)


def _fill_blanks(values: np.ndarray, spec, *, source: str, where) -> np.ndarray:
    """`values` (numbers, or objects for strings) with blanks (NaN, None, `pd.NA`) replaced by `spec.default`;
    without one, an error naming the first blank's row and the options that say what a blank means."""
    blank = pd.isna(values)
    if not blank.any():
        return values
    if spec.default is None:
        by_row = blank.reshape(len(blank), -1) if blank.ndim else blank.reshape(1, 1)  # one example as a scalar
        row = int(np.flatnonzero(by_row.any(axis=1))[0])
        message = f"{source}: feature {spec.key!r} has a missing value ({where(row)})"
        if spec.blank_options:
            raise ValueError(
                f"{message} and no column reading it says what a blank means. Give "
                f"{' or '.join(spec.blank_options)}, or fill the data."
            )
        raise ValueError(f"{message}, and nothing says what a blank means for it. Fill the data or drop those rows.")
    return np.where(blank, spec.default, values)


def _fill_missing(numbers: np.ndarray, spec, *, source: str, where) -> np.ndarray:
    numbers = _fill_blanks(numbers, spec, source=source, where=where)
    if spec.dtype.startswith("int") and not np.array_equal(numbers, np.round(numbers)):
        row = int(np.flatnonzero((numbers != np.round(numbers)).reshape(len(numbers), -1).any(axis=1))[0])
        raise ValueError(
            f"{source}: feature {spec.key!r} must hold integers ({spec.dtype}), but {where(row)} holds "
            f"{numbers[row].tolist()!r}. Fix the data, or read the feature with a NumericColumn."
        )
    if spec.num_buckets is not None:
        # -1 pads multivalent rows; any other id outside the range has no bucket.
        outside = ((numbers < 0) | (numbers >= spec.num_buckets)) & ~((numbers == -1) & (spec.shape == (None,)))
        if outside.any():
            row = int(np.flatnonzero(outside.reshape(len(outside), -1).any(axis=1))[0])
            raise ValueError(
                f"{source}: feature {spec.key!r} must hold ids in [0, {spec.num_buckets}) for its IdentityColumn, "
                f"but {where(row)} holds {int(numbers[outside][0])}. Give the column a `default_value` for other "
                "ids, or fix the data."
            )
    return numbers.astype(_NUMPY_DTYPES[spec.dtype])


def to_tensors(arrays: dict) -> dict:
    """`{key: tf.Tensor}` from converted arrays (object arrays become `tf.string`)."""
    return {key: tf.constant(value) for key, value in arrays.items()}
