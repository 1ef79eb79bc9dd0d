"""TOML pipeline configs: data, named feature columns, model, training and export, checked on load.

```toml
[data]
train = "taxifare/taxi-train.csv"   # relative to the data directory
label = "fare_amount"

[columns.pickup_lat]
type = "bucketized"
source = "pickup_latitude"          # a raw feature, or the name of another column in this file
num_bins = 16

[model]
type = "dnn"
head = "regression"
features = ["pickup_lat_embedding"]  # the dense columns the model reads, in order
```

Every table, key, column type, model type and head is described in docs/config.md, which
`tfkit.config_reference` generates from `SCHEMA`, `COLUMN_TYPES` and `tfkit.models.BUILDERS`: the same
structures `load_config` checks a config against.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from typing import NamedTuple

import feature_columns as fc
from tfkit import config_data
from tfkit.data import DEFAULT_DATA_DIR, MNIST_SPLITS, CsvFiles, load_mnist
from tfkit.models import BUILDERS, builder_arguments
from tfkit.search_space import TUNE_OPTIONS, parse_tune

COLUMN_TYPES = {
    "numeric": fc.NumericColumn,
    "distance": fc.DistanceColumn,
    "bucketized": fc.BucketizedColumn,
    "identity": fc.IdentityColumn,
    "hashed": fc.HashedColumn,
    "vocabulary": fc.VocabularyColumn,
    "crossed": fc.CrossedColumn,
    "embedding": fc.EmbeddingColumn,
    "indicator": fc.IndicatorColumn,
    "text": fc.TextColumn,
    "image": fc.ImageColumn,
    "binarized": fc.BinarizedColumn,
}
# Column arguments that may name another column of the config (other strings are raw features' names).
REFERENCES = ("source", "categorical_column", "keys")
# Column arguments whose choices include None, a choice of its own (an embedding per position of a sequence, text
# not standardized or not split): TOML has no null, so the string "none" stands for it.
NONE_CHOICES = ("combiner", "standardize", "split", "normalization", "weighting", "norm")
# Column arguments that default to the name of the column's table.
NAMED_BY_TABLE = ("key", "name")
DATA_FORMATS = ("csv", "mnist")
REQUIRED = "required"


class Option(NamedTuple):
    """A key of a config table: its TOML type, its default (`REQUIRED`, or None: not set) and its meaning."""

    type: str
    default: object
    meaning: str


# The keys of each table. `load_config` accepts exactly these (with, in [model], the builder's arguments and
# MODEL_TYPE_KEYS; in [columns.NAME], the column class's), and docs/config.md is generated from them.
SCHEMA = {
    "data": {
        "train": Option("string", REQUIRED, "the training data: a CSV file or glob, relative to the data directory"),
        "label": Option("string", REQUIRED, "the label's column"),
        "eval": Option("string", None, "validation data, evaluated after each epoch (early stopping watches it)"),
        "test": Option("string", None, "test data, evaluated after training"),
        "dir": Option("string", None, 'the data directory (see "The data directory")'),
        "format": Option(
            "string",
            DATA_FORMATS[0],
            f'one of {list(DATA_FORMATS)}; with "mnist" each split names a folder of MNIST\'s IDX files and one of '
            f'its splits {list(MNIST_SPLITS)}, e.g. "mnist/train" (features `pixels` and `label`)',
        ),
        "column_names": Option("array of strings", None, "the columns' names, for CSV files without a header row"),
        "comment": Option("string", None, 'lines starting with it are skipped, e.g. "|"'),
        "label_map": Option("table", None, 'label values replaced as read, e.g. {">50K." = ">50K"}'),
        "keep": Option(
            "table of arrays",
            None,
            'read only the rows whose column holds one of the values, e.g. {category = ["fresh", "rotten"]}',
        ),
        "split": Option(
            "table",
            None,
            "test and/or eval parts drawn from the `train` file by a seeded permutation, in place of files, e.g. "
            "{test = 0.2, eval = 0.1, seed = 7}; the rest trains",
        ),
        "max_rows": Option("integer", None, "read only the first rows of each split, for a quick trial (--max-rows)"),
        "source": Option(
            "string",
            None,
            '"tfds:NAME": read the splits from tensorflow-datasets (tfkit.data.tfds_dataset); `train`, `eval` and '
            '`test` then name TFDS splits, e.g. source = "tfds:taxifare", train = "train", eval = "validation"',
        ),
        "tfds_dir": Option("string", None, "where TFDS keeps prepared datasets (default: TFDS's own)"),
        "streaming": Option(
            "boolean",
            None,
            "true: read CSV files a block at a time while training, never whole (any size; not with `split`); "
            "false: read them whole into memory; not set: whole when they fit the memory budget "
            "(tfkit.data.MEMORY_BUDGET_BYTES, 1 GiB, estimated from the files' sizes), streamed otherwise. "
            "TFRecord and Parquet files (.tfrecord, .parquet) are always read by the budget",
        ),
    },
    "model": {
        "type": Option("string", "dnn", f'the builder, one of {sorted(BUILDERS)} (see "Model types")'),
        "head": Option(
            "string or table",
            "regression",
            '"regression", "binary", or {class_name = "BinaryHead", config = {...}} (see "Heads")',
        ),
        "features": Option("array of strings", REQUIRED, "the dense columns the model reads, by name, in order"),
    },
    "training": {
        "model_dir": Option(
            "string", None, "where definition, weights, checkpoints, logs and metrics go (--model-dir); not set: memory"
        ),
        "batch_size": Option("integer", 512, "examples per training step"),
        "epochs": Option("integer", 1, "passes over the training data (--epochs)"),
        "learning_rate": Option("number", None, "the optimizer's rate; not set: 0.001 * sqrt(batch_size / 32)"),
        "optimizer": Option("string", "adam", 'a Keras optimizer\'s name, any case; not with type = "wide_and_deep"'),
        "early_stopping_patience": Option(
            "integer or string",
            "auto",
            "stop after this many epochs without a better eval loss, keeping the best "
            'weights; "auto": 3 when there is eval data',
        ),
        "steps_per_execution": Option("integer", 32, "training steps per call into TensorFlow"),
        "jit_compile": Option("boolean or string", "auto", 'compile with XLA; "auto": where it pays'),
        "seed": Option("integer", None, "seeds weight initialisation and shuffling, for reproducible runs"),
        "save_checkpoints_steps": Option("integer", None, "also checkpoint every this many steps, not only per epoch"),
        "overwrite": Option("boolean", False, "train in a model_dir that holds files tfkit did not write"),
        "strategy": Option(
            "string",
            None,
            'where training runs: "auto", "one_device", "mirrored" or "multi_worker" (--strategy); not set: "auto"',
        ),
        "mixed_precision": Option("string", None, '"mixed_float16" (GPUs) or "mixed_bfloat16"; not set: float32'),
    },
    "export": {
        "dir": Option("string", None, "export base folder: each export is a new <dir>/<version>/ (--export-dir)"),
        "signatures": Option(
            "table", {}, 'more signatures, each returning a column\'s dense output, e.g. {embedding = "lit_embedding"}'
        ),
    },
    "tune": {key: Option(*option) for key, option in TUNE_OPTIONS.items()},  # `tfkit tune`: tfkit.search_space
}
# [model] keys of one model type beyond its builder's arguments: wide_and_deep's sides each have an optimizer.
MODEL_TYPE_KEYS = {
    "wide_and_deep": {
        "linear_optimizer": Option("string", "ftrl", "the wide side's optimizer"),
        "linear_learning_rate": Option("number", 0.05, "the wide side's learning rate"),
        "dnn_optimizer": Option("string", "adam", "the deep side's optimizer"),
        "dnn_learning_rate": Option("number", 0.001, "the deep side's learning rate"),
    },
}


def model_keys(model_type: str) -> list:
    """The keys a `[model]` table of `model_type` accepts, sorted.

    >>> model_keys("linear")
    ['features', 'gradient_clip_norm', 'head', 'l1', 'l2', 'name', 'sequential', 'type']
    """
    return sorted({*SCHEMA["model"], *MODEL_TYPE_KEYS.get(model_type, {}), *builder_arguments(model_type)})


@dataclass(frozen=True)
class PipelineConfig:
    """A parsed, checked pipeline config. Build one with `load_config`."""

    path: str
    data_dir: str
    train: str
    label: str
    columns: dict
    features: tuple
    model: str = "dnn"
    head: str | dict = "regression"
    model_params: dict = field(default_factory=dict)
    eval: str | None = None
    test: str | None = None
    training: dict = field(default_factory=dict)
    export_dir: str | None = None
    export_signatures: dict = field(default_factory=dict)
    linear_features: tuple = ()
    csv_options: dict = field(default_factory=dict)
    data_format: str = "csv"
    keep: dict | None = None
    parts: dict = field(default_factory=dict)
    max_rows: int | None = None
    tfds_name: str | None = None
    tfds_dir: str | None = None
    tune: dict = field(default_factory=dict)  # [tune], checked by tfkit.search_space.parse_tune
    column_tables: dict = field(default_factory=dict)  # [columns.NAME] as read: a tuning trial rebuilds from them

    def data_path(self, split: str) -> str | None:
        relative = getattr(self, split)
        return None if relative is None else os.path.join(self.data_dir, relative)

    def data_source(self, split: str):
        """What the Estimator reads for `split` (`"train"`, `"eval"`, `"test"`): a path; a `CsvFiles` that says
        how to read header-less files, which rows to keep and which part of them is the split; or, for MNIST,
        the split's arrays (MNIST, TFDS)."""
        path = self.data_path(split)
        if path is None:
            return None
        if self.tfds_name:
            return self._tfds_split(getattr(self, split))
        if self.data_format == "mnist":
            arrays = load_mnist(os.path.dirname(path), os.path.basename(path))
            return {key: values[: self.max_rows] for key, values in arrays.items()}
        options = dict(self.csv_options, keep=self.keep, part=self.parts.get(split), max_rows=self.max_rows)
        given = any(options.values()) or "streaming" in options  # streaming = false is given too
        return CsvFiles(path, **options) if given else path

    def _tfds_split(self, split: str) -> dict:
        """A TFDS split as arrays; tfkit's own builders prepare from this config's data directory."""
        from tfkit.data import tfds_dataset
        from tfkit.datasets import BUILDERS

        builder = BUILDERS.get(self.tfds_name)
        source_dir = os.path.join(self.data_dir, builder.SOURCE_FOLDER) if builder else None
        split = f"{split}[:{self.max_rows}]" if self.max_rows else split
        return tfds_dataset(self.tfds_name, split, data_dir=self.tfds_dir, source_dir=source_dir)


