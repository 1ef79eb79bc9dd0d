"""`RegressionHead`: a linear output, a regression loss and the metrics people read."""

from __future__ import annotations

import keras
from keras import ops

from tfkit.metrics import PredictionBias

LOSSES = {
    "mse": keras.losses.MeanSquaredError,
    "mae": keras.losses.MeanAbsoluteError,
    "huber": keras.losses.Huber,
    "poisson": keras.losses.Poisson,
}


@keras.saving.register_keras_serializable(package="tfkit")
class RegressionHead(keras.layers.Layer):
    """Predicts `label_dimension` real values.

    `head(hidden)` gives the raw outputs ("logits"); `compute_loss` the scalar loss; `make_metrics` fresh
    RMSE, MAE and prediction-bias metrics; `serving_outputs` the `predictions` a served model returns.

    Args:
        label_dimension: values predicted per example.
        loss: `"mse"` (default), `"mae"`, `"huber"` or `"poisson"`.

    >>> import numpy as np
    >>> head = RegressionHead()
    >>> hidden, labels = np.ones((2, 3), "float32"), np.array([1.0, 2.0], "float32")
    >>> head.build((None, 3)); head.projection.set_weights([np.ones((3, 1)), np.zeros(1)])
    >>> float(head.compute_loss(hidden, labels))  # outputs 3 and 3: ((3-1)**2 + (3-2)**2) / 2
    2.5
    """

    def __init__(self, label_dimension: int = 1, loss: str = "mse", **kwargs):
        kwargs.setdefault("name", "regression_head")
        super().__init__(**kwargs)
        if isinstance(label_dimension, bool) or not isinstance(label_dimension, int) or label_dimension < 1:
            raise ValueError(
                "RegressionHead: `label_dimension` must be a positive integer. "
                f"Received: label_dimension={label_dimension!r}."
            )
        if loss not in LOSSES:
            raise ValueError(f"RegressionHead: `loss` must be one of {sorted(LOSSES)}. Received: loss={loss!r}.")
        self.label_dimension = label_dimension
        self.loss_name = loss
        self.projection = keras.layers.Dense(label_dimension, name="logits")

    def build(self, input_shape):
        self.projection.build(input_shape)

    def call(self, hidden):
        return self.projection(hidden)

    def make_loss(self) -> keras.losses.Loss:
        return LOSSES[self.loss_name]()

    def compute_loss(self, hidden, labels, sample_weight=None, training=False):
        return self.make_loss()(self._shape_labels(labels), self(hidden, training=training), sample_weight)

    def make_metrics(self) -> list:
        return [
            keras.metrics.RootMeanSquaredError(name="rmse"),
            keras.metrics.MeanAbsoluteError(name="mae"),
            PredictionBias(name="prediction_bias"),
        ]

    def _shape_labels(self, labels):
        return ops.reshape(ops.cast(labels, "float32"), (-1, self.label_dimension))

    def predictions(self, logits) -> dict:
        """The canonical prediction dict: `{"predictions": [batch] or [batch, label_dimension]}`."""
        return {"predictions": ops.squeeze(logits, axis=-1) if self.label_dimension == 1 else logits}

    def serving_outputs(self, logits) -> dict:
        return self.predictions(logits)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.label_dimension)

    def get_config(self):
        config = super().get_config()
        config.update(label_dimension=self.label_dimension, loss=self.loss_name)
        return config
