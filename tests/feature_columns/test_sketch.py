"""`QuantileSketch`: bin boundaries from a stream within the rank error it states, in memory that does not grow."""

import os

import numpy as np
import pandas as pd
import pytest

from feature_columns.sketch import QuantileSketch

COORDINATES = ["pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude"]
FRACTIONS = np.linspace(0, 1, 17)[1:-1]  # the 15 boundaries of 16 bins


def _check_within_bound(values: np.ndarray, sketch: QuantileSketch) -> None:
    """Every boundary's rank among `values` (the span of ranks it holds when it repeats) is within the sketch's
    stated error of its target rank, `q * (n - 1)`."""
    ordered = np.sort(values.astype(np.float32))
    bound = sketch.rank_error() * len(values)
    for fraction, boundary in zip(FRACTIONS, sketch.quantiles(FRACTIONS), strict=True):
        below = np.searchsorted(ordered, boundary, side="left")  # values < boundary
        through = np.searchsorted(ordered, boundary, side="right") - 1  # the last value == boundary
        target = fraction * (len(values) - 1)
        assert below - bound <= target <= through + bound, (fraction, boundary, below, through, target, bound)


@pytest.mark.parametrize("column", COORDINATES)
def test_taxi_coordinate_boundaries_are_within_the_stated_rank_error(taxi_dir, column):
    values = pd.read_csv(os.path.join(taxi_dir, "taxi-train.csv"), usecols=[column])[column].to_numpy()
    sketch = QuantileSketch(capacity=512)  # small, so that 59,620 rides compact 7 levels deep
    for start in range(0, len(values), 4096):
        sketch.update(values[start : start + 4096])
    assert sketch.count == len(values) == 59620
    # The bound a priori: levels / capacity of the values, ceil(log2(59,620 / 512)) = 7 levels.
    assert 0 < sketch.rank_error() <= 7 / 512
    assert sum(level.size for level in sketch.levels) <= 512 * len(sketch.levels)
    _check_within_bound(values, sketch)


def test_merged_sketches_of_shards_answer_for_all_of_them_with_the_bounds_added():
    values = np.random.default_rng(0).lognormal(size=200_000)
    left, right = QuantileSketch(capacity=256, seed=1), QuantileSketch(capacity=256, seed=2)
    for start in range(0, 100_000, 5000):
        left.update(values[start : start + 5000])
        right.update(values[100_000 + start : 100_000 + start + 5000])
    bounds = left.error_weight + right.error_weight
    left.merge(right)
    assert left.count == 200_000
    assert left.error_weight >= bounds  # the merge may compact again, adding its own
    _check_within_bound(values, left)


def test_memory_stays_bounded_as_values_grow():
    sketch = QuantileSketch(capacity=128)
    sizes = []
    for _ in range(5):
        for _ in range(50):
            sketch.update(np.random.default_rng(len(sizes)).random(4000))
        sizes.append(sum(level.size for level in sketch.levels))
    # 1M values: at most capacity values per level (+ the last update's), log2(1M / 128) ~ 13 levels.
    assert max(sizes) <= 128 * 14
    assert sketch.count == 1_000_000


def test_few_values_are_exact():
    sketch = QuantileSketch(capacity=64)
    sketch.update([5.0, 1.0, 3.0, 2.0, 4.0])
    # 5 values, none compacted: the value at position q * 4 of [1, 2, 3, 4, 5].
    assert sketch.rank_error() == 0.0
    assert sketch.quantiles([0.0, 0.5, 1.0]).tolist() == [1.0, 3.0, 5.0]


def test_bad_capacity_and_an_empty_sketch_are_errors():
    with pytest.raises(
        ValueError, match=r"QuantileSketch: `capacity` must be an integer >= 2\. Received: capacity=1\."
    ):
        QuantileSketch(capacity=1)
    with pytest.raises(ValueError, match=r"QuantileSketch.quantiles: the sketch holds no values\."):
        QuantileSketch().quantiles([0.5])
