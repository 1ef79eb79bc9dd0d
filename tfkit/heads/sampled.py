"""Heads for very many classes: a sampled loss while training, the full softmax everywhere else.

A full softmax over `n` classes costs `O(batch * dim * n)` per step, forward and backward. Sampled softmax
(Jean et al. 2015) and noise-contrastive estimation (Gutmann & Hyvarinen 2010; Mnih & Teh 2012) score each
example against its true class and `num_sampled` classes drawn from a proposal distribution, so a training
step gathers and updates `batch + num_sampled` rows of the output weights instead of all `n`. Evaluation,
prediction and serving use the full softmax over the same weights: the numbers are those of a
`MultiClassHead` holding them.

The gradient of the output weights is sparse (`tf.IndexedSlices`); train with an optimizer that keeps it so.
Keras's SGD updates only the gathered rows; its Adagrad computes its denominator for every row, and its Adam
updates every row every step, a cost that grows with `n` again. For Adam, use `tfkit.optimizers.LazyAdam`
(`optimizer="lazy_adam"` in a `tfkit.Estimator`), which updates only the gathered rows (bench/RESULTS.md has
the numbers).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from feature_columns.integration import is_count, is_number
from tfkit.heads import labels as L
from tfkit.heads.base import mean_loss
from tfkit.heads.multiclass import MultiClassHead

SAMPLERS = ("log_uniform", "uniform", "unigram")


@keras.saving.register_keras_serializable(package="tfkit")
class OutputEmbedding(keras.layers.Layer):
    """Logits from one row of weights per class: `hidden @ embeddings.T + bias`.

    The weights are stored class by class (`[num_classes, dim]`, the transpose of a `Dense` kernel), so a
    sampled loss gathers the rows it needs and its gradient touches only those rows.

    Args:
        num_classes: the number of classes (rows).
        embeddings_initializer, embeddings_regularizer: as for `keras.layers.Embedding`.

    >>> import numpy as np
    >>> layer = OutputEmbedding(2)
    >>> layer.build((None, 3)); layer.set_weights([np.array([[1, 0, 0], [0, 1, 1]]), np.array([0, 10])])
    >>> layer(np.array([[1.0, 2.0, 3.0]])).numpy().tolist()  # [1 + 0, 2 + 3 + 10]
    [[1.0, 15.0]]
    """

    def __init__(
        self, num_classes: int, *, embeddings_initializer="glorot_uniform", embeddings_regularizer=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.num_classes, input_shape[-1]),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            name="embeddings",
        )
        self.bias = self.add_weight(shape=(self.num_classes,), initializer="zeros", name="bias")

    def call(self, hidden):
        # transpose_b multiplies by the transpose without materializing it: [num_classes, dim] may be gigabytes.
        return tf.matmul(tf.cast(hidden, self.compute_dtype), self.embeddings, transpose_b=True) + self.bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer),
            embeddings_regularizer=keras.regularizers.serialize(self.embeddings_regularizer),
        )
        return config


class SampledHead(MultiClassHead):
    """The shared part of `SampledSoftmaxHead` and `NCEHead`; they differ only in `sampled_loss`.

    Args:
        num_classes: the number of classes; may be left out when `label_vocabulary` is given.
        num_sampled: classes drawn per training step as negatives, shared by the batch; fewer than `num_classes`.
        label_vocabulary: the class names; class `i` is `label_vocabulary[i]`.
        sampler: the proposal distribution: `"log_uniform"` (Zipfian; assumes class ids sorted by decreasing
            frequency, as vocabularies sorted by count are), `"uniform"`, or `"unigram"` (proportional to
            `unigram_counts`, raised to `distortion`).
        unigram_counts: one count (or frequency) per class, for `sampler="unigram"`; kept in the config.
        distortion: the power applied to `unigram_counts` (word2vec used 0.75).
        remove_accidental_hits: drop a sampled class that is the example's true class from its negatives.
        seed: seeds the sampler.
        top_k: the `top_<k>_accuracy` metric, and the `top_k_*` serving outputs.
        per_class_metrics, weight_column, regularizer: see `MultiClassHead` and `tfkit.heads.Head`; the
            regularizer applies to the output embeddings.
    """

    # TensorFlow's candidate samplers have no XLA kernel.
    xla_compatible = False

    def __init__(
        self,
        num_classes: int | None = None,
        num_sampled: int = 64,
        *,
        label_vocabulary=None,
        sampler: str = "log_uniform",
        unigram_counts=None,
        distortion: float = 1.0,
        remove_accidental_hits: bool = True,
        seed: int | None = None,
        top_k: int | None = 5,
        **kwargs,
    ):
        super().__init__(num_classes, label_vocabulary=label_vocabulary, top_k=top_k, **kwargs)
        where = self.where
        if self.soft_labels:
            raise ValueError(
                f"{where}: `soft_labels` must be False: sampled losses take class ids. Received: soft_labels=True."
            )
        if not is_count(num_sampled):
            raise ValueError(
                f"{where}: `num_sampled` must be a positive integer. Received: num_sampled={num_sampled!r}."
            )
        if num_sampled >= self.num_classes:
            raise ValueError(
                f"{where}: `num_sampled` must be smaller than `num_classes` ({self.num_classes}); sampling all "
                f"classes costs more than the full softmax. Received: num_sampled={num_sampled}. Use "
                "MultiClassHead for few classes."
            )
        if sampler not in SAMPLERS:
            raise ValueError(f"{where}: `sampler` must be one of {list(SAMPLERS)}. Received: sampler={sampler!r}.")
        if (sampler == "unigram") != (unigram_counts is not None):
            raise ValueError(
                f"{where}: `unigram_counts` must be given exactly when sampler='unigram'. "
                f"Received: sampler={sampler!r}, unigram_counts={'None' if unigram_counts is None else '[...]'}."
            )
        if unigram_counts is not None:
            unigram_counts = [float(count) for count in unigram_counts]
            positive = sum(count > 0 for count in unigram_counts)
            if len(unigram_counts) != self.num_classes or min(unigram_counts) < 0 or positive <= num_sampled:
                # Sampling num_sampled distinct classes needs more than num_sampled classes that can be drawn.
                raise ValueError(
                    f"{where}: `unigram_counts` must hold {self.num_classes} non-negative counts, more than "
                    f"num_sampled={num_sampled} of them positive. Received: {len(unigram_counts)} counts, "
                    f"{positive} positive."
                )
        if not is_number(distortion) or distortion <= 0:
            raise ValueError(f"{where}: `distortion` must be a positive number. Received: distortion={distortion!r}.")
        if not isinstance(remove_accidental_hits, bool):
            raise ValueError(
                f"{where}: `remove_accidental_hits` must be True or False. "
                f"Received: remove_accidental_hits={remove_accidental_hits!r}."
            )
        if seed is not None and not is_count(seed, minimum=0):
            raise ValueError(f"{where}: `seed` must be a non-negative integer or None. Received: seed={seed!r}.")
        self.num_sampled = num_sampled
        self.sampler = sampler
        self.unigram_counts = unigram_counts
        self.distortion = float(distortion)
        self.remove_accidental_hits = remove_accidental_hits
        self.seed = seed

    def make_projection(self, units: int, regularizer) -> keras.layers.Layer:
        return OutputEmbedding(units, embeddings_regularizer=regularizer, name="logits")

    @property
    def regularizer(self):
        return self.projection.embeddings_regularizer

    def sampled_loss(self, **arguments):
        """`tf.nn.sampled_softmax_loss` or `tf.nn.nce_loss`: per-example losses `[batch]`."""
        raise NotImplementedError

    def candidates(self, true_classes):
        """`(sampled, true_expected_count, sampled_expected_count)` from the proposal distribution."""
        common = dict(
            true_classes=true_classes,
            num_true=1,
            num_sampled=self.num_sampled,
            unique=True,
            range_max=self.num_classes,
            seed=self.seed,
        )
        if self.sampler == "log_uniform":
            return tf.random.log_uniform_candidate_sampler(**common)
        if self.sampler == "uniform":
            return tf.random.uniform_candidate_sampler(**common)
        return tf.random.fixed_unigram_candidate_sampler(
            **common, unigrams=self.unigram_counts, distortion=self.distortion
        )

    def compute_loss(self, hidden, labels, sample_weight=None, training=False):
        """The sampled loss while `training` (the full logits are never computed); the full softmax otherwise."""
        if not training:
            return super().compute_loss(hidden, labels, sample_weight)
        hidden = tf.cast(hidden, self.compute_dtype)  # a mixed-precision body's bfloat16/float16, in the head's float32
        if not self.built:
            self.build(hidden.shape)
        true_classes = tf.reshape(self.prepare_labels(labels), (-1, 1))
        L.check_batch(self.where, true_classes, hidden)
        per_example = self.sampled_loss(
            # The tf.Variables themselves, so the rows are read with a sparse gather (an IndexedSlices gradient).
            weights=self.projection.embeddings.value,
            biases=self.projection.bias.value,
            labels=true_classes,
            inputs=hidden,
            num_sampled=self.num_sampled,
            num_classes=self.num_classes,
            sampled_values=self.candidates(true_classes),
            remove_accidental_hits=self.remove_accidental_hits,
        )
        return mean_loss(per_example, sample_weight)

    def serving_outputs(self, logits) -> dict:
        """The most probable class (`class_ids`, `classes`), and with `top_k` the `top_k_class_ids`,
        `top_k_probabilities` and `top_k_classes` `[batch, top_k]`: never a `[batch, num_classes]` tensor."""
        logits = tf.convert_to_tensor(logits)
        outputs = {key: value for key, value in self.predictions(logits).items() if key in ("class_ids", "classes")}
        if self.top_k is not None:
            top_logits, top_ids = tf.math.top_k(logits, k=min(self.top_k, self.num_classes))
            top_ids = tf.cast(top_ids, tf.int64)
            outputs.update(
                top_k_class_ids=top_ids,
                top_k_probabilities=tf.exp(top_logits - tf.reduce_logsumexp(logits, axis=-1, keepdims=True)),
                top_k_classes=L.class_names(top_ids, self.label_vocabulary),
            )
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            num_sampled=self.num_sampled,
            sampler=self.sampler,
            unigram_counts=self.unigram_counts,
            distortion=self.distortion,
            remove_accidental_hits=self.remove_accidental_hits,
            seed=self.seed,
        )
        return config


@keras.saving.register_keras_serializable(package="tfkit")
class SampledSoftmaxHead(SampledHead):
    """A softmax classifier over very many classes, trained with `tf.nn.sampled_softmax_loss`.

    While training, each example's softmax runs over its true class and `num_sampled` sampled ones, with logits
    corrected by the log of their sampling probabilities (so the expected gradient approaches the full one).
    For evaluation, prediction and export it is the full softmax over the same weights. Arguments: see
    `SampledHead`.

    >>> import numpy as np
    >>> head = SampledSoftmaxHead(num_classes=1000, num_sampled=20, seed=1)
    >>> hidden, labels = np.ones((4, 8), "float32"), np.array([3, 14, 159, 265])
    >>> loss = head.compute_loss(hidden, labels, training=True)  # 4 true + 20 sampled rows of 1000
    >>> tuple(head.projection.embeddings.shape), tuple(head(hidden).shape)
    ((1000, 8), (4, 1000))
    """

    def __init__(self, num_classes: int | None = None, num_sampled: int = 64, **kwargs):
        kwargs.setdefault("name", "sampled_softmax_head")
        super().__init__(num_classes, num_sampled, **kwargs)

    def sampled_loss(self, **arguments):
        return tf.nn.sampled_softmax_loss(**arguments)


@keras.saving.register_keras_serializable(package="tfkit")
class NCEHead(SampledHead):
    """A classifier over very many classes, trained with noise-contrastive estimation (`tf.nn.nce_loss`).

    While training, each example's true class and `num_sampled` noise classes are scored by independent
    logistic regressions (true vs. noise). For evaluation, prediction and export it is the full softmax over
    the same weights. Arguments: see `SampledHead`.

    >>> import numpy as np
    >>> head = NCEHead(num_classes=1000, num_sampled=20, seed=1)
    >>> loss = head.compute_loss(np.ones((4, 8), "float32"), np.array([3, 14, 159, 265]), training=True)
    >>> float(loss) > 0
    True
    """

    def __init__(self, num_classes: int | None = None, num_sampled: int = 64, **kwargs):
        kwargs.setdefault("name", "nce_head")
        super().__init__(num_classes, num_sampled, **kwargs)

    def sampled_loss(self, **arguments):
        return tf.nn.nce_loss(**arguments)
