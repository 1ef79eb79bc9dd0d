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
        y_true = ops.reshape(ops.cast(y_true, self.dtype), (-1,))
        y_pred = ops.reshape(ops.cast(y_pred, self.dtype), (-1,))
        weight = (
            ops.ones_like(y_true) if sample_weight is None else ops.reshape(ops.cast(sample_weight, self.dtype), (-1,))
        )
        self.label_sum.assign_add(ops.sum(y_true * weight))
        self.prediction_sum.assign_add(ops.sum(y_pred * weight))
        self.count.assign_add(ops.sum(weight))

    def result(self):
        count = ops.maximum(self.count, 1e-12)
        return self.prediction_sum / count - self.label_sum / count

    def reset_state(self):
        for variable in (self.label_sum, self.prediction_sum, self.count):
            variable.assign(0.0)
