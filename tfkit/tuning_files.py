"""A search's files in `<model_dir>/tuning/` (`tfkit.tuning`): what the search is (`search.json`, checked when it
resumes), a row per trial (`trials.csv`) and the objective by trial (`objective.png`); and which model_dirs to tune in.

>>> rows = [{"trial_id": "0", "status": "COMPLETED", "model.hidden_units": [8, 4], "objective": 2.5},
...         {"trial_id": "1", "status": "RUNNING", "model.hidden_units": [16], "objective": None}]
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "trials.csv")
>>> write_table(rows, path)
>>> print(open(path).read().strip())
trial_id,status,model.hidden_units,objective
0,COMPLETED,"[8, 4]",2.5
1,RUNNING,[16],
"""

from __future__ import annotations

import csv
import json
import os

import numpy as np

from tfkit.estimator.model_dir import OWN_ENTRIES
from tfkit.files import write_atomically, write_json
from tfkit.search_space import decode

TUNING_DIR = "tuning"
SEARCH_FILE = "search.json"
TRIALS_FILE = "trials.csv"
PLOT_FILE = "objective.png"
# What makes a search: resuming one with another of these is refused (KerasTuner would silently keep the old one).
IDENTITY = ("space", "objective", "direction", "algorithm", "max_epochs", "factor")


def trial_rows(oracle, space: dict) -> list:
    """A dict per trial of KerasTuner's `oracle`, in the order they started: `trial_id`, `status`, the settings
    (and Hyperband's `tuner/...` values), `objective` (the trial's score) and every metric the trial reported."""
    rows = []
    for trial_id in sorted(oracle.trials, key=int):
        trial = oracle.trials[trial_id]
        values = trial.hyperparameters.values
        row = {"trial_id": trial_id, "status": trial.status, **decode(space, values)}
        row.update({key: value for key, value in values.items() if key.startswith("tuner/")})
        row["objective"] = None if trial.score is None else float(trial.score)
        row.update({name: float(trial.metrics.get_last_value(name)) for name in trial.metrics.metrics})
        rows.append(row)
    return rows


def write_table(rows: list, path: str) -> None:
    """`rows` as CSV: a column per key (in order of first appearance), arrays as JSON, missing values empty."""
    header = list(dict.fromkeys(key for row in rows for key in row))

    def cell(value):
        return json.dumps(value) if isinstance(value, (list, tuple, dict)) else "" if value is None else value

    def write(staging):
        with open(staging, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            writer.writerows([cell(row.get(key)) for key in header] for row in rows)

    write_atomically(path, write)


def plot_objective(rows: list, objective, path: str) -> None:
    """The objective of each finished trial and the best so far, by trial, as a PNG (matplotlib's Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    done = [(int(row["trial_id"]) + 1, row["objective"]) for row in rows if row["objective"] is not None]
    figure, axes = pyplot.subplots(figsize=(6, 4))
    if done:
        trials, scores = np.array(done).T
        best = (np.maximum if objective.direction == "max" else np.minimum).accumulate(scores)
        axes.plot(trials, scores, "o", label="trial")
        axes.step(trials, best, where="post", label=f"best so far ({objective.direction})")
        axes.legend()
    axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes.set_xlabel("trial")
    axes.set_ylabel(f"eval {objective.name}")
    axes.set_title(f"{len(done)} of {len(rows)} trials scored")
    figure.tight_layout()
    write_atomically(path, lambda staging: figure.savefig(staging, dpi=100, format="png"))
    pyplot.close(figure)


def write_report(oracle, space: dict, folder: str) -> list:
    """Writes `folder/trials.csv` and `folder/objective.png` for KerasTuner's `oracle`; returns the rows."""
    rows = trial_rows(oracle, space)
    write_table(rows, os.path.join(folder, TRIALS_FILE))
    plot_objective(rows, oracle.objective, os.path.join(folder, PLOT_FILE))
    return rows


def check_model_dir(where: str, model_dir: str, overwrite: bool) -> None:
    """Refuses a model_dir holding anything but an earlier search's own files (its `tuning/` and best model)."""
    entries = set(os.listdir(model_dir)) if os.path.isdir(model_dir) else set()
    others = entries - {TUNING_DIR, *OWN_ENTRIES} if TUNING_DIR in entries else entries
    if others and not overwrite:
        raise ValueError(
            f"{where}: `model_dir` must be empty, new, or one an earlier search used (to resume it). Received: "
            f"model_dir={model_dir!r}, holding {sorted(others)[:10]}. Tune in another model_dir, or pass overwrite "
            "([training] overwrite = true, --overwrite): tfkit's own files are then replaced, the others stay."
        )


def check_search(where: str, tuning: str, identity: dict) -> None:
    """Writes what the search is (`search.json`) on its first run; later runs must be the same search."""
    path = os.path.join(tuning, SEARCH_FILE)
    identity = json.loads(json.dumps(identity))
    if not os.path.exists(path):
        write_json(path, identity)
        return
    with open(path) as file:
        saved = json.load(file)
    differs = {key: (saved.get(key), identity[key]) for key in identity if saved.get(key) != identity[key]}
    if differs:
        raise ValueError(
            f"{where}: the search in {tuning!r} must be resumed with the same {sorted(differs)}. Received (saved, "
            f"now): {differs}. Tune in another model_dir to keep both, or delete {tuning!r} to start afresh "
            "(`max_trials` may change: raise it to extend a search)."
        )
