"""RegressionHead: hand-derived losses and metrics, config round trip."""

import numpy as np
import pytest

from tfkit.heads import RegressionHead
from tfkit.metrics import PredictionBias


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


def test_metrics_by_hand():
    rmse, mae, bias = RegressionHead().make_metrics()
    labels, predictions = np.array([2.0, 2.0]), np.array([[1.0], [4.0]])
    for metric in (rmse, mae, bias):
        metric.update_state(labels, predictions)
    assert float(rmse.result()) == pytest.approx(2.5**0.5)  # sqrt((1 + 4) / 2)
    assert float(mae.result()) == pytest.approx(1.5)  # (1 + 2) / 2
    assert float(bias.result()) == pytest.approx(0.5)  # mean prediction 2.5 - mean label 2.0


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
    head = RegressionHead(label_dimension=2, loss="huber", name="fare")
    clone = RegressionHead.from_config(head.get_config())
    assert (clone.label_dimension, clone.loss_name, clone.name) == (2, "huber", "fare")


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"label_dimension": 0}, "label_dimension"), ({"loss": "l3"}, "`loss`")]
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RegressionHead(**kwargs)
