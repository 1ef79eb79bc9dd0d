"""`PretrainedMatrix`: an embedding table in a file, a NumPy `.npy` matrix or word vectors (word2vec, GloVe)."""

from __future__ import annotations

import io

import numpy as np
import tensorflow as tf

from feature_columns.base import column_spec
from feature_columns.pretrained import RowLayout, Rows, check_string
from feature_columns.remap import has_vocabulary, token_keys, vocabulary
from feature_columns.vocabulary import check_vocabulary

MATRIX_FORMATS = ("npy", "text", "word2vec_binary")


@column_spec
class PretrainedMatrix(RowLayout):
    """A table in a file: a NumPy `.npy` matrix, word2vec/GloVe text, or binary word2vec.

    Text files hold one token and its floats per line, separated by spaces (word2vec's first line may give
    the counts, `<tokens> <dimension>`). Binary word2vec files (the original C tool's `.bin`) start with the
    line `<tokens> <dimension>`, then hold per token its UTF-8 bytes, a space and `dimension` little-endian
    float32 values, each optionally followed by a newline. The rows of both are matched to the column's
    vocabulary by token, and only the rows it uses are kept. A `.npy` matrix's rows follow the column's ids, or
    the `vocabulary` given.

    Args:
        path: a `.npy` file, a binary word2vec file, or a text file.
        format: one of `MATRIX_FORMATS`: `"npy"`, `"text"` or `"word2vec_binary"`. None: by the extension,
            `.npy` for NumPy, `.bin` for binary word2vec, text otherwise.
        vocabulary, num_oov_indices, oov_position: for `.npy` only: what its rows mean, as for
            `PretrainedCheckpoint`.

    Example:

    >>> import numpy as np, os, tempfile
    >>> from feature_columns import EmbeddingColumn, FeatureLayer, VocabularyColumn
    >>> path = os.path.join(tempfile.mkdtemp(), "vectors.bin")  # binary word2vec: 1 token of 2 values
    >>> with open(path, "wb") as file:
    ...     _ = file.write(b"1 2\\n" + b"sun " + np.array([1.0, 2.0], "<f4").tobytes() + b"\\n")
    >>> days = VocabularyColumn("day", ["mon", "sun"])
    >>> layer = FeatureLayer([EmbeddingColumn(days, dimension=2, pretrained=PretrainedMatrix(path))])
    >>> layer({"day": np.array(["sun"])}).numpy().tolist()
    [[1.0, 2.0]]
    """

    path: str
    format: str | None = None

    def __post_init__(self):
        where = "PretrainedMatrix"
        check_string(where, "path", self.path)
        if self.format is not None and self.format not in MATRIX_FORMATS:
            raise ValueError(
                f"{where}: `format` must be one of {MATRIX_FORMATS} or None. Received: format={self.format!r}. "
                "None picks it by the extension: .npy, .bin (binary word2vec), else text."
            )
        self._check_layout(where)
        if self.file_format != "npy" and (
            self.vocabulary is not None or self.num_oov_indices is not None or self.oov_position != "first"
        ):
            raise ValueError(
                f"{where}: `vocabulary`, `num_oov_indices` and `oov_position` apply to `.npy` files; a word2vec or "
                f"GloVe file names the token of each row itself. Received: path={self.path!r}. Leave them unset."
            )

    @property
    def file_format(self) -> str:
        """`format`, or the one the extension of `path` implies."""
        if self.format is not None:
            return self.format
        if self.path.endswith(".npy"):
            return "npy"
        return "word2vec_binary" if self.path.endswith(".bin") else "text"

    def read(self, where: str, categorical, state: dict) -> Rows:
        if not tf.io.gfile.exists(self.path):
            raise ValueError(f"{where}: `path` of {self.label} must be an existing file. Received: path={self.path!r}.")
        if self.file_format == "npy":
            with tf.io.gfile.GFile(self.path, "rb") as file:
                matrix = np.load(io.BytesIO(file.read()), allow_pickle=False)
            return Rows(matrix, self._layout_keys(where, categorical, state))
        if not has_vocabulary(categorical):
            raise ValueError(
                f"{where}: the {self.file_format} file of {self.label} names its rows by token, but "
                f"{categorical.name!r} is a {type(categorical).__name__} without a vocabulary. Use a "
                "VocabularyColumn or TextColumn."
            )
        wanted = set(token_keys(vocabulary(categorical, state)))
        if self.file_format == "text":
            return self._read_text(where, wanted)
        return self._read_binary(where, wanted)

    def _read_text(self, where: str, wanted: set) -> Rows:
        with tf.io.gfile.GFile(self.path, "r") as file:
            lines = file.read().splitlines()
        first = lines[0].split() if lines else []
        header = len(first) == 2 and all(part.isdigit() for part in first)  # word2vec: "<tokens> <dimension>"
        dimension = int(first[1]) if header else len(first) - 1
        if dimension < 1:
            raise ValueError(
                f"{where}: {self.label} must be a word2vec or GloVe text file, a token and its floats per line. "
                f"Received: a first line of {len(first)} field(s). Check the path, or give `format` "
                '(`"word2vec_binary"` for a binary word2vec file).'
            )
        tokens, vectors, unused = [], [], 0
        for number, line in enumerate(lines[1:] if header else lines, start=2 if header else 1):
            if not line.strip():
                continue
            # Split the floats off the right: a token (in GloVe's web crawls) may hold spaces.
            parts = line.rstrip().rsplit(maxsplit=dimension)
            if len(parts) != dimension + 1:
                raise ValueError(
                    f"{where}: each line of {self.label} must hold a token and {dimension} floats. Received: line "
                    f"{number} holds {len(parts)} fields. Fix the file."
                )
            if parts[0] not in wanted:
                unused += 1
                continue
            try:
                vectors.append(np.array(parts[1:], dtype=np.float32))
            except ValueError:
                raise ValueError(
                    f"{where}: line {number} of {self.label} must hold {dimension} floats after its token. "
                    f"Received: {line[:80]!r}. Fix the file."
                ) from None
            tokens.append(parts[0])
        return self._token_rows(where, tokens, vectors, dimension, unused)

    def _read_binary(self, where: str, wanted: set) -> Rows:
        with tf.io.gfile.GFile(self.path, "rb") as file:
            data = file.read()
        end = data.find(b"\n")
        header = data[:end].split() if end >= 0 else []
        if len(header) != 2 or not all(part.isdigit() for part in header) or int(header[1]) < 1:
            raise ValueError(
                f"{where}: {self.label} must be a binary word2vec file, starting with the line "
                f"'<tokens> <dimension>'. Received: a file starting {data[:40]!r}. Check the path, or give "
                '`format="text"` for a word2vec or GloVe text file.'
            )
        count, dimension = int(header[0]), int(header[1])
        width = 4 * dimension  # bytes of one vector of float32 values
        position = end + 1
        tokens, vectors, unused = [], [], 0
        for index in range(count):
            while data[position : position + 1] == b"\n":  # the newline the C tool writes after each vector
                position += 1
            space = data.find(b" ", position)
            if space < 0 or space + 1 + width > len(data):
                raise ValueError(
                    f"{where}: {self.label} must hold the {count} tokens, each with {dimension} float32 values, "
                    f"that its header announces. Received: a file that ends after {index} of them. The file is "
                    "truncated or its header is wrong: write the file again."
                )
            try:
                token = data[position:space].decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(
                    f"{where}: token {index + 1} of {self.label} must be UTF-8 text. Received: "
                    f"{data[position:space][:40]!r}. The header's dimension ({dimension}) is wrong or the file is "
                    "corrupt: write the file again."
                ) from None
            if token in wanted:
                tokens.append(token)
                vectors.append(np.frombuffer(data, "<f4", dimension, space + 1))
            else:
                unused += 1
            position = space + 1 + width
        if data[position:].strip(b"\n"):
            raise ValueError(
                f"{where}: {self.label} must hold the {count} tokens, each with {dimension} float32 values, that "
                f"its header announces. Received: {len(data) - position} more bytes after them. Its header is "
                "wrong: write the file again."
            )
        return self._token_rows(where, tokens, vectors, dimension, unused)

    def _token_rows(self, where: str, tokens: list, vectors: list, dimension: int, unused: int) -> Rows:
        if tokens:
            check_vocabulary(f"{where} ({self.label})", tokens, "string")  # a repeated token would be ambiguous
        # Native float32: binary word2vec values are little-endian whatever the machine.
        matrix = np.stack(vectors).astype(np.float32, copy=False) if vectors else np.zeros((0, dimension), np.float32)
        return Rows(matrix, tokens, unused)
