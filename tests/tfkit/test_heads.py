"""Every head's contract (the shared harness), `tfkit.heads.get`, and RegressionHead by hand."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfkit.heads import (
    BinaryHead,
    MultiClassHead,
    MultiLabelHead,
    NCEHead,
    RegressionHead,
    SampledSoftmaxHead,
    get,
)
from tfkit.metrics import PredictionBias
from tfkit.testing import check_head

# (head factory, raw labels for a batch of 3): every head, with the label forms it accepts.
CONFORMANCE = {
    "regression": (lambda: RegressionHead(), np.array([1.0, 2.0, 3.0], "float32")),
    "poisson_2d": (lambda: RegressionHead(label_dimension=2, loss="poisson"), np.array([[0, 1], [2, 3], [4, 5]])),
    "binary_vocabulary": (lambda: BinaryHead(label_vocabulary=["no", "yes"]), np.array(["yes", "no", "yes"])),
    "multiclass_ids": (lambda: MultiClassHead(4, per_class_metrics=True), np.array([0.0, 3.0, 1.0])),
    "multiclass_soft": (
        lambda: MultiClassHead(label_vocabulary=["a", "b", "c"], soft_labels=True),
        np.array([[0.2, 0.8, 0.0], [1.0, 0.0, 0.0], [0.3, 0.3, 0.4]], "float32"),
    ),
    "multilabel_names": (
        lambda: MultiLabelHead(label_vocabulary=["news", "sport", "tech"]),
        tf.ragged.constant([["sport", "tech"], [], ["news"]]),
    ),
    "sampled_softmax": (lambda: SampledSoftmaxHead(50, 5, seed=1), np.array([0, 49, 7])),
    "nce": (
        lambda: NCEHead(label_vocabulary=[f"c{i}" for i in range(20)], num_sampled=3),
        np.array(["c1", "c0", "c19"]),
    ),
}


@pytest.mark.parametrize("case", sorted(CONFORMANCE))
def test_every_head_passes_the_conformance_harness(case, tmp_path):
    make, labels = CONFORMANCE[case]
    hidden = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    check_head(make(), hidden, labels, str(tmp_path))


def test_get_builds_heads_from_names_and_configs():
    assert isinstance(get("regression"), RegressionHead) and isinstance(get("binary"), BinaryHead)
    head = get({"class_name": "SampledSoftmaxHead", "config": {"num_classes": 100, "num_sampled": 10}})
    assert (type(head), head.num_classes, head.num_sampled) == (SampledSoftmaxHead, 100, 10)
    with pytest.raises(ValueError, match=r"`identifier` must be a head.*Received: identifier='softmax'"):
        get("softmax")


@keras.saving.register_keras_serializable(package="test_heads")
class _DoubledRegressionHead(RegressionHead):
    """A user's own head, registered with Keras under its own package."""


def test_get_finds_heads_through_keras_serialization_registry():
    head = get({"class_name": "test_heads>_DoubledRegressionHead", "config": {"label_dimension": 2}})
    assert type(head) is _DoubledRegressionHead and head.units == 2
    # A registered Keras object that is not a head is refused, as an unknown name is.
    with pytest.raises(ValueError, match=r"`identifier` must be a head"):
        get({"class_name": "tfkit>LazyAdam", "config": {}})


def _head_with_identity_projection(**kwargs):
    head = RegressionHead(**kwargs)
    head.build((None, 1))
    head.projection.set_weights([np.ones((1, 1)), np.zeros(1)])  # logits = hidden
    return head


def test_mse_loss_by_hand():
    head = _head_with_identity_projection()
    hidden, labels = np.array([[1.0], [4.0]], "float32"), np.array([2.0, 2.0], "float32")
    # ((1 - 2)**2 + (4 - 2)**2) / 2 = (1 + 4) / 2 = 2.5
    assert float(head.compute_loss(hidden, labels)) == pytest.approx(2.5)


def test_sample_weights_scale_the_loss():
    head = _head_with_identity_projection()
    hidden, labels = np.array([[1.0], [4.0]], "float32"), np.array([2.0, 2.0], "float32")
    # Keras averages weighted losses over the batch: (0 * 1 + 1 * 4) / 2 = 2.0
    assert float(head.compute_loss(hidden, labels, sample_weight=np.array([0.0, 1.0]))) == pytest.approx(2.0)


