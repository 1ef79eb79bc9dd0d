"""Wide and deep on UCI Adult (../shared/data/census): the issue's bar, through Python and the CLI."""

import json
import os
import sys

import numpy as np
import pytest

DATA_DIR = os.environ.get("TFKIT_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "census")
TEST_ROWS = 16281  # adult.test, less its comment line

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(DATA_DIR, "census", "adult.data")), reason="needs ../shared/data/census"
)


@pytest.fixture(scope="module")
def census_run(tmp_path_factory):
    sys.path.insert(0, EXAMPLE)
    try:
        import run
    finally:
        sys.path.remove(EXAMPLE)
    model_dir = tmp_path_factory.mktemp("census")
    return run.main(DATA_DIR, str(model_dir), epochs=5), model_dir


def test_wide_and_deep_reaches_85_percent_accuracy_and_0_90_auc(census_run):
    metrics, _ = census_run
    assert metrics["accuracy"] >= 0.85
    assert metrics["auc"] >= 0.90
    # 3,846 of the 16,281 test examples earn >50K
    assert metrics["label/mean"] == pytest.approx(3846 / TEST_ROWS)
    assert abs(metrics["prediction/mean"] - metrics["label/mean"]) < 0.05


def test_the_evaluation_plots_and_their_data_are_in_model_dir(census_run):
    metrics, model_dir = census_run
    folder = model_dir / "eval"
    for plot in ("roc.png", "precision_recall.png", "calibration.png", "confusion_matrix.png"):
        assert (folder / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((folder / "report.json").read_text())["report"]
    assert report == {**report, "threshold": 0.5}
    (tn, fp), (fn, tp) = report["confusion_matrix"]
    assert tn + fp + fn + tp == TEST_ROWS and fn + tp == 3846
    # the report's counts give the metrics Keras computed
    assert (tn + tp) / TEST_ROWS == pytest.approx(metrics["accuracy"], abs=1e-6)
    assert tp / (tp + fp) == pytest.approx(metrics["precision"], abs=1e-6)
    assert tp / (tp + fn) == pytest.approx(metrics["recall"], abs=1e-6)
    assert report["auc"] == pytest.approx(metrics["auc"], abs=5e-3)  # Keras's AUC interpolates 200 thresholds
    calibration = report["calibration"]
    assert sum(calibration["count"]) == TEST_ROWS
    # each bucket's mean prediction lies in its bucket; observed rates weighted by counts give the base rate
    for lower, mean in zip(calibration["bucket_lower"], calibration["mean_prediction"], strict=True):
        assert lower <= mean <= lower + 0.1
    observed = np.dot(calibration["count"], calibration["observed_rate"]) / TEST_ROWS
    assert observed == pytest.approx(3846 / TEST_ROWS)
