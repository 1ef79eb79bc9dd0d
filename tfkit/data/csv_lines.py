"""CSV files read as bytes and checked line by line: every row has as many fields as the header.

pandas' C parser, which reads tfkit's CSV files, takes a line with extra fields without a word when only some
columns are read, and fills a short line's missing fields with NaN; both surface far from their cause (text in a
numeric column, a "missing value") or not at all. So the fields of every row are counted first, with NumPy over
the file's bytes (about 3 ms for the 60,000 rows of taxi-train.csv, under a tenth of reading them), and a row of
the wrong shape is an error naming the file and the line, as an editor numbers lines.
"""

from __future__ import annotations

import bz2
import csv
import dataclasses
import gzip
import io
import lzma
import os
import zipfile

import numpy as np

# Decompressed as pandas would: it infers the compression from the same suffixes.
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_NEWLINE, _COMMA, _QUOTE = ord("\n"), ord(","), ord('"')


@dataclasses.dataclass(frozen=True)
class _Rows:
    """The rows of CSV text (a header included), blank lines left out: the file lines each one starts and ends
    on (1-based), its number of fields, and the byte that ends it (None when counted by the csv module)."""

    first: np.ndarray
    last: np.ndarray
    fields: np.ndarray
    ends: np.ndarray | None = None

    def head(self, n: int) -> _Rows:
        return _Rows(self.first[:n], self.last[:n], self.fields[:n], None if self.ends is None else self.ends[:n])

    def renumbered(self, lines: np.ndarray | None, offset: int = 0) -> _Rows:
        """The rows with their lines numbered as in the file: `lines` gives the line of each line of the text
        among the block's lines, `offset` the file lines before the block."""
        first, last = (self.first, self.last) if lines is None else (lines[self.first - 1], lines[self.last - 1])
        return dataclasses.replace(self, first=first + offset, last=last + offset)


def read_checked(path: str, *, column_names=None, comment: str | None = None, max_rows: int | None = None) -> tuple:
    """The text of the CSV file `path` for pandas, once every row has as many fields as the header (or as
    `column_names` for a file without one), and the file line of its first row (None when a row spans lines or
    blank lines lie between rows: file lines then do not follow from row numbers).

    Compressed files (`.gz`, `.bz2`, `.xz`, `.zip`) are decompressed; lines starting with `comment` are cut from
    the text, and with `max_rows` the text ends after that many rows (only that much of the file is read).

    Raises:
        ValueError: the file holds no rows, or a row has more or fewer fields than the header; the message names
            the file and the line, and says how to fix it.

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "rides.csv")
    >>> _ = open(path, "w").write("fare,company\\n7.5,Taxi, Inc\\n")
    >>> read_checked(path)
    Traceback (most recent call last):
    ...
    ValueError: ...rides.csv: line 2 has 3 fields, but the header (line 1) has 2: '7.5,Taxi, Inc'. A text field \
that holds a comma must be in double quotes (e.g. "Smith, John"); otherwise remove the extra field.
    """
    header = 0 if column_names else 1
    data, text, lines = _read(path, comment, None if max_rows is None else max_rows + header)
    rows = _rows(text)
    if max_rows is not None and len(rows.fields) > max_rows + header:
        text, rows = text[: rows.ends[max_rows + header - 1] + 1], rows.head(max_rows + header)
    rows = rows.renumbered(lines)
    if len(rows.fields) <= header:
        raise _no_rows(path, rows, column_names)
    expected = len(column_names) if column_names else int(rows.fields[0])
    return text, _checked_first_line(path, data, text, rows, lines, expected, header, column_names)


# Bytes read at a time by `checked_blocks`: about 16,000 taxi rides, as many rows as a TFRecord or Parquet block
# (`tfkit.data.streaming.BLOCK_ROWS`). Memory follows the blocks of the files read at once, each one's text, row
# index and parsed arrays: reading the ten shards of 10 million rides peaked at 100 MB above TensorFlow's own
# memory with 1 MiB blocks, 310 MB with 4 MiB ones and 960 MB with 16 MiB ones (bench/RESULTS.md).
BLOCK_BYTES = 2**20


