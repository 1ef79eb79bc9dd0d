"""What `compute_state` keeps while it reads the data once: each adapting column's `accumulator()` is one of these.

An accumulator has `update(values)`, called with what the column's `observe` gives for each batch, and
`result()`, the column's state. `parallel = True` marks one whose result runs in a thread.
"""

from __future__ import annotations

import numpy as np

from feature_columns.base import describe


class Moments:
    """Count, sum and sum of squares in float64: mean and variance without keeping the values."""

    parallel = False

    def __init__(self):
        self.count, self.total, self.total_sq = 0, 0.0, 0.0
        self.low, self.high = np.inf, -np.inf

    def update(self, values: np.ndarray) -> None:
        values = values.astype(np.float64).ravel()
        self.count += values.size
        self.total += values.sum()
        # Not `values @ values`: a BLAS call wakes OpenBLAS's threads, which then spin on the cores that
        # TensorFlow and the quantile sorts need (44% of the CPU samples of repeated adapts, profiled).
        self.total_sq += np.einsum("i,i->", values, values)
        self.low, self.high = min(self.low, values.min()), max(self.high, values.max())

    def result(self) -> dict:
        mean = self.total / self.count
        variance = max(self.total_sq / self.count - mean**2, 0.0)
        return {"mean": float(mean), "variance": float(variance), "min": float(self.low), "max": float(self.high)}


class Quantiles:
    """Keeps the values to place `num_bins - 1` boundaries at equal-count quantiles."""

    parallel = True  # its result sorts, and NumPy releases the GIL while it sorts: `compute_state` runs it in a thread

    def __init__(self, num_bins: int):
        self.num_bins, self.chunks = num_bins, []

    def update(self, values: np.ndarray) -> None:
        self.chunks.append(values.astype(np.float32, copy=False).ravel())

    def result(self) -> dict:
        # np.quantile's own (linear) interpolation over a sorted copy: NumPy's vectorized sort is several
        # times faster than the selection np.quantile runs for 15 cut points of a million values.
        values = np.concatenate(self.chunks)
        values.sort()
        positions = np.linspace(0, 1, self.num_bins + 1)[1:-1] * (values.size - 1)
        below = np.floor(positions).astype(np.int64)
        above = np.minimum(below + 1, values.size - 1)
        cuts = values[below] + (values[above] - values[below]) * (positions - below)
        return {"bin_boundaries": [float(b) for b in np.unique(cuts)]}


class Vocabulary:
    """Token counts kept by the column's own Keras lookup layer (`update_state`), so its ordering rules apply.

    `token_type` (`str` or `int`) makes the vocabulary's tokens plain Python values, for the saved state.
    """

    parallel = False  # Keras lookup layers keep per-thread state

    def __init__(self, column, layer, token_type):
        self.column, self.layer, self.token_type = column, layer, token_type

    def update(self, values) -> None:
        self.layer.update_state(values)

    def result(self) -> dict:
        self.layer.finalize_state()
        vocabulary = self.layer.get_vocabulary(include_special_tokens=False)
        if not vocabulary:
            raise ValueError(
                f"FeatureLayer.adapt: {describe(self.column)} found no values in the data, so its vocabulary is "
                f"empty. Check that raw feature {self.column.key!r} holds values (padding is ignored), or give the "
                "column a `vocabulary`."
            )
        return {"vocabulary": [self.token_type(v) for v in vocabulary]}
