"""BinaryHead, MultiClassHead and MultiLabelHead: losses and metrics by hand, label forms, errors."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfkit.heads import BinaryHead, MultiClassHead, MultiLabelHead
from tfkit.metrics import ClassPrecision, ClassRecall


def _identity(head, width):
    """`head` with logits = hidden, so tests choose the logits."""
    head.build((None, width))
    head.projection.set_weights([np.eye(width, head.units), np.zeros(head.units)])
    return head


def softplus(z):
    return math.log1p(math.exp(z))


def _metrics(head, labels, logits, sample_weight=None):
    metrics = head.make_metrics()
    head.update_metrics(metrics, head.prepare_labels(labels), np.asarray(logits, "float32"), sample_weight)
    return {metric.name: float(metric.result()) for metric in metrics}


# -- BinaryHead -------------------------------------------------------------------------------------------


def test_binary_loss_by_hand_with_string_labels():
    head = _identity(BinaryHead(label_vocabulary=["no", "yes"]), 1)
    hidden = np.array([[2.0], [-1.0]], "float32")
    # sigmoid cross-entropy: "yes" (1) at logit 2 costs softplus(-2) = 0.126928; "no" (0) at -1 costs
    # softplus(-1) = 0.313262; mean 0.220095
    expected = (softplus(-2.0) + softplus(-1.0)) / 2
    assert float(head.compute_loss(hidden, np.array(["yes", "no"]))) == pytest.approx(expected, rel=1e-5)
    assert float(head.compute_loss(hidden, np.array([1, 0]))) == pytest.approx(expected, rel=1e-5)


def test_binary_metrics_and_predictions_at_a_threshold():
    head = _identity(BinaryHead(threshold=0.8), 1)
    logits = [[2.0], [-1.0], [1.0]]  # probabilities 0.8808, 0.2689, 0.7311
    metrics = _metrics(head, np.array([1, 0, 1]), logits)
    # at 0.8 only the first is positive: predictions [1, 0, 0] against labels [1, 0, 1]
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["precision"] == pytest.approx(1.0)  # 1 true positive / 1 predicted positive
    assert metrics["recall"] == pytest.approx(0.5)  # 1 true positive / 2 positives
    assert metrics["auc"] == pytest.approx(1.0) and metrics["auc_precision_recall"] == pytest.approx(1.0, abs=0.01)
    # mean probability (0.8808 + 0.2689 + 0.7311) / 3 = 0.62694, minus mean label 2/3
    sigmoid = [1 / (1 + math.exp(-z[0])) for z in logits]
    assert metrics["prediction_bias"] == pytest.approx(sum(sigmoid) / 3 - 2 / 3, abs=1e-5)
    predictions = head.predictions(np.array(logits, "float32"))
    assert predictions["class_ids"].numpy().tolist() == [1, 0, 0]
    assert predictions["classes"].numpy().tolist() == [b"1", b"0", b"0"]
    np.testing.assert_allclose(predictions["probabilities"][:, 1], sigmoid, rtol=1e-6)
    np.testing.assert_allclose(predictions["probabilities"].numpy().sum(axis=1), 1.0, rtol=1e-6)


def test_binary_sample_weights_weight_loss_and_metrics():
    head = _identity(BinaryHead(), 1)
    hidden, labels, weights = np.array([[2.0], [-1.0]], "float32"), np.array([1, 1]), np.array([3.0, 0.0])
    # (3 * softplus(-2) + 0 * softplus(1)) / 2
    assert float(head.compute_loss(hidden, labels, weights)) == pytest.approx(3 * softplus(-2.0) / 2, rel=1e-5)
    assert _metrics(head, labels, hidden, weights)["accuracy"] == 1.0  # the misclassified example weighs 0


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 2]), r"BinaryHead: `labels` must be 0 or 1. Received: labels=\[0.0, 2.0\]"),
        (np.array(["yes", "maybe"]), r"must be in `label_vocabulary` \['no', 'yes'\]. Received: labels=\['maybe'\]"),
        (np.zeros((2, 2)), r"`labels` must have shape \[batch\] or \[batch, 1\]. Received: labels.shape=\(2, 2\)"),
    ],
)
def test_binary_bad_labels_are_named(labels, message):
    with pytest.raises(ValueError, match=message):
        BinaryHead(label_vocabulary=["no", "yes"]).prepare_labels(labels)


def test_string_labels_without_a_vocabulary_are_explained():
    with pytest.raises(ValueError, match=r"string labels need `label_vocabulary`"):
        BinaryHead().prepare_labels(np.array(["yes"]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label_vocabulary": ["a", "b", "c"]}, r"exactly 2 labels"),
        ({"label_vocabulary": ["a", "a"]}, r"`label_vocabulary` must not repeat a label; \['a'\]"),
        ({"label_vocabulary": "ab"}, r"`label_vocabulary` must be a list of strings"),
        ({"threshold": 1.0}, r"`threshold` must be a number in \(0, 1\). Received: threshold=1.0"),
    ],
)
def test_binary_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BinaryHead(**kwargs)


# -- MultiClassHead ---------------------------------------------------------------------------------------

# The example: logits [[10, 0, 0], [0, 10, 0]], both labelled class 0.
LOGITS = np.array([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0]], "float32")
EASY = math.log(1 + 2 * math.exp(-10))  # -log(e^10 / (e^10 + 2)) = 9.0799e-05: right, and confident
HARD = 10 + EASY  # -log(1 / (e^10 + 2)) = log(e^10 + 2) = 10.0000908: wrong, and confident


def test_softmax_loss_by_hand():
    head = _identity(MultiClassHead(3), 3)
    # (9.0799e-05 + 10.0000908) / 2 = 5.0000908
    assert float(head.compute_loss(LOGITS, np.array([0, 0]))) == pytest.approx((EASY + HARD) / 2, rel=1e-6)
    # sample weights 0 and 2: (0 * EASY + 2 * HARD) / 2 = 10.0000908
    assert float(head.compute_loss(LOGITS, np.array([0, 0]), np.array([0.0, 2.0]))) == pytest.approx(HARD, rel=1e-6)


def test_string_and_integral_float_labels_give_the_same_loss():
    named = _identity(MultiClassHead(label_vocabulary=["cat", "dog", "eel"]), 3)
    expected = (EASY + HARD) / 2
    assert float(named.compute_loss(LOGITS, np.array(["cat", "cat"]))) == pytest.approx(expected, rel=1e-6)
    # pandas and CSV deliver ids as floats
    assert float(named.compute_loss(LOGITS, np.array([[0.0], [0.0]]))) == pytest.approx(expected, rel=1e-6)


def test_soft_labels_loss_by_hand():
    head = _identity(MultiClassHead(3, soft_labels=True), 3)
    labels = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], "float32")
    # row 1: 0.5 * -log p0 + 0.5 * -log p1 = 0.5 * EASY + 0.5 * HARD; row 2: -log p2 of [0, 10, 0] = HARD
    expected = ((EASY + HARD) / 2 + HARD) / 2  # 7.5000908
    assert float(head.compute_loss(LOGITS, labels)) == pytest.approx(expected, rel=1e-6)


def test_multiclass_metrics_by_hand():
    head = _identity(MultiClassHead(label_vocabulary=["a", "b", "c"], top_k=2, per_class_metrics=True), 3)
    logits = [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0], [2.0, 1.0, 3.0], [1.0, 3.0, 2.0]]  # argmax a, a, c, b
    metrics = _metrics(head, np.array(["a", "b", "b", "c"]), logits)
    assert metrics["accuracy"] == pytest.approx(0.25)  # only the first
    # top 2: {a, b} holds a and b (rows 0, 1); {c, a} misses b (row 2); {b, c} holds c (row 3)
    assert metrics["top_2_accuracy"] == pytest.approx(0.75)
    assert metrics["precision_a"] == pytest.approx(0.5)  # predicted a twice, right once
    assert metrics["recall_b"] == pytest.approx(0.0)  # b labelled twice, never predicted
    assert metrics["precision_c"] == pytest.approx(0.0) and metrics["recall_a"] == pytest.approx(1.0)
    predictions = head.predictions(np.array(logits, "float32"))
    assert predictions["classes"].numpy().tolist() == [b"a", b"a", b"c", b"b"]
    assert predictions["class_ids"].numpy().tolist() == [0, 0, 2, 1]


def test_multiclass_metrics_weigh_examples():
    head = _identity(MultiClassHead(3, top_k=2), 3)
    # both labelled 0; only the second (predicted 1, wrong; 0 is its 2nd-best) counts
    metrics = _metrics(head, np.array([0, 0]), [[10.0, 0.0, 0.0], [1.0, 10.0, 0.0]], np.array([0.0, 1.0]))
    assert (metrics["accuracy"], metrics["top_2_accuracy"]) == (0.0, 1.0)


def test_soft_labels_are_scored_against_their_most_probable_class():
    head = _identity(MultiClassHead(3, soft_labels=True), 3)
    labels = np.array([[0.7, 0.3, 0.0], [0.1, 0.1, 0.8]], "float32")
    assert _metrics(head, labels, LOGITS)["accuracy"] == pytest.approx(0.5)  # argmaxes 0, 2 vs predicted 0, 1


def test_top_k_accuracy_only_when_k_is_below_the_class_count():
    assert [m.name for m in MultiClassHead(3).make_metrics()] == ["accuracy"]
    assert [m.name for m in MultiClassHead(10, top_k=3).make_metrics()] == ["accuracy", "top_3_accuracy"]


def test_class_precision_and_recall_weigh_examples():
    y_true, y_pred, weights = [1, 1, 0], [[0.2, 0.8], [0.9, 0.1], [0.3, 0.7]], [1.0, 2.0, 3.0]
    precision, recall = ClassPrecision(1), ClassRecall(1)
    precision.update_state(y_true, y_pred, weights)
    recall.update_state(y_true, y_pred, weights)
    assert float(precision.result()) == pytest.approx(1 / 4)  # predicted 1: rows 0 (w 1, right), 2 (w 3, wrong)
    assert float(recall.result()) == pytest.approx(1 / 3)  # labelled 1: rows 0 (w 1, found), 1 (w 2, missed)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 3]), r"MultiClassHead: `labels` must be class ids in \[0, 3\). Received: labels=\[0, 3\]"),
        (np.array([-1, 0]), r"class ids in \[0, 3\). Received: labels=\[-1, 0\]"),
        (np.array([0.5, 1.0]), r"`labels` must be integer class ids. Received: labels=\[0.5, 1.0\]"),
        (np.zeros((2, 3)), r"shape \[batch\] or \[batch, 1\] \(class ids\).*use soft_labels=True"),
    ],
)
def test_multiclass_bad_labels_are_named(labels, message):
    with pytest.raises(ValueError, match=message):
        MultiClassHead(3).prepare_labels(labels)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([[0.5, 0.4, 0.0]]), r"each row must sum to 1 .* Received: sum\(labels, axis=-1\)=\[0.9\]"),
        (np.array([[1.5, -0.5, 0.0]]), r"must be non-negative"),
        (np.array([[0.5, 0.5]]), r"`labels` must have shape \[batch, 3\] \(soft_labels=True\). .*\(1, 2\)"),
    ],
)
def test_bad_soft_labels_are_named(labels, message):
    with pytest.raises(ValueError, match=message):
        MultiClassHead(3, soft_labels=True).prepare_labels(labels)


def test_logits_and_labels_of_different_batch_sizes_are_refused():
    head = _identity(MultiClassHead(3), 3)
    with pytest.raises(ValueError, match=r"same batch size. Received: labels.shape=\(3,\), logits.shape=\(2, 3\)"):
        head.compute_loss(LOGITS, np.array([0, 1, 2]))


def test_bad_labels_inside_tf_data_fail_with_the_same_message():
    head = MultiClassHead(label_vocabulary=["cat", "dog"])
    dataset = tf.data.Dataset.from_tensors(tf.constant(["dog", "emu"])).map(head.prepare_labels)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"every label must be in `label_vocabulary`.*emu"):
        list(dataset)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_classes": 1}, r"`num_classes` must be an integer >= 2 .* Received: num_classes=1"),
        ({"num_classes": 3, "label_vocabulary": ["a", "b"]}, r"`num_classes` must equal len\(label_vocabulary\) = 2"),
        ({"label_vocabulary": ["a", "b", "a"]}, r"MultiClassHead: `label_vocabulary` must not repeat a label; \['a'\]"),
        ({"num_classes": 3, "top_k": 0}, r"`top_k` must be a positive integer or None"),
        ({"num_classes": 3, "soft_labels": "yes"}, r"`soft_labels` must be True or False"),
    ],
)
def test_multiclass_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiClassHead(**kwargs)


# -- MultiLabelHead ---------------------------------------------------------------------------------------


def test_multilabel_loss_by_hand():
    head = _identity(MultiLabelHead(3), 3)
    hidden, labels = np.array([[2.0, -1.0, 0.0]], "float32"), np.array([[1, 0, 1]])
    # per class: softplus(-2) = 0.126928 (1 at 2), softplus(-1) = 0.313262 (0 at -1), log 2 (1 at 0); mean 0.377779
    expected = (softplus(-2.0) + softplus(-1.0) + math.log(2)) / 3
    assert float(head.compute_loss(hidden, labels)) == pytest.approx(expected, rel=1e-5)


def test_multilabel_label_forms_agree():
    head = MultiLabelHead(label_vocabulary=["news", "sport", "tech"])
    multi_hot = [[0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    names = tf.ragged.constant([["tech", "sport", "tech"], [], ["news"]])  # a repeat counts once
    sparse_ids = tf.SparseTensor(indices=[[0, 0], [0, 1], [2, 0]], values=[2, 1, 0], dense_shape=[3, 2])
    for labels in (np.array(multi_hot), names, sparse_ids):
        assert head.prepare_labels(labels).numpy().tolist() == multi_hot


def test_multilabel_metrics_by_hand():
    head = _identity(MultiLabelHead(3), 3)
    metrics = _metrics(head, np.array([[1, 0, 1], [0, 1, 0]]), [[2.0, -1.0, 0.0], [-2.0, 1.0, -3.0]])
    # probabilities > 0.5: [1, 0, 0] and [0, 1, 0] against [1, 0, 1] and [0, 1, 0]: 5 of 6 cells right
    assert metrics["accuracy"] == pytest.approx(5 / 6)
    assert metrics["precision"] == pytest.approx(1.0) and metrics["recall"] == pytest.approx(2 / 3)
    assert 0.0 <= metrics["auc"] <= 1.0
    predictions = head.predictions(np.array([[2.0, -1.0, 0.0]], "float32"))
    assert predictions["predictions"].numpy().tolist() == [[1, 0, 0]]


def test_multilabel_auc_is_the_mean_of_each_class_auc():
    head = _identity(MultiLabelHead(3), 3)
    labels = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    logits = [[2.0, -1.0, 0.0], [-2.0, 1.0, -3.0], [-1.0, 0.5, 1.0]]
    # per class, the share of (positive, negative) pairs ranked right: class 0, positives at 2 and -1 above the
    # negative at -2: 1; class 1, positives at 1 and 0.5 above -1: 1; class 2, the positive at 0 is above -3 but
    # below 1: 1/2. AUC(multi_label=True) averages them: (1 + 1 + 0.5) / 3 = 0.8333 (a pooled AUC would differ).
    assert _metrics(head, labels, logits)["auc"] == pytest.approx(2.5 / 3, abs=2e-3)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([[1, 2, 0]]), r"multi-hot `labels` must be 0 or 1. Received: labels=\[1.0, 2.0, 0.0\]"),
        (np.array([[1, 0]]), r"`labels` must have shape \[batch, 3\] \(multi-hot\). Received: labels.shape=\(1, 2\)"),
        (tf.ragged.constant([[0, 3]]), r"`labels` must be class ids in \[0, 3\). Received: labels=\[0, 3\]"),
    ],
)
def test_multilabel_bad_labels_are_named(labels, message):
    with pytest.raises(ValueError, match=message):
        MultiLabelHead(3).prepare_labels(labels)