def checked_blocks(path: str, *, column_names=None, comment=None, max_rows=None, block_bytes: int = BLOCK_BYTES):
    """`read_checked` for files of any size: yields `(text, first_line, has_header)` for blocks of whole rows of
    about `block_bytes`, each checked as `read_checked` checks a file (errors name the file's own lines); the
    first block starts with the header row, when the file has one (`has_header`; it may hold no other row).

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "rides.csv")
    >>> _ = open(path, "w").write("fare,hour\\n7.5,3\\n9.0,4\\n8.0,5\\n")
    >>> [(text, line) for text, line, _ in checked_blocks(path, block_bytes=16)]
    [(b'fare,hour\\n7.5,3\\n', 2), (b'9.0,4\\n8.0,5\\n', 3)]
    """
    expected = len(column_names) if column_names else None
    offset, seen = 0, 0
    first_rows = None  # the file's first rows, for the message when it holds no data
    for data in _blocks(path, block_bytes):
        text, lines = _without_comments(data, comment)
        rows = _rows(text)
        header = int(expected is None)  # the header is the file's first row
        if max_rows is not None and len(rows.fields) - header > max_rows - seen:
            end = header + max_rows - seen
            text, rows = text[: rows.ends[end - 1] + 1], rows.head(end)
        rows = rows.renumbered(lines, offset)
        first_rows = rows if first_rows is None else first_rows
        if len(rows.fields) > header:
            expected = int(rows.fields[0]) if header else expected
            first_line = _checked_first_line(path, data, text, rows, lines, expected, header, column_names, offset)
            yield text, first_line, bool(header)
            seen += len(rows.fields) - header
        elif header and len(rows.fields):  # the header alone: its names, for the blocks that follow
            expected = int(rows.fields[0])
            yield text, None, True
        offset += data.count(b"\n")
        if max_rows is not None and seen >= max_rows:
            return
    if not seen:
        raise _no_rows(path, first_rows if first_rows is not None else _rows(b""), column_names)


def _blocks(path: str, block_bytes: int):
    """The file's bytes in blocks of about `block_bytes`, each ending at the end of a row (a newline outside
    quotes), so that every block starts a row with no quote open."""
    with _open(path) as stream:
        carry = b""
        while True:
            chunk = stream.read(block_bytes)
            data = carry + chunk
            if not chunk:
                if data:
                    yield data
                return
            end = _last_row_end(data)
            if end >= 0:
                yield data[: end + 1]
                carry = data[end + 1 :]
            else:
                carry = data


def _last_row_end(data: bytes) -> int:
    """The index of the last newline of `data` outside quotes (-1 for none)."""
    if b'"' not in data:
        return data.rfind(b"\n")
    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buf == _NEWLINE)
    ends = ends[np.searchsorted(np.flatnonzero(buf == _QUOTE), ends) % 2 == 0]
    return int(ends[-1]) if len(ends) else -1


def _no_rows(path: str, rows: _Rows, column_names) -> ValueError:
    if len(rows.fields) == 0:
        return ValueError(
            f"{path}: the file is empty: it holds no rows{'' if column_names else ' and no header'}. Check the "
            "path, or write the data into the file."
        )
    return ValueError(
        f"{path}: the file holds no rows, only its header (line {rows.first[0]}). Check the path, or add the "
        "data below the header."
    )


def _checked_first_line(path, data, text, rows, lines, expected, header, column_names, offset=0) -> int | None:
    """The file line of the first data row of `rows` (None when file lines do not follow from row numbers), once
    every row has `expected` fields; `header` rows (0 or 1) come first."""
    if (rows.fields[header:] != expected).any() and b'"' in text:
        # A quote inside an unquoted field (`12" pizza`) is text to pandas, but opened a quoted field above.
        rows = _exact_rows(path, text, offset).renumbered(lines, offset)
    bad = np.flatnonzero(rows.fields[header:] != expected) + header
    if len(bad):
        raise ValueError(_shape_error(path, data, rows, bad, expected, column_names, header, offset))
    starts = rows.first[header:]
    return int(starts[0]) if starts[-1] - starts[0] == len(starts) - 1 else None


def _open(path: str):
    """The file's bytes as a stream, decompressed as pandas would."""
    if path.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as archive:  # pandas reads the archive's one file
            return io.BytesIO(archive.read(archive.namelist()[0]))
    return _OPENERS.get(os.path.splitext(path)[1].lower(), open)(path, "rb")


def _read(path: str, comment: str | None, max_rows: int | None) -> tuple:
    """The file's bytes; the same without comment lines, for pandas; and the file line of each line of the latter
    (None when no line is cut). With `max_rows`, the file is read as far as its first `max_rows` rows and a bit."""
    with _open(path) as stream:
        data, size = b"", -1 if max_rows is None else 1 << 16
        while True:
            chunk = stream.read(size)
            data += chunk
            text, lines = _without_comments(data, comment)
            # Rows past `max_rows` show that the last one needed is whole; the reads double, so the file's head is
            # counted about twice at most.
            if size < 0 or not chunk or len(_rows(text).fields) > max_rows:
                return data, text, lines
            size *= 2


def _without_comments(data: bytes, comment: str | None) -> tuple:
    """`data` without its lines that start with `comment`, and the file line of each line left (None: none cut)."""
    if not comment or not data:
        return data, None
    buf = np.frombuffer(data, np.uint8)
    starts = np.flatnonzero(buf == _NEWLINE) + 1
    starts = np.concatenate([[0], starts[starts < len(data)]])
    cut = buf[starts] == ord(comment)
    if not cut.any():
        return data, None
    ends = np.append(starts[1:], len(data))
    pieces, begin = [], 0
    for start, end in zip(starts[cut], ends[cut], strict=True):
        pieces.append(data[begin:start])
        begin = end
    return b"".join([*pieces, data[begin:]]), np.flatnonzero(~cut) + 1


