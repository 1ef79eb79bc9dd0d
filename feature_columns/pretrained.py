"""Pretrained embedding tables: explicit references to a checkpoint, a saved model or a matrix file.

Give one to `EmbeddingColumn(..., pretrained=...)`. A reference is config (a frozen, serializable dataclass); the
source is read once, when the `FeatureLayer` is built (after `adapt` for a learned vocabulary), checked
against the table's shape `(num_buckets, dimension)`, and copied into the table. The table is then saved
with the model's weights, so a reloaded model never reads the source again.

Rows are matched to the column's ids by token whenever the source's vocabulary is known: a `.keras`
model and a SavedModel exported by tfkit record it, and a checkpoint or `.npy` matrix can be given one
(`vocabulary`, `num_oov_indices`, `oov_position`). Tokens the source lacks get freshly initialised rows (the
column's `initializer`); see `feature_columns.remap`. Without a vocabulary, the source's rows must follow the
column's ids exactly.

- `PretrainedCheckpoint(path, tensor_name)`: a TensorFlow checkpoint, TF2 object-based or TF1 name-based as
  `tf.estimator` wrote it, in the V2 format or TF1's older single-file V1 format (`tf.train.list_variables(path)`
  lists the names).
- `PretrainedModel(path, column)`: the table of the embedding column named `column` in a `.keras` file, or in
  a SavedModel exported by tfkit.
- `PretrainedMatrix(path)`: a NumPy `.npy` matrix (with `vocabulary`, a list or a file with one token per
  line, to match by token), a word2vec/GloVe text file (a token and its floats per line), or a binary
  word2vec file (`.bin`, as the original C tool writes it).

>>> import numpy as np, os, tempfile
>>> from feature_columns import EmbeddingColumn, FeatureLayer, VocabularyColumn
>>> path = os.path.join(tempfile.mkdtemp(), "vectors.txt")
>>> with open(path, "w") as file:
...     _ = file.write("sun 1.0 2.0\\nmon 3.0 4.0\\n")
>>> days = VocabularyColumn("day", ["mon", "tue", "sun"])
>>> layer = FeatureLayer([EmbeddingColumn(days, dimension=2, pretrained=PretrainedMatrix(path), trainable=False)])
>>> layer({"day": np.array(["sun", "mon"])}).numpy().tolist()
[[1.0, 2.0], [3.0, 4.0]]
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re

import numpy as np
import tensorflow as tf

from feature_columns.columns import PretrainedSource, _column, _freeze, from_config, serialize
from feature_columns.encoding import embedding_tables
from feature_columns.feature_layer import FeatureLayer
from feature_columns.remap import (
    check_dimension,
    explain_rows,
    has_vocabulary,
    num_oov,
    oov_rows,
    remap_rows,
    row_keys,
    token_keys,
    vocabulary,
)
from feature_columns.validation import is_count
from feature_columns.vocabulary import check_vocabulary, read_vocabulary_file

OOV_POSITIONS = ("first", "last")
MATRIX_FORMATS = ("npy", "text", "word2vec_binary")
# Where a tfkit SavedModel records its columns and their adapted state (TF Serving's place for extra files).
COLUMNS_FILE = os.path.join("assets.extra", "feature_columns.json")
# The files of a TF checkpoint `<prefix>`: `<prefix>.index`, `<prefix>.data-00000-of-00001`, and for TF1 `.meta`.
_CHECKPOINT_FILE = re.compile(r"^(?P<prefix>.+)\.(index|meta|data-\d+-of-\d+)$")
# A TF1 V1 checkpoint is one file (or shards `<prefix>-00000-of-00002`, ... read by a pattern), a TF table, and
# every TF table file ends with this magic number (tensorflow/core/lib/io/format.h).
_V1_SHARD = re.compile(r"^(?P<prefix>.+)-\d{5}-of-(?P<count>\d{5})$")
_TABLE_MAGIC = (0xDB4775248B80FB57).to_bytes(8, "little")
_GLOB_CHARACTERS = re.compile(r"[*?\[]")
_VARIABLE_VALUE = "/.ATTRIBUTES/VARIABLE_VALUE"  # how TF2 object checkpoints name a variable's value


@dataclasses.dataclass(frozen=True)
class _Rows:
    """What a source holds: its table, what each row means (None: the target's ids), rows skipped unread."""

    matrix: np.ndarray
    keys: list | None
    unused: int = 0


def _check_string(where: str, arg: str, value) -> None:
    if not isinstance(value, str) or not value:
        raise TypeError(
            f"{where}: `{arg}` must be a non-empty string. Received: {arg}={value!r} (of type {type(value).__name__})."
        )


class _Reference(PretrainedSource):
    """Reads the source (`read`), then fits its rows to the column's table (`load`)."""

    @property
    def label(self) -> str:
        """How messages name the source."""
        return f"{type(self).__name__}({self.path!r})"

    def read(self, where: str, categorical, state: dict) -> _Rows:
        raise NotImplementedError

    def load(self, column, state: dict, initial) -> np.ndarray:
        where = f"EmbeddingColumn({column.name!r})"
        categorical = column.categorical_column
        rows = self.read(where, categorical, state)
        initial = np.asarray(initial)
        check_dimension(where, self.label, rows.matrix, initial.shape[1])
        if rows.keys is None:
            if rows.matrix.shape[0] != initial.shape[0]:
                raise ValueError(
                    f"{where}: the table of {self.label} must have shape (num_buckets, dimension) = {initial.shape}. "
                    f"Received: shape {rows.matrix.shape}. {explain_rows(categorical)} If the source's rows follow "
                    "another vocabulary or OOV layout, give the source's `vocabulary` (and `num_oov_indices`, "
                    "`oov_position`) so that rows are matched by token."
                )
            return rows.matrix.astype(initial.dtype)
        if not has_vocabulary(categorical):
            raise ValueError(
                f"{where}: the rows of {self.label} are named by tokens, but {categorical.name!r} is a "
                f"{type(categorical).__name__}, whose ids are not vocabulary positions. Match tokens with a "
                "VocabularyColumn or TextColumn, or give a source whose rows follow the column's ids."
            )
        return remap_rows(
            where, self.label, rows.matrix, rows.keys, row_keys(categorical, state), initial, unused=rows.unused
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class _RowLayout(_Reference):
    """The fields that say what the rows of a table without recorded tokens mean (see `PretrainedCheckpoint`)."""

    vocabulary: tuple | str | None = None
    num_oov_indices: int | None = None
    oov_position: str = "first"

    def _check_layout(self, where: str) -> None:
        vocabulary = self.vocabulary
        if vocabulary is not None and not isinstance(vocabulary, str):
            values = tuple(vocabulary) if hasattr(vocabulary, "__iter__") else vocabulary
            dtype = "string" if isinstance(values, tuple) and all(isinstance(v, str) for v in values) else "int64"
            vocabulary = check_vocabulary(where, values, dtype)
        num_oov_indices = self.num_oov_indices
        if num_oov_indices is not None and not is_count(num_oov_indices, minimum=0):
            raise ValueError(
                f"{where}: `num_oov_indices` must be a non-negative integer or None. "
                f"Received: num_oov_indices={num_oov_indices!r}."
            )
        if self.oov_position not in OOV_POSITIONS:
            raise ValueError(
                f"{where}: `oov_position` must be one of {OOV_POSITIONS}. "
                f"Received: oov_position={self.oov_position!r}. tf.feature_column put its OOV rows last; Keras "
                "lookup layers put them first."
            )
        _freeze(self, vocabulary=vocabulary)

    def _layout_keys(self, where: str, categorical, state: dict) -> list | None:
        if self.vocabulary is None and self.num_oov_indices is None and self.oov_position == "first":
            return None
        if self.vocabulary is not None:
            tokens = self.vocabulary
            if isinstance(tokens, str):
                tokens = read_vocabulary_file(f"{where} ({self.label})", tokens, "string")
            count = self.num_oov_indices or 0
        elif has_vocabulary(categorical):
            tokens = vocabulary(categorical, state)
            count = num_oov(categorical) if self.num_oov_indices is None else self.num_oov_indices
        else:
            raise ValueError(
                f"{where}: `num_oov_indices` and `oov_position` of {self.label} describe vocabulary rows, but "
                f"{categorical.name!r} is a {type(categorical).__name__} without a vocabulary. Leave them unset."
            )
        keys = token_keys(tokens)
        return oov_rows(count) + keys if self.oov_position == "first" else keys + oov_rows(count)


@_column
class PretrainedCheckpoint(_RowLayout):
    """A table saved in a TensorFlow checkpoint.

    Args:
        path: a checkpoint prefix (`london/model.ckpt-1000`), a directory (its latest checkpoint), or a glob
            matching the files of exactly one checkpoint (`london/*ckpt-1000*`). A TF1 V1 checkpoint (written
            with `Saver(write_version=SaverDef.V1)`) is the file `model.ckpt-1000` itself, and found the same ways.
        tensor_name: the table's name in the checkpoint, e.g. tf.estimator's
            `dnn/input_from_feature_columns/input_layer/day_hr_embedding/embedding_weights`, or a TF2 name such
            as `model/embedding/.ATTRIBUTES/VARIABLE_VALUE` (the suffix may be left out).
        vocabulary: the tokens of the source's rows (a list, or a file with one per line), to match them to
            the column's vocabulary. None: the column's own vocabulary, laid out as `num_oov_indices` and
            `oov_position` say; or, leaving both unset, rows that follow the column's ids exactly.
        num_oov_indices: the source's OOV rows. None: the column's count, or 0 with a `vocabulary`.
        oov_position: `"first"` (Keras, tfkit) or `"last"` (`tf.feature_column`): where the OOV rows are. A
            table tf.feature_column trained on the column's vocabulary needs only `oov_position="last"`, which
            `legacy.embedding_column(..., ckpt_to_load_from=...)` sets.
    """

    path: str
    tensor_name: str

    def __post_init__(self):
        where = "PretrainedCheckpoint"
        _check_string(where, "path", self.path)
        _check_string(where, "tensor_name", self.tensor_name)
        self._check_layout(where)

    @property
    def label(self) -> str:
        return f"PretrainedCheckpoint({self.path!r}, tensor_name={self.tensor_name!r})"

    def read(self, where: str, categorical, state: dict) -> _Rows:
        prefix = self._prefix(where)
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
        name = next((n for n in (self.tensor_name, self.tensor_name + _VARIABLE_VALUE) if n in shapes), None)
        if name is None:
            tables = sorted(n.removesuffix(_VARIABLE_VALUE) for n, shape in shapes.items() if len(shape) == 2)
            raise ValueError(
                f"{where}: `tensor_name` must name a tensor of the checkpoint {prefix!r} ({self.label}). "
                f"Received: tensor_name={self.tensor_name!r}. Its 2-D tensors: {tables[:20]}. "
                "`tf.train.list_variables(path)` lists every name."
            )
        return _Rows(reader.get_tensor(name), self._layout_keys(where, categorical, state))

    def _prefix(self, where: str) -> str:
        """The one checkpoint `path` names."""
        path = self.path
        if _GLOB_CHARACTERS.search(path):
            found = _checkpoints(tf.io.gfile.glob(path))
            fix = "Make the pattern match one checkpoint, e.g. with its step: 'london/*ckpt-1000*'."
        elif tf.io.gfile.isdir(path):
            latest = tf.train.latest_checkpoint(path)  # the directory's `checkpoint` file names it
            if latest:
                return latest
            found = _checkpoints(tf.io.gfile.glob(os.path.join(path, "*")))
            fix = "Name one checkpoint of the directory with a glob, e.g. 'london/*ckpt-1000*'."
        else:
            match = _CHECKPOINT_FILE.match(path)
            prefix = match["prefix"] if match else path
            v1 = _v1_checkpoint(prefix)
            found = [prefix] if tf.io.gfile.exists(prefix + ".index") else [v1] if v1 else []
            fix = (
                "Check the path: give a checkpoint prefix (its `.index` file without `.index`, or a TF1 V1 "
                "checkpoint file), a directory or a glob."
            )
        if len(found) != 1:
            raise ValueError(
                f"{where}: `path` of {self.label} must name exactly one checkpoint (a `<prefix>.index` file "
                f"and its data, or a TF1 V1 checkpoint file). Received: path={path!r}, which names {len(found)}: "
                f"{found[:10]}. {fix}"
            )
        return found[0]


def _v1_checkpoint(path: str) -> str | None:
    """What `tf.train.load_checkpoint` reads for a TF1 V1 checkpoint file (itself, or its shards' pattern); None
    for any other file. V1 is one table file (`Saver(write_version=SaverDef.V1)`); V2 names its table `.index`."""
    if _CHECKPOINT_FILE.match(path) or not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
        return None
    with tf.io.gfile.GFile(path, "rb") as file:
        size = file.size()
        if size < len(_TABLE_MAGIC):
            return None
        file.seek(size - len(_TABLE_MAGIC))
        if file.read() != _TABLE_MAGIC:
            return None
    shard = _V1_SHARD.match(path)
    return f"{shard['prefix']}-?????-of-{shard['count']}" if shard else path


def _checkpoints(files) -> list:
    """The checkpoint prefixes among `files`: V2 prefixes whose `.index` file is there, and TF1 V1 checkpoints."""
    prefixes = set()
    for file in files:
        match = _CHECKPOINT_FILE.match(file)
        if match and tf.io.gfile.exists(match["prefix"] + ".index"):
            prefixes.add(match["prefix"])
        elif v1 := _v1_checkpoint(file):
            prefixes.add(v1)
    return sorted(prefixes)


@_column
class PretrainedModel(_Reference):
    """The table of an embedding column in a saved model.

    A `.keras` file records the column's vocabulary, and so does a SavedModel exported by tfkit (a folder
    holding `saved_model.pb`, its columns and their state in `assets.extra/feature_columns.json`): rows are
    matched by token. A SavedModel without that file (exported by tfkit before it recorded them, or by
    `keras.Model.export`) says nothing of its rows: they are copied in order, so they must follow the column's
    ids exactly, shape included.

    Args:
        path: a `.keras` file, or a SavedModel folder.
        column: the source's `EmbeddingColumn` name, e.g. `"day_X_hour_embedding"`.
    """

    path: str
    column: str

    def __post_init__(self):
        where = "PretrainedModel"
        _check_string(where, "path", self.path)
        _check_string(where, "column", self.column)

    @property
    def label(self) -> str:
        return f"PretrainedModel({self.path!r}, column={self.column!r})"

    def read(self, where: str, categorical, state: dict) -> _Rows:
        if self.path.endswith(".keras") and tf.io.gfile.exists(self.path):
            tables = embedding_tables(self._keras_model(where))
            if self.column not in tables:
                raise ValueError(
                    f"{where}: `column` of {self.label} must name an embedding column of the model. "
                    f"Received: column={self.column!r}. The model's embedding columns: {sorted(tables)}."
                )
            table = tables[self.column]
            return _Rows(np.asarray(table.variable), table.keys)
        if tf.io.gfile.exists(os.path.join(self.path, "saved_model.pb")):
            keys = saved_model_keys(self.path)
            return _Rows(self._saved_model_table(where), None if keys is None else keys.get(self.column))
        raise ValueError(
            f"{where}: `path` of {self.label} must be an existing `.keras` file or SavedModel folder (holding "
            f"saved_model.pb). Received: path={self.path!r}. For an export base folder, give its version folder."
        )

    def _keras_model(self, where: str):
        import keras  # here: only this source needs to deserialize models

        try:
            return keras.saving.load_model(self.path, compile=False)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{where}: could not load the model of {self.label}: {error} Import the package that defines its "
                "layers before building this column (for a tfkit model, `import tfkit`)."
            ) from error

    def _saved_model_table(self, where: str) -> np.ndarray:
        variables = tf.saved_model.load(self.path).variables
        names = [variable.name.removesuffix(":0") for variable in variables]
        found = [v for v, name in zip(variables, names, strict=True) if embedding_column_of(name) == self.column]
        if len(found) != 1:
            tables = sorted(name.removesuffix("/embeddings") for name in names if embedding_column_of(name))
            raise ValueError(
                f"{where}: `column` of {self.label} must name one embedding table of the SavedModel. "
                f"Received: column={self.column!r}. Its embedding tables: {tables}."
            )
        return found[0].numpy()


def columns_record(columns, state: dict) -> dict:
    """What a tfkit SavedModel records in `COLUMNS_FILE`: the columns and their adapted state (vocabularies
    included), as an Estimator's `estimator.json` records them, so that `saved_model_keys` can name the rows of
    its embedding tables."""
    return {"feature_columns": [serialize(column) for column in columns], "feature_state": state}


def saved_model_keys(path: str) -> dict | None:
    """`{embedding table name: row keys}` of a SavedModel's tables, as `EmbeddingTable.keys` (None: plain ids).

    None for a SavedModel without `COLUMNS_FILE` (exported before tfkit recorded it): its rows are unnamed.
    """
    record_path = os.path.join(path, COLUMNS_FILE)
    if not tf.io.gfile.exists(record_path):
        return None
    with tf.io.gfile.GFile(record_path, "r") as file:
        record = json.load(file)
    # The recorded layer, rebuilt without its tables' sources, names its rows exactly as a loaded model's would.
    layer = FeatureLayer(
        [from_config(config) for config in record["feature_columns"]],
        state=record["feature_state"],
        read_pretrained=False,
    )
    return {name: table.keys for name, table in embedding_tables(layer).items()}


def embedding_column_of(variable_name: str) -> str | None:
    """The embedding column whose table a SavedModel variable is, or None: Keras keeps a variable's path,
    `<leading scopes>/<column>/embeddings`, as its name in a SavedModel."""
    if not variable_name.endswith("/embeddings"):
        return None
    return variable_name.removesuffix("/embeddings").rsplit("/", 1)[-1]


@_column
class PretrainedMatrix(_RowLayout):
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
        _check_string(where, "path", self.path)
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

    def read(self, where: str, categorical, state: dict) -> _Rows:
        if not tf.io.gfile.exists(self.path):
            raise ValueError(f"{where}: `path` of {self.label} must be an existing file. Received: path={self.path!r}.")
        if self.file_format == "npy":
            with tf.io.gfile.GFile(self.path, "rb") as file:
                matrix = np.load(io.BytesIO(file.read()), allow_pickle=False)
            return _Rows(matrix, self._layout_keys(where, categorical, state))
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

    def _read_text(self, where: str, wanted: set) -> _Rows:
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

    def _read_binary(self, where: str, wanted: set) -> _Rows:
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

    def _token_rows(self, where: str, tokens: list, vectors: list, dimension: int, unused: int) -> _Rows:
        if tokens:
            check_vocabulary(f"{where} ({self.label})", tokens, "string")  # a repeated token would be ambiguous
        # Native float32: binary word2vec values are little-endian whatever the machine.
        matrix = np.stack(vectors).astype(np.float32, copy=False) if vectors else np.zeros((0, dimension), np.float32)
        return _Rows(matrix, tokens, unused)
