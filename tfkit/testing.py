"""The conformance harness every head, model and canned estimator passes: config round trip, Keras save/load,
tf.data use, training, export. Columns have theirs beside them, in `feature_columns.testing`.

It is public so that code extending tfkit (a new head or builder) can hold itself to the same contract. A check
that fails raises an `AssertionError` that `python -O` keeps: `feature_columns.testing.ConformanceError`, or NumPy's
own from an array comparison.

>>> from feature_columns.testing import ConformanceError
>>> from tfkit.heads import RegressionHead
>>> from tfkit.models import dnn
>>> from feature_columns import NumericColumn
>>> frozen = keras.optimizers.SGD(0.0)  # nothing learns, so the loss cannot fall
>>> model = dnn([NumericColumn("x")], RegressionHead(), hidden_units=[2])
>>> try:
...     check_model(model, {"x": [1.0, 2.0]}, np.array([1.0, 3.0]), tempfile.mkdtemp(), optimizer=frozen)
... except ConformanceError as error:
...     print(str(error).split(":")[0])
model 'dnn'
"""

from __future__ import annotations

import os
import tempfile  # noqa: F401  (used by the doctest above)

import keras
import numpy as np
import tensorflow as tf

import feature_columns as fc
from feature_columns.integration import embedding_tables, raw_features, to_feature_arrays, to_tensors, walk_layers
from feature_columns.testing import require
from tfkit.export import export_saved_model
from tfkit.heads import PREDICTION_KEYS, BinaryHead, MultiClassHead, RegressionHead
from tfkit.models import find_head, split


def check_head(head, hidden, labels, workdir: str) -> None:
    """Checks a head's contract on one batch; raises an `AssertionError` naming what broke.

    - `from_config(get_config())` gives an equal config;
    - `head(hidden)` is float32 `[batch, head.units]`;
    - `prepare_labels` gives the same in `tf.data.Dataset.map` as eagerly, and is idempotent;
    - `compute_loss(training=False)` is a finite scalar, equal to `logits_loss` on prepared labels, and unit
      sample weights change nothing;
    - `predictions` uses only `PREDICTION_KEYS`; it and `serving_outputs` lead with the batch dimension;
    - a model of the head saved as `.keras` and loaded back gives identical logits and loss, and one exported
      as a SavedModel serves the same outputs (strings exactly, numbers within 1e-5).

    >>> from tfkit.heads import MultiClassHead
    >>> check_head(MultiClassHead(3), np.ones((2, 4), "float32"), np.array([0, 2]), tempfile.mkdtemp())
    """
    where = type(head).__name__
    hidden = tf.constant(hidden, tf.float32)
    rows = int(hidden.shape[0])
    config = head.get_config()
    require(type(head).from_config(config).get_config() == config, f"{where}: config round trip changed the head")

    logits = head(hidden)
    require(logits.dtype == tf.float32 and tuple(logits.shape) == (rows, head.units), f"{where}: logits {logits.shape}")

    prepared = head.prepare_labels(labels)
    mapped = next(iter(tf.data.Dataset.from_tensors(labels).map(head.prepare_labels)))
    np.testing.assert_array_equal(prepared, mapped, err_msg=f"{where}: prepare_labels differs in tf.data.map")
    np.testing.assert_array_equal(prepared, head.prepare_labels(prepared), err_msg=f"{where}: not idempotent")

    loss = head.compute_loss(hidden, labels)
    require(loss.shape == () and np.isfinite(float(loss)), f"{where}: loss {loss}")
    np.testing.assert_allclose(loss, head.logits_loss(prepared, logits), rtol=1e-6, err_msg=f"{where}: logits_loss")
    weighted = head.compute_loss(hidden, labels, sample_weight=np.ones(rows, "float32"))
    np.testing.assert_allclose(loss, weighted, rtol=1e-6, err_msg=f"{where}: unit sample weights changed the loss")

    predictions = head.predictions(logits)
    require(set(predictions) <= set(PREDICTION_KEYS), f"{where}: non-canonical keys {sorted(predictions)}")
    outputs = head.serving_outputs(logits)
    for key, value in {**predictions, **outputs}.items():
        require(value.shape[0] == rows, f"{where}: output {key!r} has shape {value.shape}")

    inputs = keras.Input((int(hidden.shape[-1]),))
    model = keras.Model(inputs, head(inputs))
    path = os.path.join(workdir, f"{head.name}.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(model(hidden), reloaded(hidden), err_msg=f"{where}: .keras reload changed logits")
    np.testing.assert_allclose(
        loss, reloaded.layers[-1].compute_loss(hidden, labels), rtol=1e-6, err_msg=f"{where}: .keras reload, loss"
    )

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve",
        lambda x: head.serving_outputs(model(x)),
        input_signature=[tf.TensorSpec((None, hidden.shape[-1]), tf.float32)],
    )
    saved_path = os.path.join(workdir, f"{head.name}_saved_model")
    archive.write_out(saved_path, verbose=False)
    loaded = tf.saved_model.load(saved_path)  # kept: its variables die with it
    _assert_outputs_close(outputs, loaded.serve(hidden), where, "SavedModel output")


