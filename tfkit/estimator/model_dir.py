"""The `model_dir` format: what an Estimator writes, and how a model is rebuilt from it.

A model_dir holds:

- `estimator.json`: `{"definition": ..., "feature_state": ...}`, the model's definition (columns, head, builder and
  its parameters, label: what makes two models the same) and its adapted feature state (vocabularies, statistics),
  written before the first epoch;
- `model.weights.h5`: the weights after the last finished `train`;
- `backup/`: Keras `BackupAndRestore`'s state after each epoch (or every `save_checkpoints_steps`), so a killed
  `train` resumes where it stopped; removed when a run finishes;
- `logs/` (TensorBoard) and `eval/` (the last evaluation's metrics, report and plots);
- `distribution.json`: where the last `train` ran: `{"strategy": ..., "replicas": ..., "workers": ...}`
  (`tfkit.distribute.describe`).

A model_dir is a folder of its own: one holding files but no `estimator.json` (another model's `model.weights.h5`,
anything tfkit did not write) is trained in only when `train` is told to `overwrite` (`check_foreign`), and one
inside an export base or a SavedModel is refused (`check_location`), as is an export base around a model_dir
(`check_export_base`): a model server would find tfkit's files beside its versions.

A model is rebuilt from `estimator.json` and `model.weights.h5` alone: the saved state is used instead of a new
adapt, and pretrained embedding sources are not read again once there are trained weights (they hold the tables).
"""

from __future__ import annotations

import dataclasses
import json
import os
import reprlib
import shutil

import keras

import feature_columns as fc
from tfkit import heads as tfheads
from tfkit.export import versions
from tfkit.files import write_atomically, write_json
from tfkit.models import BUILDERS

DEFINITION_FILE = "estimator.json"
WEIGHTS_FILE = "model.weights.h5"
BACKUP_DIR = "backup"
LOGS_DIR = "logs"
EVAL_DIR = "eval"
DISTRIBUTION_FILE = "distribution.json"
# What an Estimator writes in its model_dir: estimator.json first, then the others.
OWN_ENTRIES = (DEFINITION_FILE, WEIGHTS_FILE, BACKUP_DIR, LOGS_DIR, EVAL_DIR, DISTRIBUTION_FILE)
SAVED_MODEL_FILE = "saved_model.pb"


def check_path(where: str, model_dir) -> str | None:
    """`model_dir` as a `str`, once it is known to be a folder path or None.

    >>> check_path("Estimator", None) is None
    True
    """
    if model_dir is None:
        return None
    if not isinstance(model_dir, (str, os.PathLike)) or not os.fspath(model_dir):
        raise TypeError(
            f"{where}: `model_dir` must be a folder path (str or os.PathLike) or None (keep everything in memory). "
            f"Received: model_dir={model_dir!r} (of type {type(model_dir).__name__})."
        )
    return os.fspath(model_dir)


def _export_around(path: str) -> str | None:
    """How `path` or the nearest folder above it is an export, e.g. "inside the SavedModel '/e/1'"; None if not."""
    folder = os.path.abspath(path)
    while True:
        if os.path.isfile(os.path.join(folder, SAVED_MODEL_FILE)):
            return f"inside the SavedModel {folder!r} (it holds {SAVED_MODEL_FILE})"
        try:
            exported = [v for v in versions(folder) if os.path.isfile(os.path.join(folder, str(v), SAVED_MODEL_FILE))]
        except OSError:  # a folder we may not list holds no export of ours
            exported = []
        if exported:
            return f"inside the export base {folder!r} (it holds the exported versions {exported})"
        if os.path.dirname(folder) == folder:
            return None
        folder = os.path.dirname(folder)


def check_location(where: str, path: str) -> None:
    """Raises when the model_dir `path` is a file, or is (or is inside) a SavedModel or an export base.

    >>> check_location("Estimator", "/tmp/a/new/model_dir")
    """
    if os.path.isfile(path):
        raise ValueError(f"{where}: `model_dir` must be a folder. Received: model_dir={path!r}, a file.")
    export = _export_around(path)
    if export is not None:
        raise ValueError(
            f"{where}: `model_dir` must be a folder outside any export. Received: model_dir={path!r}, {export}. "
            f"An Estimator writes {DEFINITION_FILE}, {WEIGHTS_FILE}, {LOGS_DIR}/ and {EVAL_DIR}/ in its model_dir, "
            "which must not mix with what a model server loads. Pass a model_dir outside the export."
        )


