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
    blocks = _index_blocks(_rows(features), batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder)
    return blocks.map(_gatherer(features, labels), num_parallel_calls=tf.data.AUTOTUNE)


def _rows(features: dict) -> int:
    rows = len(next(iter(features.values())))
    if rows == 0:
        raise ValueError("tfkit.data: the data holds no rows.")
    return rows


def _gatherer(features: dict, labels, rows_at=None):
    """The function that gathers the rows of a block of indices (`(features, labels)`, or the features alone),
    through `rows_at` when given (the rows at those places)."""
    columns = {key: tf.constant(value) for key, value in features.items()}
    label_tensor = None if labels is None else tf.constant(labels)
    rows_at = None if rows_at is None else tf.constant(rows_at)

    # Plain TensorFlow ops, no Python control flow on tensors: AutoGraph's conversion would only cost time.
    @tf.autograph.experimental.do_not_convert
    def gather(indices):
        indices = indices if rows_at is None else tf.gather(rows_at, indices)
        batch = {key: tf.gather(value, indices) for key, value in columns.items()}
        return batch if label_tensor is None else (batch, tf.gather(label_tensor, indices))

    return gather


def _index_blocks(rows: int, block: int, *, shuffle: bool, seed, drop_remainder: bool = False) -> tf.data.Dataset:
    """Blocks of `block` row indices in order, or (`shuffle`) in a fresh permutation on every pass."""
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
    full = rows // block * block
    keep_remainder = not drop_remainder or full == 0

    @tf.autograph.experimental.do_not_convert
    def split(perm):
        whole = tf.data.Dataset.from_tensor_slices(tf.reshape(perm[:full], [-1, block]))
        if not keep_remainder:
            return whole
        return whole.concatenate(tf.data.Dataset.from_tensors(perm[full:]).filter(lambda rest: tf.size(rest) > 0))

    blocks = -(-rows // block) if keep_remainder else rows // block
    return order.flat_map(split).apply(tf.data.experimental.assert_cardinality(blocks))


# Rows preprocessed together: enough that tf.data's fixed cost per element is small beside the work.
PREPROCESS_BLOCK_ROWS = 8192


def block_order(rows: int, seed: int | None) -> np.ndarray | None:
    """The order in which shuffled passes over `rows` rows read them, drawn once from `seed` (a random one for
    None); None for up to two blocks of `PREPROCESS_BLOCK_ROWS`, whose every pass permutes all the rows.

    Cut into blocks, it gives each pass the same random blocks of rows, visited in a new order, each one's rows
    permuted anew: a pass then reads a block's rows from one part of memory (a cache is stored in this order).
    Drawing every row of a pass from anywhere in memory made steady epochs 7% longer on the benchmark's cached
    million rides (bench/RESULTS.md, run 17n), on the cores the training step runs on.

    >>> order = block_order(20_000, seed=0)
    >>> sorted(order) == list(range(20_000)), block_order(16_384, seed=0)
    (True, None)
    """
    return None if rows <= 2 * PREPROCESS_BLOCK_ROWS else np.random.default_rng(seed).permutation(rows)


def _place_blocks(rows: int, batch_size: int, *, shuffle: bool, seed, ordered: bool) -> tf.data.Dataset:
    """Blocks of about `PREPROCESS_BLOCK_ROWS` places in the rows' order (`block_order`'s when `ordered`), each a
    whole number of batches. A shuffled pass in a block order visits its blocks anew (when they hold at least
    four batches); otherwise it permutes all the places."""
    block = batch_size * max(1, PREPROCESS_BLOCK_ROWS // batch_size)
    if not (shuffle and ordered and block >= 4 * batch_size):
        return _index_blocks(rows, block, shuffle=shuffle, seed=seed)
    count = -(-rows // block)
    blocks = tf.data.Dataset.range(count).shuffle(count, seed=seed, reshuffle_each_iteration=True)
    pairs = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    @tf.autograph.experimental.do_not_convert
    def permuted(index, pair):
        start = tf.cast(index, tf.int32) * block
        return start + tf.random.experimental.stateless_shuffle(tf.range(tf.minimum(block, rows - start)), seed=pair)

    return tf.data.Dataset.zip(blocks, pairs).map(permuted)


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
    `batch_size` batches, for a fraction of `batched_dataset`'s CPU. With `shuffle`, each pass is a new
    permutation of the rows: over more than two blocks' worth, the same random blocks in a new order, each
    block's rows permuted anew (see `block_order`). `preprocess` None: the rows as they are.

    >>> ds = preprocessed_batches({"x": np.arange(5.0)}, np.arange(5.0), lambda x, y: (x["x"] * 2, y), batch_size=2)
    >>> [x.numpy().tolist() for x, _ in ds]
    [[0.0, 2.0], [4.0, 6.0], [8.0]]
    """
    _check_batch_size(batch_size)
    rows = _rows(features)
    order = block_order(rows, seed) if shuffle else None
    places = _place_blocks(rows, batch_size, shuffle=shuffle, seed=seed, ordered=order is not None)
    blocks = places.map(_gatherer(features, labels, rows_at=order), num_parallel_calls=tf.data.AUTOTUNE)
    return _batches(blocks, preprocess, rows, batch_size, drop_remainder)


def _batches(blocks: tf.data.Dataset, preprocess, rows: int, batch_size: int, drop_remainder: bool):
    """`preprocess` mapped over `blocks` of the `rows` rows, cut into prefetched batches of `batch_size`."""
    dataset = blocks if preprocess is None else blocks.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
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
    dtypes, half the CPU). The rows are stored in `order` (a `block_order`; None: their own), so that a shuffled
    pass reads each block of rows from one part of memory.
    """

    packed: dict
    packing: Packing
    order: np.ndarray | None = None

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
        _check_batch_size(batch_size)
        rows = _rows(self.packed)
        places = _place_blocks(rows, batch_size, shuffle=shuffle, seed=seed, ordered=self.order is not None)
        # Unshuffled, the rows come in their own order: from the places the stored order put them.
        rows_at = np.argsort(self.order) if self.order is not None and not shuffle else None
        blocks = places.map(_gatherer(self.packed, None, rows_at), num_parallel_calls=tf.data.AUTOTUNE)
        unpack = self.packing.unpack if unpacked else None
        return _batches(blocks, unpack, rows, batch_size, drop_remainder).with_options(_WITHOUT_AUTOTUNING)


# Keras makes a new iterator over its data for every epoch. Training from the cache, with tf.data's autotuning 5 of
# 28 epochs started about 1.2 s late (on the benchmark's 2 cores, where an epoch takes 1.3 s), none without it,
# for the same median epoch: the maps run on every core and prefetching keeps its own adaptive buffer.
_WITHOUT_AUTOTUNING = tf.data.Options()
_WITHOUT_AUTOTUNING.autotune.enabled = False


def cache_rows(
    features: dict, labels, preprocess, *, seed: int | None = None, max_bytes: int = CACHE_MAX_BYTES
) -> CachedRows | None:
    """Every row of `features` (and `labels`) preprocessed once, packed in memory, in the `block_order` drawn from
    `seed`: shuffled passes with that seed give the batches `preprocessed_batches` gives.

    `None`, so that the caller streams instead, when the preprocessed rows would take more than `max_bytes`, their
    widths vary from chunk to chunk (multivalent features padded per `CACHE_CHUNK_ROWS` rows), or there are none
    (which streaming reports).

    >>> cached = cache_rows({"x": np.arange(5.0)}, np.arange(5.0), lambda x, y: (x["x"] * 2, y))
    >>> [x.numpy().tolist() for x, _ in cached.batches(batch_size=2)]
    [[0.0, 2.0], [4.0, 6.0], [8.0]]
    """
    rows = len(next(iter(features.values())))
    order = block_order(rows, seed)
    run, parts = None, []
    for start in range(0, rows, CACHE_CHUNK_ROWS):
        chunk = slice(start, start + CACHE_CHUNK_ROWS) if order is None else order[start : start + CACHE_CHUNK_ROWS]
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
    return CachedRows(packing.pack(parts), packing, order)


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
    draws a new permutation of the rows as `preprocessed_batches` does. `None` where `cache_rows` declines.

    >>> ds = cached_batches({"x": np.arange(5.0)}, np.arange(5.0), lambda x, y: (x["x"] * 2, y), batch_size=2)
    >>> [x.numpy().tolist() for x, _ in ds]
    [[0.0, 2.0], [4.0, 6.0], [8.0]]
    """
    _check_batch_size(batch_size)
    cached = cache_rows(features, labels, preprocess, seed=seed, max_bytes=max_bytes)
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
