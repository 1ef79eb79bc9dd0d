"""The conformance harness every column, head, model and canned estimator passes: config round trip, Keras
save/load, tf.data use, training, export.

It is public so that code extending tfkit (a new column or head) can hold itself to the same contract:

>>> from feature_columns import NumericColumn
>>> check_column(NumericColumn("x"), {"x": [1.0, 2.0]}, tempfile.mkdtemp())
"""

from __future__ import annotations

import os
import tempfile  # noqa: F401  (used by the doctest above)

import keras
import numpy as np
import tensorflow as tf

import feature_columns as fc
from feature_columns.integration import id_slots, padding_value, raw_features, to_feature_arrays, to_tensors
from tfkit.export import export_saved_model
from tfkit.heads import PREDICTION_KEYS, BinaryHead, MultiClassHead, RegressionHead
from tfkit.models import find_head, split


def all_example_columns() -> list:
    """One instance of every column type, nested the ways models use them."""
    lat = fc.BucketizedColumn("lat", bin_boundaries=(40.0, 41.0))
    lon = fc.BucketizedColumn(fc.NumericColumn("lon", default_value=-74.0), num_bins=4)
    day, hour = fc.IdentityColumn("day", num_buckets=7), fc.IdentityColumn("hour", num_buckets=24, default_value=0)
    city = fc.HashedColumn("city", num_bins=10)
    cell = fc.CrossedColumn((lat, lon), num_bins=16, name="cell")
    tags = fc.VocabularyColumn("tags", max_tokens=6, multivalent=True)
    clicks = fc.IdentityColumn("clicks", num_buckets=5, multivalent=True)
    return [
        fc.NumericColumn("fare", normalization="zscore"),
        fc.NumericColumn("count", dtype="int64", normalization="minmax", clip=(0, 6)),
        fc.NumericColumn("size", normalization="log", default_value=0.0),
        fc.DistanceColumn(("x0", "y0", "x1", "y1"), name="distance"),
        fc.IndicatorColumn(lat),
        fc.IndicatorColumn(day),
        fc.EmbeddingColumn(city, dimension=3, combiner="sum"),
        fc.EmbeddingColumn(cell),
        fc.EmbeddingColumn(fc.CrossedColumn((day, hour), num_bins=168, name="day_hour")),
        fc.EmbeddingColumn(fc.CrossedColumn((city, "vendor"), num_bins=20), max_norm=1.0),
        fc.IndicatorColumn(fc.VocabularyColumn("vendor", ("a", "b"), num_oov_indices=2)),
        fc.IndicatorColumn(fc.VocabularyColumn("zone", (3, 5, 8), dtype="int64", num_oov_indices=0)),
        fc.EmbeddingColumn(tags, dimension=2, combiner="sqrtn"),
        fc.IndicatorColumn(fc.HashedColumn("tags", num_bins=5, multivalent=True, name="tags_hashed")),
        fc.IndicatorColumn(fc.CrossedColumn((tags, "vendor"), num_bins=12)),
        fc.IndicatorColumn(fc.WeightedCategoricalColumn(clicks, "click_weights")),
        fc.EmbeddingColumn(fc.WeightedCategoricalColumn(clicks, "click_weights"), dimension=2),
        fc.SharedEmbeddingColumns(
            (fc.IdentityColumn("pickup_zone", num_buckets=10), fc.IdentityColumn("dropoff_zone", num_buckets=10)),
            dimension=3,
        ),
        fc.EmbeddingColumn(fc.TextColumn("review", max_tokens=20), dimension=4),
        fc.IndicatorColumn(fc.TextColumn("review", vocabulary=("good", "bad", "late"), name="review_words")),
        fc.EmbeddingColumn(
            fc.TextColumn("review", max_tokens=20, output_sequence_length=5, name="review_sequence"),
            dimension=2,
            combiner=None,
        ),
    ]