def check_export_base(where: str, model_dir: str | None, export_dir_base) -> None:
    """Raises when `export_dir_base` is `model_dir` or a folder above it: its versions would make the model_dir one
    inside an export, refused from then on. Exporting to a folder inside the model_dir is fine.

    >>> check_export_base("Estimator", "runs/taxi", "runs/taxi/export")
    """
    base = os.path.abspath(export_dir_base)
    if model_dir is not None and os.path.commonpath([base, os.path.abspath(model_dir)]) == base:
        raise ValueError(
            f"{where}: `export_dir_base` must not be the model_dir or a folder above it. Received: "
            f"export_dir_base={os.fspath(export_dir_base)!r} and model_dir={model_dir!r}. Its versions would sit "
            "around the model_dir, which could then not be trained or restored again. Export elsewhere, e.g. to "
            f"{os.path.join(model_dir, 'export')!r}."
        )


def check_foreign(where: str, path: str, overwrite: bool) -> None:
    """Raises, unless `overwrite`, when `path` holds files but no `estimator.json`: files tfkit did not write.

    tfkit writes `estimator.json` before anything else, so every entry of a model_dir without one is another's.
    With `overwrite`, `write_definition` removes those under tfkit's own names (`OWN_ENTRIES`) and keeps the rest.
    """
    if overwrite or not os.path.isdir(path) or os.path.exists(os.path.join(path, DEFINITION_FILE)):
        return
    entries = sorted(os.listdir(path))
    if entries:
        shown = entries[:10] + ([f"... {len(entries) - 10} more"] if len(entries) > 10 else [])
        raise ValueError(
            f"{where}: model_dir {path!r} holds files tfkit did not write: {shown} (and no {DEFINITION_FILE}, so no "
            f"Estimator trained there). Pass an empty or new model_dir, or train with `overwrite=True` "
            f"(`tfkit train --overwrite`): tfkit's own files then replace any of the same name "
            f"({', '.join(OWN_ENTRIES)}) and the other files stay."
        )


def head_config(head) -> dict:
    """The head's `{"class_name", "config"}`, as `tfkit.heads.get` takes it, without Keras's layer bookkeeping.

    A tfkit head is named by its class, a head of your own by the name it is registered under with Keras
    (`"package>Name"`), so that a model_dir rebuilds either.
    """
    config = head.get_config()
    config.pop("dtype", None)
    config.pop("trainable", None)
    return {"class_name": keras.saving.get_registered_name(type(head)).removeprefix("tfkit>"), "config": config}


def definition(where: str, columns, head, model: str, model_params: dict, label: str) -> dict:
    """What makes two models the same, as `estimator.json` records it (JSON types: tuples become lists).

    >>> from feature_columns import NumericColumn
    >>> from tfkit.heads import RegressionHead
    >>> sorted(definition("Estimator", [NumericColumn("x")], RegressionHead(), "dnn", {"hidden_units": (8,)}, "y"))
    ['feature_columns', 'head', 'label', 'model', 'model_params']
    """
    record = {
        "feature_columns": [fc.serialize(column) for column in columns],
        "head": head_config(head),
        "model": model,
        "model_params": model_params,
        "label": label,
    }
    try:
        return json.loads(json.dumps(record))
    except TypeError as error:
        raise ValueError(
            f"{where}: with a `model_dir`, `model_params` must hold JSON values (names, numbers, lists), which "
            f"{DEFINITION_FILE} records. Received: model_params={model_params!r} ({error}). Name an activation "
            "instead of passing its function, e.g. 'relu'."
        ) from None


@dataclasses.dataclass(frozen=True)
class Saved:
    """What a model_dir holds: its `definition`, adapted `feature_state`, and whether it has trained weights."""

    path: str
    definition: dict
    feature_state: dict
    trained: bool

    def feature_layer(self) -> fc.FeatureLayer:
        """The saved columns with their saved state. With trained weights, pretrained sources are not read."""
        columns = [fc.from_config(config) for config in self.definition["feature_columns"]]
        return fc.FeatureLayer(columns, state=self.feature_state, read_pretrained=not self.trained)

    def check_definition(self, where: str, expected: dict) -> None:
        """Raises unless this model_dir holds the model `expected` (a `definition`) describes, naming what differs.

        The saved columns are read back through their classes first, so a column argument added since the
        model_dir was written compares at its default rather than as a difference."""
        saved = {**self.definition, "feature_columns": [fc.serialize(fc.from_config(config)) for config in
                                                        self.definition["feature_columns"]]}  # fmt: skip
        if saved != expected:
            differences = "\n".join(f"  {line}" for line in differences_between(saved, expected))
            raise ValueError(
                f"{where}: model_dir {self.path!r} holds checkpoints of a different model. Its {DEFINITION_FILE} "
                f"differs from this Estimator in:\n{differences}\nUse a new model_dir, or delete the old one to "
                "start over."
            )

    def load_weights(self, model: keras.Model) -> None:
        model.load_weights(os.path.join(self.path, WEIGHTS_FILE))


_ABSENT = "(absent)"


