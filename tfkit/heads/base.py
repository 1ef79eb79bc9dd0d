"""`Head`: what every head shares — the output projection, the loss reduction and the calling contract."""

from __future__ import annotations

import keras
from keras import ops

from tfkit.heads import labels as L

PREDICTION_KEYS = ("logits", "probabilities", "class_ids", "classes", "predictions")
CLASSIFIER_SERVING_KEYS = ("probabilities", "class_ids", "classes")


def class_predictions(logits, probabilities, class_ids, vocabulary: tuple | None) -> dict:
    """A one-label classifier's predictions: its `logits`, `probabilities`, `class_ids` and their `classes`."""
    classes = L.class_names(class_ids, vocabulary)
    return {"logits": logits, "probabilities": probabilities, "class_ids": class_ids, "classes": classes}


def thresholded_metrics(threshold: float) -> list:
    """Accuracy, precision and recall of probabilities cut at `threshold` (sigmoid heads)."""
    return [
        keras.metrics.BinaryAccuracy(threshold=threshold, name="accuracy"),
        keras.metrics.Precision(thresholds=threshold, name="precision"),
        keras.metrics.Recall(thresholds=threshold, name="recall"),
    ]


def mean_loss(per_example, sample_weight=None):
    """Keras's `"sum_over_batch_size"`: the weighted sum of per-example losses divided by the batch size."""
    per_example = ops.reshape(per_example, (-1,))
    if sample_weight is not None:
        per_example = per_example * ops.reshape(ops.cast(sample_weight, per_example.dtype), (-1,))
    return ops.divide_no_nan(ops.sum(per_example), ops.cast(ops.shape(per_example)[0], per_example.dtype))


class Head(keras.layers.Layer):
    """The base of every head: a layer from hidden activations to logits over the whole output.

    The contract (DESIGN.md), for hidden activations `[batch, d]`:
    - `head(hidden)`: logits `[batch, units]`, from `head.projection`;
    - `prepare_labels(labels)`: raw labels (ids, strings, indicators...) to loss-ready labels, checked; it runs
      in `tf.data` and is idempotent, so a model may apply it again to labels a pipeline already prepared;
    - `compute_loss(hidden, labels, sample_weight=None, training=False)`: the scalar loss, averaged over the batch
      like Keras losses (weights multiply each example's loss; the sum is divided by the batch size);
    - `logits_loss(prepared_labels, logits, sample_weight=None)`: the same loss from logits already computed;
    - `make_metrics()` and `update_metrics(metrics, prepared_labels, logits, sample_weight)`;
    - `predictions(logits)`: a dict under the canonical keys of `PREDICTION_KEYS`; `serving_outputs(logits)`: what
      an exported model returns.

    Args:
        units: the width of the output projection.
        weight_column: the name of the raw feature holding per-example weights, or None; `tfkit.Estimator`
            passes it to the loss and metrics as sample weights.
        regularizer: a Keras regularizer (or identifier) for the projection's weights; `tfkit.layers.l2` and its
            kin set it too.
    """

    # Whether a training step with this head compiles with XLA (`jit_compile=True`).
    xla_compatible = True
    # The shape of one example's raw label in a DataFrame or CSV file: one value, or `(None,)` for a list of them.
    label_shape: tuple = ()

    def __init__(self, units: int, *, weight_column: str | None = None, regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if weight_column is not None and (not isinstance(weight_column, str) or not weight_column):
            raise ValueError(
                f"{type(self).__name__}: `weight_column` must be a feature name or None. "
                f"Received: weight_column={weight_column!r}."
            )
        try:
            regularizer = keras.regularizers.get(regularizer)
        except (ValueError, TypeError):
            raise ValueError(
                f"{type(self).__name__}: `regularizer` must be a Keras regularizer, its name ('l1', 'l2', 'l1_l2') or "
                f"config, or None. Received: regularizer={regularizer!r}. For a strength, pass e.g. "
                "keras.regularizers.L2(0.01)."
            ) from None
        self.units = units
        self.weight_column = weight_column
        self.projection = self.make_projection(units, regularizer)

    @property
    def label_dtype(self) -> str:
        """The dtype raw labels are read as: strings for a head with a `label_vocabulary`, else float32."""
        return "string" if getattr(self, "label_vocabulary", None) else "float32"

    def make_projection(self, units: int, regularizer) -> keras.layers.Layer:
        return keras.layers.Dense(units, kernel_regularizer=regularizer, name="logits")

    @property
    def regularizer(self):
        """The projection's regularizer, read back from the projection so that one set later is saved too."""
        return self.projection.kernel_regularizer

    def build(self, input_shape):
        self.projection.build(input_shape)

    def call(self, hidden):
        return self.projection(hidden)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def prepare_labels(self, labels):
        raise NotImplementedError

    def per_example_loss(self, labels, logits):
        """The loss of each example, `[batch]`, from prepared labels."""
        raise NotImplementedError

    def logits_loss(self, labels, logits, sample_weight=None):
        return mean_loss(self.per_example_loss(labels, logits), sample_weight)

    def compute_loss(self, hidden, labels, sample_weight=None, training=False):
        return self.logits_loss(self.prepare_labels(labels), self(hidden, training=training), sample_weight)

    def make_metrics(self) -> list:
        raise NotImplementedError

    def metric_inputs(self, labels, logits) -> tuple:
        """`(y_true, y_pred)` as this head's metrics take them."""
        raise NotImplementedError

    def update_metrics(self, metrics, labels, logits, sample_weight=None) -> None:
        y_true, y_pred = self.metric_inputs(labels, logits)
        if sample_weight is not None:
            # [batch, 1] broadcasts against both [batch] and [batch, classes] metric inputs.
            sample_weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1, 1))
        for metric in metrics:
            metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    def predictions(self, logits) -> dict:
        raise NotImplementedError

    def serving_outputs(self, logits) -> dict:
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config.update(
            weight_column=self.weight_column,
            regularizer=keras.regularizers.serialize(self.regularizer),
        )
        return config
