"""Learns every column's statistics in ONE pass over the data (FeatureSpace makes one pass per feature).

Numeric moments, quantile samples and vocabulary counts are all updated from the same batch.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import tensorflow as tf

from feature_columns import columns as fc
from feature_columns.inputs import to_feature_arrays
from feature_columns.preprocessing import categorical_values, describe, lookup_layer, numeric_value, raw_tensor
from feature_columns.specs import STATEFUL_TYPES, raw_features, walk
from feature_columns.vocabulary import padding_value

# Rows per step: every step costs a few dozen eager ops whatever its size, so large steps are cheaper (a
# quarter of a million rows adapt 20% faster than 65,536 on the taxi columns); 256k rows of ten features are
# tens of megabytes.
ADAPT_BATCH_SIZE = 262144


class _Moments:
    """Count, sum and sum of squares in float64: mean and variance without keeping the values."""

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


class _Quantiles:
    """Keeps the values to place `num_bins - 1` boundaries at equal-count quantiles."""

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


class _Vocabulary:
    """Token counts kept by the column's own Keras lookup layer (`update_state`), so its ordering rules apply."""

    def __init__(self, column):
        self.column, self.layer = column, lookup_layer(column)

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
        if isinstance(self.column, fc.VocabularyColumn) and self.column.dtype != "string":
            return {"vocabulary": [int(v) for v in vocabulary]}
        return {"vocabulary": [str(v) for v in vocabulary]}


def _accumulator(column):
    if isinstance(column, fc.BucketizedColumn):
        return _Quantiles(column.num_bins)
    if isinstance(column, (fc.VocabularyColumn, fc.TextColumn)):
        return _Vocabulary(column)
    return _Moments()


def _observed(column, batch: dict, defaults: dict, memo: dict):
    """What a column's accumulator learns from one batch: numbers, or values to count (padding dropped).

    `memo` holds the batch's raw numeric features once checked, for the other columns that read them.
    """
    if isinstance(column, fc.TextColumn):
        return raw_tensor(batch, column.key, describe(column), "string", single=True)
    if isinstance(column, fc.VocabularyColumn):
        values = categorical_values(column, batch)
        if column.multivalent:
            values = tf.boolean_mask(values, values != padding_value(column.dtype))
        return tf.reshape(values, [-1])
    source = column.source if isinstance(column, fc.BucketizedColumn) else column
    # np.asarray views the tensor's buffer; Tensor.numpy() would copy it, only to be copied again by the update.
    return np.asarray(numeric_value(source, batch, defaults, memo))


def _rebatched(dataset: tf.data.Dataset, specs: list, batch_size: int) -> tf.data.Dataset:
    """`dataset.rebatch(batch_size)` for dense tensors: the op itself, without the identity map `rebatch` first
    traces for sparse and ragged components (7 ms of each pass's set-up, on in-memory batches)."""
    variant = tf.raw_ops.RebatchDatasetV2(
        input_dataset=tf.data.experimental.to_variant(dataset),
        batch_sizes=[batch_size],
        drop_remainder=False,
        output_types=[spec.dtype for spec in specs],
        output_shapes=[spec.shape for spec in specs],
    )
    return tf.data.experimental.from_variant(variant, dataset.element_spec)


def _regrouped(dataset: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
    """The dataset in batches of `batch_size`: each Python step costs far more than tf.data's regrouping."""
    specs = tf.nest.flatten(dataset.element_spec)
    if not all(isinstance(spec, tf.TensorSpec) for spec in specs):
        return dataset  # ragged or sparse features: batches as given
    if all(spec.shape.rank >= 1 and spec.shape[0] is None and spec.shape[1:].is_fully_defined() for spec in specs):
        return _rebatched(dataset, specs, batch_size)
    if not any(spec.shape.rank >= 1 and spec.shape[0] is None for spec in specs):
        return dataset.batch(batch_size)  # single examples
    return dataset


def _one_pass(dataset: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
    """`dataset` as adapt reads it: regrouped, its next batch made while this one is observed, and without
    tf.data's graph rewrites and autotuning unless the dataset's own options ask for them.

    Both pay off over many epochs, not in one pass: on a million in-memory rides the rewrite cost 11 ms of a
    60 ms adapt, and with autotuning on, releasing the iterator took 35 ms in about half the passes.
    Per-row and per-batch CSV parsing and 32-row batches adapted no slower without them
    (`bench/adapt_inputs.py`).
    """
    own = dataset.options()
    options = tf.data.Options()
    if own.autotune.enabled is None:
        options.autotune.enabled = False
    if own.experimental_optimization.apply_default_optimizations is None:
        options.experimental_optimization.apply_default_optimizations = False
    return _regrouped(dataset, batch_size).prefetch(1).with_options(options)


def iter_feature_batches(data, columns, batch_size: int = ADAPT_BATCH_SIZE):
    """Yields dicts of raw feature tensors from a Dataset, a DataFrame or a dict of arrays."""
    if isinstance(data, tf.data.Dataset):
        for element in _one_pass(data, batch_size):
            yield element[0] if isinstance(element, tuple) else element
        return
    if not isinstance(data, (pd.DataFrame, dict)):
        raise TypeError(
            "FeatureLayer.adapt: `data` must be a tf.data.Dataset, a pandas DataFrame or a dict of arrays. "
            f"Received: data of type {type(data).__name__}."
        )
    arrays = to_feature_arrays(data, raw_features(columns), source="FeatureLayer.adapt")
    rows = len(next(iter(arrays.values())))
    for start in range(0, rows, batch_size):
        yield {key: value[start : start + batch_size] for key, value in arrays.items()}


def compute_state(columns, data, batch_size: int = ADAPT_BATCH_SIZE) -> dict:
    """`{leaf column name: statistics}` for every column that learns from data, in one pass.

    >>> from feature_columns import NumericColumn
    >>> compute_state([NumericColumn("x", normalization="zscore")], {"x": [1.0, 3.0]})
    {'x': {'mean': 2.0, 'variance': 1.0, 'min': 1.0, 'max': 3.0}}
    """
    targets = {
        column.name: column for column in walk(columns) if column.needs_adapt and isinstance(column, STATEFUL_TYPES)
    }
    accumulators = {name: _accumulator(column) for name, column in targets.items()}
    if not targets:
        return {}
    defaults = {key: spec.default for key, spec in raw_features(columns).items() if spec.default is not None}
    seen_batches = 0
    for batch in iter_feature_batches(data, columns, batch_size):
        memo = {}
        for name, column in targets.items():
            accumulators[name].update(_observed(column, batch, defaults, memo))
        seen_batches += 1
    if not seen_batches:
        raise ValueError("FeatureLayer.adapt: `data` holds no examples. Pass the training data.")
    # The quantile sorts dominate, and NumPy releases the GIL while it sorts: they run in threads, one per core
    # (more threads only fight over the cores and their caches: 4 sorts of 1M values took 15 ms on 6 threads,
    # 8 ms on 2). The rest is quick, and the vocabularies finalize Keras layers, which keep per-thread state.
    quantiles = [name for name, accumulator in accumulators.items() if isinstance(accumulator, _Quantiles)]
    with ThreadPoolExecutor(max_workers=max(1, min(len(quantiles), os.cpu_count() or 1))) as pool:
        sorting = {name: pool.submit(accumulators[name].result) for name in quantiles}
        return {n: sorting[n].result() if n in sorting else a.result() for n, a in accumulators.items()}
