"""CSV files to checked arrays: which files (`resolve_paths`, `CsvFiles`), read whole (`read_csv`) or a block of
text at a time (`text_blocks`, `parse_csv_text`, which streaming reads call too), with the same checks and messages.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import io
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd

from feature_columns.integration import RawFeature, is_count, raw_features, to_feature_arrays
from tfkit.data.csv_lines import BLOCK_BYTES, checked_blocks, read_checked
from tfkit.data.labels import label_array


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
        streaming: True reads the files a block at a time while training (`tfkit.data.streaming`), never whole;
            False reads them whole into memory; None (the default) reads them whole when they fit the memory
            budget (`tfkit.data.streaming.MEMORY_BUDGET_BYTES`, estimated from the files' sizes) and streams
            them otherwise. Streaming takes every option but `part`, which needs each file whole.

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
    streaming: bool | None = None

    def __post_init__(self):
        if not (self.streaming is None or isinstance(self.streaming, bool)):
            raise ValueError(
                "tfkit.data.CsvFiles: `streaming` must be True, False or None (by the memory budget). "
                f"Received: streaming={self.streaming!r}."
            )
        if self.streaming and self.part is not None:
            raise ValueError(
                "tfkit.data.CsvFiles: `part` draws rows from each whole file, which streaming never holds. Received: "
                f"part={self.part!r} with streaming=True. Split the files instead, or set streaming=False."
            )
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

    Only the raw features the columns read (and the label and weights) are parsed, by pandas' C parser, spaces
    after delimiters skipped; files, and blocks of rows of a large file, are parsed in parallel. Every row must
    have as many fields as the header (a text field holding a comma is quoted: `"Smith, John"`); an empty field
    is a missing value, which takes the columns' `default_value`.

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
    read = (source, specs, label_spec, weight_column)
    threads = os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=threads) as pool:
        submit = _bounded(pool, waiting=2 * threads)
        blocks = [(path, _parsed_blocks(submit, path, *read)) for path in files]  # every file's, then the results
        parts = []
        for path, futures in blocks:
            try:
                parts += [future.result() for future in futures]
            except (ValueError, TypeError):
                if source.part is not None:  # read whole already (see `_parsed_blocks`)
                    raise
                # Read again whole, so that the error is the one a whole read reports: the first bad line of the
                # file (the line check comes before parsing), and rows counted over the file, not its block.
                parts.append(_read_whole_csv(path, *read))
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


# Bytes of a file's text that `read_csv` parses at a time. pandas' C parser releases the GIL while it parses, so
# the blocks of a large file are parsed in parallel threads while the next ones are read and their lines checked:
# on two cores, the million rides of bench/ (65 MB) read in 0.36 s where one parse of the whole text took 0.49 s.
# Every block costs a parse's fixed work: 4 MiB blocks took 0.43-0.48 s, 16 MiB ones as long as 8 MiB.
READ_BLOCK_BYTES = 8 * 2**20


def _bounded(pool: ThreadPoolExecutor, waiting: int):
    """`pool.submit`, which waits while `waiting` blocks wait to be parsed: the text read ahead of the parser stays
    a few blocks, however large the files."""
    slots = threading.BoundedSemaphore(waiting)

    def submit(function, *args) -> Future:
        slots.acquire()
        future = pool.submit(function, *args)
        future.add_done_callback(lambda _: slots.release())
        return future

    return submit


def _parsed_blocks(submit, path: str, source: CsvFiles, specs: dict, label: RawFeature | None, weight_column) -> list:
    """Futures of the `(features, labels)` of the file's blocks, in order (`submit` runs them); a failed one when
    its lines do not check. `part` draws from the whole file, so a file read with it is one block."""
    if source.part is not None:
        return [submit(_read_whole_csv, path, source, specs, label, weight_column)]
    futures = []
    try:
        for text, first_line, names in text_blocks(path, source, READ_BLOCK_BYTES):
            parse = (path, text, first_line, source, specs, label, weight_column, names)
            futures.append(submit(parse_csv_text, *parse))
    except ValueError as error:
        futures.append(Future())
        futures[-1].set_exception(error)
    return futures


def _read_whole_csv(
    path: str, source: CsvFiles, specs: dict, label: RawFeature | None, weight_column: str | None
) -> tuple:
    text, first_line = read_checked(
        path, column_names=source.column_names, comment=source.comment, max_rows=source.max_rows
    )
    return parse_csv_text(path, text, first_line, source, specs, label, weight_column)


def text_blocks(path: str, source: CsvFiles, block_bytes: int = BLOCK_BYTES):
    """`(text, first_line, names)` for blocks of whole rows of the file `path`, each checked as `read_checked`
    checks a file (see `csv_lines.checked_blocks`), as `parse_csv_text` takes them: `names` is None for the block
    that starts with the header row (and for files without one, which `source.column_names` names), the header's
    names for the blocks after it.

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "rides.csv")
    >>> _ = open(path, "w").write("fare,hour\\n7.5,3\\n9.0,4\\n")
    >>> [(text, names) for text, _, names in text_blocks(path, CsvFiles(path), block_bytes=16)]
    [(b'fare,hour\\n7.5,3\\n', None), (b'9.0,4\\n', ['fare', 'hour'])]
    """
    names = None
    options = {"column_names": source.column_names, "comment": source.comment, "max_rows": source.max_rows}
    for text, first_line, has_header in checked_blocks(path, block_bytes=block_bytes, **options):
        yield text, first_line, None if has_header else names
        if has_header:
            first_row = text.split(b"\n", 1)[0].decode("utf-8-sig", "replace")  # without a byte order mark
            names = next(csv.reader(io.StringIO(first_row), skipinitialspace=True))


def parse_csv_text(
    path: str,
    text: bytes,
    first_line: int | None,
    source: CsvFiles,
    specs: dict,
    label: RawFeature | None,
    weight_column: str | None,
    names: list | None = None,
) -> tuple:
    """`(features, labels)` arrays from checked CSV `text` of the file `path` (see `csv_lines`), whose first data
    row is the file's line `first_line`. The text starts with the header row, unless `names` (or the source's
    `column_names`) names its columns."""
    # Skipping the spaces after delimiters costs pandas a third more time; text without a space has none to skip.
    options = {"skipinitialspace": b" " in text}
    names = names or source.column_names
    if names:
        options.update(header=None, names=list(names))
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
        header = list(names) if names else list(pd.read_csv(io.BytesIO(text), nrows=0, **options).columns)
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