def differences_between(saved: dict, new: dict) -> list:
    """What differs between two definitions, one line each: columns by name, then every differing setting.

    >>> saved = {"model_params": {"hidden_units": [8]}, "label": "fare"}
    >>> for line in differences_between(saved, {"model_params": {"hidden_units": [16, 8]}, "label": "tip"}):
    ...     print(line)
    model_params.hidden_units: saved [8], now [16, 8]
    label: saved 'fare', now 'tip'
    """
    lines = []
    for key in [*new, *(key for key in saved if key not in new)]:
        if key == "feature_columns":
            lines += _column_differences(saved.get(key, []), new.get(key, []))
        else:
            lines += _value_differences(saved.get(key, _ABSENT), new.get(key, _ABSENT), key)
    return lines


def _column_differences(saved: list, new: list) -> list:
    """Columns matched by name: those removed, those added, and the settings that differ in the others."""
    saved, new = ({column["config"]["name"]: column for column in columns} for columns in (saved, new))
    lines = [
        f"feature_columns: {change} {names}"
        for change, names in (
            ("removed", [n for n in saved if n not in new]),
            ("added", [n for n in new if n not in saved]),
        )
        if names
    ]
    for name in (name for name in new if name in saved):
        lines += _value_differences(saved[name], new[name], f"feature_columns[{name!r}]")
    if not lines and list(saved) != list(new):
        lines.append(f"feature_columns: the order: saved {list(saved)}, now {list(new)}")
    return lines


def _value_differences(saved, new, path: str) -> list:
    """Settings that differ under `path`: nested configs are compared key by key, other values whole."""
    same_kind = isinstance(saved, dict) and isinstance(new, dict) and saved.get("class_name") == new.get("class_name")
    if not same_kind:
        return [f"{path}: saved {_shown(saved)}, now {_shown(new)}"] if saved != new else []
    lines = []
    for key in [*new, *(key for key in saved if key not in new)]:
        inner = path if key == "config" else f"{path}.{key}"  # `config` only wraps a class's settings
        lines += _value_differences(saved.get(key, _ABSENT), new.get(key, _ABSENT), inner)
    return lines


def _shown(value) -> str:
    """A value short enough for an error (a long vocabulary is cut), a class's config by its class name."""
    if isinstance(value, dict) and "class_name" in value:
        return value["class_name"]
    return _ABSENT if value is _ABSENT else reprlib.repr(value)


def read(path: str) -> Saved | None:
    """The model_dir at `path`, or None when it holds no `estimator.json` (nothing trained there yet)."""
    spec = os.path.join(path, DEFINITION_FILE)
    if not os.path.exists(spec):
        return None
    with open(spec) as file:
        try:
            saved = json.load(file)
        except ValueError:
            saved = None
    if not (isinstance(saved, dict) and {"definition", "feature_state"} <= set(saved)):
        raise ValueError(
            f"tfkit: model_dir {path!r} holds an {DEFINITION_FILE} that tfkit did not write (it must hold "
            "`definition` and `feature_state`). Use another model_dir."
        )
    trained = os.path.exists(os.path.join(path, WEIGHTS_FILE))
    return Saved(path, saved["definition"], saved["feature_state"], trained)


def rebuild(saved: Saved) -> keras.Model:
    """The trained model a model_dir holds, from its files alone (no data, no pretrained sources).

    Its head and builder come from the definition; the optimizer is not restored (see `tfkit.Estimator` for that).
    """
    definition = saved.definition
    model = BUILDERS[definition["model"]](
        saved.feature_layer(), tfheads.get(definition["head"]), **definition["model_params"]
    )
    saved.load_weights(model)
    return model


def write_definition(path: str, record: dict, feature_state: dict) -> None:
    """Writes `estimator.json`: the `definition` record and the adapted feature state.

    It is the first file of a model_dir: without it, entries under tfkit's other names are another model's (left
    for a `train` told to `overwrite`), removed first so that none is taken for this model's.
    """
    for name in OWN_ENTRIES if not os.path.exists(os.path.join(path, DEFINITION_FILE)) else ():
        entry = os.path.join(path, name)
        if os.path.isdir(entry):
            shutil.rmtree(entry)
        elif os.path.exists(entry):
            os.remove(entry)
    write_json(os.path.join(path, DEFINITION_FILE), {"definition": record, "feature_state": feature_state})


def write_weights(path: str, model: keras.Model) -> None:
    """Writes `model.weights.h5` atomically: a run killed while writing leaves the previous weights."""
    write_atomically(os.path.join(path, WEIGHTS_FILE), model.save_weights)


def write_distribution(path: str, run: dict) -> None:
    """Writes `distribution.json`: the strategy, replicas and workers of the `train` starting (replaced by each)."""
    write_json(os.path.join(path, DISTRIBUTION_FILE), run)
