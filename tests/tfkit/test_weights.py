"""A head's `weight_column` through tfkit.Estimator from DataFrames and CSV files, and bad weights as errors."""

import numpy as np
import pandas as pd
import pytest

import feature_columns as fc
from tfkit import Estimator
from tfkit.data import read_csv
from tfkit.heads import RegressionHead

FRAME = pd.DataFrame(
    {"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 0.0, 2.0, 5.0], "w": [1.0, 0.0, 2.0, 0.5], "unused": ["a"] * 4}
)


def _estimator():
    # learning rate 0: training leaves the model as initialized, so its first training loss is the loss the
    # evaluation computes, with the same predictions.
    return Estimator(
        [fc.NumericColumn("x")],
        RegressionHead(weight_column="w"),
        label="y",
        model_params={"hidden_units": [4]},
        optimizer="sgd",
        learning_rate=0.0,
        seed=0,
    )


def _weighted_mse(predictions, frame=FRAME):
    """Keras's weighted mean over the batch: sum(w * (p - y) ** 2) / number of examples."""
    return float(np.sum(frame["w"] * (predictions - frame["y"]) ** 2) / len(frame))


@pytest.mark.parametrize("source", ["frame", "csv"])
def test_weighted_train_and_evaluate_give_the_weighted_loss(source, tmp_path):
    data = FRAME
    if source == "csv":
        data = str(tmp_path / "train.csv")
        FRAME.to_csv(data, index=False)
    estimator = _estimator().train(data, epochs=1, verbose=0)
    # predictions need no weights: the frame without its weight column is enough
    p = estimator.predict_batch(FRAME.drop(columns=["w"]))["predictions"]
    # e.g. p = [a, b, c, d]: (1 * (a - 1)**2 + 0 * (b - 0)**2 + 2 * (c - 2)**2 + 0.5 * (d - 5)**2) / 4
    expected = _weighted_mse(p)
    unweighted = float(np.mean((p - FRAME["y"]) ** 2))
    assert expected != pytest.approx(unweighted, rel=1e-3)  # the weights matter on this data
    assert estimator.evaluate(data)["loss"] == pytest.approx(expected, rel=1e-5)
    assert estimator.history["loss"] == [pytest.approx(expected, rel=1e-5)]


def test_read_csv_returns_the_weights_among_the_features_as_float32(tmp_path):
    path = tmp_path / "train.csv"
    FRAME.to_csv(path, index=False)
    features, labels = read_csv(str(path), [fc.NumericColumn("x")], label="y", weight_column="w")
    assert sorted(features) == ["w", "x"]
    assert features["w"].dtype == np.float32 and features["w"].tolist() == [1.0, 0.0, 2.0, 0.5]
    assert labels.tolist() == [1.0, 0.0, 2.0, 5.0]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (None, r"missing feature\(s\) \['w'\]"),
        (["1", "2", "heavy", "1"], r"feature 'w' must be numeric .* row 2 holds 'heavy'"),
        ([1.0, np.nan, 1.0, 1.0], r"weight column 'w' must hold non-negative numbers, but row 1 holds nan"),
        ([1.0, 1.0, -1.0, 1.0], r"weight column 'w' must hold non-negative numbers, but row 2 holds -1.0"),
    ],
)
def test_bad_weights_in_a_frame_are_errors_naming_the_column(weights, message):
    frame = FRAME.drop(columns=["w"]) if weights is None else FRAME.assign(w=weights)
    with pytest.raises(ValueError, match=message):
        _estimator().train(frame, verbose=0)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (None, r"column\(s\) \['w'\] are not in the file"),
        ([1.0, 1.0, 1.0, None], r"weight column 'w' must hold non-negative numbers, but line 5 holds nan"),
        ([1.0, -0.5, 1.0, 1.0], r"weight column 'w' must hold non-negative numbers, but line 3 holds -0.5"),
    ],
)
def test_bad_weights_in_a_csv_file_are_errors_naming_the_column_and_line(weights, message, tmp_path):
    path = str(tmp_path / "train.csv")
    (FRAME.drop(columns=["w"]) if weights is None else FRAME.assign(w=weights)).to_csv(path, index=False)
    with pytest.raises(ValueError, match=message):
        _estimator().train(path, verbose=0)