def test_mae_loss_by_hand():
    head = _head_with_identity_projection(loss="mae")
    # (|1 - 2| + |4 - 2|) / 2 = 1.5
    assert float(head.compute_loss(np.array([[1.0], [4.0]], "float32"), np.array([2.0, 2.0]))) == pytest.approx(1.5)


def test_huber_loss_by_hand():
    head = _head_with_identity_projection(loss="huber")
    # errors 0.5 and 3 with delta 1: 0.5 * 0.5**2 = 0.125 (quadratic), 3 - 0.5 = 2.5 (linear); mean 1.3125
    assert float(head.compute_loss(np.array([[2.5], [5.0]], "float32"), np.array([2.0, 2.0]))) == pytest.approx(1.3125)


def test_poisson_head_predicts_rates_from_log_rates():
    head = _head_with_identity_projection(loss="poisson")
    hidden, labels = np.array([[0.0], [math.log(2.0)]], "float32"), np.array([1.0, 3.0])
    # exp(z) - y * z per example: 1 - 0 = 1 and 2 - 3 ln 2 = -0.0794; mean (3 - 3 ln 2) / 2 = 0.46028
    assert float(head.compute_loss(hidden, labels)) == pytest.approx((3 - 3 * math.log(2)) / 2, rel=1e-5)
    np.testing.assert_allclose(head.predictions(head(hidden))["predictions"], [1.0, 2.0], rtol=1e-6)


def test_metrics_by_hand():
    head = _head_with_identity_projection()
    metrics = head.make_metrics()
    head.update_metrics(metrics, head.prepare_labels(np.array([2.0, 2.0])), np.array([[1.0], [4.0]], "float32"))
    rmse, mae, bias = (float(metric.result()) for metric in metrics)
    assert rmse == pytest.approx(2.5**0.5)  # sqrt((1 + 4) / 2)
    assert mae == pytest.approx(1.5)  # (1 + 2) / 2
    assert bias == pytest.approx(0.5)  # mean prediction 2.5 - mean label 2.0


def test_weighted_metrics_of_two_values_per_example():
    head = RegressionHead(label_dimension=2)
    head.build((None, 2))
    head.projection.set_weights([np.eye(2), np.zeros(2)])  # predictions = hidden
    metrics = head.make_metrics()
    labels, predictions = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 3.0], [5.0, 5.0]], "float32")
    head.update_metrics(metrics, head.prepare_labels(labels), predictions, sample_weight=np.array([1.0, 0.0]))
    rmse, mae, bias = (float(metric.result()) for metric in metrics)
    # only the first example counts: errors 1 and 3
    assert (rmse, mae, bias) == pytest.approx((5**0.5, 2.0, 2.0))


def test_prediction_bias_accumulates_across_batches():
    bias = PredictionBias()
    bias.update_state([1.0], [2.0])
    bias.update_state([3.0, 3.0], [3.0, 6.0])
    # predictions (2 + 3 + 6) / 3 = 11/3; labels (1 + 3 + 3) / 3 = 7/3; bias 4/3
    assert float(bias.result()) == pytest.approx(4 / 3)


def test_predictions_are_squeezed_for_one_label():
    head = _head_with_identity_projection()
    assert head.predictions(np.array([[1.5], [2.5]], "float32"))["predictions"].shape == (2,)


def test_config_round_trip():
    head = RegressionHead(label_dimension=2, loss="huber", weight_column="w", regularizer="l2", name="fare")
    clone = RegressionHead.from_config(head.get_config())
    assert (clone.label_dimension, clone.loss_name, clone.name, clone.weight_column) == (2, "huber", "fare", "w")
    assert clone.regularizer.get_config() == head.regularizer.get_config()


def test_labels_of_the_wrong_width_are_refused():
    head = RegressionHead(label_dimension=2)
    with pytest.raises(ValueError, match=r"RegressionHead: `labels` must have shape \[batch, 2\]. .*shape=\(2, 3\)"):
        head.prepare_labels(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label_dimension": 0}, "label_dimension"),
        ({"loss": "l3"}, "`loss`"),
        ({"weight_column": ""}, "`weight_column` must be a feature name"),
        ({"regularizer": "l3"}, r"RegressionHead: `regularizer` must be a Keras regularizer.*regularizer='l3'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RegressionHead(**kwargs)