def _rows(text: bytes) -> _Rows:
    """The rows of `text`, found by NumPy: newlines and commas end lines and fields unless an odd number of quotes
    precedes them (inside a quoted field; an escaped quote, `""`, counts twice)."""
    buf = np.frombuffer(text, np.uint8)
    mask = buf == _NEWLINE
    newlines = np.flatnonzero(mask)
    quotes = np.flatnonzero(buf == _QUOTE) if b'"' in text else None
    ends = newlines if quotes is None else newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    if len(text) and (len(ends) == 0 or ends[-1] != len(text) - 1):
        ends = np.append(ends, len(text))  # the last row, without a newline
    if len(ends) == 0:
        return _Rows(*[np.zeros(0, np.int64)] * 4)
    starts = np.concatenate([[0], ends[:-1] + 1])
    if quotes is None:  # the commas of each row summed: the fastest way found
        # In 8 bits (a third faster) when no row is long enough to hold 256 commas.
        small = (ends - starts).max() < 256
        commas = np.equal(buf, _COMMA, out=mask).view(np.uint8)  # the newlines' mask, reused: one less allocation
        fields = np.add.reduceat(commas, starts, dtype=np.uint8 if small else np.int32)
        fields = fields.astype(np.int64) + 1
        first = last = np.arange(1, len(ends) + 1)
    else:
        commas = np.flatnonzero(buf == _COMMA)
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
        fields = np.diff(np.searchsorted(commas, ends), prepend=0) + 1
        first, last = np.searchsorted(newlines, starts) + 1, np.searchsorted(newlines, ends) + 1
    # Lines of spaces, tabs or nothing (a "\r" before the newline) are skipped by pandas: not rows.
    blank = ends == starts
    maybe = np.flatnonzero((fields == 1) & ~blank)
    blank[maybe] = [not text[s:e].strip(b" \t\r") for s, e in zip(starts[maybe], ends[maybe], strict=True)]
    if not blank.any():
        return _Rows(first, last, fields, ends)
    return _Rows(first[~blank], last[~blank], fields[~blank], ends[~blank])


def _exact_rows(path: str, text: bytes, offset: int = 0) -> _Rows:
    """The rows of `text` as Python's csv module reads them, quotes as pandas takes them: slower than `_rows`."""
    numbers = []

    def lines():
        for number, line in enumerate(io.StringIO(text.decode("utf-8", "replace"), newline="\n"), 1):
            if line.strip(" \t\r\n"):
                numbers.append(number)
                yield line

    first, last, fields, begin = [], [], [], 0
    try:
        for row in csv.reader(lines(), skipinitialspace=True):
            first.append(numbers[begin])
            last.append(numbers[-1])
            fields.append(len(row))
            begin = len(numbers)
    except csv.Error as error:
        raise ValueError(
            f"{path}: the row from line {numbers[begin] + offset} cannot be read ({error}). Is a quoted field left "
            'open? Close it, or double a quote inside it ("").'
        ) from None
    return _Rows(np.array(first, np.int64), np.array(last, np.int64), np.array(fields, np.int64))


def _shape_error(
    path: str, data: bytes, rows: _Rows, bad, expected: int, column_names, header: int, offset: int
) -> str:
    """The message for the rows `bad` (indices into `rows`), whose numbers of fields differ from `expected`;
    `data` holds the file's lines after the first `offset`, and `rows` starts with `header` header rows."""
    row = int(bad[0])
    line, fields = int(rows.first[row]), int(rows.fields[row])
    where = f"line {line}" if rows.last[row] == line else f"the row on lines {line}-{rows.last[row]} (in quotes)"
    shown = data.split(b"\n", line - offset)[line - offset - 1].rstrip(b"\r").decode("utf-8", "replace")
    shown = shown if len(shown) <= 120 else shown[:117] + "..."
    against = f"the header (line {rows.first[0]}) has {expected}" if header else f"the header has {expected}"
    against = f"`column_names` names {expected}" if column_names else against
    message = f"{path}: {where} has {fields} field{'s' * (fields != 1)}, but {against}: {shown!r}."
    if rows.last[row] != line:
        message += f' Is a quote on line {line} left open? Close it (a quote inside quotes is doubled: "").'
    if fields > expected:
        message += (
            ' A text field that holds a comma must be in double quotes (e.g. "Smith, John"); otherwise remove the '
            f"extra field{'s' * (fields - expected > 1)}."
        )
    else:
        message += " Add the missing fields (an empty field, as in `1,,3`, is a missing value), or remove the line."
    if len(bad) > 1:
        more = ", ".join(str(int(rows.first[i])) for i in bad[1:6]) + (", ..." if len(bad) > 6 else "")
        message += f" {len(bad) - 1} more line(s) have the wrong number of fields: {more}."
    if 1 < len(bad) == len(rows.fields) - header and (rows.fields[bad] == fields).all():
        message += (
            f" Every row has {fields}: is `column_names` wrong?"
            if column_names
            else f" Every row has {fields}: is the header the line to fix?"
        )
    return message
