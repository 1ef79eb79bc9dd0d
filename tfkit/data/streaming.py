"""Files read a block at a time inside `tf.data`: CSV shards, TFRecord files of `tf.Example`, Parquet files.

Data too large for memory trains from a `Stream`: each file is read in blocks (1 MiB of CSV text, 16,384
records or Parquet rows), parsed vectorized (CSV by the same checks and parser as `read_csv`, so a bad row's
error names the file and line), blocks of several files interleaved. Memory holds a few blocks per file read
at once, whatever the number of rows. While training, the files' order is drawn anew on each pass and the rows
of each block are permuted as in-memory data is (`batched_dataset`), from the same seeds: data that fits in one
block, of up to 16,384 rows (more in memory are shuffled in blocks, `tfkit.data.block_order`), is trained on in
exactly the same order streamed or in memory in its first epoch, and gives the same model
(tests/tfkit/test_streaming.py). Later epochs differ, by Keras 3.15's handling of the two: on data of unknown
length (a stream) it runs an extra, empty step at the end of each epoch, which still counts an optimizer
iteration (Adam's bias correction moves), and on data of known length (in memory) it makes an iterator at the
end of each epoch that it never reads, so in-memory epochs after the first take their order from later seeds.

Whether files stream is one option, `streaming` (`CsvFiles`, `TFRecordFiles`, `ParquetFiles`): None (the
default) reads them whole when `estimated_bytes` is at most `MEMORY_BUDGET_BYTES`, and streams them otherwise.
`shard` gives each worker of a distributed run its own files.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf

import feature_columns as fc
from feature_columns.integration import RawFeature, is_count, padding_value, to_feature_arrays
from tfkit.data.csv_files import CsvFiles, check_weights, parse_csv_text, resolve_paths, text_blocks, weighted_specs
from tfkit.data.labels import label_array

# Files are read whole when they hold at most this much (1 GiB: e.g. 15 million taxi rides of CSV, which take
# about half that as arrays); compressed files are counted at `COMPRESSION_RATIO` times their size.
MEMORY_BUDGET_BYTES = 2**30
COMPRESSION_RATIO = 4
_COMPRESSED = (".gz", ".bz2", ".xz", ".zip", ".parquet")
# Records (TFRecord) or rows (Parquet) per block; files read at once, their blocks in turn.
BLOCK_ROWS = 16384
CYCLE_LENGTH = 4


def _check_streaming(where: str, streaming) -> None:
    if not (streaming is None or isinstance(streaming, bool)):
        raise ValueError(
            f"{where}: `streaming` must be True, False or None (by the memory budget). Received: "
            f"streaming={streaming!r}."
        )


@dataclasses.dataclass(frozen=True)
class TFRecordFiles:
    """TFRecord files of serialized `tf.Example`s, parsed with the columns' `make_parse_example_spec`.

    Args:
        paths: a path, a glob, or a list of them.
        compression: `"GZIP"`, `"ZLIB"` or None, as `tf.data.TFRecordDataset` takes it.
        streaming: as `CsvFiles`' (True, False or None: by the memory budget).

    >>> TFRecordFiles("rides-*.tfrecord", compression="GZIP").compression
    'GZIP'
    """

    paths: object
    compression: str | None = None
    streaming: bool | None = None

    def __post_init__(self):
        if self.compression not in (None, "GZIP", "ZLIB"):
            raise ValueError(
                "tfkit.data.TFRecordFiles: `compression` must be 'GZIP', 'ZLIB' or None. "
                f"Received: compression={self.compression!r}."
            )
        _check_streaming("tfkit.data.TFRecordFiles", self.streaming)


@dataclasses.dataclass(frozen=True)
class ParquetFiles:
    """Parquet files, read a row group's worth of rows at a time through pyarrow.

    Args:
        paths: a path, a glob, or a list of them.
        streaming: as `CsvFiles`' (True, False or None: by the memory budget).

    >>> ParquetFiles("rides.parquet").streaming is None
    True
    """

    paths: object
    streaming: bool | None = None

    def __post_init__(self):
        _check_streaming("tfkit.data.ParquetFiles", self.streaming)


FILE_SOURCES = (CsvFiles, TFRecordFiles, ParquetFiles)


def file_source(data):
    """`data` as a file source: one already, or a path, a glob or a list of them, the kind told by the first
    one's suffix (`.tfrecord`, `.tfrecords`, `.parquet`; anything else is CSV); None for other data.

    >>> type(file_source("data/rides-*.parquet")).__name__
    'ParquetFiles'
    """
    if isinstance(data, FILE_SOURCES):
        return data
    if isinstance(data, (str, os.PathLike)) or (isinstance(data, (list, tuple)) and data and isinstance(data[0], str)):
        first = os.fspath(data if isinstance(data, (str, os.PathLike)) else data[0]).lower()
        if first.endswith((".tfrecord", ".tfrecords", ".tfrecord.gz")):
            return TFRecordFiles(data, compression="GZIP" if first.endswith(".gz") else None)
        return ParquetFiles(data) if first.endswith(".parquet") else CsvFiles(data)
    return None


def estimated_bytes(files) -> int:
    """What the files hold, estimated from their sizes (compressed ones counted `COMPRESSION_RATIO` times)."""
    return sum(os.path.getsize(f) * (COMPRESSION_RATIO if f.lower().endswith(_COMPRESSED) else 1) for f in files)


def streams(source, files) -> bool:
    """Whether `source` streams: its `streaming` option, or, when None, whether its `files` exceed the budget."""
    if source.streaming is not None:
        return source.streaming
    over = estimated_bytes(files) > MEMORY_BUDGET_BYTES
    if over and isinstance(source, CsvFiles) and source.part is not None:
        raise ValueError(
            f"tfkit.data.CsvFiles: {source.paths!r} holds more than the memory budget "
            f"(MEMORY_BUDGET_BYTES = {MEMORY_BUDGET_BYTES}), so it streams, but `part` draws rows from each "
            "whole file. Split the files instead, or set streaming=False to read them whole."
        )
    return over


def shard(source, num_workers: int, index: int):
    """Worker `index`'s share of `source` among `num_workers`: every `num_workers`-th file from its `index`-th
    (files sorted, as globs expand), so each file is read by exactly one worker; a `tf.data.Dataset` is
    sharded by element (`Dataset.shard`).

    Args:
        source: a file source (`CsvFiles`, `TFRecordFiles`, `ParquetFiles`), a path, glob or list of them, a
            `Stream`, or a `tf.data.Dataset`.
        num_workers: the number of workers (positive).
        index: this worker's index, in `[0, num_workers)`.

    Raises:
        ValueError: `index` is out of range, or there are fewer files than workers (a worker would have none).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     _ = open(os.path.join(folder, f"part-{i}.csv"), "w").write("x,y\\n1,2\\n")
    >>> [os.path.basename(p) for p in shard(os.path.join(folder, "part-*.csv"), 2, 0).paths]
    ['part-0.csv', 'part-2.csv']
    """
    if not (is_count(num_workers) and is_count(index, minimum=0) and index < num_workers):
        raise ValueError(
            "tfkit.data.shard: `num_workers` must be a positive integer and `index` an integer in [0, num_workers). "
            f"Received: num_workers={num_workers!r}, index={index!r}."
        )
    if isinstance(source, tf.data.Dataset):
        return source.shard(num_workers, index)
    if isinstance(source, Stream):
        return dataclasses.replace(source, files=_shard_files(source.files, source.source.paths, num_workers, index))
    files_source = file_source(source)
    if files_source is None:
        raise TypeError(
            "tfkit.data.shard: `source` must be files (a path, glob, list of them, CsvFiles, TFRecordFiles or "
            f"ParquetFiles), a Stream or a tf.data.Dataset. Received: {type(source).__name__}."
        )
    files = resolve_paths(files_source.paths)
    return dataclasses.replace(files_source, paths=_shard_files(files, files_source.paths, num_workers, index))


def _shard_files(files, paths, num_workers: int, index: int) -> tuple:
    if len(files) < num_workers:
        raise ValueError(
            f"tfkit.data.shard: {paths!r} matches {len(files)} file(s), fewer than the {num_workers} workers, so a "
            "worker would have no data. Split the data into at least as many files as workers."
        )
    return tuple(files[index::num_workers])


@dataclasses.dataclass(frozen=True)
class Stream:
    """Files read a block at a time: what `tfkit.estimator.inputs.Inputs.read` gives for data that streams.

    `blocks` gives `(features, labels)` blocks (features alone without a label); `features` the feature blocks
    to adapt on; `batches` preprocessed batches to train, evaluate or predict on; `arrays` reads it all into
    arrays (for files that fit in memory).
    """

    source: object
    files: tuple
    columns: tuple
    label: RawFeature | None = None
    weight_column: str | None = None

    @classmethod
    def of(cls, source, columns, *, label: RawFeature | None = None, weight_column: str | None = None) -> Stream:
        """The stream of a file source (see `file_source`), its files resolved now: a glob that matches nothing
        is an error naming it, before anything is read."""
        if isinstance(source, TFRecordFiles) and label is not None and label.shape:
            raise ValueError(
                "tfkit.data.TFRecordFiles: tf.Example files carry one label per example here; a head that takes "
                "several (MultiLabelHead) reads them from CSV files, Parquet files or arrays."
            )
        return cls(source, tuple(resolve_paths(source.paths)), tuple(columns), label, weight_column)

    @property
    def specs(self) -> dict:
        return weighted_specs(self.columns, self.weight_column)

    def _signature(self):
        def spec(feature: RawFeature):
            dtype = tf.string if feature.dtype == "string" else tf.as_dtype(feature.dtype)
            return tf.TensorSpec([None, *feature.shape], dtype)

        features = {key: spec(feature) for key, feature in self.specs.items()}
        return features if self.label is None else (features, spec(self.label))

    def _python_blocks(self, path: bytes):
        """A file's blocks as arrays, then `("", ...)`; or a block-shaped error: `(message, empty arrays)`."""
        path, signature = path.decode(), self._signature()
        signature = signature if isinstance(signature, tuple) else (signature,)
        try:
            for block in (self._csv_blocks if isinstance(self.source, CsvFiles) else self._parquet_blocks)(path):
                yield "", *tf.nest.map_structure(_typed, block, signature)
        except ValueError as error:  # an element, so that the check below fails in the graph with this message
            yield (
                str(error),
                *tf.nest.map_structure(lambda spec: _typed(np.zeros([0] * spec.shape.rank), spec), signature),
            )

    def _csv_blocks(self, path: str):
        for text, first_line, names in text_blocks(path, self.source):
            features, labels = parse_csv_text(
                path, text, first_line, self.source, self.specs, self.label, self.weight_column, names=names
            )
            if len(next(iter(features.values()))):
                yield (features,) if self.label is None else (features, labels)

    def _parquet_blocks(self, path: str):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError(f"{path}: reading Parquet files needs pyarrow. Install it: pip install pyarrow.") from None
        file = pq.ParquetFile(path)
        wanted = list(self.specs) + ([self.label.key] if self.label else [])
        missing = [key for key in wanted if key not in file.schema_arrow.names]
        if missing:
            raise ValueError(
                f"{path}: column(s) {missing} are not in the file. It has {file.schema_arrow.names}. Fix the column "
                "names, or point at the right file."
            )
        start = 0
        for batch in file.iter_batches(batch_size=BLOCK_ROWS, columns=wanted):
            frame, where = batch.to_pandas(), f"{path} (the rows from row {start})"
            features = to_feature_arrays(frame, self.specs, source=where)
            if self.weight_column:
                features = check_weights(features, self.weight_column, source=where)
            start += len(frame)
            if self.label is None:
                yield (features,)
            else:
                yield features, label_array(frame[self.label.key], self.label, source=where)

    # What tf.data traces in this module branches on Python values only, so it is traced as written: autograph's
    # conversion of it and of all it calls (`fc.parse_example` included) took 1.7 s of the first pass over the
    # benchmark's TFRecord files (2.9 s).
    @tf.autograph.experimental.do_not_convert
    def _file_blocks(self, path) -> tf.data.Dataset:
        if isinstance(self.source, TFRecordFiles):
            records = tf.data.TFRecordDataset(path, compression_type=self.source.compression or "")
            return records.batch(BLOCK_ROWS).map(self._parse_examples)
        signature = self._signature()
        flat = (tf.TensorSpec((), tf.string), *(signature if isinstance(signature, tuple) else (signature,)))
        blocks = tf.data.Dataset.from_generator(self._python_blocks, args=(path,), output_signature=flat)
        return blocks.map(_checked)

    @tf.autograph.experimental.do_not_convert
    def _parse_examples(self, serialized):
        label = None if self.label is None else self.label.key
        options = {} if label is None else {"label": label, "label_dtype": self.label.dtype}
        parsed = fc.parse_example(serialized, self.columns, **options)
        features = parsed if label is None else parsed[0]
        if self.weight_column and self.weight_column not in features:
            weights = tf.io.parse_example(serialized, {self.weight_column: tf.io.FixedLenFeature((), tf.float32)})
            features = {**features, **weights}
        if self.weight_column:
            weights = features[self.weight_column]
            tf.debugging.Assert(
                tf.reduce_all(weights >= 0),  # NaN compares False too
                [f"the weight column {self.weight_column!r} must hold non-negative numbers. Received:", weights],
            )
        return features if label is None else (features, parsed[1])

    def blocks(self, *, shuffle: bool = False, seed: int | None = None) -> tf.data.Dataset:
        """The files' blocks, several files at once; with `shuffle`, files in a new order and each block's rows
        permuted on every pass (see the module's docstring)."""
        files = tf.data.Dataset.from_tensor_slices(list(self.files))
        if shuffle:
            files = files.shuffle(len(self.files), seed=seed, reshuffle_each_iteration=True)
        blocks = files.interleave(
            self._file_blocks,
            cycle_length=min(len(self.files), CYCLE_LENGTH),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        if not shuffle:
            return blocks
        # The seeds `batched_dataset` draws for its permutation of in-memory rows, one pair per block.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        return tf.data.Dataset.zip(blocks, seeds).map(_permuted, num_parallel_calls=tf.data.AUTOTUNE)

    def features(self) -> tf.data.Dataset:
        """The feature blocks, in file order: what adapt reads (labels are left unparsed)."""
        return dataclasses.replace(self, label=None).blocks()

    def batches(self, preprocess, *, batch_size: int, shuffle: bool = False, seed=None, drop_remainder=False):
        """Prefetched batches of `preprocess(*block)`, mapped over whole blocks, then cut into `batch_size` rows."""
        blocks = self.blocks(shuffle=shuffle, seed=seed).map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
        return blocks.rebatch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    def arrays(self) -> tuple:
        """`(features, labels)` read whole (labels None without a label), multivalent features padded alike."""
        parts = [tf.nest.map_structure(np.asarray, block) for block in self.blocks()]
        parts = parts if self.label is not None else [(features,) for features in parts]
        features = {key: _concatenate([p[0][key] for p in parts], spec) for key, spec in self.specs.items()}
        labels = None if self.label is None else _concatenate([p[1] for p in parts], self.label)
        return features, labels


def _typed(array: np.ndarray, spec: tf.TensorSpec) -> np.ndarray:
    return array.astype(object if spec.dtype == tf.string else spec.dtype.as_numpy_dtype, copy=False)


@tf.autograph.experimental.do_not_convert
def _checked(error, *block):
    """The block, once the reading found no error: otherwise the reading's message, as a check failing in the
    graph (which `Estimator.train` reports as a ValueError, keeping the checkpoints written before it)."""
    with tf.control_dependencies([tf.debugging.Assert(tf.equal(error, ""), [error])]):
        block = tf.nest.map_structure(tf.identity, block)
    return block if len(block) > 1 else block[0]


@tf.autograph.experimental.do_not_convert
def _permuted(block, pair):
    rows = tf.shape(tf.nest.flatten(block)[0])[0]
    order = tf.random.experimental.stateless_shuffle(tf.range(rows), seed=pair)
    return tf.nest.map_structure(lambda tensor: tf.gather(tensor, order), block)


def _concatenate(parts: list, spec: RawFeature) -> np.ndarray:
    if spec.shape == (None,):  # padded per block: to the widest
        width = max(part.shape[1] for part in parts)
        pad = padding_value(spec.dtype)
        parts = [np.pad(p, [(0, 0), (0, width - p.shape[1])], constant_values=pad) for p in parts]
    values = np.concatenate(parts)
    return values.astype(str) if spec.dtype == "string" else values
