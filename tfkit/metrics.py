"""Metrics Keras lacks, as stateful `keras.metrics.Metric`s."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfkit")
class PredictionBias(keras.metrics.Metric):
    """Mean prediction minus mean label; a calibrated model scores about 0.

    >>> bias = PredictionBias()
    >>> bias.update_state([1.0, 3.0], [2.0, 5.0])  # mean prediction 3.5 - mean label 2.0
    >>> float(bias.result())
    1.5
    """

    def __init__(self, name="prediction_bias", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_sum = self.add_variable(shape=(), initializer="zeros", name="label_sum")
        self.prediction_sum = self.add_variable(shape=(), initializer="zeros", name="prediction_sum")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        if sample_weight is None:
            weight = ops.ones_like(y_true)
        else:
            # One weight per example, spread over the example's values ([batch] or [batch, label_dimension]).
            per_example = (-1,) + (1,) * (len(y_true.shape) - 1)
            weight = ops.broadcast_to(ops.reshape(ops.cast(sample_weight, self.dtype), per_example), ops.shape(y_true))
        y_true, weight = ops.reshape(y_true, (-1,)), ops.reshape(weight, (-1,))
        y_pred = ops.reshape(ops.cast(y_pred, self.dtype), (-1,))
        self.label_sum.assign_add(ops.sum(y_true * weight))
        self.prediction_sum.assign_add(ops.sum(y_pred * weight))
        self.count.assign_add(ops.sum(weight))

    def result(self):
        count = ops.maximum(self.count, 1e-12)
        return self.prediction_sum / count - self.label_sum / count

    def reset_state(self):
        for variable in (self.label_sum, self.prediction_sum, self.count):
            variable.assign(0.0)


class _ClassCounts(keras.metrics.Metric):
    """Counts, for one class, the examples predicted as it (argmax) and labelled as it; sparse labels."""

    def __init__(self, class_id: int, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.class_id = class_id
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def counted(self, labelled, predicted):
        """Which examples the denominator counts."""
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        labelled = ops.reshape(ops.cast(y_true, "int64"), (-1,)) == self.class_id
        predicted = ops.argmax(y_pred, axis=-1) == self.class_id
        weight = (
            ops.ones_like(labelled, dtype=self.dtype)
            if sample_weight is None
            else ops.reshape(ops.cast(sample_weight, self.dtype), (-1,))
        )
        self.true_positives.assign_add(ops.sum(ops.cast(labelled & predicted, self.dtype) * weight))
        self.total.assign_add(ops.sum(ops.cast(self.counted(labelled, predicted), self.dtype) * weight))

    def result(self):
        return ops.divide_no_nan(self.true_positives, self.total)

    def reset_state(self):
        for variable in (self.true_positives, self.total):
            variable.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id}


@keras.saving.register_keras_serializable(package="tfkit")
class ClassPrecision(_ClassCounts):
    """Of the examples predicted as `class_id` (argmax of `y_pred`), the fraction labelled so; `y_true` holds ids.

    >>> precision = ClassPrecision(1)
    >>> precision.update_state([1, 0, 2], [[0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    >>> float(precision.result())  # two examples predicted as class 1, one of them labelled 1
    0.5
    """

    def counted(self, labelled, predicted):
        return predicted


@keras.saving.register_keras_serializable(package="tfkit")
class ClassRecall(_ClassCounts):
    """Of the examples labelled `class_id`, the fraction predicted so (argmax of `y_pred`).

    >>> recall = ClassRecall(1)
    >>> recall.update_state([1, 1, 2], [[0.1, 0.8, 0.1], [0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])
    >>> float(recall.result())  # two examples labelled 1, one of them predicted as class 1
    0.5
    """

    def counted(self, labelled, predicted):
        return labelled
