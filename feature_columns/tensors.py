"""Raw feature tensors as columns read them: fetched, dtype-checked, made dense `[batch, n]`; and checks on
values that fail with a clear message, eagerly or inside a graph."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _check_dtype(value, key: str, where: str, kind: str) -> None:
    if kind == "string":
        ok, expected = value.dtype == tf.string, "strings"
        fix = "Convert the values to strings (pandas: `.astype(str)`), or declare the column with an integer dtype."
    elif kind == "integer":
        ok, expected = value.dtype.is_integer, "integer ids"
        fix = "Cast the values to int64, or read text with a VocabularyColumn or HashedColumn."
    else:
        ok, expected = value.dtype.is_integer or value.dtype.is_floating, "numbers"
        fix = "Parse the values to numbers first (pandas: `pd.to_numeric`), or read them with a categorical column."
    if not ok:
        raise TypeError(
            f"{where}: raw feature {key!r} must hold {expected}. Received: a tensor of dtype {value.dtype.name}. {fix}"
        )


def raw_tensor(features, key: str, where: str, kind: str, *, pad=None, single: bool = False) -> tf.Tensor:
    """The raw feature `key` as a dense `[batch, n]` tensor, its dtype checked against `kind`.

    Args:
        kind: `"string"`, `"integer"` or `"number"`.
        pad: for multivalent features: fills a `tf.RaggedTensor`'s or `tf.SparseTensor`'s missing positions.
        single: the column reads exactly one value per example.
    """
    if key not in features:
        raise ValueError(
            f"{where}: the raw feature {key!r} is missing from the input. "
            f"Received features: {sorted(features)}. Add {key!r} to every example."
        )
    value = features[key]
    if isinstance(value, (tf.RaggedTensor, tf.SparseTensor)):
        if pad is None:
            raise ValueError(
                f"{where}: raw feature {key!r} holds several values per example ({type(value).__name__}), but the "
                "column reads one. Declare the column with `multivalent=True`."
            )
        _check_dtype(value, key, where, kind)
        value = value.to_tensor(pad) if isinstance(value, tf.RaggedTensor) else tf.sparse.to_dense(value, pad)
    else:
        value = tf.convert_to_tensor(value)
        _check_dtype(value, key, where, kind)
    if value.shape.rank == 1:
        value = tf.expand_dims(value, -1)
    elif value.shape.rank == 0:
        value = tf.reshape(value, [1, 1])
    if single and value.shape.rank == 2 and value.shape[1] not in (None, 1):
        raise ValueError(
            f"{where}: raw feature {key!r} has {value.shape[1]} values per example, but the column reads one. "
            "Declare the column with `multivalent=True`."
        )
    return value


def require(value, ok, message: str, offending=None):
    """`value`, once `ok` holds everywhere: a ValueError now when eager; inside a graph, a failing op.

    `offending` is a function giving the values to show; in a graph it runs only when the check fails.
    """
    if tf.executing_eagerly():
        if not np.all(ok):  # NumPy's reduction of an eager tensor is several times faster than TF's op
            shown = "" if offending is None else f" Received: {offending().numpy().ravel()[:5].tolist()}."
            raise ValueError(message + shown)
        return value

    def fail():
        data = [message] if offending is None else [message, "Received:", offending()]
        with tf.control_dependencies([tf.debugging.Assert(False, data, summarize=5)]):
            return tf.identity(value)

    return tf.cond(tf.reduce_all(ok), lambda: value, fail)
