"""What `compute_state` keeps while it reads the data once: each adapting column's `accumulator()` is one of these.

An accumulator has `update(values)`, called with what the column's `observe` gives for each batch, and
`result()`, the column's state. `parallel = True` marks one whose result runs in a thread.

Memory does not grow with the number of rows: moments are three sums; quantiles are exact up to
`EXACT_QUANTILE_VALUES` values per column, then sketched (`feature_columns.sketch`); vocabularies (of values,
or of a text's words and n-grams) keep at most `vocabulary_capacity(max_tokens)` counts, a `TextColumn`'s
document counts as many.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from feature_columns.base import describe
from feature_columns.sketch import QuantileSketch

# Values per column kept for exact quantiles (4 MiB of float32; the benchmark's million rides stay exact): more go
# into a `QuantileSketch`.
EXACT_QUANTILE_VALUES = 2**20


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
    """Places `num_bins - 1` boundaries at equal-count quantiles: exact while the column has seen at most
    `exact_values` values (they are kept), from a `QuantileSketch` beyond (a boundary's rank is then within
    the sketch's `rank_error()`, about 0.06% of the rows at ten million)."""

    parallel = True  # its result sorts, and NumPy releases the GIL while it sorts: `compute_state` runs it in a thread

    def __init__(self, num_bins: int, exact_values: int | None = None):
        self.num_bins, self.chunks, self.kept = num_bins, [], 0
        self.exact_values = EXACT_QUANTILE_VALUES if exact_values is None else exact_values
        self.sketch = None

    def update(self, values: np.ndarray) -> None:
        values = values.astype(np.float32, copy=False).ravel()
        if self.sketch is not None:
            self.sketch.update(values)
            return
        self.chunks.append(values)
        self.kept += values.size
        if self.kept > self.exact_values:  # from now on, memory stays that of the sketch
            self.sketch = QuantileSketch()
            for chunk in self.chunks:
                self.sketch.update(chunk)
            self.chunks = []

    def result(self) -> dict:
        fractions = np.linspace(0, 1, self.num_bins + 1)[1:-1]
        if self.sketch is not None:
            cuts = self.sketch.quantiles(fractions)
            return {"bin_boundaries": [float(b) for b in np.unique(cuts)]}
        # np.quantile's own (linear) interpolation over a sorted copy: NumPy's vectorized sort is several
        # times faster than the selection np.quantile runs for 15 cut points of a million values.
        values = np.concatenate(self.chunks)
        values.sort()
        positions = fractions * (values.size - 1)
        below = np.floor(positions).astype(np.int64)
        above = np.minimum(below + 1, values.size - 1)
        cuts = values[below] + (values[above] - values[below]) * (positions - below)
        return {"bin_boundaries": [float(b) for b in np.unique(cuts)]}


def vocabulary_capacity(max_tokens: int) -> int:
    """Distinct tokens a vocabulary's counts keep while adapting: 16 per learned token, at least 65,536."""
    return max(16 * max_tokens, 2**16)


class TokenCounts:
    """How often each token was seen, in a hash table of at most `capacity` tokens.

    When a batch brings more, the counts are pruned as Misra and Gries' frequent-items summary does (every count
    lowered by the one just past the capacity, those at zero dropped). Until that happens the counts are exact;
    after, every token seen more than `n / (capacity + 1)` times in `n` is kept, its count short by at most that.

    >>> counts = TokenCounts(tf.string, capacity=2)
    >>> counts.update(tf.constant(["a", "b", "a", "c", "a", "b"]))  # a 3, b 2, c 1: c is past the capacity
    >>> sorted(zip(*(part.tolist() for part in counts.export())))  # each count lowered by c's 1
    [(b'a', 2), (b'b', 1)]
    """

    def __init__(self, key_dtype, capacity: int):
        self.capacity = capacity
        self.table = tf.lookup.experimental.MutableHashTable(key_dtype, tf.int64, default_value=0)

    def update(self, tokens) -> None:
        tokens, _, counts = tf.unique_with_counts(tf.cast(tokens, self.table.key_dtype), out_idx=tf.int64)
        self.table.insert(tokens, counts + self.table.lookup(tokens))
        if int(self.table.size()) > self.capacity:
            tokens, counts = self.export()
            cut = np.partition(counts, counts.size - self.capacity - 1)[counts.size - self.capacity - 1]
            self.table.remove(tf.constant(tokens))
            keep = counts > cut
            self.table.insert(tf.constant(tokens[keep]), tf.constant(counts[keep] - cut))

    def export(self) -> tuple:
        """`(tokens, counts)` as NumPy arrays, in no order."""
        return tuple(t.numpy() for t in self.table.export())

    def lookup(self, tokens) -> np.ndarray:
        """The counts of `tokens` (0 for tokens not kept)."""
        return self.table.lookup(tf.constant(tokens, self.table.key_dtype)).numpy()


class Vocabulary:
    """The most frequent tokens, ordered as the column's own Keras lookup layer orders them (count, then token,
    descending), counted in `TokenCounts` of at most `vocabulary_capacity(max_tokens)` tokens; with the column's
    `min_frequency`, only tokens seen at least that often. A `TextColumn` gives the tokens its `TextVectorization`
    makes of the text (words, n-grams); a `VocabularyColumn` its values.

    `token_type` (`str` or `int`) makes the vocabulary's tokens plain Python values, for the saved state.
    """

    parallel = False  # the hash table is updated in place

    def __init__(self, column, layer, token_type):
        self.column, self.token_type = column, token_type
        config = layer.get_config()
        if isinstance(layer, keras.layers.TextVectorization):
            # Its mask and OOV tokens, which it never learns; its `max_tokens` counts both.
            self.special, self.learned, key_dtype = ["", "[UNK]"], config["max_tokens"] - 2, tf.string
        else:
            self.special = [t for t in (config["mask_token"], config["oov_token"]) if t is not None]
            self.learned = config["max_tokens"] - config["num_oov_indices"] - (config["mask_token"] is not None)
            key_dtype = tf.string if isinstance(layer, keras.layers.StringLookup) else tf.int64
        self.counts = TokenCounts(key_dtype, vocabulary_capacity(self.learned))

    def update(self, values) -> None:
        self.counts.update(values)

    def _tokens(self) -> list:
        tokens, counts = self.counts.export()
        keep = ~np.isin(tokens, np.asarray(self.special, tokens.dtype)) & (counts >= self.column.min_frequency)
        tokens, counts = tokens[keep], counts[keep]
        order = np.lexsort((tokens, counts))[::-1][: self.learned]  # as Keras's `finalize_state` sorts
        return [t.decode() if isinstance(t, bytes) else t for t in tokens[order].tolist()]

    def result(self) -> dict:
        vocabulary = self._tokens()
        if not vocabulary:
            frequency = self.column.min_frequency
            at_least = f" at least min_frequency={frequency} times" if frequency > 1 else ""
            raise ValueError(
                f"FeatureLayer.adapt: {describe(self.column)} found no values{at_least} in the data, so its "
                f"vocabulary is empty. Check that raw feature {self.column.key!r} holds values (padding is "
                "ignored), or give the column a `vocabulary`."
            )
        return {"vocabulary": [self.token_type(v) for v in vocabulary]}
