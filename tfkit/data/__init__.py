"""Input pipelines: CSV, pandas and arrays to `tf.data.Dataset`s of `(raw feature dict, label)` batches.

Rows are never fed one at a time: whole batches are gathered from in-memory columns by shuffled index
blocks, which is what lets the input pipeline run many times faster than training (see bench/).

IDX files (MNIST's format) are read by `read_idx`, and MNIST's train / validation / test splits by `load_mnist`.
"""

from __future__ import annotations

import dataclasses
import glob
import io
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import tensorflow as tf

from feature_columns.integration import RawFeature, is_count, raw_features, to_feature_arrays
from tfkit.data.csv_lines import read_checked

# Re-exported (the redundant aliases mark them as such): `tfkit.data.read_idx` is the public path.
from tfkit.data.idx import DEFAULT_DATA_DIR as DEFAULT_DATA_DIR
from tfkit.data.idx import MNIST_SPLITS as MNIST_SPLITS
from tfkit.data.idx import load_mnist as load_mnist
from tfkit.data.idx import read_idx as read_idx
from tfkit.data.labels import label_array as label_array
from tfkit.data.tfds import tfds_dataset as tfds_dataset


def resolve_paths(paths_or_glob) -> list:
    """Expands a path, a glob or a list of them into existing files, in sorted order."""
    patterns = [paths_or_glob] if isinstance(paths_or_glob, (str, os.PathLike)) else list(paths_or_glob)
    files: list = []
    for pattern in patterns:
        matches = sorted(glob.glob(os.fspath(pattern)))
        if not matches:
            raise FileNotFoundError(
                f"tfkit.data: no file matches {os.fspath(pattern)!r}. Check the path (and TFKIT_DATA or the "
                "config's data_dir, which relative paths start from)."
            )
        files.extend(matches)
    return files


@dataclasses.dataclass(frozen=True)
class CsvFiles:
    """CSV files and how to read them; anywhere a path is accepted, a `CsvFiles` is too.

    Args:
        paths: a path, a glob, or a list of them.
        column_names: the columns' names when the files have no header row.
        comment: lines starting with this character are skipped (e.g. `"|"` for UCI's adult.test); elsewhere in a
            line it is text.
        label_map: replaces label values as read, e.g. `{">50K.": ">50K"}` for a test file spelled differently.
        keep: `{column: [values]}`: only the rows whose column holds one of the values (compared as text) are read, e.g.
            `{"category": ["fresh", "rotten"]}` to leave out a third category.
        part: `(seed, start, stop)`: only the rows (of those kept) whose place in a random permutation drawn
            with `seed` falls in the fraction `[start, stop)` of each file, e.g. `(7, 0.0, 0.2)` and
            `(7, 0.2, 1.0)` split a file 20/80, every row in exactly one part, the same rows in every run.
        max_rows: read only the first `max_rows` data rows of each file (before `keep` and `part`), e.g. for a
            quick trial run.

    >>> CsvFiles("adult.data", column_names=["age", "income"]).column_names
    ('age', 'income')
    """

    paths: object
    column_names: tuple | None = None
    comment: str | None = None
    label_map: dict | None = None
    keep: dict | None = None
    part: tuple | None = None
    max_rows: int | None = None

    def __post_init__(self):
        if self.max_rows is not None and not is_count(self.max_rows):
            raise ValueError(
                "tfkit.data.CsvFiles: `max_rows` must be a positive integer or None. "
                f"Received: max_rows={self.max_rows!r}."
            )
        if self.column_names is not None:
            object.__setattr__(self, "column_names", tuple(self.column_names))
        if self.comment is not None and not (isinstance(self.comment, str) and len(self.comment.encode()) == 1):
            raise ValueError(
                "tfkit.data.CsvFiles: `comment` must be one ASCII character, such as '#', or None. "
                f"Received: comment={self.comment!r}."
            )
        if self.keep is not None and not (
            isinstance(self.keep, dict) and all(isinstance(v, (list, tuple)) and v for v in self.keep.values())
        ):
            raise ValueError(
                f"tfkit.data.CsvFiles: `keep` must map column names to non-empty lists of values. "
                f"Received: keep={self.keep!r}."
            )
        if self.part is not None:
            part = tuple(self.part)
            if not (
                len(part) == 3
                and is_count(part[0], minimum=0)
                and all(isinstance(f, (int, float)) and not isinstance(f, bool) for f in part[1:])
                and 0 <= part[1] < part[2] <= 1
            ):
                raise ValueError(
                    "tfkit.data.CsvFiles: `part` must be (seed, start, stop) with an integer seed >= 0 and "
                    f"0 <= start < stop <= 1. Received: part={self.part!r}."
                )
            object.__setattr__(self, "part", part)

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of one file's `frame` that `keep` and `part` choose, in file order."""
        for column, values in (self.keep or {}).items():
            frame = frame[frame[column].isin([str(value) for value in values])]  # read as text: compare as text
        if self.part is not None:
            seed, start, stop = self.part
            rank = np.empty(len(frame), np.int64)
            rank[np.random.default_rng(seed).permutation(len(frame))] = np.arange(len(frame))
            frame = frame[(rank >= start * len(frame)) & (rank < stop * len(frame))]
        return frame.reset_index(drop=True)


