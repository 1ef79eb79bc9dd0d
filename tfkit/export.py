"""Versioned, atomic SavedModel export that TF Serving loads as it is (`load`, the predictor for the result, lives
in `tfkit.predictor` and is re-exported here).

Layout follows TF Serving: `<export_dir_base>/<integer version>/saved_model.pb`. A version is written to a
hidden temporary folder, flushed to disk and renamed into place, so a crash or a full disk never leaves a
partial version that a server could load. Signatures (`saved_model_cli show --all --dir <version>`):

- `serving_default`: the raw features as named tensors (`[batch]`, or `[batch, n]` for multivalent ones),
  returning the head's serving outputs. TF Serving's Predict API and `tfkit serve` use it by default.
- `predict`: serialized `tf.Example`s (`examples`, `[batch]` strings) in, the same outputs. Parsing uses
  the columns' `make_parse_example_spec`, so defaults and multivalent features work as in training.
- `regression` (heads with one `predictions` value per example) and `classification` (heads with
  `probabilities`): serialized `tf.Example`s as `inputs`, returning `outputs`, or `classes` and `scores`, as
  TF Serving's Regress and Classify APIs expect.
- With a serving input receiver (tf.estimator's `serving_input_receiver_fn`), `serving_default` takes what it says
  and the raw-feature signature is `serving_raw` (see `tfkit.serving_input`).
- One more per entry of `column_signatures={signature name: dense column name}`: the raw features as
  `serving_default` takes them, returning `{column name: the column's dense output, [batch, output_dim]}` —
  e.g. an embedding column's vectors, for retrieval or nearest-neighbour search from the same export
  (`{"signature_name": "embedding", "instances": [...]}` in a REST predict body).

`assets.extra/` (TF Serving's place for extra files) holds `raw_features.json`, which describes the raw
features and the defaults that stand in for missing values, for clients such as `Predictor` and `tfkit serve`,
and `feature_columns.json` (`feature_columns`' SavedModel record, `write_saved_model_record`): the columns and
their adapted state (vocabularies included), as an Estimator's `estimator.json` holds them, so that a later
model taking embedding tables from the export (`feature_columns.PretrainedModel`, `Estimator(warm_start_from=...)`)
matches their rows by token.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile

import keras
import tensorflow as tf

from feature_columns import FeatureEncoder, parse_example
from feature_columns.integration import (
    is_count,
    is_dense,
    raw_features,
    walk_layers,
    write_saved_model_record,
)
from tfkit.models import find_head, split
from tfkit.predictor import RAW_FEATURES_FILE, versions
from tfkit.predictor import Predictor as Predictor
from tfkit.predictor import latest_version as latest_version
from tfkit.predictor import load as load
from tfkit.predictor import raw_signature_name as raw_signature_name
from tfkit.predictor import read_raw_features as read_raw_features
from tfkit.predictor import sample_request as sample_request
from tfkit.serving_input import RAW_SIGNATURE, ParsingReceiver, check_receiver
from tfkit.serving_input import build_parsing_serving_input_receiver_fn as build_parsing_serving_input_receiver_fn
from tfkit.serving_input import build_raw_serving_input_receiver_fn as build_raw_serving_input_receiver_fn

# TF Serving's signature contract: Classify and Regress read serialized tf.Examples from `inputs`.
EXAMPLES_INPUT = "inputs"
PREDICT_EXAMPLES_INPUT = "examples"
# Every export may hold these (regression and classification depend on the head), so no column signature takes them.
BUILT_IN_SIGNATURES = ("serving_default", RAW_SIGNATURE, "predict", "regression", "classification")


def _raw_signature(model: keras.Model) -> dict:
    """The raw features as the preprocessor reads them (a Sequential model has no `model.input` to ask)."""
    preprocessor, _ = split(model)
    return {
        key: tf.TensorSpec([None, *spec.shape], spec.dtype, name=key)
        for key, spec in sorted(raw_features(preprocessor.columns).items())
    }


def _classification_outputs(outputs: dict, vocabulary) -> dict:
    """TF Serving's Classify outputs from a head's serving outputs: `scores` and `classes`, both `[batch, n]`.

    A single probability per example (a sigmoid) becomes the two scores `[1 - p, p]`. Classes are named by
    the head's `label_vocabulary`, or by their ids as strings, as the heads name their `classes`.
    """
    scores = tf.cast(outputs["probabilities"], tf.float32)
    if scores.shape.rank == 1 or scores.shape[-1] == 1:
        positive = tf.reshape(scores, [-1, 1])
        scores = tf.concat([1.0 - positive, positive], axis=1)
    if vocabulary:
        names = tf.constant([str(name) for name in vocabulary])
    else:
        names = tf.strings.as_string(tf.range(scores.shape[-1], dtype=tf.int64))
    return {"classes": tf.tile(names[tf.newaxis], [tf.shape(scores)[0], 1]), "scores": scores}


def _one_value_per_example(tensor) -> bool:
    return (
        tensor is not None
        and tensor.dtype.is_floating
        and (tensor.shape.rank == 1 or (tensor.shape.rank == 2 and tensor.shape[-1] == 1))
    )


def _nested(columns) -> dict:
    """`{name: (column, names of the top-level columns built from it)}` for every column below the top level."""
    found: dict = {}

    def visit(column, top: str) -> None:
        for child in column.children():
            _, tops = found.setdefault(child.name, (child, []))
            if top not in tops:
                tops.append(top)
            visit(child, top)

    for column in columns:
        visit(column, column.name)
    return found


def _column_signatures(model: keras.Model, column_signatures) -> tuple:
    """`(encoder, {signature name: column name})` once `column_signatures` is known to name dense columns."""
    where = "tfkit.export.export_saved_model"
    if column_signatures is None:
        return None, {}
    if not isinstance(column_signatures, dict) or not all(
        isinstance(key, str) and key and isinstance(value, str) for key, value in column_signatures.items()
    ):
        raise ValueError(
            f"{where}: `column_signatures` must be a dict of signature name to dense column name, e.g. "
            f'{{"embedding": "item_embedding"}}. Received: column_signatures={column_signatures!r}.'
        )
    clashes = sorted(set(column_signatures) & set(BUILT_IN_SIGNATURES))
    if clashes:
        raise ValueError(
            f"{where}: `column_signatures` must not name a built-in signature {list(BUILT_IN_SIGNATURES)}. "
            f"Received: column_signatures={column_signatures!r}. Rename {clashes}, e.g. to 'embedding'."
        )
    _, core = split(model)
    encoders = [layer for layer in walk_layers(core) if isinstance(layer, FeatureEncoder)]
    if len(encoders) != 1:
        raise ValueError(
            f"{where}: model {model.name!r} has {len(encoders)} feature encoders, not one. Build it with a tfkit "
            "builder."
        )
    (encoder,) = encoders
    dense = [column.name for column in encoder.columns]
    nested = _nested(encoder.columns)
    for name in column_signatures.values():
        if name in dense:
            continue
        received = f"Received: column_signatures={column_signatures!r}"
        if name in nested:
            column, tops = nested[name]
            kind = "gives ids, not dense values" if not is_dense(column) else "only feeds another column"
            raise ValueError(
                f"{where}: `column_signatures` must name dense columns the model encodes, {dense}. {received}: "
                f"{name!r} ({type(column).__name__}) {kind}. Name the column built from it: {tops}."
            )
        raise ValueError(
            f"{where}: `column_signatures` must name dense columns of the model, {dense}. {received}: the model "
            f"has no column {name!r}. Use one of those names."
        )
    return encoder, dict(column_signatures)


def _archive(model: keras.Model, encoder=None, column_signatures=None, receiver=None) -> keras.export.ExportArchive:
    """An `ExportArchive` with every signature the model's head supports, and the checked `column_signatures`;
    `serving_default` as the serving input `receiver` (checked) says."""
    head = find_head(model)
    preprocessor, _ = split(model)
    raw_specs = _raw_signature(model)

    def serve(features):
        return head.serving_outputs(model(features, training=False))

    def serve_examples(serialized):
        if isinstance(receiver, ParsingReceiver):  # with its `feature_spec`, as tf.estimator parsed them
            return serve(receiver.features(serialized, raw_specs))
        return serve(parse_example(serialized, preprocessor.columns))

    def examples(name: str) -> list:
        return [tf.TensorSpec([getattr(receiver, "default_batch_size", None)], tf.string, name=name)]

    archive = keras.export.ExportArchive()
    archive.track(model)
    raw = archive.add_endpoint(RAW_SIGNATURE if receiver else "serving_default", serve, input_signature=[raw_specs])
    outputs = raw.get_concrete_function().structured_outputs
    endpoints = {"predict": (serve_examples, examples(PREDICT_EXAMPLES_INPUT))}
    if _one_value_per_example(outputs.get("predictions")):
        endpoints["regression"] = (
            lambda inputs: {"outputs": tf.reshape(serve_examples(inputs)["predictions"], [-1])},
            examples(EXAMPLES_INPUT),
        )
    if "probabilities" in outputs:
        vocabulary = getattr(head, "label_vocabulary", None)
        endpoints["classification"] = (
            lambda inputs: _classification_outputs(serve_examples(inputs), vocabulary),
            examples(EXAMPLES_INPUT),
        )
    if receiver is not None:
        endpoints["serving_default"] = receiver.default_endpoint(endpoints, serve, raw_specs)
    for name, (function, input_signature) in endpoints.items():
        archive.add_endpoint(name, function, input_signature=input_signature)
    for signature, name in (column_signatures or {}).items():
        archive.add_endpoint(
            signature, _column_output(preprocessor, encoder, name), input_signature=[_raw_signature(model)]
        )
    return archive


def _column_output(preprocessor, encoder, name: str):
    """The function of a column signature: raw features to `{name: that column's dense output}`."""

    def column_output(features):
        return {name: encoder(preprocessor(features), columns=[name])}

    return column_output


def export_saved_model(
    model_or_estimator,
    export_dir_base: str,
    serving_input_receiver_fn=None,
    *,
    version: int | None = None,
    column_signatures: dict | None = None,
) -> str:
    """Writes `<export_dir_base>/<version>/` atomically and returns its path.

    Args:
        model_or_estimator: a trained `tfkit.Estimator` or a model made by a tfkit builder.
        export_dir_base: the folder holding the versions, e.g. `saved_models/taxifare`.
        serving_input_receiver_fn: what `serving_default` takes, made by `build_parsing_serving_input_receiver_fn`
            (serialized `tf.Example`s) or `build_raw_serving_input_receiver_fn`; None: the raw features as the
            model reads them.
        version: the integer version; defaults to one more than the highest there (1 for a new folder).
        column_signatures: `{signature name: dense column name}`, e.g. `{"embedding": "item_embedding"}`: each
            adds a signature taking the raw features and returning `{column name: [batch, output_dim]}`, the
            column's dense output (its embedding vectors, one-hot indicators or values) as the model encodes it.
            Checked before anything is written: the name must be a top-level column of the model, and no
            built-in signature (`serving_default`, `predict`, `regression`, `classification`).

    Example:

    >>> import tempfile
    >>> from feature_columns import NumericColumn
    >>> from tfkit.heads import RegressionHead
    >>> from tfkit.models import dnn
    >>> model = dnn([NumericColumn("x")], RegressionHead(), hidden_units=[2])
    >>> base = tempfile.mkdtemp()
    >>> os.path.basename(export_saved_model(model, base)), os.path.basename(export_saved_model(model, base))
    ('1', '2')
    >>> sorted(tf.saved_model.load(os.path.join(base, "2")).signatures)
    ['predict', 'regression', 'serving_default']
    >>> from feature_columns import EmbeddingColumn, IdentityColumn
    >>> model = dnn([EmbeddingColumn(IdentityColumn("id", num_buckets=5), dimension=3)], RegressionHead())
    >>> loaded = tf.saved_model.load(export_saved_model(model, base, column_signatures={"embedding": "id_embedding"}))
    >>> {k: v.shape for k, v in loaded.signatures["embedding"](id=tf.constant([4, 0], tf.int64)).items()}
    {'id_embedding': TensorShape([2, 3])}
    """
    model = getattr(model_or_estimator, "model", model_or_estimator)
    if not isinstance(model, keras.Model):
        raise TypeError(
            "tfkit.export: `model_or_estimator` must be a trained Estimator or a model made by a tfkit builder. "
            f"Received: model_or_estimator={model_or_estimator!r} (of type {type(model_or_estimator).__name__})."
        )
    encoder, column_signatures = _column_signatures(model, column_signatures)
    check_receiver(serving_input_receiver_fn, _raw_signature(model))
    export_dir_base = os.fspath(export_dir_base)
    if version is None:
        existing = versions(export_dir_base)
        version = (existing[-1] + 1) if existing else 1
    if not is_count(version, minimum=0):
        raise ValueError(
            f"tfkit.export: `version` must be a non-negative integer. Received: version={version!r}. "
            "Omit it to take the next free version."
        )
    final = os.path.join(export_dir_base, str(version))
    if os.path.exists(final):
        raise FileExistsError(
            f"tfkit.export: version {version} already exists at {final!r}. Omit `version` to take the next free one."
        )
    archive = _archive(model, encoder, column_signatures, serving_input_receiver_fn)
    os.makedirs(export_dir_base, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=export_dir_base)
    try:
        archive.write_out(staging, verbose=False)
        _write_assets(model, staging)
        _publish(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _write_assets(model: keras.Model, folder: str) -> None:
    preprocessor, _ = split(model)
    os.makedirs(os.path.join(folder, "assets.extra"), exist_ok=True)
    with open(os.path.join(folder, RAW_FEATURES_FILE), "w") as file:
        json.dump([dataclasses.asdict(f) for f in raw_features(preprocessor.columns).values()], file, indent=2)
    write_saved_model_record(folder, preprocessor.columns, preprocessor.state)


def _fsync(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _publish(staging: str, final: str) -> None:
    """Renames the finished `staging` folder to `final`, with its files on disk first.

    Without the flushes, a power cut right after the rename could leave a visible version with empty files.
    """
    for folder, _, files in os.walk(staging):
        for name in files:
            _fsync(os.path.join(folder, name))
        _fsync(folder)
    os.rename(staging, final)  # atomic on one file system; fails if another export took the same version
    _fsync(os.path.dirname(final))
