"""`python -m bench`: tfkit against the strongest hand-written Keras, the legacy estimator and the model's ceiling.

Prepares the data (`bench/taxi.py`: the real rides plus a seeded enlargement to `--rows`), then runs every
variant as its own process, `--reps` times, alternating (A B C ... A B C ...), and prints the medians, the
min-max, the ratios paired by repetition and the issue's targets. The estimator variants run in the
virtualenv of `--estimator-python` (`make bench-env` builds it with TensorFlow 2.15); without it they are
skipped, and said to be.

    make bench                                  # = .venv/bin/python -m bench (1,000,000 rows, 6 repetitions)
    .venv/bin/python -m bench --groups memory   # peak RSS streaming 1M and 10M rows of CSV shards
    .venv/bin/python -m bench --groups "memory from TFRecord"   # the same rides as TFRecord shards
    .venv/bin/python -m bench --smoke           # a few hundred rows, one repetition: proves it runs
    .venv/bin/python -m bench --compare A.json B.json   # two runs' ratios side by side (reproducibility)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import taxi

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ESTIMATOR_PYTHON = os.path.join(ROOT, ".venv-estimator", "bin", "python")

# Each group's variants alternate within every repetition; the first of a group is tfkit's.
GROUPS = {
    "5 epochs end to end from DataFrames": ["tfkit:pandas-5", "expert:arrays-5"],
    "5 epochs end to end from CSV": ["tfkit:csv-5", "expert:csv-5"],
    "steady state against the ceiling": ["tfkit:cached", "expert:ceiling", "estimator:batched-cached"],
    "streaming CSV": ["tfkit:csv-stream", "expert:make-csv", "expert:csv-lines"],
    "TFRecord": ["tfkit:tfrecord-stream", "expert:tfrecord"],
    "train from pandas/NumPy": ["tfkit:pandas", "keras:docs", "estimator:docs", "estimator:batched"],
    "train from CSV": ["tfkit:csv", "estimator:csv"],
    "input pipeline alone": ["tfkit:pipeline", "tfkit:pipeline-cached", "keras:pipeline-docs"],
    "adapt": ["tfkit:adapt", "keras:featurespace-adapt"],
    "memory": ["tfkit:stream-memory-1x", "tfkit:stream-memory-10x"],
    "memory from TFRecord": ["tfkit:tfrecord-memory-1x", "tfkit:tfrecord-memory-10x"],
}
SCRIPTS = {"tfkit": "run_tfkit.py", "keras": "run_keras.py", "estimator": "run_estimator.py", "expert": "run_expert.py"}
# The targets: (ratio, lowest or highest it may be).
TARGETS = {
    "tfkit / expert, 5 epochs end to end, DataFrames": (">=", 1.0),
    "tfkit / expert, 5 epochs end to end, CSV": (">=", 1.0),
    "tfkit steady (epochs 2-5) / ceiling": (">=", 0.9),
    "tfkit streaming CSV / expert best streaming CSV (end to end)": (">=", 1.0),
    "peak RSS, 10x rows / 1x rows (streaming CSV)": ("<=", 1.2),
    "peak RSS, 10x rows / 1x rows (streaming TFRecord)": ("<=", 1.2),
}


def memory_folder(data: str, variant: str, rows: int) -> str:
    """The folder of the memory group's CSV shards: `rows` rides (`1x`) or ten times as many (`10x`)."""
    scale = 10 if variant.endswith("-10x") else 1
    return taxi.prepare_large(f"{data}-memory-{rows * scale}", rows * scale).rsplit(os.sep, 2)[0]


def run_variant(variant: str, data: str, python: dict, work: str, export: bool = False) -> dict | None:
    """Runs one variant in a fresh process; `None` when its Python is missing."""
    family, mode = variant.split(":")
    interpreter = python[family]
    if not os.path.exists(interpreter):
        return None
    out = os.path.join(work, "result.json")
    command = [interpreter, os.path.join(HERE, SCRIPTS[family]), "--data", data, "--variant", mode, "--out", out]
    if export:
        command += ["--export", os.path.join(work, f"export-{family}")]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"bench: {variant} failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    with open(out) as file:
        return json.load(file)


