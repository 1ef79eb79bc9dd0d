"""Learns every column's statistics in ONE pass over the data (FeatureSpace makes one pass per feature)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import tensorflow as tf

from feature_columns import columns as fc
from feature_columns.inputs import to_feature_arrays
from feature_columns.preprocessing import numeric_value
from feature_columns.specs import STATEFUL_TYPES, raw_features, walk


class _Moments:
    """Count, sum and sum of squares in float64: mean and variance without keeping the values."""

    def __init__(self):
        self.count, self.total, self.total_sq = 0, 0.0, 0.0
        self.low, self.high = np.inf, -np.inf

    def update(self, values: np.ndarray) -> None:
        values = values.astype(np.float64)
        self.count += values.size
        self.total += values.sum()
        self.total_sq += np.square(values).sum()
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
        self.chunks.append(values.astype(np.float32).ravel())

    def result(self) -> dict:
        values = np.concatenate(self.chunks)
        cuts = np.quantile(values, np.linspace(0, 1, self.num_bins + 1)[1:-1])
        return {"bin_boundaries": [float(b) for b in np.unique(cuts)]}


def _accumulator(column):
    if isinstance(column, fc.BucketizedColumn):
        return _Quantiles(column.num_bins)
    return _Moments()


def iter_feature_batches(data, columns, batch_size: int = 65536):
    """Yields dicts of raw feature tensors from a Dataset, a DataFrame or a dict of arrays."""
    if isinstance(data, tf.data.Dataset):
        for element in data:
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


def compute_state(columns, data, batch_size: int = 65536) -> dict:
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
        for name, column in targets.items():
            source = column.source if isinstance(column, fc.BucketizedColumn) else column
            values = numeric_value(source, batch, defaults).numpy()
            if np.isnan(values).any():
                raise ValueError(
                    f"FeatureLayer.adapt: column {column.name!r} received a missing value (NaN) and no numeric "
                    "column reading it has a `default_value`. Give one a `default_value`, or fill the data."
                )
            accumulators[name].update(values)
        seen_batches += 1
    if not seen_batches:
        raise ValueError("FeatureLayer.adapt: `data` holds no examples. Pass the training data.")
    return {name: accumulator.result() for name, accumulator in accumulators.items()}
