"""SampledSoftmaxHead and NCEHead: sampled losses by hand, full-softmax parity, sparse updates, errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfkit.heads import MultiClassHead, NCEHead, SampledSoftmaxHead
from tfkit.models import HeadModel

HIDDEN = np.array([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0]], "float32")
EASY = math.log(1 + 2 * math.exp(-10))  # softmax loss of the right class at logit 10 vs two at 0
HARD = 10 + EASY  # softmax loss of a class at logit 0 vs one at 10 and one at 0


def _with_candidates(head_class, sampled, expected_true, expected_sampled, **kwargs):
    """A head over 3 classes with logits = hidden, whose sampler always draws `sampled`."""

    class FixedCandidates(head_class):
        def candidates(self, true_classes):
            true_expected = tf.fill(tf.shape(true_classes), tf.constant(expected_true, tf.float32))
            return tf.constant(sampled, tf.int64), true_expected, tf.constant(expected_sampled, tf.float32)

    head = FixedCandidates(3, num_sampled=len(sampled), **kwargs)
    head.build((None, 3))
    head.projection.set_weights([np.eye(3), np.zeros(3)])
    return head


def test_sampled_softmax_loss_by_hand():
    head = _with_candidates(SampledSoftmaxHead, [1, 2], 1.0, [1.0, 1.0])
    # Label 0 and sampled classes {1, 2}, all drawn with expected count 1 (log 1 = 0 correction): the softmax
    # runs over logits [z0, z1, z2], so on [[10, 0, 0], [0, 10, 0]] it is the full loss, (EASY + HARD) / 2.
    loss = head.compute_loss(HIDDEN, np.array([0, 0]), training=True)
    assert float(loss) == pytest.approx((EASY + HARD) / 2, rel=1e-6)


def test_sampled_softmax_subtracts_the_log_expected_counts():
    head = _with_candidates(SampledSoftmaxHead, [1, 2], 0.5, [2.0, 0.25])
    # logits [2, 0, 0] corrected by -log(expected count): [2 + ln 2, -ln 2, ln 4]; for label 0,
    # -log softmax = log(1 + exp(-ln 2 - 2 - ln 2) + exp(ln 4 - 2 - ln 2)) = log(1 + 2.25 e^-2) = 0.2679
    expected = math.log(1 + 2.25 * math.exp(-2))
    loss = head.compute_loss(np.array([[2.0, 0.0, 0.0]], "float32"), np.array([0]), training=True)
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_accidental_hits_are_removed_by_default():
    # Class 0 is the label and is also drawn: with the hit removed, only class 1 is a negative.
    removed = _with_candidates(SampledSoftmaxHead, [0, 1], 1.0, [1.0, 1.0])
    kept = _with_candidates(SampledSoftmaxHead, [0, 1], 1.0, [1.0, 1.0], remove_accidental_hits=False)
    hidden, labels = np.array([[2.0, 0.0, 0.0]], "float32"), np.array([0])
    # removed: softmax over [z0, z1] = [2, 0]: log(1 + e^-2) = 0.1269; kept: over [z0, z0, z1]: log(2 + e^-2)
    assert float(removed.compute_loss(hidden, labels, training=True)) == pytest.approx(math.log(1 + math.exp(-2)))
    assert float(kept.compute_loss(hidden, labels, training=True)) == pytest.approx(math.log(2 + math.exp(-2)))


def test_nce_loss_by_hand():
    head = _with_candidates(NCEHead, [1, 2], 1.0, [1.0, 1.0])
    # NCE: a logistic regression of the true class (label 1) and each sampled one (label 0), logits corrected by
    # log 1 = 0: softplus(-10) + softplus(0) + softplus(0) = 4.54e-05 + 2 ln 2 = 1.3863398
    expected = math.log1p(math.exp(-10)) + 2 * math.log(2)
    assert float(head.compute_loss(HIDDEN[:1], np.array([0]), training=True)) == pytest.approx(expected, rel=1e-6)


def test_sample_weights_weight_the_sampled_loss():
    head = _with_candidates(SampledSoftmaxHead, [1, 2], 1.0, [1.0, 1.0])
    # (0 * EASY + 2 * HARD) / 2, as for every head
    loss = head.compute_loss(HIDDEN, np.array([0, 0]), sample_weight=np.array([0.0, 2.0]), training=True)
    assert float(loss) == pytest.approx(HARD, rel=1e-6)


def _twins(head_class, num_classes=50, width=8, seed=0):
    """A sampled head and a MultiClassHead holding the same weights (a Dense kernel is the transpose)."""
    rng = np.random.default_rng(seed)
    embeddings, bias = rng.normal(size=(num_classes, width)), rng.normal(size=num_classes)
    sampled, full = head_class(num_classes, num_sampled=5, top_k=3), MultiClassHead(num_classes, top_k=3)
    for head, weights in ((sampled, [embeddings, bias]), (full, [embeddings.T, bias])):
        head.build((None, width))
        head.projection.set_weights(weights)
    return sampled, full


@pytest.mark.parametrize("head_class", [SampledSoftmaxHead, NCEHead])
def test_evaluation_is_the_full_softmax_of_a_multiclass_head_on_the_same_weights(head_class):
    sampled, full = _twins(head_class)
    rng = np.random.default_rng(1)
    hidden, labels = rng.normal(size=(64, 8)).astype("float32"), rng.integers(0, 50, 64)
    np.testing.assert_allclose(sampled(hidden), full(hidden), rtol=1e-5, atol=1e-5)
    expected = float(full.compute_loss(hidden, labels))
    assert float(sampled.compute_loss(hidden, labels)) == pytest.approx(expected, rel=1e-5)
    assert float(sampled.compute_loss(hidden, labels, training=True)) != pytest.approx(expected, rel=1e-3)

    # The same through Keras: HeadModel.evaluate gives the loss and metrics a MultiClassHead model gives.
    results = []
    for head in (sampled, full):
        inputs = keras.Input((8,))
        model = HeadModel(keras.Model(inputs, inputs), head)
        model.compile()
        results.append(model.evaluate(hidden, labels, batch_size=16, verbose=0, return_dict=True))
    assert results[0] == pytest.approx(results[1], rel=1e-5)
    assert results[0]["loss"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("head_class", [SampledSoftmaxHead, NCEHead])
def test_training_gradient_touches_only_the_true_and_sampled_rows(head_class):
    head = head_class(10_000, num_sampled=16, seed=3)
    hidden, labels = np.ones((4, 8), "float32"), np.array([5, 500, 5000, 9999])
    head.build((None, 8))
    with tf.GradientTape() as tape:
        loss = head.compute_loss(hidden, labels, training=True)
    gradient = tape.gradient(loss, head.projection.embeddings.value)
    assert isinstance(gradient, tf.IndexedSlices)  # a sparse update: no [10000, 8] dense gradient
    rows = set(gradient.indices.numpy().tolist())
    assert set(labels.tolist()) <= rows and len(rows) <= 4 + 16


def test_serving_outputs_are_the_top_k_classes():
    sampled, full = _twins(SampledSoftmaxHead)
    hidden = np.random.default_rng(2).normal(size=(5, 8)).astype("float32")
    outputs = sampled.serving_outputs(sampled(hidden))
    probabilities = full.predictions(full(hidden))["probabilities"].numpy()
    expected_ids = np.argsort(-probabilities, axis=1)[:, :3]
    np.testing.assert_array_equal(outputs["top_k_class_ids"], expected_ids)
    np.testing.assert_allclose(
        outputs["top_k_probabilities"], np.take_along_axis(probabilities, expected_ids, axis=1), rtol=1e-5
    )
    np.testing.assert_array_equal(outputs["class_ids"], expected_ids[:, 0])
    assert outputs["top_k_classes"].numpy()[0, 0] == str(expected_ids[0, 0]).encode()
    assert "probabilities" not in outputs  # never [batch, num_classes] from a server


@pytest.mark.parametrize("sampler", ["log_uniform", "uniform", "unigram"])
def test_every_sampler_trains(sampler):
    counts = list(range(1, 101)) if sampler == "unigram" else None
    head = SampledSoftmaxHead(100, 10, sampler=sampler, unigram_counts=counts, distortion=0.75, seed=0)
    loss = head.compute_loss(np.ones((3, 4), "float32"), np.array([0, 50, 99]), training=True)
    assert np.isfinite(float(loss))
    assert SampledSoftmaxHead.from_config(head.get_config()).get_config() == head.get_config()


def test_jit_compile_is_refused_for_sampled_heads():
    inputs = keras.Input((4,))
    model = HeadModel(keras.Model(inputs, inputs), SampledSoftmaxHead(100, 10))
    with pytest.raises(ValueError, match=r"`jit_compile` must be False or 'auto' with a SampledSoftmaxHead"):
        model.compile(jit_compile=True)
    model.compile()  # "auto" resolves to no XLA
    assert model.jit_compile is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"num_classes": 10, "num_sampled": 10},
            r"SampledSoftmaxHead: `num_sampled` must be smaller than `num_classes` \(10\).*Received: num_sampled=10",
        ),
        ({"num_classes": 10, "num_sampled": 0}, r"`num_sampled` must be a positive integer"),
        ({"num_classes": 10, "num_sampled": 2, "sampler": "zipf"}, r"`sampler` must be one of"),
        ({"num_classes": 10, "num_sampled": 2, "sampler": "unigram"}, r"`unigram_counts` must be given exactly when"),
        (
            {"num_classes": 10, "num_sampled": 2, "sampler": "unigram", "unigram_counts": [1, 2]},
            r"`unigram_counts` must hold 10 non-negative counts.*Received: 2 counts, 2 positive",
        ),
        (
            {"num_classes": 4, "num_sampled": 2, "sampler": "unigram", "unigram_counts": [5, 0, 1, 0]},
            r"more than num_sampled=2 of them positive. Received: 4 counts, 2 positive",
        ),
        ({"num_classes": 10, "num_sampled": 2, "soft_labels": True}, r"`soft_labels` must be False"),
        ({"label_vocabulary": ["a", "b", "a"], "num_sampled": 1}, r"`label_vocabulary` must not repeat a label"),
        ({"num_classes": 10, "num_sampled": 2, "seed": "s"}, r"`seed` must be a non-negative integer.*seed='s'"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SampledSoftmaxHead(**kwargs)


def test_labels_outside_the_classes_are_named_while_training():
    with pytest.raises(
        ValueError, match=r"NCEHead: `labels` must be class ids in \[0, 100\). Received: labels=\[100\]"
    ):
        NCEHead(100, 10).compute_loss(np.ones((1, 4), "float32"), np.array([100]), training=True)


def _prototype_problem(num_classes, rows, seed=0, width=16):
    """Inputs near one random prototype per class; classes drawn Zipf-like (log-uniform), as the sampler assumes."""
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(123).normal(size=(num_classes, width)).astype("float32")
    classes = np.minimum(np.floor(np.exp(rng.uniform(size=rows) * np.log(num_classes + 1))) - 1, num_classes - 1)
    classes = classes.astype("int64")
    return prototypes[classes] + 0.5 * rng.normal(size=(rows, width)).astype("float32"), classes


def _top5_after_training(head, train, test):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16,))
    model = HeadModel(keras.Model(inputs, keras.layers.Dense(16)(inputs)), head)
    model.compile(optimizer=keras.optimizers.Adam(0.02), steps_per_execution=10)
    model.fit(*train, batch_size=256, epochs=2, verbose=0)
    return model.evaluate(*test, batch_size=1024, verbose=0, return_dict=True)["top_5_accuracy"]


def test_sampled_training_reaches_the_accuracy_of_full_softmax():
    # A small version of bench/sampled_softmax.py's 100,000-class comparison (which takes minutes here).
    train, test = _prototype_problem(1000, 200 * 256, seed=0), _prototype_problem(1000, 4096, seed=1)
    full = _top5_after_training(MultiClassHead(1000, top_k=5), train, test)
    sampled = _top5_after_training(SampledSoftmaxHead(1000, 128, top_k=5, seed=1), train, test)
    nce = _top5_after_training(NCEHead(1000, 128, top_k=5, seed=1), train, test)
    assert full > 0.9  # the problem is learnable: chance is 5 / 1000
    assert sampled >= full - 0.02
    assert nce > 0.5  # NCE learns too, more slowly (its scores are not trained to be a normalized softmax)