def summarize(results: dict) -> dict:
    """Medians, min-max and the targets' ratios, paired by repetition."""
    summary: dict = {"variants": {}, "ratios": {}}
    for variant, runs in results.items():
        runs = [run for run in runs if run is not None]
        if not runs:
            continue
        entry: dict = {"runs": len(runs)}
        for key in ("examples_per_s", "end_to_end_per_s", "rmse", "adapt_s", "peak_rss_mb"):
            values = [run[key] for run in runs if run.get(key) is not None]
            if values:
                entry[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
        summary["variants"][variant] = entry

    def paired(name: str, numerator: str, denominator: str, key: str = "examples_per_s", invert: bool = False):
        tops, bottoms = results.get(numerator, []), results.get(denominator, [])
        pairs = [(a[key], b[key]) for a, b in zip(tops, bottoms, strict=False) if a and b and a.get(key) and b.get(key)]
        if pairs:
            values = [b / a if invert else a / b for a, b in pairs]
            summary["ratios"][name] = {"median": statistics.median(values), "min": min(values), "max": max(values)}

    medians = {v: e["examples_per_s"]["median"] for v, e in summary["variants"].items() if "examples_per_s" in e}
    estimator_modes = [v for v in ("estimator:docs", "estimator:batched") if v in medians]
    best_estimator = max(estimator_modes, key=medians.get) if estimator_modes else None
    paired("tfkit / expert, 5 epochs end to end, DataFrames", "tfkit:pandas-5", "expert:arrays-5", "end_to_end_per_s")
    paired("tfkit / expert, 5 epochs end to end, CSV", "tfkit:csv-5", "expert:csv-5", "end_to_end_per_s")
    paired("tfkit / expert, steady (epochs 2-5), DataFrames", "tfkit:pandas-5", "expert:arrays-5")
    paired("tfkit steady (epochs 2-5) / ceiling", "tfkit:pandas-5", "expert:ceiling")
    paired("tfkit cached (2nd epoch) / ceiling", "tfkit:cached", "expert:ceiling")
    streaming = [
        v
        for v in ("expert:make-csv", "expert:csv-lines")
        if v in summary["variants"] and "end_to_end_per_s" in summary["variants"][v]
    ]
    if streaming:
        best = max(streaming, key=lambda v: summary["variants"][v]["end_to_end_per_s"]["median"])
        paired(
            "tfkit streaming CSV / expert best streaming CSV (end to end)", "tfkit:csv-stream", best, "end_to_end_per_s"
        )
        paired("tfkit streaming CSV / expert best streaming CSV (steady)", "tfkit:csv-stream", best)
    paired(
        "tfkit TFRecord / expert TFRecord (end to end)", "tfkit:tfrecord-stream", "expert:tfrecord", "end_to_end_per_s"
    )
    for kind, prefix in (("CSV", "stream"), ("TFRecord", "tfrecord")):
        paired(
            f"peak RSS, 10x rows / 1x rows (streaming {kind})",
            f"tfkit:{prefix}-memory-10x",
            f"tfkit:{prefix}-memory-1x",
            "peak_rss_mb",
        )
    paired("tfkit / keras docs-style", "tfkit:pandas", "keras:docs")
    if best_estimator:
        paired(f"tfkit / estimator best ({best_estimator})", "tfkit:pandas", best_estimator)
    paired("tfkit CSV / estimator make_csv_dataset (end to end)", "tfkit:csv", "estimator:csv", "end_to_end_per_s")
    paired("tfkit CSV / estimator make_csv_dataset (steady)", "tfkit:csv", "estimator:csv")
    paired("tfkit cached / estimator cached", "tfkit:cached", "estimator:batched-cached")
    paired("tfkit pipeline / tfkit training", "tfkit:pipeline", "tfkit:pandas")
    paired("tfkit cached pipeline / tfkit cached training", "tfkit:pipeline-cached", "tfkit:cached")
    paired(
        "FeatureSpace adapt time / tfkit adapt time", "tfkit:adapt", "keras:featurespace-adapt", "adapt_s", invert=True
    )
    summary["targets"] = {}
    for name, (direction, target) in TARGETS.items():
        if name in summary["ratios"]:
            median = summary["ratios"][name]["median"]
            met = median >= target if direction == ">=" else median <= target
            summary["targets"][name] = {"target": f"{direction} {target}", "median": median, "met": met}
    latency = results.get("latency", [])
    for rows in (1, 256):
        values = [
            run[f"tfkit_{rows}_p50_ms"] / run[f"estimator_{rows}_p50_ms"]
            for run in latency
            if "estimator_1_p50_ms" in run
        ]
        if values:
            summary["ratios"][f"tfkit / estimator export latency p50, {rows} example(s)"] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
    if latency:
        summary["latency_ms"] = {
            key: statistics.median(run[key] for run in latency) for key in latency[0] if key.endswith("_ms")
        }
    rmse = {v: e["rmse"]["median"] for v, e in summary["variants"].items() if "rmse" in e}
    if "tfkit:pandas" in rmse:
        summary["rmse_vs_tfkit"] = {v: value / rmse["tfkit:pandas"] for v, value in rmse.items()}
    return summary


def markdown(summary: dict) -> str:
    """The summary as the Markdown tables that go into bench/RESULTS.md."""

    def spread(entry: dict, key: str, fmt) -> str:
        if key not in entry:
            return "-"
        value = entry[key]
        return f"{fmt(value['median'])} ({fmt(value['min'])}-{fmt(value['max'])})"

    def thousands(x: float) -> str:
        return f"{x / 1e3:,.0f}k"

    lines = [
        "| variant | runs | examples/s median (min-max) | end to end /s | test RMSE | adapt s | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant, entry in summary["variants"].items():
        end_to_end = thousands(entry["end_to_end_per_s"]["median"]) if "end_to_end_per_s" in entry else "-"
        rmse = f"{entry['rmse']['median']:.3f}" if "rmse" in entry else "-"
        lines.append(
            f"| {variant} | {entry['runs']} | {spread(entry, 'examples_per_s', thousands)} | {end_to_end} | {rmse} | "
            f"{spread(entry, 'adapt_s', lambda x: f'{x:.2f}')} | {entry['peak_rss_mb']['median']:,.0f} |"
        )
    lines += ["", "| ratio (paired by repetition) | median | min-max |", "| --- | ---: | ---: |"]
    for name, value in summary["ratios"].items():
        lines.append(f"| {name} | {value['median']:.2f} | {value['min']:.2f}-{value['max']:.2f} |")
    if summary.get("targets"):
        lines += ["", "| target | median | met |", "| --- | ---: | --- |"]
        for name, value in summary["targets"].items():
            met = "yes" if value["met"] else "NO"
            lines.append(f"| {name} {value['target']} | {value['median']:.2f} | {met} |")
    if "latency_ms" in summary:
        lines += [
            "",
            "Export latency in ms (medians over repetitions): "
            + ", ".join(f"{key.removesuffix('_ms')} {value:.2f}" for key, value in summary["latency_ms"].items()),
        ]
    return "\n".join(lines)


def compare(first: dict, second: dict) -> str:
    """Two runs' ratio medians side by side, with the second's change relative to the first, as Markdown.

    >>> print(compare({"ratios": {"r": {"median": 2.0}}}, {"ratios": {"r": {"median": 2.2}}}))
    | ratio | first run | second run | change |
    | --- | ---: | ---: | ---: |
    | r | 2.00 | 2.20 | +10.0% |
    """
    lines = ["| ratio | first run | second run | change |", "| --- | ---: | ---: | ---: |"]
    for name, value in first["ratios"].items():
        if name in second["ratios"]:
            a, b = value["median"], second["ratios"][name]["median"]
            lines.append(f"| {name} | {a:.2f} | {b:.2f} | {(b - a) / a:+.1%} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rides to train on (the real ones, enlarged)")
    parser.add_argument("--reps", type=int, default=6, help="repetitions of every variant, alternating")
    parser.add_argument("--data", default=os.path.join(ROOT, "runs", "bench", "data"), help="prepared data folder")
    parser.add_argument(
        "--estimator-python",
        default=ESTIMATOR_PYTHON,
        help="Python of the TensorFlow 2.15 virtualenv that has tf.estimator",
    )
    parser.add_argument("--groups", nargs="*", choices=list(GROUPS), help="run only these groups")
    parser.add_argument(
        "--memory-rows",
        type=int,
        default=1_000_000,
        help="the memory group's smaller run (the other has ten times as many rows)",
    )
    parser.add_argument("--smoke", action="store_true", help="600 rows, one repetition: proves the bench runs")
    parser.add_argument("--out", help="write the results and summary as JSON here")
    parser.add_argument("--compare", nargs=2, metavar="RESULTS_JSON", help="compare two runs' --out files, then stop")
    args = parser.parse_args(argv)
    if args.compare:
        summaries = []
        for path in args.compare:
            with open(path) as file:
                summaries.append(json.load(file)["summary"])
        print(compare(*summaries))
        return
    rows, reps = (600, 1) if args.smoke else (args.rows, args.reps)
    memory_rows = 600 if args.smoke else args.memory_rows
    meta = taxi.prepare(args.data, rows)
    python = {
        "tfkit": sys.executable,
        "keras": sys.executable,
        "expert": sys.executable,
        "estimator": args.estimator_python,
    }
    groups = {name: GROUPS[name] for name in (args.groups or GROUPS)}
    print(
        f"bench: {rows:,} rides ({meta['train_rides']:,} real ones resampled), {reps} repetition(s), "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        flush=True,
    )
    if not os.path.exists(args.estimator_python):
        print(f"bench: no {args.estimator_python}: the estimator variants are skipped (make bench-env)", flush=True)
    results: dict = {variant: [] for variants in groups.values() for variant in variants} | {"latency": []}
    if "TFRecord" in groups:  # the rides as tf.Example files, written once
        subprocess.run(
            [sys.executable, os.path.join(HERE, "run_expert.py"), "--data", args.data, "--variant", "write-tfrecord"],
            check=True,
            capture_output=True,
        )
    memory = [*groups.get("memory", []), *groups.get("memory from TFRecord", [])]
    folders = {variant: memory_folder(args.data, variant, memory_rows) for variant in memory}
    for variant in groups.get("memory from TFRecord", []):  # the same rides as tf.Example files, written once
        command = [sys.executable, os.path.join(HERE, "run_expert.py"), "--data", folders[variant]]
        subprocess.run([*command, "--variant", "write-tfrecord-shards"], check=True, capture_output=True)
    for rep in range(reps):
        with tempfile.TemporaryDirectory() as work:
            for variants in groups.values():
                for variant in variants:
                    export = variant in ("tfkit:pandas", "estimator:batched")
                    result = run_variant(variant, folders.get(variant, args.data), python, work, export=export)
                    results[variant].append(result)
                    if result:
                        print(f"  rep {rep + 1}: {json.dumps(result)}", flush=True)
            exports = {
                name: results[f"{name}:{mode}"][-1]
                for name, mode in (("tfkit", "pandas"), ("estimator", "batched"))
                if results.get(f"{name}:{mode}") and results[f"{name}:{mode}"][-1]
            }
            if "tfkit" in exports:
                command = [
                    sys.executable,
                    os.path.join(HERE, "latency.py"),
                    "--data",
                    args.data,
                    "--tfkit",
                    exports["tfkit"]["export"],
                    "--out",
                    os.path.join(work, "latency.json"),
                ]
                if "estimator" in exports:
                    command += ["--estimator", exports["estimator"]["export"]]
                if args.smoke:
                    command += ["--calls", "20"]
                subprocess.run(command, check=True, capture_output=True)
                with open(os.path.join(work, "latency.json")) as file:
                    results["latency"].append(json.load(file))
                print(f"  rep {rep + 1}: {json.dumps(results['latency'][-1])}", flush=True)
    summary = summarize(results)
    print(markdown(summary), flush=True)
    if args.out:
        with open(args.out, "w") as file:
            json.dump({"rows": rows, "reps": reps, "results": results, "summary": summary}, file, indent=1)


if __name__ == "__main__":
    main()