def _assert_outputs_close(expected: dict, actual: dict, where: str, what: str) -> None:
    """Each of `expected`'s outputs equals `actual`'s: strings exactly, numbers within 1e-5."""
    for key, value in expected.items():
        value, other = np.asarray(value), np.asarray(actual[key])
        if value.dtype.kind in "OSU":
            np.testing.assert_array_equal(value, other, err_msg=f"{where}: {what} {key!r}")
        else:
            np.testing.assert_allclose(value, other, rtol=1e-5, atol=1e-5, err_msg=f"{where}: {what} {key!r}")


def _serve(path: str, tensors: dict) -> dict:
    """The `serving_default` outputs of the SavedModel at `path` for raw feature `tensors`."""
    loaded = tf.saved_model.load(path)  # kept until the outputs are computed: its variables die with it
    return {key: value.numpy() for key, value in loaded.signatures["serving_default"](**tensors).items()}


def _require_feature_state_once(model, where: str) -> None:
    """One `FeaturePreprocessor` and one `FeatureEncoder` among the model's layers, and each embedding table one
    variable of the model: adapted state and tables exist once, so a model_dir restores them from its own files."""
    layers = walk_layers(model)
    for kind in (fc.FeaturePreprocessor, fc.FeatureEncoder):
        found = {id(layer): layer.name for layer in layers if isinstance(layer, kind)}
        require(len(found) == 1, f"{where}: {len(found)} {kind.__name__} layers {sorted(found.values())}, not one")

    def table_name(variable) -> str:
        # "<table>/<variable>": a copy of a table (a second encoder's, a builder's own) has the same layer name
        # and variable name, whatever the layers above it.
        return "/".join(variable.path.split("/")[-2:])

    weights = model.weights
    for name, table in embedding_tables(model).items():
        copies = [variable.path for variable in weights if table_name(variable) == table_name(table.variable)]
        require(len(copies) == 1, f"{where}: embedding table {name!r} is {len(copies)} variables {copies}, not one")
        require(
            any(variable is table.variable for variable in weights),
            f"{where}: embedding table {name!r} ({table.variable.path}) is not a variable of the model",
        )


