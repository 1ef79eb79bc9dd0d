"""`RegressionHead`: a linear output, a regression loss and the metrics people read."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from feature_columns.integration import is_count
from tfkit.heads.base import Head
from tfkit.heads.labels import static_shape_error, to_tensor
from tfkit.metrics import PredictionBias

LOSSES = ("mse", "mae", "huber", "poisson")


@keras.saving.register_keras_serializable(package="tfkit")
class RegressionHead(Head):
    """Predicts `label_dimension` real values.

    `head(hidden)` gives the raw outputs ("logits"); `compute_loss` the scalar loss; `make_metrics` fresh
    RMSE, MAE and prediction-bias metrics; `serving_outputs` the `predictions` a served model returns.

    With `loss="poisson"` the outputs are log-rates, as in a Poisson GLM: predictions are `exp(logits)` (always
    positive) and the loss is `exp(logits) - labels * logits` (the negative log-likelihood up to a constant).

    Args:
        label_dimension: values predicted per example.
        loss: `"mse"` (default), `"mae"`, `"huber"` (delta 1) or `"poisson"`.
        weight_column, regularizer: see `tfkit.heads.Head`.

    >>> import numpy as np
    >>> head = RegressionHead()
    >>> hidden, labels = np.ones((2, 3), "float32"), np.array([1.0, 2.0], "float32")
    >>> head.build((None, 3)); head.projection.set_weights([np.ones((3, 1)), np.zeros(1)])
    >>> float(head.compute_loss(hidden, labels))  # outputs 3 and 3: ((3-1)**2 + (3-2)**2) / 2
    2.5
    """

    def __init__(self, label_dimension: int = 1, loss: str = "mse", **kwargs):
        kwargs.setdefault("name", "regression_head")
        if not is_count(label_dimension):
            raise ValueError(
                "RegressionHead: `label_dimension` must be a positive integer. "
                f"Received: label_dimension={label_dimension!r}."
            )
        if loss not in LOSSES:
            raise ValueError(f"RegressionHead: `loss` must be one of {list(LOSSES)}. Received: loss={loss!r}.")
        super().__init__(label_dimension, **kwargs)
        self.label_dimension = label_dimension
        self.loss_name = loss

    def prepare_labels(self, labels):
        """Labels as float32 `[batch, label_dimension]`."""
        labels = to_tensor(labels)
        rank, dimension = labels.shape.rank, self.label_dimension
        if rank is not None and not (
            (rank == 2 and labels.shape[-1] in (None, dimension)) or (rank <= 1 and dimension == 1)
        ):
            raise static_shape_error("RegressionHead", "[batch]" if dimension == 1 else f"[batch, {dimension}]", labels)
        return tf.reshape(tf.cast(labels, tf.float32), (-1, self.label_dimension))

    def per_example_loss(self, labels, logits):
        if self.loss_name == "poisson":
            return ops.mean(tf.nn.log_poisson_loss(labels, logits), axis=-1)
        loss = {
            "mse": keras.losses.MeanSquaredError,
            "mae": keras.losses.MeanAbsoluteError,
            "huber": keras.losses.Huber,
        }
        return loss[self.loss_name](reduction=None)(labels, logits)

    def make_metrics(self) -> list:
        return [
            keras.metrics.RootMeanSquaredError(name="rmse"),
            keras.metrics.MeanAbsoluteError(name="mae"),
            PredictionBias(name="prediction_bias"),
        ]

    def _predicted_values(self, logits):
        return ops.exp(logits) if self.loss_name == "poisson" else logits

    def metric_inputs(self, labels, logits) -> tuple:
        return labels, self._predicted_values(logits)

    def predictions(self, logits) -> dict:
        """The canonical prediction dict: `{"predictions": [batch] or [batch, label_dimension]}`."""
        values = self._predicted_values(ops.convert_to_tensor(logits))
        return {"predictions": ops.squeeze(values, axis=-1) if self.label_dimension == 1 else values}

    def serving_outputs(self, logits) -> dict:
        return self.predictions(logits)

    def get_config(self):
        config = super().get_config()
        config.update(label_dimension=self.label_dimension, loss=self.loss_name)
        return config
