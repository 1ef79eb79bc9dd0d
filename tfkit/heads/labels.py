"""Raw labels to loss-ready tensors, checked: class ids, vocabularies, 0/1 indicators, distributions.

Each check raises `ValueError` when run eagerly, and becomes a `tf.debugging.Assert` with the same message in a
graph (`tf.data`, `tf.function`), where the values are only known at run time.
"""

from __future__ import annotations

import collections

import keras
import numpy as np
import tensorflow as tf

from feature_columns.integration import is_count


def check_vocabulary(where: str, label_vocabulary, num_classes: int | None, *, minimum: int = 2) -> tuple:
    """`label_vocabulary` as a tuple of distinct strings, consistent with `num_classes` when both are given."""
    if label_vocabulary is None:
        return None
    if isinstance(label_vocabulary, str) or not all(isinstance(label, str) for label in label_vocabulary):
        raise ValueError(
            f"{where}: `label_vocabulary` must be a list of strings, one per class. "
            f"Received: label_vocabulary={label_vocabulary!r}."
        )
    vocabulary = tuple(label_vocabulary)
    duplicates = sorted(label for label, count in collections.Counter(vocabulary).items() if count > 1)
    if duplicates:
        raise ValueError(
            f"{where}: `label_vocabulary` must not repeat a label; {duplicates[:10]} appear more than once. "
            f"Received: label_vocabulary of {len(vocabulary)} labels, {len(set(vocabulary))} distinct."
        )
    if len(vocabulary) < minimum:
        raise ValueError(
            f"{where}: `label_vocabulary` must hold at least {minimum} labels. Received: label_vocabulary="
            f"{list(vocabulary)!r}."
        )
    if num_classes is not None and num_classes != len(vocabulary):
        raise ValueError(
            f"{where}: `num_classes` must equal len(label_vocabulary) = {len(vocabulary)}. "
            f"Received: num_classes={num_classes!r}. Pass only one of them."
        )
    return vocabulary


def check_num_classes(where: str, num_classes, vocabulary: tuple | None, *, minimum: int = 2) -> int:
    """The number of classes, from `num_classes` or the vocabulary's length."""
    if vocabulary is not None:
        return len(vocabulary)
    if not is_count(num_classes, minimum):
        raise ValueError(
            f"{where}: `num_classes` must be an integer >= {minimum} (or give `label_vocabulary`). "
            f"Received: num_classes={num_classes!r}."
        )
    return num_classes


def _shown(value):
    if isinstance(value, bytes):
        return value.decode()
    return round(value, 6) if isinstance(value, float) else value


def require(labels: tf.Tensor, condition, message: str, received, shown: str = "labels") -> tf.Tensor:
    """`labels`, once `condition` holds; otherwise an error ending in `Received: <shown>=<received>.`"""
    if tf.executing_eagerly():
        if not bool(condition):
            values = [_shown(value) for value in np.asarray(received).ravel().tolist()]
            raise ValueError(f"{message} Received: {shown}={values!r}.")
        return labels
    check = tf.debugging.Assert(condition, [message, f"Received: {shown}=", received], summarize=20)
    with tf.control_dependencies([check]):
        return tf.identity(labels)


def to_tensor(labels) -> tf.Tensor:
    """Labels as a dense tensor (`tf.data` elements, NumPy arrays and lists alike)."""
    return labels if isinstance(labels, (tf.Tensor, tf.RaggedTensor, tf.SparseTensor)) else tf.convert_to_tensor(labels)


def lookup(where: str, lookup_layer, labels: tf.Tensor, vocabulary: tuple) -> tf.Tensor:
    """String labels to int64 ids through a `StringLookup` whose OOV index 0 marks a label not in the vocabulary."""
    ids = lookup_layer(labels)
    shown = list(vocabulary) if len(vocabulary) <= 10 else [*vocabulary[:10], "..."]
    ids = require(
        ids,
        tf.reduce_all(ids > 0),
        f"{where}: every label must be in `label_vocabulary` {shown!r}.",
        tf.boolean_mask(labels, ids == 0),
    )
    return ids - 1


def string_lookup(vocabulary: tuple | None):
    """The lookup `lookup` expects: one OOV index, first, so unknown labels are caught instead of mapped."""
    if vocabulary is None:
        return None
    # A mask token of None keeps "" usable as a label.
    return keras.layers.StringLookup(vocabulary=list(vocabulary), num_oov_indices=1, mask_token=None)


def integral(where: str, labels: tf.Tensor, what: str) -> tf.Tensor:
    """Numeric labels as int64, refusing fractional values (float labels are how CSV and pandas deliver ids)."""
    if labels.dtype.is_integer:
        return tf.cast(labels, tf.int64)
    if not labels.dtype.is_floating:
        raise ValueError(f"{where}: `labels` must be {what}. Received: labels of dtype {labels.dtype.name}.")
    labels = require(
        labels, tf.reduce_all(tf.equal(labels, tf.round(labels))), f"{where}: `labels` must be {what}.", labels
    )
    return tf.cast(labels, tf.int64)


def in_range(where: str, ids: tf.Tensor, num_classes: int) -> tf.Tensor:
    """`ids`, checked to lie in `[0, num_classes)`."""
    inside = tf.reduce_all((ids >= 0) & (ids < num_classes))
    return require(ids, inside, f"{where}: `labels` must be class ids in [0, {num_classes}).", ids)


def class_names(class_ids: tf.Tensor, vocabulary: tuple | None) -> tf.Tensor:
    """The vocabulary's names for class ids, or the ids as strings when there is no vocabulary."""
    if vocabulary is None:
        return tf.strings.as_string(class_ids)
    return tf.gather(tf.constant(vocabulary), class_ids)


def has_id_shape(labels) -> bool:
    """Whether labels are shaped as one id per example, `[batch]` or `[batch, 1]` (or of unknown rank)."""
    rank = labels.shape.rank
    return rank is None or rank <= 1 or (rank == 2 and labels.shape[-1] in (None, 1))


def static_shape_error(where: str, expected: str, labels, hint: str = "") -> ValueError:
    return ValueError(
        f"{where}: `labels` must have shape {expected}. Received: labels.shape={tuple(labels.shape)}.{hint}"
    )


def check_batch(where: str, labels, logits) -> None:
    """Raises when labels and logits have different batch sizes (where both are known before running)."""
    rows, batch = labels.shape[0], logits.shape[0]
    if rows is not None and batch is not None and rows != batch:
        raise ValueError(
            f"{where}: `labels` and `logits` must have the same batch size. "
            f"Received: labels.shape={tuple(labels.shape)}, logits.shape={tuple(logits.shape)}."
        )
