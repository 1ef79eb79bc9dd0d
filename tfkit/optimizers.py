"""Optimizers Keras lacks: `LazyAdam`, Adam that updates only the rows a sparse gradient touches.

A sampled head's loss gathers `batch + num_sampled` rows of a `[num_classes, dim]` output table, so its
gradient arrives at the optimizer as a `tf.IndexedSlices`. Keras's Adam turns it dense and rewrites every row of
the table and of both moment tensors each step, which costs `O(num_classes * dim)` again and undoes what sampling
saved (bench/RESULTS.md measures it). `LazyAdam` is the remedy TF Addons' optimizer of the same name offered.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from feature_columns.integration import adam_slots

__all__ = ["NAMES", "LazyAdam"]


@keras.saving.register_keras_serializable(package="tfkit")
class LazyAdam(keras.optimizers.Adam):
    """Adam whose sparse (`tf.IndexedSlices`) updates touch only the gradient's rows.

    For a sparse gradient the moments and weights of the rows it names are updated exactly as Adam updates
    them; the other rows are left as they are, where Adam would decay their moments and keep moving their
    weights. Rows touched every step follow Adam exactly; rarely touched rows (rare classes) move less than
    under Adam. Dense gradients (every `Dense` kernel) take Adam's own update. Use it with
    `SampledSoftmaxHead` and `NCEHead`, or name it `"lazy_adam"` as an Estimator's `optimizer`.

    Weight decay, if set, still decays every row every step (as Adam's does), so it costs `O(num_classes)`.

    Args:
        learning_rate, beta_1, beta_2, epsilon, amsgrad, **kwargs: as for `keras.optimizers.Adam`.

    >>> import tensorflow as tf
    >>> table = keras.Variable([[1.0], [1.0], [1.0]])
    >>> optimizer = LazyAdam(learning_rate=0.1)
    >>> optimizer.apply([tf.IndexedSlices(tf.constant([[2.0]]), tf.constant([1]), tf.constant([3, 1]))], [table])
    >>> # row 1: m = 0.1 * 2 = 0.2, v = 0.001 * 4 = 0.004, alpha = 0.1 * sqrt(0.001) / 0.1, so the step is
    >>> # alpha * 0.2 / sqrt(0.004) = 0.1 (epsilon aside); rows 0 and 2 are untouched
    >>> [round(w, 4) for w in table.numpy()[:, 0].tolist()]
    [1.0, 0.9, 1.0]
    """

    def update_step(self, gradient, variable, learning_rate):
        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        # A gather's gradient may name a row more than once (a class both a label and a sample); Adam's dense
        # conversion sums the repeats, so the rows are deduplicated and their slices summed the same way.
        rows, positions = tf.unique(gradient.indices)
        grad = tf.math.unsorted_segment_sum(tf.cast(gradient.values, dtype), positions, tf.shape(rows)[0])

        # The same operations in the same order as `keras.optimizers.Adam.update_step`, restricted to `rows`,
        # so a row touched every step gets exactly Adam's values.
        lr = tf.cast(learning_rate, dtype)
        local_step = tf.cast(self.iterations + 1, dtype)
        beta_1_power = tf.pow(tf.cast(self.beta_1, dtype), local_step)
        beta_2_power = tf.pow(tf.cast(self.beta_2, dtype), local_step)
        alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)

        m, v, v_hat = adam_slots(self, variable)
        m_rows = tf.gather(m.value, rows)
        m_rows = m_rows + (grad - m_rows) * (1 - self.beta_1)
        v_rows = tf.gather(v.value, rows)
        v_rows = v_rows + (tf.square(grad) - v_rows) * (1 - self.beta_2)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        if self.amsgrad:
            v_rows = tf.maximum(tf.gather(v_hat.value, rows), v_rows)
            self.assign(v_hat, tf.IndexedSlices(v_rows, rows))
        self.assign_sub(variable, tf.IndexedSlices(m_rows * alpha / (tf.sqrt(v_rows) + self.epsilon), rows))


# The optimizer names tfkit understands besides Keras's own (`tfkit.Estimator(optimizer="lazy_adam")`).
NAMES = {"LazyAdam": LazyAdam, "lazy_adam": LazyAdam}