def _error(path: str, message: str) -> ValueError:
    return ValueError(f"{path}: {message}")


def _check_keys(path: str, where: str, table: dict, allowed) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise _error(path, f"{where} has unknown option(s) {unknown}. Allowed: {sorted(allowed)}.")


def _check_required(path: str, section: str, table: dict) -> None:
    for key, option in SCHEMA[section].items():
        if option.default is REQUIRED and not table.get(key):
            raise _error(path, f"[{section}] needs `{key}`: {option.meaning}.")


def build_columns(path: str, tables: dict) -> dict:
    """The columns of `[columns.NAME]` tables by NAME, each built once, references resolved."""
    built: dict = {}
    building: list = []

    def resolve(name: str):
        if name in built:
            return built[name]
        if name in building:
            raise _error(path, f"columns {[*building, name]} refer to each other in a cycle.")
        table = dict(tables[name])
        kind = table.pop("type", None)
        if kind not in COLUMN_TYPES:
            raise _error(
                path, f"[columns.{name}] `type` must be one of {sorted(COLUMN_TYPES)}. Received: type={kind!r}."
            )
        cls = COLUMN_TYPES[kind]
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(table) - set(fields))
        if unknown:
            raise _error(path, f"[columns.{name}] ({kind}) has unknown option(s) {unknown}. Allowed: {fields}.")
        building.append(name)
        for arg in set(REFERENCES) & set(table):
            value = table[arg]
            table[arg] = [ref(v) for v in value] if isinstance(value, list) else ref(value)
        building.pop()
        for arg in set(NAMED_BY_TABLE) & set(fields):
            table.setdefault(arg, name)
        for arg in set(NONE_CHOICES) & set(table):
            table[arg] = None if table[arg] == "none" else table[arg]
        try:
            built[name] = cls(**table)
        except (TypeError, ValueError) as error:
            raise _error(path, f"[columns.{name}] {error}") from None
        return built[name]

    def ref(value):
        return resolve(value) if isinstance(value, str) and value in tables else value

    for name in tables:
        resolve(name)
    return built


