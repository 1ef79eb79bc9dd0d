"""A mergeable streaming quantile sketch: bin boundaries from more values than memory holds, within a known error.

`QuantileSketch` keeps compactors in the manner of Karnin, Lang and Liberty's KLL sketch ("Optimal Quantile
Approximation in Streams", 2016), every level with the same `capacity`: level `h` holds values that each stand
for `2**h` of the values seen. A level over capacity is sorted and every other value (from a random first one)
moves up a level, weighing twice as much. For any value `x`, such a compaction changes the count of values below
`x` that the sketch stands for by at most the weight of one moved value, `2**h`; the sketch adds those weights up
as it runs, so `rank_error()` is a worst-case bound (not a probable one) on how far the rank of every quantile it
returns can be from the exact rank. Each compaction at level `h` removes at least `capacity` values of weight
`2**h`, so that bound is at most `levels / capacity` of the values, `log2(n / capacity) / capacity`: 0.06% for ten
million values at the default capacity, whose memory is `capacity * levels` float32 values (640 KB there),
whatever `n`. The random first values make the errors of successive compactions cancel, so in practice the error
is a small fraction of the bound. Sketches of shards merge (`merge`) into the sketch of all of them, the bounds
adding up.

>>> sketch = QuantileSketch(capacity=256)
>>> for start in range(0, 100_000, 1000):
...     sketch.update(np.arange(start, start + 1000))
>>> bound = sketch.rank_error() * sketch.count  # in values
>>> bool(abs(sketch.quantiles([0.5])[0] - 49_999.5) <= bound)
True
>>> bool(bound <= np.ceil(np.log2(100_000 / 256)) / 256 * 100_000)  # at most levels / capacity of them
True
"""

from __future__ import annotations

import numpy as np

# Values per level: 2**14 bounds the rank error at ten million values by 10 levels / 16,384 = 0.06%.
DEFAULT_CAPACITY = 2**14


class QuantileSketch:
    """Approximate quantiles of a stream of values in memory that does not grow with their number.

    Args:
        capacity: values each level keeps before it compacts: the rank error bound is about
            `log2(count / capacity) / capacity`, the memory `capacity * log2(count / capacity)` values.
        seed: seeds the compactions' random offsets, so that the same values in the same order give the same
            quantiles.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY, seed: int = 0):
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 2:
            raise ValueError(
                f"QuantileSketch: `capacity` must be an integer >= 2. Received: capacity={capacity!r}. The default, "
                f"{DEFAULT_CAPACITY}, bounds the rank error at ten million values by 0.06%."
            )
        self.capacity = capacity
        self.levels: list = [np.zeros(0, np.float32)]
        self.count = 0
        self.error_weight = 0  # the sum of every compaction's weight: the worst-case rank error, in values
        self._rng = np.random.default_rng(seed)

    def update(self, values) -> None:
        """Adds `values` (any shape; flattened)."""
        values = np.asarray(values, np.float32).ravel()
        self.count += values.size
        self.levels[0] = np.concatenate([self.levels[0], values])
        self._compress()

    def merge(self, other: QuantileSketch) -> None:
        """Adds the values `other` stands for: this sketch then answers for both streams, their bounds added."""
        while len(self.levels) < len(other.levels):
            self.levels.append(np.zeros(0, np.float32))
        for height, values in enumerate(other.levels):
            self.levels[height] = np.concatenate([self.levels[height], values])
        self.count += other.count
        self.error_weight += other.error_weight
        self._compress()

    def _compress(self) -> None:
        height = 0
        while height < len(self.levels):
            level = self.levels[height]
            if level.size > self.capacity:
                level = np.sort(level)
                # An even number of values compacts with an error of at most one weight; an odd one out stays.
                even = level.size - level.size % 2
                moved = level[int(self._rng.integers(2)) : even : 2]
                self.levels[height] = level[even:]
                if height + 1 == len(self.levels):
                    self.levels.append(np.zeros(0, np.float32))
                self.levels[height + 1] = np.concatenate([self.levels[height + 1], moved])
                self.error_weight += 2**height
            height += 1

    def rank_error(self) -> float:
        """The worst-case error of a returned quantile's rank, as a fraction of `count` (0.0 while exact)."""
        return self.error_weight / self.count if self.count else 0.0

    def quantiles(self, fractions) -> np.ndarray:
        """The values at `fractions` (in [0, 1]) of the sorted stream: for fraction `q`, a value whose rank among
        all values seen is within `rank_error() * count` of `q * (count - 1)`."""
        if not self.count:
            raise ValueError("QuantileSketch.quantiles: the sketch holds no values. Call `update` with data first.")
        values = np.concatenate(self.levels)
        weights = np.concatenate([np.full(level.size, 2**h, np.int64) for h, level in enumerate(self.levels)])
        order = np.argsort(values, kind="stable")
        values, ends = values[order], np.cumsum(weights[order])
        # Position p (0-based, of the `ends[-1]` values the sketch stands for) falls in the first value whose
        # cumulative weight passes it.
        positions = np.asarray(fractions, np.float64) * (ends[-1] - 1)
        return values[np.minimum(np.searchsorted(ends, positions, side="right"), values.size - 1)]
