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
        "keras:tuned": [{"examples_per_s": 100.0}, {"examples_per_s": 100.0}, {"examples_per_s": 100.0}],
        "estimator:docs": [{"examples_per_s": 50.0}, {"examples_per_s": 60.0}, {"examples_per_s": 30.0}],
        "estimator:batched": [{"examples_per_s": 150.0}, {"examples_per_s": 100.0}, {"examples_per_s": 90.0}],
        "tfkit:adapt": [{"adapt_s": 2.0}],
        "keras:featurespace-adapt": [{"adapt_s": 30.0}],
        "latency": [{"tfkit_1_p50_ms": 1.0, "estimator_1_p50_ms": 2.0, "tfkit_256_p50_ms": 3.0,
                     "estimator_256_p50_ms": 3.0}],
    }
    summary = summarize(results)
    # per repetition 300/100, 200/100, 90/100 -> median 2.0, range 0.9-3.0
    assert summary["ratios"]["tfkit / keras tuned"] == {"median": 2.0, "min": 0.9, "max": 3.0}
    # the estimator's best mode by median is `batched` (100 > 50): 300/150, 200/100, 90/90 -> median 2.0
    assert summary["ratios"]["tfkit / estimator best (estimator:batched)"]["median"] == 2.0
    # adapt is a time, so the ratio is FeatureSpace's over tfkit's: 30 / 2
    assert summary["ratios"]["FeatureSpace adapt time / tfkit adapt time"]["median"] == 15.0
    assert summary["ratios"]["tfkit / estimator export latency p50, 1 example(s)"]["median"] == 0.5
    assert summary["variants"]["tfkit:pandas"]["examples_per_s"] == {"median": 200.0, "min": 90.0, "max": 300.0}


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
        [sys.executable, os.path.join(ROOT, "bench", "adapt_inputs.py"), "--data", str(tmp_path / "data"),
         "--reps", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert inputs.returncode == 0, inputs.stderr[-3000:]
    rows = {line.split(" | ")[0].strip("| "): line for line in inputs.stdout.splitlines() if line.count("|") == 5}
    assert set(rows) >= {"slices", "guide", "csv-batch", "csv-row"}
    for name in ("slices", "guide", "csv-batch", "csv-row"):
        assert all(float(cell) > 0 for cell in rows[name].strip("| ").split(" | ")[1:])
