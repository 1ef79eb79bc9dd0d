"""The conformance checks every feature column passes, and examples of every column type to run them on.

Public, as `keras.src.testing` is for Keras, so that a new column type holds itself to the same contract; a check
that fails raises `ConformanceError` (never a bare `assert`, which `python -O` removes):

>>> import tempfile
>>> from feature_columns import NumericColumn
>>> check_column(NumericColumn("x"), {"x": [1.0, 2.0]}, tempfile.mkdtemp())
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

import feature_columns as fc
from feature_columns.integration import id_slots, padding_value


class ConformanceError(AssertionError):
    """A conformance check failed: the message names the object and what broke."""


def require(condition, message: str) -> None:
    """Raises `ConformanceError(message)` unless `condition` holds; an `assert` that `python -O` keeps.

    >>> require(1 + 1 == 2, "arithmetic")
    >>> require(1 + 1 == 3, "1 + 1 is not 3")
    Traceback (most recent call last):
    ...
    feature_columns.testing.ConformanceError: 1 + 1 is not 3
    """
    if not condition:
        raise ConformanceError(message)


def all_example_columns() -> list:
    """One instance of every column type, nested the ways models use them (features: `example_features`).

    >>> len(all_example_columns())
    21
    """
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
    """Raw features for `all_example_columns`, as NumPy arrays; multivalent ones padded with "" or -1.

    >>> example_features(rows=4)["tags"].shape  # up to three tags per example
    (4, 3)
    """
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
    """Checks the column's contract; raises an `AssertionError` naming what broke.

    - `from_config(serialize(column)) == column`;
    - a `FeatureLayer` of it adapts on `features` and returns float32 `[batch, column.output_dim]`;
    - its ids lie in `[0, num_buckets)`, or are -1 (no value);
    - its preprocessor runs inside `tf.data.Dataset.map` with the same results as eagerly;
    - a model from `preprocessed_inputs()` through the encoder (how builders make the core) gives the output;
    - multivalent features give the same output padded or as `tf.RaggedTensor`;
    - a model of it saved as `.keras` and loaded back gives identical outputs.
    """
    require(fc.from_config(fc.serialize(column)) == column, f"{column.name}: config round trip changed the column")
    layer = fc.FeatureLayer([column])
    if layer.needs_adapt:
        layer.adapt(features)
    tensors = {key: tf.constant(features[key]) for key in layer.raw_features}
    output = layer(tensors)
    rows = len(next(iter(features.values())))
    require(output.dtype == tf.float32, f"{column.name}: output dtype {output.dtype}, expected float32")
    require(tuple(output.shape) == (rows, column.output_dim), f"{column.name}: output shape {tuple(output.shape)}")

    eager = layer.preprocessor(tensors)
    for key, categorical in id_slots(column):
        ids = eager[key].numpy()
        require(ids.dtype == np.int64 and ids.ndim == 2, f"{column.name}: ids {key!r} are {ids.dtype}{ids.shape}")
        if ids.size:  # no ids are in range; min and max of none would raise
            require(
                ids.min() >= -1 and ids.max() < categorical.num_buckets,
                f"{column.name}: ids {key!r} outside [-1, {categorical.num_buckets}): {ids.min()}..{ids.max()}",
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
