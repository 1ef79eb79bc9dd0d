"""`HeadModel`: a body and a head, trained with the head's own loss.

Keras's default `train_step` computes `y_pred = model(x)` and then a loss on it. A sampled head must not: its
full logits are the cost it exists to avoid. So `HeadModel.train_step` runs the body and hands the hidden
activations to `head.compute_loss(..., training=True)`; evaluation and prediction use the full logits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import keras
import tensorflow as tf

from feature_columns.integration import is_number
from tfkit.distribute import replica_gradients, step_logs
from tfkit.heads import Head


def check_gradient_clip_norm(where: str, gradient_clip_norm) -> None:
    """Raises unless `gradient_clip_norm` is a positive number or None."""
    if gradient_clip_norm is not None and (not is_number(gradient_clip_norm) or gradient_clip_norm <= 0):
        raise ValueError(
            f"{where}: `gradient_clip_norm` must be a positive number or None. "
            f"Received: gradient_clip_norm={gradient_clip_norm!r}."
        )


@keras.saving.register_keras_serializable(package="tfkit")
class HeadModel(keras.Model):
    """`head(body(inputs))` as a Keras model whose loss and metrics come from the head.

    `compile` takes the optimizer and Keras's execution options (`steps_per_execution`, `jit_compile`...) but no
    `loss` or `metrics`: they are the head's. Training minimizes and logs the head's loss plus weight penalties
    (regularizers); evaluation logs the head's loss alone, as `tf.estimator` did, and the head's metrics.
    Labels may be raw (the head's `prepare_labels` runs in the step) or already prepared in the input pipeline;
    a third dataset element is taken as sample weights. Under a `tf.distribute` strategy the loss is averaged over
    the GLOBAL batch (each replica's mean weighted by its share of the examples), whatever the head.

    Args:
        body: a Keras model (or layer) from the inputs to hidden activations `[batch, d]`; a `keras.Sequential`
            body is how the builders' Sequential form keeps this training step (see `tfkit.models.assemble`).
        head: a tfkit head.
        gradient_clip_norm: if set, gradients are rescaled so that their global norm is at most this.

    >>> import numpy as np
    >>> from tfkit.heads import MultiClassHead
    >>> inputs = keras.Input((4,))
    >>> model = HeadModel(keras.Model(inputs, keras.layers.Dense(8)(inputs)), MultiClassHead(3))
    >>> model.compile(optimizer="sgd")
    >>> x, y = np.random.default_rng(0).normal(size=(16, 4)), np.arange(16) % 3
    >>> sorted(model.fit(x, y, epochs=1, verbose=0).history)
    ['loss']
    >>> sorted(model.evaluate(x, y, verbose=0, return_dict=True))
    ['accuracy', 'loss']
    """

    def __init__(self, body, head, *, gradient_clip_norm: float | None = None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(head, Head):
            raise TypeError(f"HeadModel: `head` must be a tfkit head. Received: head of type {type(head).__name__}.")
        check_gradient_clip_norm("HeadModel", gradient_clip_norm)
        self.body = body
        self.head = head
        self.gradient_clip_norm = gradient_clip_norm
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.head_metrics = head.make_metrics()
        self._packing = self._traced_packing = None  # see packed_inputs
        if getattr(body, "built", False) and getattr(body, "inputs", None):
            # Built now, from the functional body's inputs: `train_step` never calls the model itself, and the TF
            # backend builds a model only in that call, so a HeadModel trained from scratch would be saved unbuilt
            # (and reloaded with an optimizer that has no slots to load).
            self.build(keras.tree.map_structure(lambda tensor: tuple(tensor.shape), body.input))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3.15's TF trainer builds a model made under a strategy from its first batch, reduced across the
        # replicas with `strategy.reduce`, which fails under MultiWorkerMirroredStrategy on a dict of features
        # ("Attempt to convert a value ({...: PerReplica...}) ... to a Tensor"). A built HeadModel needs no data:
        # only its optimizer is left to build, in the cross-replica context, as Keras would.
        if not self.built:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        if self.optimizer is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)
        return None

    def build(self, input_shape):
        if not self.body.built:
            self.body.build(input_shape)
        if not self.head.built:
            self.head.build(self.body.compute_output_shape(input_shape))

    def call(self, inputs, training=False):
        if isinstance(inputs, Mapping):
            # A plain dict: inside exported functions TensorFlow hands over its tracking wrapper, which Keras's
            # structure check would report as a mismatch.
            inputs = dict(inputs)
        return self.head(self.body(inputs, training=training))

    @property
    def metrics(self):
        # Keras resets and reports exactly these (the documented pattern for a custom train_step).
        return [self.loss_tracker, *self.head_metrics]

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, jit_compile="auto", **kwargs):
        for name, value in (("loss", loss), ("metrics", metrics), *kwargs.items()):
            if name in ("loss", "metrics", "loss_weights", "weighted_metrics") and value is not None:
                raise ValueError(
                    f"HeadModel.compile: `{name}` must be None: the head defines the loss and metrics. "
                    f"Received: {name}={value!r}. Choose them through the head's arguments."
                )
        if not self.head.xla_compatible:
            if jit_compile is True:
                raise ValueError(
                    f"HeadModel.compile: `jit_compile` must be False or 'auto' with a {type(self.head).__name__}: "
                    "its training step cannot be compiled with XLA. Received: jit_compile=True."
                )
            jit_compile = False
        super().compile(optimizer=optimizer, jit_compile=jit_compile, **kwargs)

    def compile_from_config(self, config):
        """Compiles a reloaded model as it was saved: its optimizer (slots included) and execution options.

        Keras skips this for models with their own `compile`, which would leave a reloaded model unable to
        resume training; this `compile` takes Keras's saved arguments as they are.
        """
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)  # so the saved optimizer variables load into it

    @property
    def examples_seen(self) -> int:
        """The examples of the last `evaluate` (or of the training epoch so far): its loss's weight."""
        return int(self.loss_tracker.count.numpy())

    def _penalties(self):
        """Weight penalties (regularizers, `add_loss`) of the forward pass just run, summed."""
        losses = self.losses  # computed from the variables on each access
        return tf.add_n([tf.cast(loss, tf.float32) for loss in losses]) if losses else 0.0

    @contextlib.contextmanager
    def packed_inputs(self, packing):
        """Within it, `fit` takes training batches of rows packed by `packing` (a `tfkit.data.Packing`; None: batches
        as usual) and unpacks them in its training step. There, compiled with the step, unpacking costs next to
        nothing; in the input pipeline, its copies take CPU from the training step it runs beside.

        >>> import numpy as np
        >>> from tfkit.data import cache_rows
        >>> from tfkit.heads import RegressionHead
        >>> inputs = keras.Input((1,), name="x")
        >>> model = HeadModel(keras.Model({"x": inputs}, keras.layers.Dense(4)(inputs)), RegressionHead())
        >>> model.compile(optimizer="sgd")
        >>> x = np.arange(8.0, dtype="float32")
        >>> cached = cache_rows({"x": x}, x, lambda f, y: ({"x": f["x"][:, None]}, y[:, None]))
        >>> with model.packed_inputs(cached.packing):
        ...     history = model.fit(cached.batches(batch_size=4, unpacked=False), epochs=2, verbose=0)
        >>> len(history.history["loss"])
        2
        """
        if packing is not None and packing != self._traced_packing:
            # The training function keeps its traces, keyed by the batches' shapes alone: a trace with another
            # packing of the same shapes would cut them wrong.
            self.train_function = None
            self._traced_packing = packing
        self._packing = packing
        try:
            yield
        finally:
            self._packing = None

    def train_step(self, data):
        if self._packing is not None:
            data = self._packing.unpack(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            hidden = self.body(x, training=True)
            loss = self.head.compute_loss(hidden, y, sample_weight, training=True)
            penalties = self._penalties()
            scaled = self.optimizer.scale_loss(_global_share(loss, tf.shape(hidden)[0], penalties))
        gradients = replica_gradients(tape.gradient(scaled, self.trainable_weights))
        if self.gradient_clip_norm is not None:
            gradients, _ = tf.clip_by_global_norm(gradients, self.gradient_clip_norm)
        self.optimizer.apply(gradients, self.trainable_weights)
        self.loss_tracker.update_state(loss + penalties, sample_weight=tf.shape(hidden)[0])
        return step_logs({"loss": self.loss_tracker.result()})

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        logits = self(x, training=False)
        labels = self.head.prepare_labels(y)
        loss = self.head.logits_loss(labels, logits, sample_weight)
        self.loss_tracker.update_state(loss, sample_weight=tf.shape(logits)[0])
        self.head.update_metrics(self.head_metrics, labels, logits, sample_weight)
        return step_logs({metric.name: metric.result() for metric in self.metrics})

    def get_config(self):
        config = super().get_config()
        config.update(
            body=keras.saving.serialize_keras_object(self.body),
            head=keras.saving.serialize_keras_object(self.head),
            gradient_clip_norm=self.gradient_clip_norm,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        body = keras.saving.deserialize_keras_object(config.pop("body"))
        head = keras.saving.deserialize_keras_object(config.pop("head"))
        return cls(body, head, **config)


def _global_share(loss, batch, penalties):
    """This replica's share of the GLOBAL batch's loss, whose gradients `tf.distribute` sums across replicas.

    `loss` is the head's mean over this replica's `batch` examples (one replica: the whole batch). The global mean
    is `sum(loss_r * batch_r) / sum(batch_r)` over the replicas, right even when a last batch splits unevenly;
    each replica adds `1 / replicas` of the weight penalties, which every replica computes whole.
    """
    context = tf.distribute.get_replica_context()
    replicas = 1 if context is None else context.num_replicas_in_sync
    if replicas == 1:
        return loss + penalties
    batch = tf.cast(batch, loss.dtype)
    return loss * batch / context.all_reduce("sum", batch) + penalties / replicas