def example_features(rows: int = 32, seed: int = 0) -> dict:
    """Raw features for `all_example_columns`, as NumPy arrays; multivalent ones padded with "" or -1."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 4, rows)  # values per example of the multivalent features, none to three
    present = np.arange(3) < counts[:, None]
    words = np.array(["good", "bad", "late", "clean", "rude", "fast", "the", "driver"])
    return {
        "lat": rng.uniform(39.5, 41.5, rows).astype("float32"),
        "lon": rng.uniform(-75, -73, rows).astype("float32"),
        "day": rng.integers(0, 7, rows),
        "hour": rng.integers(0, 24, rows),
        "city": rng.choice(["nyc", "sf", "la"], rows).astype(str),
        "vendor": rng.choice(["a", "b", "c"], rows).astype(str),
        "fare": rng.normal(10, 3, rows).astype("float32"),
        "count": rng.integers(0, 8, rows),
        "size": rng.uniform(0, 100, rows).astype("float32"),
        **{k: rng.uniform(-1, 1, rows).astype("float32") for k in ("x0", "y0", "x1", "y1")},
        "zone": rng.choice([3, 5, 8, 9], rows),
        "tags": np.where(present, rng.choice(["kids", "pets", "bags", "bike"], (rows, 3)), ""),
        "clicks": np.where(present, rng.integers(0, 5, (rows, 3)), -1),
        "click_weights": np.where(present, rng.uniform(0.5, 2.0, (rows, 3)), 0.0).astype("float32"),
        "pickup_zone": rng.integers(0, 10, rows),
        "dropoff_zone": rng.integers(0, 10, rows),
        "review": np.array([" ".join(rng.choice(words, rng.integers(0, 7))).capitalize() for _ in range(rows)]),
    }


def _ragged(tensors: dict, raw_features: dict) -> dict:
    """The same features with every multivalent one as a `tf.RaggedTensor` (trailing padding dropped)."""
    ragged = dict(tensors)
    for key, spec in raw_features.items():
        if spec.shape == (None,):
            ragged[key] = tf.RaggedTensor.from_tensor(tensors[key], padding=padding_value(spec.dtype))
    return ragged


def check_column(column, features: dict, workdir: str) -> None:
    """Asserts the column's contract; raises AssertionError naming what broke.

    - `from_config(serialize(column)) == column`;
    - a `FeatureLayer` of it adapts on `features` and returns float32 `[batch, column.output_dim]`;
    - its ids lie in `[0, num_buckets)`, or are -1 (no value);
    - its preprocessor runs inside `tf.data.Dataset.map` with the same results as eagerly;
    - a model from `preprocessed_inputs()` through the encoder (how builders make the core) gives the output;
    - multivalent features give the same output padded or as `tf.RaggedTensor`;
    - a model of it saved as `.keras` and loaded back gives identical outputs.
    """
    assert fc.from_config(fc.serialize(column)) == column, f"{column.name}: config round trip changed the column"
    layer = fc.FeatureLayer([column])
    if layer.needs_adapt:
        layer.adapt(features)
    tensors = {key: tf.constant(features[key]) for key in layer.raw_features}
    output = layer(tensors)
    rows = len(next(iter(features.values())))
    assert output.dtype == tf.float32, f"{column.name}: output dtype {output.dtype}, expected float32"
    assert tuple(output.shape) == (rows, column.output_dim), f"{column.name}: output shape {tuple(output.shape)}"

    eager = layer.preprocessor(tensors)
    for key, categorical in id_slots(column):
        ids = eager[key].numpy()
        assert ids.dtype == np.int64 and ids.ndim == 2, f"{column.name}: ids {key!r} are {ids.dtype}{ids.shape}"
        assert ids.size == 0 or (ids.min() >= -1 and ids.max() < categorical.num_buckets), (
            f"{column.name}: ids {key!r} outside [-1, {categorical.num_buckets}): {ids.min()}..{ids.max()}"
        )
    mapped = next(iter(tf.data.Dataset.from_tensors(tensors).map(layer.preprocessor)))
    for key in eager:
        np.testing.assert_array_equal(eager[key], mapped[key], err_msg=f"{column.name}: tf.data.map differs")

    np.testing.assert_allclose(
        layer(_ragged(tensors, layer.raw_features)), output, err_msg=f"{column.name}: ragged input differs"
    )
    preprocessed = layer.preprocessed_inputs()
    core = keras.Model(preprocessed, layer.encoder(preprocessed))
    np.testing.assert_allclose(core(eager), output, err_msg=f"{column.name}: preprocessed_inputs -> encoder differs")

    raw = layer.raw_inputs()
    model = keras.Model(raw, layer(raw))
    path = os.path.join(workdir, f"{column.name}.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        model.predict(tensors, verbose=0), reloaded.predict(tensors, verbose=0), err_msg=f"{column.name}: .keras reload"
    )


def check_head(head, hidden, labels, workdir: str) -> None:
    """Asserts a head's contract on one batch; raises AssertionError naming what broke.

    - `from_config(get_config())` gives an equal config;
    - `head(hidden)` is float32 `[batch, head.units]`;
    - `prepare_labels` gives the same in `tf.data.Dataset.map` as eagerly, and is idempotent;
    - `compute_loss(training=False)` is a finite scalar, equal to `logits_loss` on prepared labels, and unit
      sample weights change nothing;
    - `predictions` uses only `PREDICTION_KEYS`; it and `serving_outputs` lead with the batch dimension;
    - a model of the head saved as `.keras` and loaded back gives identical logits and loss, and one exported
      as a SavedModel serves identical outputs.

    >>> from tfkit.heads import MultiClassHead
    >>> check_head(MultiClassHead(3), np.ones((2, 4), "float32"), np.array([0, 2]), tempfile.mkdtemp())
    """
    where = type(head).__name__
    hidden = tf.constant(hidden, tf.float32)
    rows = int(hidden.shape[0])
    config = head.get_config()
    assert type(head).from_config(config).get_config() == config, f"{where}: config round trip changed the head"

    logits = head(hidden)
    assert logits.dtype == tf.float32 and tuple(logits.shape) == (rows, head.units), f"{where}: logits {logits.shape}"

    prepared = head.prepare_labels(labels)
    mapped = next(iter(tf.data.Dataset.from_tensors(labels).map(head.prepare_labels)))
    np.testing.assert_array_equal(prepared, mapped, err_msg=f"{where}: prepare_labels differs in tf.data.map")
    np.testing.assert_array_equal(prepared, head.prepare_labels(prepared), err_msg=f"{where}: not idempotent")

    loss = head.compute_loss(hidden, labels)
    assert loss.shape == () and np.isfinite(float(loss)), f"{where}: loss {loss}"
    np.testing.assert_allclose(loss, head.logits_loss(prepared, logits), rtol=1e-6, err_msg=f"{where}: logits_loss")
    weighted = head.compute_loss(hidden, labels, sample_weight=np.ones(rows, "float32"))
    np.testing.assert_allclose(loss, weighted, rtol=1e-6, err_msg=f"{where}: unit sample weights changed the loss")

    predictions = head.predictions(logits)
    assert set(predictions) <= set(PREDICTION_KEYS), f"{where}: non-canonical keys {sorted(predictions)}"
    outputs = head.serving_outputs(logits)
    for key, value in {**predictions, **outputs}.items():
        assert value.shape[0] == rows, f"{where}: output {key!r} has shape {value.shape}"

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
    served = loaded.serve(hidden)
    for key, value in outputs.items():
        expected, actual = np.asarray(value), np.asarray(served[key])
        if expected.dtype.kind in "OSU":
            np.testing.assert_array_equal(expected, actual, err_msg=f"{where}: SavedModel output {key!r}")
        else:
            np.testing.assert_allclose(expected, actual, rtol=1e-5, err_msg=f"{where}: SavedModel output {key!r}")


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


def check_model(model, features, labels, workdir: str, *, steps: int = 3, optimizer=None, export: bool = True) -> None:
    """Asserts the contract of a model made by a `tfkit.models` builder (either form); raises AssertionError
    naming what broke.

    - it splits into `(preprocessor, core)` around one head (`tfkit.models.split`, `find_head`);
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
    tensors = to_tensors(to_feature_arrays(features, raw_features(preprocessor.columns), source=where))
    rows = len(next(iter(tensors.values())))

    core.compile(optimizer=optimizer or keras.optimizers.Adam(0.01))
    dataset = tf.data.Dataset.from_tensors((tensors, labels)).map(
        lambda x, y: (preprocessor(x), head.prepare_labels(y))
    )
    before = core.evaluate(dataset, return_dict=True, verbose=0)
    expected_names = ["loss", *(metric.name for metric in head.make_metrics())]
    assert sorted(before) == sorted(expected_names), f"{where}: evaluate reported {sorted(before)}"
    # One epoch of `steps` batches: Keras's per-epoch overhead would cost more than the steps.
    (trained,) = core.fit(dataset.repeat(steps), shuffle=False, verbose=0).history["loss"]
    after = core.evaluate(dataset, return_dict=True, verbose=0)["loss"]
    assert np.isfinite(trained), f"{where}: training loss {trained}"
    assert np.isfinite(after) and after < before["loss"], f"{where}: loss {before['loss']} -> {after} in {steps} steps"

    outputs = model(tensors)
    assert outputs.dtype == tf.float32 and tuple(outputs.shape) == (rows, head.units), f"{where}: {outputs.shape}"
    predictions = head.predictions(outputs)
    assert set(predictions) <= set(PREDICTION_KEYS), f"{where}: non-canonical keys {sorted(predictions)}"
    for key, value in predictions.items():
        assert value.shape[0] == rows, f"{where}: prediction {key!r} has shape {value.shape}"

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
    """Asserts the contract of a (canned) `tfkit.Estimator`; raises AssertionError naming what broke.

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
    assert names <= set(metrics), f"{where}: evaluate lacks {sorted(names - set(metrics))}"
    assert all(np.isfinite(value) for value in metrics.values()), f"{where}: metrics {metrics}"

    batch = estimator.predict_batch(frame)
    rows = list(estimator.predict(frame))
    assert len(rows) == len(frame), f"{where}: predict yielded {len(rows)} dicts for {len(frame)} rows"
    for i, row in enumerate(rows):
        assert set(row) == set(batch), f"{where}: predict's keys {sorted(row)} differ from {sorted(batch)}"
        _assert_outputs_close({key: batch[key][i] for key in batch}, row, where, f"predict row {i}, output")

    tensors = to_tensors(to_feature_arrays(frame, raw_features(estimator.columns), source=where))
    served = _serve(estimator.export_saved_model(os.path.join(workdir, "export")), tensors)
    shared = {key: batch[key] for key in served if key in batch}
    assert shared, f"{where}: the SavedModel serves {sorted(served)}, none of which predict returns"
    _assert_outputs_close(shared, served, where, "SavedModel output")