def read_csv(
    source,
    columns,
    *,
    label: str | None = None,
    label_dtype: str = "float32",
    label_shape: tuple = (),
    weight_column: str | None = None,
) -> tuple:
    """Reads CSV files into checked, typed arrays: `(features, labels)`.

    Only the raw features the columns read (and the label and weights) are parsed; files are read in parallel
    by pandas' C parser, spaces after delimiters skipped. Every row must have as many fields as the header (a
    text field holding a comma is quoted: `"Smith, John"`); an empty field is a missing value, which takes the
    columns' `default_value`.

    Args:
        source: a path, a glob, a list of them, or a `CsvFiles`.
        columns: the feature columns, which decide the features read and their dtypes.
        label: the label column, if labels are wanted.
        label_dtype: `"float32"`, `"int64"` or `"string"`, as the head takes labels.
        label_shape: `()` for one label per row; `(None,)` for a head that takes several (`MultiLabelHead`):
            each cell is then one of the row's labels, padded as a multivalent feature is.
        weight_column: a column of per-example weights (a head's `weight_column`), returned among the features
            as float32.

    Raises:
        ValueError: a file holds no rows, a row has too many or too few fields, a file lacks a needed column, a
            numeric column holds text, a label does not suit the head (text for a head without a
            `label_vocabulary`, or missing), or a weight is missing or negative; the message names the file, and
            the line where there is one.
    """
    source = source if isinstance(source, CsvFiles) else CsvFiles(source)
    specs = weighted_specs(columns, weight_column)
    files = resolve_paths(source.paths)
    label_spec = RawFeature(label, label_dtype, shape=label_shape) if label else None
    with ThreadPoolExecutor(max_workers=min(len(files), os.cpu_count() or 1)) as pool:
        parts = list(pool.map(lambda path: _read_one_csv(path, source, specs, label_spec, weight_column), files))
    features = {key: np.concatenate([p[0][key] for p in parts]) for key in specs}
    labels = np.concatenate([p[1] for p in parts]) if label else None
    return features, labels


def weighted_specs(columns, weight_column: str | None) -> dict:
    """The raw features `columns` read, plus `weight_column` (float32) when examples are weighted.

    A weight column that is also a feature keeps the feature's spec; `check_weights` vets its values either way.
    """
    specs = raw_features(columns)
    # A NaN default lets missing weights through to `check_weights`, whose message is about weights.
    weights = RawFeature(weight_column, "float32", default=float("nan"))
    return {weight_column: weights, **specs} if weight_column else specs


def check_weights(features: dict, weight_column: str, *, source: str, first_line: int | None = None) -> dict:
    """`features` with its `weight_column` as float32, once every weight is a non-negative number.

    Keras would train on a NaN or negative weight without a word (a negative one rewards the loss).

    >>> check_weights({"w": np.array([1.0, 0.5])}, "w", source="data")["w"].dtype
    dtype('float32')
    """
    weights = np.asarray(features[weight_column])
    if weights.dtype.kind not in "biuf":
        raise ValueError(
            f"{source}: the weight column {weight_column!r} must be numeric. Received values of dtype "
            f"{weights.dtype}. Point the head's `weight_column` at a column of non-negative numbers."
        )
    bad = ~(weights >= 0)  # NaN compares False too
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        where = f"row {row}" if first_line is None else f"line {row + first_line}"
        raise ValueError(
            f"{source}: the weight column {weight_column!r} must hold non-negative numbers, but {where} holds "
            f"{weights[row].item()!r}. Fix or drop those rows."
        )
    return {**features, weight_column: weights.astype("float32")}


# pandas.read_csv's default missing values (its documented `na_values` list), for numeric columns.
NUMERIC_BLANKS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
                  "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]  # fmt: skip


