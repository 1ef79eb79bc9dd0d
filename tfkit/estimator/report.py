"""What `Estimator.evaluate` writes beside its metrics: `tfkit.evaluation`'s report and plots for the head's kind."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfkit import evaluation
from tfkit import heads as tfheads

# The report and plots hold every example's label and output in memory: beyond this many examples they come from a
# uniform sample of about this many (the metrics are always over all of them).
REPORT_MAX_EXAMPLES = 1_000_000


def sample(dataset: tf.data.Dataset, examples: int, batch_size: int, max_examples: int | None = None):
    """`dataset` (of `examples` examples) itself, or above `max_examples` (default `REPORT_MAX_EXAMPLES`) a uniform
    sample of about that many, the same examples on every pass (drawn from each batch's position), in batches of
    `batch_size`.

    >>> data = tf.data.Dataset.from_tensor_slices(tf.range(30_000)).batch(100)
    >>> kept = sum(int(tf.size(batch)) for batch in sample(data, 30_000, 100, max_examples=10_000))
    >>> abs(kept - 10_000) < 300  # each example kept with probability 1/3: standard deviation 82
    True
    """
    max_examples = REPORT_MAX_EXAMPLES if max_examples is None else max_examples
    if examples <= max_examples:
        return dataset
    fraction = max_examples / examples

    def select(index, batch):
        rows = tf.shape(tf.nest.flatten(batch)[0])[0]
        chosen = tf.where(tf.random.stateless_uniform([rows], seed=tf.stack([index, 0])) < fraction)[:, 0]
        return tf.nest.map_structure(lambda tensor: tf.gather(tensor, chosen), batch)

    return dataset.enumerate().map(select, num_parallel_calls=tf.data.AUTOTUNE).rebatch(batch_size)


def report(head, labels, logits) -> tuple:
    """`(report, write_plots or None)` for this head's kind of output; `({}, None)` for a kind without one.

    `write_plots(folder)` writes the PNG plots: ROC, precision-recall and calibration for a binary classifier,
    residuals for a one-value regressor, the confusion matrix for a multi-class classifier.

    >>> import numpy as np
    >>> from tfkit.heads import RegressionHead
    >>> values, plots = report(RegressionHead(), np.array([[1.0], [3.0]]), np.array([[1.0], [2.0]]))
    >>> round(values["rmse"], 4)  # sqrt((0 ** 2 + 1 ** 2) / 2)
    0.7071
    """
    outputs = {key: keras.ops.convert_to_numpy(value) for key, value in head.predictions(logits).items()}
    if isinstance(head, tfheads.BinaryHead):
        positive = outputs["probabilities"][:, 1]
        values = evaluation.binary_report(labels, positive, threshold=head.threshold)
        return values, lambda folder: evaluation.write_binary_plots(labels, positive, folder)
    if isinstance(head, tfheads.RegressionHead) and head.units == 1:
        predictions = outputs["predictions"]
        values = evaluation.regression_report(labels, predictions)
        return values, lambda folder: evaluation.write_regression_plots(labels, predictions, folder)
    if "class_ids" in outputs and labels.ndim <= 2 and labels.size == len(outputs["class_ids"]):
        values = evaluation.multiclass_report(labels, outputs["class_ids"], head.units)
        names = getattr(head, "label_vocabulary", None)
        return values, lambda folder: evaluation.write_confusion_matrix_plot(values["confusion_matrix"], folder, names)
    return {}, None
