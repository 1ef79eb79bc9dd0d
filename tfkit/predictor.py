"""Reading an export back: its versions, its raw features, a `Predictor` over its signatures, a sample request.

`tfkit.export` writes exports and re-exports these names (`tfkit.export.load` is the documented way in).

>>> import tempfile
>>> from feature_columns import NumericColumn
>>> from tfkit.export import export_saved_model
>>> from tfkit.heads import RegressionHead
>>> from tfkit.models import dnn
>>> base = tempfile.mkdtemp()
>>> path = export_saved_model(dnn([NumericColumn("x")], RegressionHead(), hidden_units=[2]), base)
>>> load(base)({"x": [1.0, 2.0]})["predictions"].shape
(2,)
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import tensorflow as tf

from feature_columns.integration import RawFeature, to_feature_arrays, to_tensors
from tfkit.graph_errors import rejection_message
from tfkit.serving_input import RAW_SIGNATURE

RAW_FEATURES_FILE = os.path.join("assets.extra", "raw_features.json")


def versions(export_dir_base: str) -> list:
    """The integer versions under `export_dir_base`, ascending (staging folders are not versions)."""
    export_dir_base = os.fspath(export_dir_base)
    if not os.path.isdir(export_dir_base):
        return []
    return sorted(int(name) for name in os.listdir(export_dir_base) if name.isdigit())


def latest_version(export_dir_base: str) -> str:
    """The path of the highest integer version under `export_dir_base`."""
    existing = versions(export_dir_base)
    if not existing:
        raise FileNotFoundError(
            f"tfkit.export: no integer version folder under {os.fspath(export_dir_base)!r}. "
            "Export a model there first (tfkit.export.export_saved_model or `tfkit train`)."
        )
    return os.path.join(os.fspath(export_dir_base), str(existing[-1]))


def read_raw_features(path: str) -> dict:
    """`{key: RawFeature}` of an export folder, as written to `assets.extra/raw_features.json`."""
    with open(os.path.join(os.fspath(path), RAW_FEATURES_FILE)) as file:
        return {f["key"]: RawFeature(**{**f, "shape": tuple(f["shape"])}) for f in json.load(file)}


class Predictor:
    """Calls an exported model's `serving_default`, or another signature taking raw features (such as a
    `column_signatures` one, by `signature_name`), on a DataFrame or a dict of lists/arrays.

    Inputs are checked and typed before they reach TensorFlow: a missing feature, a non-numeric value in
    a numeric feature, or a missing value where the model has no default raises a `ValueError` naming it.
    """

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self.saved_model = tf.saved_model.load(self.path)
        self.raw_signature = raw_signature_name(self.saved_model.signatures)
        self.raw_features = read_raw_features(self.path)

    def __call__(self, data, signature_name: str | None = None) -> dict:
        """Outputs of `signature_name`, by default the signature taking raw features (`raw_signature_name`)."""
        signature_name = signature_name or self.raw_signature
        if isinstance(data, pd.DataFrame) or hasattr(data, "keys"):
            arrays = to_feature_arrays(data, self.raw_features, source="prediction request")
        else:
            raise TypeError(
                "Predictor: `data` must be a pandas DataFrame or a dict of feature lists. "
                f"Received: data of type {type(data).__name__}."
            )
        # The tf.Example signatures (`predict`, ...) take serialized protos, not the raw features given here.
        raw = sorted(
            name
            for name, function in self.saved_model.signatures.items()
            if set(function.structured_input_signature[1]) == set(self.raw_features)
        )
        if signature_name not in raw:
            raise ValueError(
                f"Predictor: `signature_name` must name a signature taking raw features, one of {raw}. "
                f"Received: signature_name={signature_name!r}."
            )
        try:
            outputs = self.saved_model.signatures[signature_name](**to_tensors(arrays))
        except tf.errors.InvalidArgumentError as error:  # a column's check inside the graph
            raise ValueError(f"Predictor: the model rejected the data: {rejection_message(error)}") from None
        return {key: np.asarray(value) for key, value in outputs.items()}


def _resolve(path: str) -> str:
    """A version folder as given, or the highest version of a base folder."""
    path = os.fspath(path)
    return path if os.path.exists(os.path.join(path, "saved_model.pb")) else latest_version(path)


def load(path: str) -> Predictor:
    """A `Predictor` for an export folder; given the base folder, the highest version is loaded."""
    return Predictor(_resolve(path))


def _sample_value(feature: RawFeature):
    if feature.dtype == "string":
        value = ""
    elif feature.dtype.startswith("int"):
        value = 0
    else:
        value = 0.0 if feature.default is None else feature.default
    shape = tuple(1 if size is None else size for size in feature.shape)  # one value of a multivalent feature
    return np.full(shape, value).tolist() if shape else value


def raw_signature_name(signatures) -> str:
    """The signature of an export that takes raw features: `serving_default`, or `serving_raw` when the export
    was made with a `serving_input_receiver_fn` (whose inputs `serving_default` then takes)."""
    return RAW_SIGNATURE if RAW_SIGNATURE in signatures else "serving_default"


def sample_request(path: str, output_path: str | None = None, *, signature_name: str = "serving_default") -> dict:
    """A `:predict` REST body (row format) with one example of every raw feature the export reads.

    Numbers are the feature's default for missing values, else 0; strings are empty. Edit the values, then
    POST the body to `/v1/models/<name>:predict` (`tfkit serve` or TF Serving).

    Args:
        path: a version folder, or a base folder (its highest version is used).
        output_path: also write the body there as JSON, e.g. for `curl -d @request.json`.
        signature_name: the signature taking raw features (`raw_signature_name`): `serving_raw` for an export
            made with a `serving_input_receiver_fn`.

    >>> import tempfile
    >>> from feature_columns import NumericColumn
    >>> from tfkit.export import export_saved_model
    >>> from tfkit.heads import RegressionHead
    >>> from tfkit.models import dnn
    >>> model = dnn([NumericColumn("x", default_value=1.5), NumericColumn("n", dtype="int64")], RegressionHead())
    >>> sample_request(export_saved_model(model, tempfile.mkdtemp()))
    {'signature_name': 'serving_default', 'instances': [{'x': 1.5, 'n': 0}]}
    """
    features = read_raw_features(_resolve(path))
    body = {
        "signature_name": signature_name,
        "instances": [{key: _sample_value(feature) for key, feature in features.items()}],
    }
    if output_path is not None:
        with open(output_path, "w") as file:
            json.dump(body, file, indent=2)
    return body