def check_model(model, features, labels, workdir: str, *, steps: int = 3, optimizer=None, export: bool = True) -> None:
    """Checks the contract of a model made by a `tfkit.models` builder (either form); raises an
    `AssertionError` naming what broke.

    - it splits into `(preprocessor, core)` around one head (`tfkit.models.split`, `find_head`);
    - it holds one `FeaturePreprocessor` and one `FeatureEncoder`, and each embedding table is one variable of
      it (`feature_columns.integration.embedding_tables`): no second copy of adapted state or of a table;
    - its core trains with `fit` on a `tf.data` pipeline that preprocesses the features and prepares the labels
      (as `tfkit.Estimator` feeds it): `steps` full-batch steps have a finite loss and lower the evaluation
      loss; evaluation reports the loss and the head's metrics;
    - `model(features)` is float32 `[batch, head.units]`; the head's predictions lead with the batch dimension;
    - rebuilt from its config and given the same weights, and saved as `.keras` and loaded back, it gives
      identical outputs;
    - if `export`, the `serving_default` signature of `tfkit.export.export_saved_model` serves the head's
      serving outputs within 1e-5.

    Args:
        model: the model to check; its core is compiled here.
        features: raw features (a dict of arrays or a DataFrame), a few rows.
        labels: their labels, as the head takes them.
        workdir: a folder to save into.
        steps: training steps.
        optimizer: the core's optimizer; defaults to Adam with rate 0.01.
        export: check the SavedModel export as well.

    >>> from feature_columns import NumericColumn
    >>> from tfkit.heads import RegressionHead
    >>> from tfkit.models import dnn
    >>> model = dnn([NumericColumn("x")], RegressionHead(), hidden_units=[2])
    >>> check_model(model, {"x": [1.0, 2.0]}, np.array([1.0, 3.0]), tempfile.mkdtemp(), export=False)
    """
    where = f"model {model.name!r}"
    preprocessor, core = split(model)
    head = find_head(model)
    _require_feature_state_once(model, where)
    tensors = to_tensors(to_feature_arrays(features, raw_features(preprocessor.columns), source=where))
    rows = len(next(iter(tensors.values())))

    core.compile(optimizer=optimizer or keras.optimizers.Adam(0.01))
    dataset = tf.data.Dataset.from_tensors((tensors, labels)).map(
        lambda x, y: (preprocessor(x), head.prepare_labels(y))
    )
    before = core.evaluate(dataset, return_dict=True, verbose=0)
    expected_names = ["loss", *(metric.name for metric in head.make_metrics())]
    require(sorted(before) == sorted(expected_names), f"{where}: evaluate reported {sorted(before)}")
    # One epoch of `steps` batches: Keras's per-epoch overhead would cost more than the steps.
    (trained,) = core.fit(dataset.repeat(steps), shuffle=False, verbose=0).history["loss"]
    after = core.evaluate(dataset, return_dict=True, verbose=0)["loss"]
    require(np.isfinite(trained), f"{where}: training loss {trained}")
    require(
        np.isfinite(after) and after < before["loss"], f"{where}: loss {before['loss']} -> {after} in {steps} steps"
    )

    outputs = model(tensors)
    require(outputs.dtype == tf.float32 and tuple(outputs.shape) == (rows, head.units), f"{where}: {outputs.shape}")
    predictions = head.predictions(outputs)
    require(set(predictions) <= set(PREDICTION_KEYS), f"{where}: non-canonical keys {sorted(predictions)}")
    for key, value in predictions.items():
        require(value.shape[0] == rows, f"{where}: prediction {key!r} has shape {value.shape}")

    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    clone(tensors)  # a Sequential of dict inputs builds its layers on its first call
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone(tensors), outputs, err_msg=f"{where}: config round trip changed the outputs")
    path = os.path.join(workdir, f"{model.name}.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(reloaded(tensors), outputs, err_msg=f"{where}: .keras reload changed the outputs")

    if export:
        served = _serve(export_saved_model(model, os.path.join(workdir, f"{model.name}_export")), tensors)
        _assert_outputs_close(head.serving_outputs(outputs), served, where, "SavedModel output")


def check_estimator(estimator, frame, workdir: str, *, steps: int = 3, batch_size: int = 8) -> None:
    """Checks the contract of a (canned) `tfkit.Estimator`; raises an `AssertionError` naming what broke.

    - it trains `steps` batches of the DataFrame `frame` (which holds the label column);
    - `evaluate` returns finite metrics under `tf.estimator`'s names: `loss`, `average_loss`, and a binary
      classifier's `accuracy`, `precision`, `recall`, `auc`, `auc_precision_recall`, a multi-class classifier's
      `accuracy`, a regressor's `rmse` and `mae`, with `prediction/mean` and `label/mean` for binary classifiers
      and one-value regressors;
    - `predict` yields one dict per row, equal to the rows of `predict_batch` (numbers within 1e-5);
    - the SavedModel `export_saved_model` writes, loaded with `tf.saved_model.load`, serves the same values as
      `predict_batch` within 1e-5.

    >>> import pandas as pd
    >>> import tfkit
    >>> from feature_columns import NumericColumn
    >>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "label": [0, 0, 1, 1]})
    >>> check_estimator(tfkit.LinearClassifier([NumericColumn("x")]), frame, tempfile.mkdtemp(), steps=1)
    """
    head = estimator.head
    where = f"{type(head).__name__} estimator"
    names = {"loss", "average_loss"}
    if isinstance(head, BinaryHead):
        names |= {"accuracy", "precision", "recall", "auc", "auc_precision_recall", "prediction/mean", "label/mean"}
    elif isinstance(head, MultiClassHead):
        names |= {"accuracy"}
    elif isinstance(head, RegressionHead):
        names |= {"rmse", "mae"} | ({"prediction/mean", "label/mean"} if head.units == 1 else set())
    metrics = estimator.train(frame, steps=steps, batch_size=batch_size, verbose=0).evaluate(frame)
    require(names <= set(metrics), f"{where}: evaluate lacks {sorted(names - set(metrics))}")
    require(all(np.isfinite(value) for value in metrics.values()), f"{where}: metrics {metrics}")

    batch = estimator.predict_batch(frame)
    rows = list(estimator.predict(frame))
    require(len(rows) == len(frame), f"{where}: predict yielded {len(rows)} dicts for {len(frame)} rows")
    for i, row in enumerate(rows):
        require(set(row) == set(batch), f"{where}: predict's keys {sorted(row)} differ from {sorted(batch)}")
        _assert_outputs_close({key: batch[key][i] for key in batch}, row, where, f"predict row {i}, output")

    tensors = to_tensors(to_feature_arrays(frame, raw_features(estimator.columns), source=where))
    served = _serve(estimator.export_saved_model(os.path.join(workdir, "export")), tensors)
    shared = {key: batch[key] for key in served if key in batch}
    require(shared, f"{where}: the SavedModel serves {sorted(served)}, none of which predict returns")
    _assert_outputs_close(shared, served, where, "SavedModel output")
