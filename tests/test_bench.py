"""The performance benchmark (`python -m bench`): its arithmetic, and a smoke run of every variant.

No timing is asserted here (timings live in bench/RESULTS.md); the smoke run proves that every variant still
runs, trains and reports on a few hundred real rides.
"""

import json
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.__main__ import ESTIMATOR_PYTHON, GROUPS, compare, summarize  # noqa: E402


def test_ratios_are_paired_by_repetition_and_the_median_taken():
    results = {
        "tfkit:pandas": [{"examples_per_s": 300.0}, {"examples_per_s": 200.0}, {"examples_per_s": 90.0}],
        "keras:docs": [{"examples_per_s": 100.0}, {"examples_per_s": 100.0}, {"examples_per_s": 100.0}],
        "estimator:docs": [{"examples_per_s": 50.0}, {"examples_per_s": 60.0}, {"examples_per_s": 30.0}],
        "estimator:batched": [{"examples_per_s": 150.0}, {"examples_per_s": 100.0}, {"examples_per_s": 90.0}],
        "tfkit:adapt": [{"adapt_s": 2.0}],
        "keras:featurespace-adapt": [{"adapt_s": 30.0}],
        "latency": [
            {"tfkit_1_p50_ms": 1.0, "estimator_1_p50_ms": 2.0, "tfkit_256_p50_ms": 3.0, "estimator_256_p50_ms": 3.0}
        ],
    }
    summary = summarize(results)
    # per repetition 300/100, 200/100, 90/100 -> median 2.0, range 0.9-3.0
    assert summary["ratios"]["tfkit / keras docs-style"] == {"median": 2.0, "min": 0.9, "max": 3.0}
    # the estimator's best mode by median is `batched` (100 > 50): 300/150, 200/100, 90/90 -> median 2.0
    assert summary["ratios"]["tfkit / estimator best (estimator:batched)"]["median"] == 2.0
    # adapt is a time, so the ratio is FeatureSpace's over tfkit's: 30 / 2
    assert summary["ratios"]["FeatureSpace adapt time / tfkit adapt time"]["median"] == 15.0
    assert summary["ratios"]["tfkit / estimator export latency p50, 1 example(s)"]["median"] == 0.5
    assert summary["variants"]["tfkit:pandas"]["examples_per_s"] == {"median": 200.0, "min": 90.0, "max": 300.0}


def test_targets_compare_the_issue_figures_with_the_best_expert():
    results = {
        "tfkit:pandas-5": [
            {"end_to_end_per_s": 110.0, "examples_per_s": 190.0},
            {"end_to_end_per_s": 90.0, "examples_per_s": 170.0},
        ],
        "expert:arrays-5": [
            {"end_to_end_per_s": 100.0, "examples_per_s": 200.0},
            {"end_to_end_per_s": 100.0, "examples_per_s": 200.0},
        ],
        "expert:ceiling": [{"examples_per_s": 200.0}, {"examples_per_s": 200.0}],
        "tfkit:csv-stream": [{"end_to_end_per_s": 60.0}, {"end_to_end_per_s": 60.0}],
        "expert:make-csv": [{"end_to_end_per_s": 30.0}, {"end_to_end_per_s": 30.0}],
        "expert:csv-lines": [{"end_to_end_per_s": 50.0}, {"end_to_end_per_s": 70.0}],
        "tfkit:stream-memory-1x": [{"peak_rss_mb": 1000.0}],
        "tfkit:stream-memory-10x": [{"peak_rss_mb": 1100.0}],
    }
    targets = summarize(results)["targets"]
    # end to end 110/100, 90/100 -> median 1.0, met (>= 1.0)
    assert targets["tfkit / expert, 5 epochs end to end, DataFrames"] == {
        "target": ">= 1.0",
        "median": 1.0,
        "met": True,
    }
    # steady 190/200, 170/200 -> median 0.9: met (>= 0.9)
    assert targets["tfkit steady (epochs 2-5) / ceiling"]["median"] == pytest.approx(0.9)
    # the best streaming expert by median is csv-lines (60 > 30): 60/50, 60/70 -> median (1.2 + 0.857) / 2
    assert targets["tfkit streaming CSV / expert best streaming CSV (end to end)"]["median"] == pytest.approx(
        (60 / 50 + 60 / 70) / 2
    )
    # 1100 / 1000 = 1.1 <= 1.2
    assert targets["peak RSS, 10x rows / 1x rows (streaming CSV)"]["met"]
    assert "tfkit / expert, 5 epochs end to end, CSV" not in targets  # not measured: not judged


def test_two_runs_are_compared_ratio_by_ratio():
    first = {"ratios": {"a": {"median": 2.0}, "b": {"median": 4.0}, "only here": {"median": 1.0}}}
    second = {"ratios": {"a": {"median": 2.2}, "b": {"median": 3.0}}}
    # (2.2 - 2.0) / 2.0 = +10%; (3.0 - 4.0) / 4.0 = -25%; a ratio missing from either run is left out
    assert compare(first, second).splitlines()[2:] == ["| a | 2.00 | 2.20 | +10.0% |", "| b | 4.00 | 3.00 | -25.0% |"]


@pytest.mark.slow
def test_the_smoke_run_runs_every_variant_on_real_rides(tmp_path):
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--data", str(tmp_path / "data"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(out.read_text())
    has_estimator = os.path.exists(ESTIMATOR_PYTHON)
    for variants in GROUPS.values():
        for variant in variants:
            [result] = report["results"][variant]
            if variant.startswith("estimator:") and not has_estimator:
                assert result is None  # skipped, and said to be:
                assert "the estimator variants are skipped" in completed.stdout
                continue
            assert result["variant"] == variant.replace(":", "-")
            assert result["peak_rss_mb"] > 100  # TensorFlow alone takes more
            if "rmse" in result:
                assert math.isfinite(result["rmse"]) and result["rmse"] > 0
    assert report["results"]["tfkit:adapt"][0]["adapt_s"] > 0
    assert report["results"]["tfkit:pipeline"][0]["examples_per_s"] > 0
    assert report["results"]["tfkit:pipeline-cached"][0]["examples_per_s"] > 0
    [latency] = report["results"]["latency"]
    assert latency["tfkit_1_p50_ms"] > 0 and ("estimator_1_p50_ms" in latency) == has_estimator
    assert "| ratio (paired by repetition) |" in completed.stdout
    # bench/adapt_inputs.py on the same prepared rides: a row of positive timings for each of its four inputs.
    inputs = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "bench", "adapt_inputs.py"),
            "--data",
            str(tmp_path / "data"),
            "--reps",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert inputs.returncode == 0, inputs.stderr[-3000:]
    rows = {line.split(" | ")[0].strip("| "): line for line in inputs.stdout.splitlines() if line.count("|") == 5}
    assert set(rows) >= {"slices", "guide", "csv-batch", "csv-row"}
    for name in ("slices", "guide", "csv-batch", "csv-row"):
        assert all(float(cell) > 0 for cell in rows[name].strip("| ").split(" | ")[1:])
