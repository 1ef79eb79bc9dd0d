"""The conformance harness every column and head passes: config round trip, Keras save/load, tf.data use.

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
from feature_columns.specs import id_slots
from feature_columns.vocabulary import padding_value


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
    from tfkit.heads import PREDICTION_KEYS  # here, so that checking columns needs no heads

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
