"""Adapt in memory that does not grow with the rows: vocabularies by bounded counting, quantiles sketched past
`EXACT_QUANTILE_VALUES`, moments by running sums; one pass, the same state as exact counting where it fits."""

import os

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
from feature_columns import accumulators


def _tokens(n: int, seed: int = 0) -> np.ndarray:
    # Zipf-like: token i appears about n / (i + 1) times, with many ties among the rare ones.
    rng = np.random.default_rng(seed)
    return np.array([f"t{i}" for i in rng.zipf(1.5, size=n) % 5000])


@pytest.mark.parametrize("dtype", ["string", "int64"])
def test_bounded_counts_give_keras_own_vocabulary_while_they_fit(dtype):
    values = _tokens(20_000)
    values = values if dtype == "string" else np.char.lstrip(values, "t").astype(np.int64)
    column = fc.VocabularyColumn("t", dtype=dtype, max_tokens=50, num_oov_indices=2)
    accumulator = column.accumulator()
    for start in range(0, len(values), 3000):
        accumulator.update(tf.constant(values[start : start + 3000]))
    # Keras's own counting, ordering (count, then token, descending) and cut at max_tokens - num_oov_indices.
    layer = (keras.layers.StringLookup if dtype == "string" else keras.layers.IntegerLookup)(
        max_tokens=50, num_oov_indices=2
    )
    layer.adapt(values)
    expected = layer.get_vocabulary(include_special_tokens=False)
    assert accumulator.result()["vocabulary"] == [str(t) if dtype == "string" else int(t) for t in expected]
    assert len(expected) == 48


def test_counts_past_the_capacity_are_pruned_keeping_every_frequent_token():
    # 5 tokens seen 3,000 times each among 100,000 seen once: more distinct tokens than the capacity (65,536 for
    # max_tokens=6), so the counts are pruned; a token seen more than n / (capacity + 1) = 115,000 / 65,537 < 2
    # times is kept: the 5 frequent ones, in order of count, then one rare token fills the sixth slot.
    frequent = np.repeat([f"f{i}" for i in range(5)], [3000 - 100 * i for i in range(5)])
    rare = np.array([f"r{i:06d}" for i in range(100_000)])
    values = np.random.default_rng(0).permutation(np.concatenate([frequent, rare]))
    column = fc.VocabularyColumn("t", max_tokens=7, num_oov_indices=1)
    accumulator = column.accumulator()
    sizes = []
    for start in range(0, len(values), 10_000):
        accumulator.update(tf.constant(values[start : start + 10_000]))
        sizes.append(int(accumulator.counts.table.size()))
    assert accumulator.counts.capacity == accumulators.vocabulary_capacity(6) == 65_536
    assert max(sizes) <= 65_536
    vocabulary = accumulator.result()["vocabulary"]
    assert vocabulary[:5] == ["f0", "f1", "f2", "f3", "f4"]  # by count: 3,000, 2,900, ... 2,600
    assert len(vocabulary) == 6


def test_quantiles_past_the_exact_limit_come_from_the_sketch_within_its_error():
    values = np.random.default_rng(1).normal(size=300_000).astype(np.float32)
    exact = fc.BucketizedColumn(fc.NumericColumn("x"), num_bins=10).accumulator()
    sketched = fc.BucketizedColumn(fc.NumericColumn("x"), num_bins=10).accumulator()
    sketched.exact_values = 100_000  # the first 100,000 values are kept, then all go to the sketch
    for start in range(0, len(values), 50_000):
        exact.update(values[start : start + 50_000])
        sketched.update(values[start : start + 50_000])
    assert sketched.chunks == [] and sketched.sketch.count == 300_000
    bound = sketched.sketch.rank_error()
    ordered = np.sort(values)
    for cut, expected in zip(sketched.result()["bin_boundaries"], exact.result()["bin_boundaries"], strict=True):
        # Ranks as fractions of the values: the sketch's boundary within its error of the exact one.
        assert abs(np.searchsorted(ordered, cut) - np.searchsorted(ordered, expected)) <= bound * len(values) + 1


@pytest.mark.parametrize("key", ["pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude"])
def test_taxi_coordinate_bins_from_the_sketch_are_within_its_error_of_the_exact_ones(taxi_dir, key):
    values = pd.read_csv(os.path.join(taxi_dir, "taxi-train.csv"), usecols=[key])[key].to_numpy(np.float32)
    exact = fc.BucketizedColumn(fc.NumericColumn(key), num_bins=16).accumulator()
    sketched = fc.BucketizedColumn(fc.NumericColumn(key), num_bins=16).accumulator()
    sketched.exact_values = 4096  # all but the first 4,096 rides go through the sketch
    for start in range(0, len(values), 4096):
        exact.update(values[start : start + 4096])
        sketched.update(values[start : start + 4096])
    assert sketched.sketch.count == len(values) and sketched.sketch.rank_error() > 0
    allowed = sketched.sketch.rank_error() * len(values) + 1
    ordered = np.sort(values)
    for cut, expected in zip(sketched.result()["bin_boundaries"], exact.result()["bin_boundaries"], strict=True):
        # Many rides share a coordinate (an airport, a station): each value spans a range of ranks, and the two
        # boundaries' ranges must come within the sketch's error of each other.
        lo, hi = np.searchsorted(ordered, cut, "left"), np.searchsorted(ordered, cut, "right")
        want_lo, want_hi = np.searchsorted(ordered, expected, "left"), np.searchsorted(ordered, expected, "right")
        assert max(lo - want_hi, want_lo - hi, 0) <= allowed


def test_adapting_on_a_stream_of_batches_learns_the_same_state_as_on_arrays():
    rng = np.random.default_rng(2)
    data = {"x": rng.normal(size=5000).astype(np.float32), "c": _tokens(5000, seed=3)}
    columns = [
        fc.NumericColumn("x", normalization="zscore"),
        fc.IndicatorColumn(fc.BucketizedColumn(fc.NumericColumn("x"), num_bins=4)),
        fc.IndicatorColumn(fc.VocabularyColumn("c", max_tokens=20)),
    ]
    in_memory, streamed = fc.FeatureLayer(columns), fc.FeatureLayer(columns)
    in_memory.adapt(data)
    streamed.adapt(tf.data.Dataset.from_tensor_slices(data).batch(700))
    assert streamed.state["c"] == in_memory.state["c"]
    assert streamed.state["x_bucketized"] == in_memory.state["x_bucketized"]
    assert streamed.state["x"] == pytest.approx(in_memory.state["x"], rel=1e-9)
