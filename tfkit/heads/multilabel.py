"""`MultiLabelHead`: one independent sigmoid per class; an example may belong to any number of classes."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from feature_columns.integration import is_number
from tfkit.heads import labels as L
from tfkit.heads.base import Head, thresholded_metrics


@keras.saving.register_keras_serializable(package="tfkit")
class MultiLabelHead(Head):
    """Predicts, for each of `num_classes` classes, the probability that the example belongs to it.

    Labels are multi-hot `[batch, num_classes]` 0/1 indicators, or per-example lists of class ids or (with
    `label_vocabulary`) class names as a `tf.RaggedTensor` or `tf.SparseTensor`; through a `tfkit.Estimator`, a
    DataFrame's label column holds such a list in each row. The loss is the sigmoid
    cross-entropy averaged over the classes; a class is predicted when its probability exceeds `threshold`.

    Args:
        num_classes: the number of classes; may be left out when `label_vocabulary` is given.
        label_vocabulary: the class names; class `i` is `label_vocabulary[i]`.
        threshold: the decision threshold, in (0, 1), for `predictions` and the accuracy/precision/recall metrics.
        weight_column, regularizer: see `tfkit.heads.Head`.

    >>> import tensorflow as tf
    >>> head = MultiLabelHead(label_vocabulary=["news", "sport", "tech"])
    >>> head.prepare_labels(tf.ragged.constant([["sport", "tech"], []])).numpy().tolist()
    [[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """

    def __init__(self, num_classes: int | None = None, *, label_vocabulary=None, threshold: float = 0.5, **kwargs):
        kwargs.setdefault("name", "multi_label_head")
        vocabulary = L.check_vocabulary("MultiLabelHead", label_vocabulary, num_classes, minimum=1)
        num_classes = L.check_num_classes("MultiLabelHead", num_classes, vocabulary, minimum=1)
        if not is_number(threshold) or not 0.0 < threshold < 1.0:
            raise ValueError(
                f"MultiLabelHead: `threshold` must be a number in (0, 1). Received: threshold={threshold!r}."
            )
        super().__init__(num_classes, **kwargs)
        self.num_classes = num_classes
        self.label_vocabulary = vocabulary
        self.threshold = float(threshold)
        self.label_lookup = L.string_lookup(vocabulary)

    label_shape = (None,)

    @property
    def label_dtype(self) -> str:
        """Class names with a `label_vocabulary`, else class ids."""
        return "string" if self.label_vocabulary else "int64"

    def prepare_labels(self, labels):
        """Multi-hot float32 `[batch, num_classes]`."""
        if isinstance(labels, tf.SparseTensor):
            labels = tf.RaggedTensor.from_sparse(labels)
        if isinstance(labels, tf.RaggedTensor):
            return self._multi_hot(labels)
        labels = L.to_tensor(labels)
        if labels.shape.rank != 2 or labels.shape[-1] != self.num_classes:
            raise L.static_shape_error(
                "MultiLabelHead",
                f"[batch, {self.num_classes}] (multi-hot)",
                labels,
                " Lists of class ids or names go in a tf.RaggedTensor or tf.SparseTensor.",
            )
        labels = tf.cast(labels, tf.float32)
        indicator = tf.reduce_all((labels == 0.0) | (labels == 1.0))
        return L.require(labels, indicator, "MultiLabelHead: multi-hot `labels` must be 0 or 1.", labels)

    def _multi_hot(self, labels: tf.RaggedTensor):
        values = labels.flat_values
        if values.dtype == tf.string:
            if self.label_lookup is None:
                raise ValueError(
                    "MultiLabelHead: string labels need `label_vocabulary`, the list of class names. "
                    "Received: labels of dtype string."
                )
            ids = L.lookup("MultiLabelHead", self.label_lookup, values, self.label_vocabulary)
        else:
            ids = L.in_range(
                "MultiLabelHead", L.integral("MultiLabelHead", values, "integer class ids"), self.num_classes
            )
        ids = labels.with_flat_values(ids)
        # A row's one-hot vectors, combined: [batch, (labels), classes] -> [batch, classes]; a repeated label
        # counts once, and a row without labels is all zeros.
        return tf.minimum(tf.reduce_sum(tf.one_hot(ids, self.num_classes, dtype=tf.float32), axis=1), 1.0)

    def per_example_loss(self, labels, logits):
        L.check_batch("MultiLabelHead", labels, logits)
        return keras.losses.binary_crossentropy(labels, logits, from_logits=True)

    def make_metrics(self) -> list:
        return [
            *thresholded_metrics(self.threshold),
            keras.metrics.AUC(curve="ROC", multi_label=True, num_labels=self.num_classes, name="auc"),
            keras.metrics.AUC(curve="PR", multi_label=True, num_labels=self.num_classes, name="auc_precision_recall"),
        ]

    def metric_inputs(self, labels, logits) -> tuple:
        return labels, ops.sigmoid(logits)

    def predictions(self, logits) -> dict:
        """`logits` and `probabilities` `[batch, num_classes]`, and `predictions`: 0/1 per class at `threshold`."""
        logits = ops.convert_to_tensor(logits)
        probabilities = ops.sigmoid(logits)
        return {
            "logits": logits,
            "probabilities": probabilities,
            "predictions": tf.cast(probabilities > self.threshold, tf.int64),
        }

    def serving_outputs(self, logits) -> dict:
        outputs = self.predictions(logits)
        return {key: outputs[key] for key in ("probabilities", "predictions")}

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            label_vocabulary=None if self.label_vocabulary is None else list(self.label_vocabulary),
            threshold=self.threshold,
        )
        return config
