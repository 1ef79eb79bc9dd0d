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
>>> from feature_columns import EmbeddingColumn, FeatureLayer, PretrainedMatrix, VocabularyColumn
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
import os
import re

import numpy as np
import tensorflow as tf

from feature_columns.base import PretrainedSource, column_spec
from feature_columns.encoding import embedding_tables
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
from feature_columns.saved_model_record import embedding_column_of, saved_model_keys
from feature_columns.validation import freeze, is_count
from feature_columns.vocabulary import check_vocabulary, read_vocabulary_file

OOV_POSITIONS = ("first", "last")
# The files of a TF checkpoint `<prefix>`: `<prefix>.index`, `<prefix>.data-00000-of-00001`, and for TF1 `.meta`.
_CHECKPOINT_FILE = re.compile(r"^(?P<prefix>.+)\.(index|meta|data-\d+-of-\d+)$")
# A TF1 V1 checkpoint is one file (or shards `<prefix>-00000-of-00002`, ... read by a pattern), a TF table, and
# every TF table file ends with this magic number (tensorflow/core/lib/io/format.h).
_V1_SHARD = re.compile(r"^(?P<prefix>.+)-\d{5}-of-(?P<count>\d{5})$")
_TABLE_MAGIC = (0xDB4775248B80FB57).to_bytes(8, "little")
_GLOB_CHARACTERS = re.compile(r"[*?\[]")
_VARIABLE_VALUE = "/.ATTRIBUTES/VARIABLE_VALUE"  # how TF2 object checkpoints name a variable's value


@dataclasses.dataclass(frozen=True)
class Rows:
    """What a source holds: its table, what each row means (None: the target's ids), rows skipped unread."""

    matrix: np.ndarray
    keys: list | None
    unused: int = 0


def check_string(where: str, arg: str, value) -> None:
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

    def read(self, where: str, categorical, state: dict) -> Rows:
        raise NotImplementedError

    def load(self, column, state: dict, initial) -> np.ndarray:
        where = f"EmbeddingColumn({column.name!r})"
        categorical = column.rows_column
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
class RowLayout(_Reference):
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
        freeze(self, vocabulary=vocabulary)

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


@column_spec
class PretrainedCheckpoint(RowLayout):
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
        check_string(where, "path", self.path)
        check_string(where, "tensor_name", self.tensor_name)
        self._check_layout(where)

    @property
    def label(self) -> str:
        return f"PretrainedCheckpoint({self.path!r}, tensor_name={self.tensor_name!r})"

    def read(self, where: str, categorical, state: dict) -> Rows:
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
        return Rows(reader.get_tensor(name), self._layout_keys(where, categorical, state))

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


@column_spec
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
        check_string(where, "path", self.path)
        check_string(where, "column", self.column)

    @property
    def label(self) -> str:
        return f"PretrainedModel({self.path!r}, column={self.column!r})"

    def read(self, where: str, categorical, state: dict) -> Rows:
        if self.path.endswith(".keras") and tf.io.gfile.exists(self.path):
            tables = embedding_tables(self._keras_model(where))
            if self.column not in tables:
                raise ValueError(
                    f"{where}: `column` of {self.label} must name an embedding column of the model. "
                    f"Received: column={self.column!r}. The model's embedding columns: {sorted(tables)}."
                )
            table = tables[self.column]
            return Rows(np.asarray(table.variable), table.keys)
        if tf.io.gfile.exists(os.path.join(self.path, "saved_model.pb")):
            keys = saved_model_keys(self.path)
            return Rows(self._saved_model_table(where), None if keys is None else keys.get(self.column))
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
