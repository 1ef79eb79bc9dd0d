"""The `model_dir` format: what an Estimator writes, and how a model is rebuilt from it.

A model_dir holds:

- `estimator.json`: `{"definition": ..., "feature_state": ...}`, the model's definition (columns, head, builder and
  its parameters, label: what makes two models the same) and its adapted feature state (vocabularies, statistics),
  written before the first epoch;
- `model.weights.h5`: the weights after the last finished `train`;
- `backup/`: Keras `BackupAndRestore`'s state after each epoch (or every `save_checkpoints_steps`), so a killed
  `train` resumes where it stopped; removed when a run finishes;
- `logs/` (TensorBoard) and `eval/` (the last evaluation's metrics, report and plots).

A model is rebuilt from `estimator.json` and `model.weights.h5` alone: the saved state is used instead of a new
adapt, and pretrained embedding sources are not read again once there are trained weights (they hold the tables).
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras

import feature_columns as fc
from tfkit import heads as tfheads
from tfkit.files import write_atomically, write_json
from tfkit.models import BUILDERS

DEFINITION_FILE = "estimator.json"
WEIGHTS_FILE = "model.weights.h5"
BACKUP_DIR = "backup"
LOGS_DIR = "logs"
EVAL_DIR = "eval"


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
        """Raises unless this model_dir holds the model `expected` (a `definition`) describes."""
        if self.definition != expected:
            differ = sorted(key for key in expected if expected[key] != self.definition.get(key))
            raise ValueError(
                f"{where}: model_dir {self.path!r} holds checkpoints of a different model (its {DEFINITION_FILE} "
                f"differs in {differ}). Use a new model_dir, or delete the old one to start over."
            )

    def load_weights(self, model: keras.Model) -> None:
        model.load_weights(os.path.join(self.path, WEIGHTS_FILE))


def read(path: str) -> Saved | None:
    """The model_dir at `path`, or None when it holds no `estimator.json` (nothing trained there yet)."""
    spec = os.path.join(path, DEFINITION_FILE)
    if not os.path.exists(spec):
        return None
    with open(spec) as file:
        saved = json.load(file)
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
    """Writes `estimator.json`: the `definition` record and the adapted feature state."""
    write_json(os.path.join(path, DEFINITION_FILE), {"definition": record, "feature_state": feature_state})


def write_weights(path: str, model: keras.Model) -> None:
    """Writes `model.weights.h5` atomically: a run killed while writing leaves the previous weights."""
    write_atomically(os.path.join(path, WEIGHTS_FILE), model.save_weights)