def load_config(path: str, *, environ=None) -> PipelineConfig:
    """Reads and checks a TOML pipeline config; every error names the file and the option.

    Args:
        path: the TOML file (its tables and keys: docs/config.md).
        environ: the environment variables to read `TFKIT_DATA` (the data directory) from; None reads
            `os.environ`.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp(), "pipeline.toml")
    >>> _ = path.write_text(
    ...     '[data]\\ntrain = "a.csv"\\nlabel = "y"\\n[columns.x]\\ntype = "numeric"\\n[model]\\nfeatures = ["x"]\\n'
    ... )
    >>> config = load_config(path, environ={"TFKIT_DATA": "/data"})
    >>> config.data_path("train"), config.model, config.columns["x"].key
    ('/data/a.csv', 'dnn', 'x')
    """
    environ = os.environ if environ is None else environ
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            raw = tomllib.load(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"tfkit: config file {path!r} does not exist.") from None
    except tomllib.TOMLDecodeError as error:
        raise _error(path, f"is not valid TOML: {error}.") from None
    _check_keys(path, "[top level]", raw, ["columns", *SCHEMA])
    tables = {section: dict(raw.get(section, {})) for section in SCHEMA}
    data, model, training, export = tables["data"], tables["model"], tables["training"], tables["export"]
    model_type = model.setdefault("type", SCHEMA["model"]["type"].default)
    if model_type not in BUILDERS:
        raise _error(path, f"[model] `type` must be one of {sorted(BUILDERS)}. Received: type={model_type!r}.")
    if (model_type == "wide_and_deep") != bool(model.get("linear_features")):  # before the keys: it says why
        raise _error(
            path,
            "[model] `linear_features` (the wide side's columns) must be given with, and only with, "
            f"type = 'wide_and_deep'. Received: type={model_type!r}, linear_features={model.get('linear_features')!r}.",
        )
    _check_keys(path, f"[model] ({model_type})", model, model_keys(model_type))
    for section in ("data", "training", "export", "tune"):
        _check_keys(path, f"[{section}]", tables[section], SCHEMA[section])
    for section, table in tables.items():
        _check_required(path, section, table)
    columns = build_columns(path, raw.get("columns", {}))
    features = model.pop("features")
    linear_features = model.pop("linear_features", [])
    single = sorted({"optimizer", "learning_rate"} & set(training))
    if linear_features and single:
        raise _error(
            path,
            f"[training] {single} must not be set with type = 'wide_and_deep', whose two sides each have their own "
            "optimizer. Set [model] `linear_optimizer`, `linear_learning_rate`, `dnn_optimizer` and "
            "`dnn_learning_rate` instead.",
        )
    unknown = [name for name in [*features, *linear_features] if name not in columns]
    if unknown:
        raise _error(path, f"[model] `features` names undefined column(s) {unknown}. Defined: {sorted(columns)}.")
    csv_options = {key: data[key] for key in ("column_names", "comment", "label_map", "streaming") if key in data}
    config_data.check_streaming(path, data)
    data_format = data.get("format", SCHEMA["data"]["format"].default)
    if data_format not in DATA_FORMATS:
        raise _error(path, f"[data] `format` must be one of {list(DATA_FORMATS)}. Received: format={data_format!r}.")
    if data_format == "mnist":
        config_data.check_mnist_splits(path, data)
    tfds_name = config_data.tfds_name(path, data)
    parts = config_data.split_parts(path, data)
    for split in ("eval", "test"):
        if split in parts:
            data[split] = data["train"]
    return PipelineConfig(
        path=path,
        data_dir=environ.get("TFKIT_DATA") or data.get("dir") or DEFAULT_DATA_DIR,
        train=data["train"],
        eval=data.get("eval"),
        test=data.get("test"),
        label=data["label"],
        columns=columns,
        features=tuple(features),
        model=model.pop("type"),
        head=model.pop("head", SCHEMA["model"]["head"].default),
        model_params=model,
        training=training,
        export_dir=export.get("dir"),
        export_signatures=_export_signatures(path, export.get("signatures", {}), columns),
        linear_features=tuple(linear_features),
        csv_options=csv_options,
        data_format=data_format,
        tfds_name=tfds_name,
        tfds_dir=data.get("tfds_dir"),
        keep=config_data.check_keep(path, data.get("keep")),
        parts=parts,
        max_rows=config_data.check_max_rows(path, data.get("max_rows")),
        tune=parse_tune(
            path, tables["tune"], columns, model_keys=model_keys(model_type), training_keys=SCHEMA["training"]
        ),
        column_tables=raw.get("columns", {}),
    )


def _export_signatures(path: str, signatures, columns: dict) -> dict:
    """`[export] signatures = {name = "column"}`: more signatures, each returning a column's dense output, by the
    column's name in this file (`tfkit.export.export_saved_model(column_signatures=...)` checks the rest)."""
    if not isinstance(signatures, dict):
        raise _error(
            path,
            f'[export] `signatures` must be a table, e.g. {{embedding = "lit_embedding"}}. Received: {signatures!r}.',
        )
    unknown = {name: column for name, column in signatures.items() if column not in columns}
    if unknown:
        raise _error(path, f"[export] `signatures` names undefined column(s) {unknown}. Defined: {sorted(columns)}.")
    return {name: columns[column].name for name, column in signatures.items()}
