"""Input pipelines: CSV, pandas and arrays to `tf.data.Dataset`s of `(raw feature dict, label)` batches.

Rows are never fed one at a time: whole batches are gathered from in-memory columns by shuffled index
blocks, which is what lets the input pipeline run many times faster than training (see bench/).

Files too large for memory stream instead (`CsvFiles`, `TFRecordFiles`, `ParquetFiles`: see
`tfkit.data.streaming`), and `shard` gives each worker of a distributed run its own files.

IDX files (MNIST's format) are read by `read_idx`, and MNIST's train / validation / test splits by `load_mnist`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from feature_columns.integration import is_count

# Re-exported (the redundant aliases mark them as such): `tfkit.data.read_csv` is the public path.
from tfkit.data.csv_files import NUMERIC_BLANKS as NUMERIC_BLANKS
from tfkit.data.csv_files import CsvFiles as CsvFiles
from tfkit.data.csv_files import check_weights as check_weights
from tfkit.data.csv_files import read_csv as read_csv
from tfkit.data.csv_files import resolve_paths as resolve_paths
from tfkit.data.csv_files import weighted_specs as weighted_specs
from tfkit.data.idx import DEFAULT_DATA_DIR as DEFAULT_DATA_DIR
from tfkit.data.idx import MNIST_SPLITS as MNIST_SPLITS
from tfkit.data.idx import load_mnist as load_mnist
from tfkit.data.idx import read_idx as read_idx
from tfkit.data.labels import label_array as label_array
from tfkit.data.streaming import MEMORY_BUDGET_BYTES as MEMORY_BUDGET_BYTES
from tfkit.data.streaming import ParquetFiles as ParquetFiles
from tfkit.data.streaming import Stream as Stream
from tfkit.data.streaming import TFRecordFiles as TFRecordFiles
from tfkit.data.streaming import shard as shard
from tfkit.data.tfds import tfds_dataset as tfds_dataset


def _check_batch_size(batch_size) -> None:
    if not is_count(batch_size):
        raise ValueError(f"tfkit.data: `batch_size` must be a positive integer. Received: batch_size={batch_size!r}.")


def batched_dataset(
    features: dict,
    labels=None,
    *,
    batch_size: int = 512,
    shuffle: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A dataset of `(features, labels)` batches gathered from in-memory arrays.

    With `shuffle`, each pass draws a fresh permutation of all rows and gathers whole batches by it. With
    `drop_remainder` (and at least one whole batch), the last partial batch of each pass is left out: every
    batch then has one shape, so an XLA-compiled training step is compiled once; with `shuffle`, the rows left
    out differ from pass to pass.

    >>> ds = batched_dataset({"x": np.arange(5.0)}, np.arange(5.0), batch_size=2)
    >>> [len(y) for _, y in ds]
    [2, 2, 1]
    """
    _check_batch_size(batch_size)
    columns = {key: tf.constant(value) for key, value in features.items()}
    label_tensor = None if labels is None else tf.constant(labels)
    rows = int(next(iter(columns.values())).shape[0])
    if rows == 0:
        raise ValueError("tfkit.data: the data holds no rows.")

    # Plain TensorFlow ops, no Python control flow on tensors: AutoGraph's conversion would only cost time.
    @tf.autograph.experimental.do_not_convert
    def gather(indices):
        batch = {key: tf.gather(value, indices) for key, value in columns.items()}
        return batch if label_tensor is None else (batch, tf.gather(label_tensor, indices))

    if shuffle:
        # A new permutation on every pass, the sequence reproducible from `seed` (an op seed alone gives one
        # permutation, repeated on every pass).
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2).take(1)
        order = seeds.map(
            tf.autograph.experimental.do_not_convert(
                lambda pair: tf.random.experimental.stateless_shuffle(tf.range(rows), seed=pair)
            )
        )
    else:
        order = tf.data.Dataset.from_tensors(tf.range(rows))
    full = rows // batch_size * batch_size
    keep_remainder = not drop_remainder or full == 0

    @tf.autograph.experimental.do_not_convert
    def split(perm):
        whole = tf.data.Dataset.from_tensor_slices(tf.reshape(perm[:full], [-1, batch_size]))
        if not keep_remainder:
            return whole
        return whole.concatenate(tf.data.Dataset.from_tensors(perm[full:]).filter(lambda rest: tf.size(rest) > 0))

    blocks = order.flat_map(split)
    batches = -(-rows // batch_size) if keep_remainder else rows // batch_size
    return blocks.apply(tf.data.experimental.assert_cardinality(batches)).map(
        gather, num_parallel_calls=tf.data.AUTOTUNE
    )


# Rows preprocessed together: enough that tf.data's fixed cost per element is small beside the work.
PREPROCESS_BLOCK_ROWS = 8192


def _preprocessed_blocks(features, labels, preprocess, batch_size: int, *, shuffle: bool = False, seed=None):
    """`preprocess` mapped over blocks of about `PREPROCESS_BLOCK_ROWS` rows, each a whole number of batches."""
    _check_batch_size(batch_size)
    block = batch_size * max(1, PREPROCESS_BLOCK_ROWS // batch_size)
    dataset = batched_dataset(features, labels, batch_size=block, shuffle=shuffle, seed=seed)
    return dataset if preprocess is None else dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)


def preprocessed_batches(
    features: dict,
    labels,
    preprocess,
    *,
    batch_size: int = 512,
    shuffle: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Prefetched batches of `preprocess(features, labels)` (or `preprocess(features)`) from in-memory arrays.

    What tfkit's Estimator trains on. Rows are gathered and preprocessed in blocks of about 8,192 (tf.data's
    cost per element, which dominates preprocessing small batches, is paid once per block), then cut into
    `batch_size` batches: the same rows and shuffling as `batched_dataset`, for a fraction of the CPU.
    `preprocess` None: the rows as they are.

    >>> ds = preprocessed_batches({"x": np.arange(5.0)}, np.arange(5.0), lambda x, y: (x["x"] * 2, y), batch_size=2)
    >>> [x.numpy().tolist() for x, _ in ds]
    [[0.0, 2.0], [4.0, 6.0], [8.0]]
    """
    dataset = _preprocessed_blocks(features, labels, preprocess, batch_size, shuffle=shuffle, seed=seed)
    rows = len(next(iter(features.values())))
    drop = drop_remainder and rows >= batch_size  # see batched_dataset
    batches = rows // batch_size if drop else -(-rows // batch_size)
    dataset = dataset.rebatch(batch_size, drop_remainder=drop)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches)).prefetch(tf.data.AUTOTUNE)


# Training keeps rows preprocessed once in memory across epochs up to this size; larger data is preprocessed again
# on every pass. 1 GiB holds, e.g., 15 million taxi rides as the benchmark's columns preprocess them (68 bytes each,
# the label included); while the cache is assembled from its chunks, it briefly takes twice that.
CACHE_MAX_BYTES = 2**30
# Rows preprocessed per call while the cache fills. Called directly, each op runs on every core (tf.data runs a
# mapped function's ops on one thread each): the benchmark's million rides in 0.09 s instead of 0.28 s. A chunk
# bounds the memory that the preprocessing's intermediate tensors take.
CACHE_CHUNK_ROWS = 2**18


@dataclasses.dataclass(frozen=True)
class Packing:
    """Where the tensors of a preprocessed element lie once its rows are packed: one 2-D array per dtype, a row per
    example, every tensor's values side by side. `unpack` cuts packed rows (a block, a batch) back into the element.

    >>> element = ({"ids": np.array([[1, 2]]), "value": np.array([0.5])}, np.array([3]))
    >>> packing = Packing.of(element)
    >>> packed = packing.pack([tf.nest.flatten(element)])
    >>> sorted((key, array.tolist()) for key, array in packed.items())
    [('<f8', [[0.5]]), ('<i8', [[1, 2, 3]])]
    >>> features, labels = packing.unpack(packed)
    >>> features["ids"].numpy().tolist(), labels.numpy().tolist()
    ([[1, 2]], [3])
    """

    structure: object  # the element's nesting, its tensors None
    layout: tuple  # per tensor, in tf.nest's order: (dtype key, first column, last column + 1, shape of a row)

    @classmethod
    def of(cls, element) -> Packing:
        """The packing of `element`'s rows (the first axis of each of its tensors)."""
        flat = [np.asarray(tensor) for tensor in tf.nest.flatten(element)]
        widths: dict = {}
        layout = []
        for array in flat:
            key, width = array.dtype.str, int(np.prod(array.shape[1:]))
            start = widths.get(key, 0)
            layout.append((key, start, start + width, tuple(array.shape[1:])))
            widths[key] = start + width
        return cls(tf.nest.map_structure(lambda _: None, element), tuple(layout))

    def pack(self, parts: list) -> dict:
        """The rows of `parts` (chunks of rows, each a list of arrays in tf.nest's order) packed, chunk after chunk."""
        columns: dict = {}
        for i, (key, *_) in enumerate(self.layout):
            columns.setdefault(key, []).append(i)
        return {
            key: np.concatenate([np.concatenate([p[i].reshape(len(p[i]), -1) for i in indices], axis=1) for p in parts])
            for key, indices in columns.items()
        }

    def unpack(self, packed: dict):
        """The element of the rows `packed` (arrays or tensors, as `pack` gives them or gathered from them)."""
        tensors = [tf.reshape(packed[key][:, start:stop], [-1, *shape]) for key, start, stop, shape in self.layout]
        return tf.nest.pack_sequence_as(self.structure, tensors)


@dataclasses.dataclass(frozen=True, eq=False)
class CachedRows:
    """Rows preprocessed once and kept in memory, packed (see `Packing`): `batches` deals them out anew on each pass.

    A pass gathers one array per dtype instead of one per tensor (on the benchmark's rides, ten tensors of two
    dtypes, half the CPU).
    """

    packed: dict
    packing: Packing

    def batches(
        self,
        *,
        batch_size: int = 512,
        shuffle: bool = False,
        seed: int | None = None,
        drop_remainder: bool = False,
        unpacked: bool = True,
    ) -> tf.data.Dataset:
        """The rows in batches, as `preprocessed_batches` deals them. Without `unpacked`, the batches stay packed
        for a consumer that unpacks them itself: a compiled training step does it for next to nothing, where the
        input pipeline's every copy takes CPU from the training step it runs beside."""
        unpack = self.packing.unpack if unpacked else None
        options = {"batch_size": batch_size, "shuffle": shuffle, "seed": seed, "drop_remainder": drop_remainder}
        return preprocessed_batches(self.packed, None, unpack, **options).with_options(_WITHOUT_AUTOTUNING)


# Keras makes a new iterator over its data for every epoch. Training from the cache, with tf.data's autotuning 5 of
# 28 epochs started about 1.2 s late (on the benchmark's 2 cores, where an epoch takes 1.3 s), none without it,
# for the same median epoch: the maps run on every core and prefetching keeps its own adaptive buffer.
_WITHOUT_AUTOTUNING = tf.data.Options()
_WITHOUT_AUTOTUNING.autotune.enabled = False


def cache_rows(features: dict, labels, preprocess, *, max_bytes: int = CACHE_MAX_BYTES) -> CachedRows | None:
    """Every row of `features` (and `labels`) preprocessed once, packed in memory.

    `None`, so that the caller streams instead, when the preprocessed rows would take more than `max_bytes`, their
    widths vary from chunk to chunk (multivalent features padded per `CACHE_CHUNK_ROWS` rows), or there are none
    (which streaming reports).

    >>> cached = cache_rows({"x": np.arange(5.0)}, np.arange(5.0), lambda x, y: (x["x"] * 2, y))
    >>> [x.numpy().tolist() for x, _ in cached.batches(batch_size=2)]
    [[0.0, 2.0], [4.0, 6.0], [8.0]]
    """
    rows = len(next(iter(features.values())))
    run, parts = None, []
    for start in range(0, rows, CACHE_CHUNK_ROWS):
        chunk = slice(start, start + CACHE_CHUNK_ROWS)
        args = ({key: tf.constant(value[chunk]) for key, value in features.items()},)
        args += () if labels is None else (tf.constant(labels[chunk]),)
        if run is None:  # traced once, for every chunk (the last one's fewer rows too)
            signature = tf.nest.map_structure(lambda t: tf.TensorSpec([None, *t.shape[1:]], t.dtype), args)
            run = tf.function(preprocess, input_signature=signature)
        element = run(*args)
        flat = [np.asarray(tensor) for tensor in tf.nest.flatten(element)]
        if parts and [a.shape[1:] for a in flat] != [a.shape[1:] for a in parts[0]]:
            return None
        if not parts and sum(a.nbytes for a in flat) / len(flat[0]) * rows > max_bytes:
            return None
        parts.append(flat)
    if not parts:
        return None
    packing = Packing.of(element)
    return CachedRows(packing.pack(parts), packing)


def cached_batches(
    features: dict,
    labels,
    preprocess,
    *,
    batch_size: int = 512,
    shuffle: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
    max_bytes: int = CACHE_MAX_BYTES,
) -> tf.data.Dataset | None:
    """`preprocessed_batches`, with every row preprocessed once, kept in memory and batched anew on each pass.

    For training on several passes: the preprocessing is paid once instead of once per epoch, and each pass
    draws a fresh permutation of all rows as `batched_dataset` does. `None` where `cache_rows` declines.

    >>> ds = cached_batches({"x": np.arange(5.0)}, np.arange(5.0), lambda x, y: (x["x"] * 2, y), batch_size=2)
    >>> [x.numpy().tolist() for x, _ in ds]
    [[0.0, 2.0], [4.0, 6.0], [8.0]]
    """
    _check_batch_size(batch_size)
    cached = cache_rows(features, labels, preprocess, max_bytes=max_bytes)
    options = {"batch_size": batch_size, "shuffle": shuffle, "seed": seed, "drop_remainder": drop_remainder}
    return None if cached is None else cached.batches(**options)


def csv_dataset(
    paths_or_glob,
    *,
    label: str,
    batch_size: int = 512,
    columns,
    shuffle: bool = True,
    seed: int | None = None,
    label_dtype: str = "float32",
) -> tf.data.Dataset:
    """A prefetched dataset of `(raw feature dict, label)` batches from CSV files.

    Args:
        paths_or_glob: a path, a glob such as `"data/taxi-*.csv"`, a list of them, or a `CsvFiles`.
        label: the label column.
        label_dtype: `"float32"`, `"int64"` or `"string"`, as the head takes labels.
        batch_size: examples per batch.
        columns: the feature columns; they decide which CSV columns are parsed, their dtypes and defaults.
        shuffle: reshuffle the rows on every pass.
    """
    features, labels = read_csv(paths_or_glob, columns, label=label, label_dtype=label_dtype)
    return batched_dataset(features, labels, batch_size=batch_size, shuffle=shuffle, seed=seed).prefetch(
        tf.data.AUTOTUNE
    )
