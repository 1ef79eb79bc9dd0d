"""Evaluation reports: AUCs against scikit-learn, calibration and thresholds by hand, plots on disk."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from tfkit import evaluation


@pytest.fixture
def scored():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 2000)
    probabilities = np.clip(0.3 * labels + rng.uniform(0, 0.7, 2000), 0, 1).round(2)  # ties included
    return labels, probabilities


def test_aucs_match_scikit_learn(scored):
    labels, probabilities = scored
    assert evaluation.roc_auc(labels, probabilities) == pytest.approx(roc_auc_score(labels, probabilities))
    assert evaluation.pr_auc(labels, probabilities) == pytest.approx(average_precision_score(labels, probabilities))


def test_binary_report_by_hand():
    report = evaluation.binary_report([0, 0, 1, 1, 1], [0.1, 0.8, 0.3, 0.6, 0.9], threshold=0.5)
    # predicted [0, 1, 0, 1, 1]: tn=1, fp=1, fn=1, tp=2
    assert report["confusion_matrix"] == [[1, 1], [1, 2]]
    assert report["precision"] == pytest.approx(2 / 3) and report["recall"] == pytest.approx(2 / 3)
    assert report["accuracy"] == pytest.approx(3 / 5)
    # mean prediction (0.1 + 0.8 + 0.3 + 0.6 + 0.9) / 5 = 0.54; mean label 0.6; bias -0.06
    assert report["prediction_bias"] == pytest.approx(-0.06)


def test_calibration_buckets_by_hand():
    cal = evaluation.calibration([0, 1, 1, 0], [0.05, 0.15, 0.95, 0.91], num_buckets=10)
    # buckets 0 (0.05), 1 (0.15), 9 (0.95, 0.91): observed rates 0, 1 and 1/2
    assert cal["bucket_lower"] == [0.0, 0.1, 0.9]
    assert cal["observed_rate"] == [0.0, 1.0, 0.5]
    assert cal["mean_prediction"] == pytest.approx([0.05, 0.15, 0.93])
    assert cal["count"] == [1, 1, 2]


def test_choose_threshold_by_hand():
    labels, scores = [0, 1, 1, 0, 1], [0.2, 0.9, 0.7, 0.6, 0.3]
    # sorted: 0.9 (+), 0.7 (+), 0.6 (-), 0.3 (+), 0.2 (-); precision at each: 1, 1, 2/3, 3/4, 3/5
    assert evaluation.choose_threshold(labels, scores, target="precision", value=0.75) == 0.3
    assert evaluation.choose_threshold(labels, scores, target="recall", value=1.0) == 0.3
    # F1 at 0.7: p=1, r=2/3 -> 0.8; at 0.3: p=3/4, r=1 -> 0.857 (best)
    assert evaluation.choose_threshold(labels, scores, target="f1") == 0.3
    with pytest.raises(ValueError, match=r"no threshold reaches precision >= 1\.0"):
        evaluation.choose_threshold([1, 0], [0.2, 0.9], target="precision", value=1.0)


def test_multiclass_report_by_hand(tmp_path):
    report = evaluation.multiclass_report([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3)
    # right: rows 0, 2, 3 -> accuracy 3/5; matrix[true][predicted]
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert report["accuracy"] == pytest.approx(3 / 5)
    # precision per predicted column: 1/2, 1/2, 1/1; recall per true row: 1/2, 1/1, 1/2
    assert report["precision"] == pytest.approx([0.5, 0.5, 1.0])
    assert report["recall"] == pytest.approx([0.5, 1.0, 0.5])
    path = evaluation.write_confusion_matrix_plot(report["confusion_matrix"], str(tmp_path), ["s", "m", "l"])
    with open(path, "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"


def test_regression_report_by_hand():
    report = evaluation.regression_report([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    # residuals 1, 0, -1: RMSE sqrt(2/3), MAE 2/3, bias 0
    assert report["rmse"] == pytest.approx((2 / 3) ** 0.5)
    assert report["mae"] == pytest.approx(2 / 3)
    assert report["prediction_bias"] == pytest.approx(0.0)


def test_plots_are_written_as_png(scored, tmp_path):
    labels, probabilities = scored
    paths = evaluation.write_binary_plots(labels, probabilities, str(tmp_path))
    paths += evaluation.write_regression_plots(labels, probabilities, str(tmp_path))
    assert sorted(p.rsplit("/", 1)[1] for p in paths) == [
        "calibration.png",
        "confusion_matrix.png",
        "precision_recall.png",
        "residuals.png",
        "roc.png",
    ]
    for path in paths:
        with open(path, "rb") as file:
            assert file.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [([0, 2], [0.1, 0.2], "must be 0 or 1"), ([0, 1], [0.1, 3.0], "not logits"), ([0, 1, 1], [0.1, 0.2], "one value")],
)
def test_bad_inputs(labels, scores, message):
    with pytest.raises(ValueError, match=message):
        evaluation.binary_report(labels, scores)


def test_one_class_only_gives_zero_areas_and_rates():
    # No (negative, positive) pair to order: ROC AUC 0.0 (as Keras's AUC metric), where scikit-learn raises.
    assert evaluation.roc_auc([1, 1, 1], [0.2, 0.5, 0.9]) == 0.0
    assert evaluation.roc_auc([0, 0], [0.2, 0.9]) == 0.0
    # Only positives: precision 1 at every threshold -> average precision 1; no positive: no recall to gain -> 0.
    assert evaluation.pr_auc([1, 1, 1], [0.2, 0.5, 0.9]) == 1.0
    assert evaluation.pr_auc([0, 0], [0.2, 0.9]) == 0.0
    c = evaluation.curves([0, 0], [0.2, 0.9])
    # no positive: tpr and recall 0 (not NaN); fpr 1/2 at 0.9, 2/2 at 0.2
    assert c["tpr"].tolist() == [0.0, 0.0] and c["fpr"].tolist() == [0.5, 1.0]
    report = evaluation.binary_report([0, 0], [0.2, 0.9])
    # predicted [0, 1]: tp = 0 -> precision 0/1, recall and F1 undefined -> 0
    assert (report["precision"], report["recall"], report["f1"]) == (0.0, 0.0, 0.0)
    assert report["confusion_matrix"] == [[1, 1], [0, 0]]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: evaluation.binary_report([], []), "at least one example"),
        (lambda: evaluation.calibration([], []), "at least one example"),
        (lambda: evaluation.multiclass_report([], [], 3), "at least one"),
        (lambda: evaluation.confusion_matrix([0, 3], [0, 1], 2), r"`labels` must be class ids in \[0, 2\)"),
        (lambda: evaluation.multiclass_report([0, 1], [0, -1], 2), r"`class_ids` must be class ids"),
    ],
)
def test_empty_inputs_and_unknown_class_ids_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()
