"""Learns every column's statistics in ONE pass over the data (FeatureSpace makes one pass per feature).

Numeric moments, quantiles and vocabulary counts (`feature_columns.accumulators`) are all updated from the same
batch: each column that adapts gives its accumulator (`accumulator()`) what it observes (`observe`). Their memory
does not grow with the number of rows (quantiles are sketched past a million values, vocabulary counts, a
`TextColumn`'s words and n-grams included, pruned past a capacity), so a dataset streamed from files larger than
memory adapts in one pass too.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import tensorflow as tf

from feature_columns.inputs import to_feature_arrays
from feature_columns.specs import raw_features, walk

# Rows per step: every step costs a few dozen eager ops whatever its size, so large steps are cheaper (a
# quarter of a million rows adapt 20% faster than 65,536 on the taxi columns); 256k rows of ten features are
# tens of megabytes.
ADAPT_BATCH_SIZE = 262144


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
    targets = {column.name: column for column in walk(columns) if column.needs_adapt and column.keeps_state}
    accumulators = {name: column.accumulator() for name, column in targets.items()}
    if not targets:
        return {}
    defaults = {key: spec.default for key, spec in raw_features(columns).items() if spec.default is not None}
    seen_batches = 0
    for batch in iter_feature_batches(data, columns, batch_size):
        memo = {}
        for name, column in targets.items():
            accumulators[name].update(column.observe(batch, defaults, memo))
        seen_batches += 1
    if not seen_batches:
        raise ValueError("FeatureLayer.adapt: `data` holds no examples. Pass the training data.")
    # The quantile sorts dominate, and NumPy releases the GIL while it sorts: they run in threads, one per core
    # (more threads only fight over the cores and their caches: 4 sorts of 1M values took 15 ms on 6 threads,
    # 8 ms on 2). The rest is quick, and the vocabularies finalize Keras layers, which keep per-thread state.
    quantiles = [name for name, accumulator in accumulators.items() if accumulator.parallel]
    with ThreadPoolExecutor(max_workers=max(1, min(len(quantiles), os.cpu_count() or 1))) as pool:
        sorting = {name: pool.submit(accumulators[name].result) for name in quantiles}
        return {n: sorting[n].result() if n in sorting else a.result() for n, a in accumulators.items()}