def _read_one_csv(
    path: str, source: CsvFiles, specs: dict, label: RawFeature | None, weight_column: str | None
) -> tuple:
    text, first_line = read_checked(
        path, column_names=source.column_names, comment=source.comment, max_rows=source.max_rows
    )
    options = {"skipinitialspace": True}
    if source.column_names:
        options.update(header=None, names=list(source.column_names))
    wanted = list(specs) + ([label.key] if label else [])
    wanted += [key for key in source.keep or {} if key not in wanted]
    text_columns = {key: str for key, spec in specs.items() if spec.dtype == "string"}
    if label and label.dtype == "string":
        text_columns[label.key] = str
    for key in source.keep or {}:
        text_columns[key] = str
    # In a text column only an empty field is a blank: "NA" (a country), "None" (a message) are words there, which
    # pandas would read as missing. Numeric columns keep pandas' documented default list.
    na_values = {key: [""] if key in text_columns else NUMERIC_BLANKS for key in wanted}
    options.update(keep_default_na=False, na_values=na_values)
    try:
        frame = pd.read_csv(io.BytesIO(text), usecols=wanted, dtype=text_columns, **options)
    except pd.errors.ParserError as error:  # what the line check lets through, e.g. a quote open at the end
        raise ValueError(f"{path}: {str(error).strip()}. Check the file's quotes.") from None
    except ValueError:  # the header is read again only here: reading it first costs 3% of a read
        header = list(pd.read_csv(io.BytesIO(text), nrows=0, **options).columns)
        missing = [key for key in wanted if key not in header]
        if not missing:
            raise
        raise ValueError(
            f"{path}: column(s) {missing} are not in the file. Its header has {header}. "
            "Fix the column names in the config, or point it at the right file."
        ) from None
    if source.keep or source.part:
        # Rows left out shift the rest, so errors count rows of the selection rather than naming file lines.
        frame, first_line = source.select(frame), None
    features = to_feature_arrays(frame, specs, source=path, first_line=first_line)
    if weight_column:
        features = check_weights(features, weight_column, source=path, first_line=first_line)
    labels = None
    if label:
        values = frame[label.key].replace(source.label_map) if source.label_map else frame[label.key]
        labels = label_array(values, label, source=path, first_line=first_line)
    return features, labels


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

    def gather(indices):
        batch = {key: tf.gather(value, indices) for key, value in columns.items()}
        return batch if label_tensor is None else (batch, tf.gather(label_tensor, indices))

    if shuffle:
        # A new permutation on every pass, the sequence reproducible from `seed` (an op seed alone gives one
        # permutation, repeated on every pass).
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2).take(1)
        order = seeds.map(lambda pair: tf.random.experimental.stateless_shuffle(tf.range(rows), seed=pair))
    else:
        order = tf.data.Dataset.from_tensors(tf.range(rows))
    full = rows // batch_size * batch_size
    keep_remainder = not drop_remainder or full == 0

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
    return dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)


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
# the label included); while the cache is assembled from its blocks, it briefly takes twice that.
CACHE_MAX_BYTES = 2**30


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
    draws a fresh permutation of all rows as `batched_dataset` does. Returns `None`, so that the caller streams
    instead, when the preprocessed rows would take more than `max_bytes` or their widths vary from block to
    block (multivalent features padded per block).

    >>> ds = cached_batches({"x": np.arange(5.0)}, np.arange(5.0), lambda x, y: (x["x"] * 2, y), batch_size=2)
    >>> [x.numpy().tolist() for x, _ in ds]
    [[0.0, 2.0], [4.0, 6.0], [8.0]]
    """
    rows = len(next(iter(features.values())))
    blocks = _preprocessed_blocks(features, labels, preprocess, batch_size)
    parts = []
    for element in blocks.prefetch(tf.data.AUTOTUNE):
        flat = [np.asarray(tensor) for tensor in tf.nest.flatten(element)]
        if parts and [a.shape[1:] for a in flat] != [a.shape[1:] for a in parts[0]]:
            return None
        if not parts and sum(a.nbytes for a in flat) / len(flat[0]) * rows > max_bytes:
            return None
        parts.append(flat)
    structure = element
    cached = {str(i): np.concatenate(column) for i, column in enumerate(zip(*parts, strict=True))}

    def unpack(batch):
        return tf.nest.pack_sequence_as(structure, [batch[str(i)] for i in range(len(cached))])

    # Gathered in blocks and cut into batches, as the rows were preprocessed: far fewer tf.data elements.
    return preprocessed_batches(
        cached, None, unpack, batch_size=batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder
    )


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
