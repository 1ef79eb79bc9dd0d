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


def all_example_columns() -> list:
    """One instance of every column type, nested the ways models use them."""
    lat = fc.BucketizedColumn("lat", bin_boundaries=(40.0, 41.0))
    lon = fc.BucketizedColumn(fc.NumericColumn("lon", default_value=-74.0), num_bins=4)
    day, hour = fc.IdentityColumn("day", num_buckets=7), fc.IdentityColumn("hour", num_buckets=24, default_value=0)
    city = fc.HashedColumn("city", num_bins=10)
    cell = fc.CrossedColumn((lat, lon), num_bins=16, name="cell")
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
    ]


def example_features(rows: int = 32, seed: int = 0) -> dict:
    """Raw features for `all_example_columns`, as NumPy arrays."""
    rng = np.random.default_rng(seed)
    return {
        "lat": rng.uniform(39.5, 41.5, rows).astype("float32"),
        "lon": rng.uniform(-75, -73, rows).astype("float32"),
        "day": rng.integers(0, 7, rows),
        "hour": rng.integers(0, 24, rows),
        "city": rng.choice(["nyc", "sf", "la"], rows).astype(str),
        "vendor": rng.choice(["a", "b"], rows).astype(str),
        "fare": rng.normal(10, 3, rows).astype("float32"),
        "count": rng.integers(0, 8, rows),
        "size": rng.uniform(0, 100, rows).astype("float32"),
        **{k: rng.uniform(-1, 1, rows).astype("float32") for k in ("x0", "y0", "x1", "y1")},
    }


def check_column(column, features: dict, workdir: str) -> None:
    """Asserts the column's contract; raises AssertionError naming what broke.

    - `from_config(serialize(column)) == column`;
    - a `FeatureLayer` of it adapts on `features` and returns float32 `[batch, column.output_dim]`;
    - its preprocessor runs inside `tf.data.Dataset.map` with the same results as eagerly;
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
    mapped = next(iter(tf.data.Dataset.from_tensors(tensors).map(layer.preprocessor)))
    for key in eager:
        np.testing.assert_array_equal(eager[key], mapped[key], err_msg=f"{column.name}: tf.data.map differs")

    raw = layer.raw_inputs()
    model = keras.Model(raw, layer(raw))
    path = os.path.join(workdir, f"{column.name}.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        model.predict(tensors, verbose=0), reloaded.predict(tensors, verbose=0), err_msg=f"{column.name}: .keras reload"
    )
