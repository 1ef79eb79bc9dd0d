"""`MultiClassHead`: one logit per class, a softmax and cross-entropy on class ids or soft labels."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from feature_columns.integration import is_count
from tfkit.heads import labels as L
from tfkit.heads.base import CLASSIFIER_SERVING_KEYS, Head, class_predictions
from tfkit.metrics import ClassPrecision, ClassRecall

# Soft labels are probabilities computed in float32; their sums drift from 1 by rounding only.
SUM_TOLERANCE = 1e-3


@keras.saving.register_keras_serializable(package="tfkit")
class MultiClassHead(Head):
    """Predicts one of `num_classes` mutually exclusive classes.

    Labels are class ids in `[0, num_classes)` (ints, or integral floats as CSV files give them), strings from
    `label_vocabulary`, or with `soft_labels=True` one probability per class (`[batch, num_classes]`, rows
    summing to 1, e.g. for label smoothing or distillation).

    Args:
        num_classes: the number of classes; may be left out when `label_vocabulary` is given.
        label_vocabulary: the class names; class `i` is `label_vocabulary[i]`.
        soft_labels: labels are distributions over the classes instead of class ids.
        top_k: adds a `top_<k>_accuracy` metric when smaller than `num_classes`.
        per_class_metrics: adds `precision_<class>` and `recall_<class>` for every class.
        weight_column, regularizer: see `tfkit.heads.Head`.

    >>> import numpy as np
    >>> head = MultiClassHead(3)
    >>> head.build((None, 3)); head.projection.set_weights([np.eye(3), np.zeros(3)])  # logits = hidden
    >>> # Softmax cross-entropy of logits [10, 0, 0] for class 0: log(1 + 2 * exp(-10)) = 9.08e-05.
    >>> round(float(head.compute_loss(np.array([[10.0, 0.0, 0.0]], "float32"), np.array([0]))), 7)
    9.08e-05
    """

    def __init__(
        self,
        num_classes: int | None = None,
        *,
        label_vocabulary=None,
        soft_labels: bool = False,
        top_k: int | None = 5,
        per_class_metrics: bool = False,
        **kwargs,
    ):
        where = type(self).__name__
        kwargs.setdefault("name", "multi_class_head")
        vocabulary = L.check_vocabulary(where, label_vocabulary, num_classes)
        num_classes = L.check_num_classes(where, num_classes, vocabulary)
        for flag, value in (("soft_labels", soft_labels), ("per_class_metrics", per_class_metrics)):
            if not isinstance(value, bool):
                raise ValueError(f"{where}: `{flag}` must be True or False. Received: {flag}={value!r}.")
        if top_k is not None and not is_count(top_k):
            raise ValueError(f"{where}: `top_k` must be a positive integer or None. Received: top_k={top_k!r}.")
        super().__init__(num_classes, **kwargs)
        self.num_classes = num_classes
        self.label_vocabulary = vocabulary
        self.soft_labels = soft_labels
        self.top_k = top_k
        self.per_class_metrics = per_class_metrics
        self.label_lookup = L.string_lookup(vocabulary)

    @property
    def where(self) -> str:
        return type(self).__name__

    def prepare_labels(self, labels):
        """Class ids as int64 `[batch]`, or with `soft_labels` float32 `[batch, num_classes]` distributions."""
        labels = L.to_tensor(labels)
        return self._distributions(labels) if self.soft_labels else self._class_ids(labels)

    def _class_ids(self, labels):
        if not L.has_id_shape(labels):
            hint = (
                " For one probability per class, use soft_labels=True." if labels.shape[-1] == self.num_classes else ""
            )
            raise L.static_shape_error(self.where, "[batch] or [batch, 1] (class ids)", labels, hint)
        labels = tf.reshape(labels, (-1,))
        if labels.dtype == tf.string:
            if self.label_lookup is None:
                raise ValueError(
                    f"{self.where}: string labels need `label_vocabulary`, the list of class names. "
                    "Received: labels of dtype string."
                )
            return L.lookup(self.where, self.label_lookup, labels, self.label_vocabulary)
        return L.in_range(self.where, L.integral(self.where, labels, "integer class ids"), self.num_classes)

    def _distributions(self, labels):
        if labels.shape.rank != 2 or labels.shape[-1] != self.num_classes:
            raise L.static_shape_error(self.where, f"[batch, {self.num_classes}] (soft_labels=True)", labels)
        labels = tf.cast(labels, tf.float32)
        valid = tf.reduce_all(labels >= 0.0) & tf.reduce_all(
            tf.abs(tf.reduce_sum(labels, axis=-1) - 1.0) <= SUM_TOLERANCE
        )
        return L.require(
            labels,
            valid,
            f"{self.where}: soft `labels` must be non-negative and each row must sum to 1 (within {SUM_TOLERANCE}).",
            tf.reduce_sum(labels, axis=-1),
            shown="sum(labels, axis=-1)",
        )

    def per_example_loss(self, labels, logits):
        L.check_batch(self.where, labels, logits)
        if self.soft_labels:
            return keras.losses.categorical_crossentropy(labels, logits, from_logits=True)
        return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)

    def class_names(self) -> list:
        return list(self.label_vocabulary) if self.label_vocabulary else [str(i) for i in range(self.num_classes)]

    def make_metrics(self) -> list:
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if self.top_k is not None and self.top_k < self.num_classes:
            metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=self.top_k, name=f"top_{self.top_k}_accuracy"))
        if self.per_class_metrics:
            for class_id, name in enumerate(self.class_names()):
                metrics += [
                    ClassPrecision(class_id, name=f"precision_{name}"),
                    ClassRecall(class_id, name=f"recall_{name}"),
                ]
        return metrics

    def metric_inputs(self, labels, logits) -> tuple:
        # Soft labels are scored against their most probable class.
        class_ids = ops.argmax(labels, axis=-1) if self.soft_labels else labels
        return class_ids, ops.softmax(logits, axis=-1)

    def predictions(self, logits) -> dict:
        """`logits`, `probabilities` `[batch, num_classes]`; the most probable `class_ids`, `classes` `[batch]`."""
        logits = ops.convert_to_tensor(logits)
        class_ids = tf.argmax(logits, axis=-1)
        return class_predictions(logits, ops.softmax(logits, axis=-1), class_ids, self.label_vocabulary)

    def serving_outputs(self, logits) -> dict:
        outputs = self.predictions(logits)
        return {key: outputs[key] for key in CLASSIFIER_SERVING_KEYS}

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            label_vocabulary=None if self.label_vocabulary is None else list(self.label_vocabulary),
            soft_labels=self.soft_labels,
            top_k=self.top_k,
            per_class_metrics=self.per_class_metrics,
        )
        return config
