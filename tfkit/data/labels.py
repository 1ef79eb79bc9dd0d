"""Labels read from files, DataFrames and arrays, with errors about the label column rather than a feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import tensorflow as tf

from feature_columns.integration import RawFeature, to_feature_arrays


def label_array(values, spec: RawFeature, *, source: str, first_line: int | None = None) -> np.ndarray:
    """Labels `values` as the head takes them (`spec`: dtype and shape), or an error about the label column.

    `to_feature_arrays`' own errors are about features: text in a numeric label column would be a feature to
    declare categorical, where the fix is the head's `label_vocabulary`.

    Args:
        values: the labels: a Series, a list or an array (lists of labels for a `MultiLabelHead`).
        spec: the labels' dtype and shape, from the head.
        source: what the data is, for error messages (a file name, "DNNClassifier.train", ...).
        first_line: the file line of the first label, so that errors in a file name its line.

    >>> label_array(["yes", "no"], RawFeature("y", "float32"), source="data")
    Traceback (most recent call last):
    ...
    ValueError: data: the label column 'y' must hold numbers (float32) for this head, but row 0 holds strings such \
as 'yes'. For classes named by strings, give the head their names, e.g. `BinaryHead(label_vocabulary=['no', 'yes'])` \
(a canned classifier takes `label_vocabulary` too); otherwise map the labels to numbers.
    """
    try:
        return to_feature_arrays({spec.key: values}, {spec.key: spec}, source=source, first_line=first_line)[spec.key]
    except TypeError:
        if spec.dtype != "string":
            raise
        # Labels read as strings, for a `label_vocabulary`, hold numbers.
        raise ValueError(
            f"{source}: the label column {spec.key!r} holds numbers, but the head names its classes by its "
            "`label_vocabulary`. Map the labels to those names, or leave `label_vocabulary` out to take class ids."
        ) from None
    except ValueError:

        def where(row: int) -> str:
            return f"row {row}" if first_line is None else f"line {row + first_line}"

        problem = _label_problem(values, spec, where)
        if problem is None:
            raise
        raise ValueError(f"{source}: the label column {spec.key!r} {problem}") from None


def _label_problem(values, spec: RawFeature, where) -> str | None:
    """What to say of the first label that is text where the head takes numbers, or missing (`where(row)` names
    its row); None when neither explains the error."""
    values = values.numpy() if isinstance(values, tf.Tensor) else values
    # One label per cell: a list of labels per example (MultiLabelHead) becomes one cell each, on its row.
    cells = pd.Series(list(values.to_list() if isinstance(values, tf.RaggedTensor) else values), dtype=object)
    cells = cells.explode()
    try:
        text = (pd.to_numeric(cells, errors="coerce").isna() & cells.notna()).to_numpy()
    except TypeError:  # cells that are neither text nor numbers (e.g. dicts): the original error says more
        return None
    if spec.dtype != "string" and text.any():
        first = int(np.flatnonzero(text)[0])
        classes = sorted({str(value) for value in cells[cells.notna()]})
        head = "MultiLabelHead" if spec.shape else "BinaryHead" if len(classes) == 2 else "MultiClassHead"
        names = f"[{', '.join(map(repr, classes[:8]))}{', ...' * (len(classes) > 8)}]"
        row = int(cells.index[first])
        return (
            f"must hold numbers ({spec.dtype}) for this head, but {where(row)} holds strings such as "
            f"{cells.iloc[first]!r}. For classes named by strings, give the head their names, e.g. "
            f"`{head}(label_vocabulary={names})` (a canned classifier takes `label_vocabulary` too); otherwise map "
            "the labels to numbers."
        )
    missing = cells.isna().to_numpy()
    if not spec.shape and missing.any():
        return (
            f"has a missing value ({where(int(np.flatnonzero(missing)[0]))}). Every example needs a label: fill it "
            "in, or drop the rows without one."
        )
    return None
