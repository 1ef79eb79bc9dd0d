"""`BinaryHead`: one logit, a sigmoid and binary cross-entropy, decided at a threshold."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from feature_columns.integration import is_number
from tfkit.heads import labels as L
from tfkit.heads.base import CLASSIFIER_SERVING_KEYS, Head, class_predictions, thresholded_metrics
from tfkit.metrics import PredictionBias


@keras.saving.register_keras_serializable(package="tfkit")
class BinaryHead(Head):
    """Predicts the probability of the positive class.

    Labels are 0/1 (ints, floats or bools), or strings from `label_vocabulary` (its first label is class 0, the
    negative class). The example is classified positive when its probability exceeds `threshold`, which also
    sets the threshold of the accuracy, precision and recall metrics.

    Args:
        label_vocabulary: the two class names, negative first, e.g. `["no", "yes"]`.
        threshold: the decision threshold, in (0, 1).
        weight_column, regularizer: see `tfkit.heads.Head`.

    >>> import numpy as np
    >>> head = BinaryHead(label_vocabulary=["no", "yes"])
    >>> head.build((None, 1)); head.projection.set_weights([np.ones((1, 1)), np.zeros(1)])  # logits = hidden
    >>> head.prepare_labels(np.array(["yes", "no"])).numpy().tolist()
    [[1.0], [0.0]]
    >>> [c.decode() for c in head.predictions(np.array([[2.0], [-1.0]], "float32"))["classes"].numpy()]
    ['yes', 'no']
    """

    def __init__(self, *, label_vocabulary=None, threshold: float = 0.5, **kwargs):
        kwargs.setdefault("name", "binary_head")
        vocabulary = L.check_vocabulary("BinaryHead", label_vocabulary, None)
        if vocabulary is not None and len(vocabulary) != 2:
            raise ValueError(
                f"BinaryHead: `label_vocabulary` must hold exactly 2 labels (negative first). "
                f"Received: label_vocabulary={list(vocabulary)!r}."
            )
        if not is_number(threshold) or not 0.0 < threshold < 1.0:
            raise ValueError(f"BinaryHead: `threshold` must be a number in (0, 1). Received: threshold={threshold!r}.")
        super().__init__(1, **kwargs)
        self.label_vocabulary = vocabulary
        self.threshold = float(threshold)
        self.label_lookup = L.string_lookup(vocabulary)

    def prepare_labels(self, labels):
        """Labels as float32 0/1 indicators `[batch, 1]`."""
        labels = L.to_tensor(labels)
        if not L.has_id_shape(labels):
            raise L.static_shape_error("BinaryHead", "[batch] or [batch, 1]", labels)
        labels = tf.reshape(labels, (-1, 1))
        if labels.dtype == tf.string:
            if self.label_lookup is None:
                raise ValueError(
                    "BinaryHead: string labels need `label_vocabulary`, e.g. BinaryHead(label_vocabulary=['no', "
                    "'yes']). Received: labels of dtype string."
                )
            return tf.cast(L.lookup("BinaryHead", self.label_lookup, labels, self.label_vocabulary), tf.float32)
        labels = tf.cast(labels, tf.float32)
        indicator = tf.reduce_all((labels == 0.0) | (labels == 1.0))
        return L.require(labels, indicator, "BinaryHead: `labels` must be 0 or 1.", labels)

    def per_example_loss(self, labels, logits):
        L.check_batch("BinaryHead", labels, logits)
        return keras.losses.binary_crossentropy(labels, logits, from_logits=True)

    def make_metrics(self) -> list:
        return [
            *thresholded_metrics(self.threshold),
            keras.metrics.AUC(curve="ROC", name="auc"),
            keras.metrics.AUC(curve="PR", name="auc_precision_recall"),
            PredictionBias(name="prediction_bias"),
        ]

    def metric_inputs(self, labels, logits) -> tuple:
        return labels, ops.sigmoid(logits)

    def predictions(self, logits) -> dict:
        """`logits`, `class_ids`, `classes` `[batch]`; `probabilities` `[batch, 2]` (negative, positive)."""
        logits = ops.squeeze(ops.convert_to_tensor(logits), axis=-1)
        positive = ops.sigmoid(logits)
        class_ids = tf.cast(positive > self.threshold, tf.int64)
        probabilities = ops.stack([1.0 - positive, positive], axis=-1)
        return class_predictions(logits, probabilities, class_ids, self.label_vocabulary)

    def serving_outputs(self, logits) -> dict:
        outputs = self.predictions(logits)
        return {key: outputs[key] for key in CLASSIFIER_SERVING_KEYS}

    def get_config(self):
        config = super().get_config()
        config.update(
            label_vocabulary=None if self.label_vocabulary is None else list(self.label_vocabulary),
            threshold=self.threshold,
        )
        return config
