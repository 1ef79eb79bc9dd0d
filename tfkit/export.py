"""Versioned, atomic SavedModel export with a raw-feature `serving_default` signature, and a predictor.

Layout follows TF Serving: `<export_dir_base>/<integer version>/saved_model.pb`. A version is written to a
hidden temporary folder and renamed into place, so a crash never leaves a partial version a server could load.
`assets.extra/raw_features.json` (TF Serving's place for extra files) describes the raw features, with the
defaults that stand in for missing values, for clients such as `Predictor`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from feature_columns.inputs import to_feature_arrays, to_tensors
from feature_columns.specs import RawFeature, raw_features
from tfkit.models import find_head, split

RAW_FEATURES_FILE = os.path.join("assets.extra", "raw_features.json")


def _existing_versions(export_dir_base: str) -> list:
    if not os.path.isdir(export_dir_base):
        return []
    return sorted(int(name) for name in os.listdir(export_dir_base) if name.isdigit())


def _raw_signature(model: keras.Model) -> dict:
    return {
        key: tf.TensorSpec([None, *tensor.shape[1:]], tensor.dtype, name=key) for key, tensor in model.input.items()
    }


def export_saved_model(model_or_estimator, export_dir_base: str, *, version: int | None = None) -> str:
    """Writes `<export_dir_base>/<version>/` atomically and returns its path.

    The `serving_default` signature takes the raw features as named tensors, one value per example
    (`[batch]`, or `[batch, n]` for multivalent features), and returns the head's serving outputs.

    Args:
        model_or_estimator: a trained `tfkit.Estimator` or a model made by a tfkit builder.
        export_dir_base: the folder holding the versions, e.g. `saved_models/taxifare`.
        version: the integer version; defaults to one more than the highest there (1 for a new folder).
    """
    model = getattr(model_or_estimator, "model", model_or_estimator)
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"tfkit.export: `model_or_estimator` must be a trained Estimator or a tfkit model. "
            f"Received: {type(model_or_estimator).__name__}."
        )
    export_dir_base = os.fspath(export_dir_base)
    versions = _existing_versions(export_dir_base)
    if version is None:
        version = (versions[-1] + 1) if versions else 1
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"tfkit.export: `version` must be a non-negative integer. Received: version={version!r}.")
    final = os.path.join(export_dir_base, str(version))
    if os.path.exists(final):
        raise FileExistsError(
            f"tfkit.export: version {version} already exists at {final!r}. Omit `version` to take the next free one."
        )
    head = find_head(model)

    @tf.function
    def serve(features):
        return head.serving_outputs(model(features, training=False))

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serve, input_signature=[_raw_signature(model)])

    os.makedirs(export_dir_base, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=export_dir_base)
    try:
        archive.write_out(staging, verbose=False)
        _write_raw_features(model, staging)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _write_raw_features(model: keras.Model, folder: str) -> None:
    preprocessor, _ = split(model)
    os.makedirs(os.path.join(folder, "assets.extra"), exist_ok=True)
    with open(os.path.join(folder, RAW_FEATURES_FILE), "w") as file:
        json.dump([dataclasses.asdict(f) for f in raw_features(preprocessor.columns).values()], file, indent=2)


def latest_version(export_dir_base: str) -> str:
    """The path of the highest integer version under `export_dir_base`."""
    versions = _existing_versions(os.fspath(export_dir_base))
    if not versions:
        raise FileNotFoundError(f"tfkit.export: no integer version folder under {os.fspath(export_dir_base)!r}.")
    return os.path.join(os.fspath(export_dir_base), str(versions[-1]))


class Predictor:
    """Calls an exported model's `serving_default` on a DataFrame or a dict of lists/arrays.

    Inputs are checked and typed before they reach TensorFlow: a missing feature, a non-numeric value in
    a numeric feature, or a missing value where the model has no default raises a `ValueError` naming it.
    """

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self.saved_model = tf.saved_model.load(self.path)
        self.signature = self.saved_model.signatures["serving_default"]
        with open(os.path.join(self.path, RAW_FEATURES_FILE)) as file:
            self.raw_features = {f["key"]: RawFeature(**{**f, "shape": tuple(f["shape"])}) for f in json.load(file)}

    def __call__(self, data) -> dict:
        if isinstance(data, pd.DataFrame) or hasattr(data, "keys"):
            arrays = to_feature_arrays(data, self.raw_features, source="prediction request")
        else:
            raise TypeError(
                "Predictor: `data` must be a pandas DataFrame or a dict of feature lists. "
                f"Received: {type(data).__name__}."
            )
        outputs = self.signature(**to_tensors(arrays))
        return {key: np.asarray(value) for key, value in outputs.items()}


def load(path: str) -> Predictor:
    """A `Predictor` for an export folder; given the base folder, the highest version is loaded."""
    path = os.fspath(path)
    if not os.path.exists(os.path.join(path, "saved_model.pb")):
        path = latest_version(path)
    return Predictor(path)
