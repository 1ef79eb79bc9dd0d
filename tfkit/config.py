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

Header-less CSV files (UCI Adult) take `[data] column_names`, `comment` (lines starting with it are skipped)
and `label_map` (label values replaced as read). `[data] keep = {category = ["fresh", "rotten"]}` reads only the
rows whose column holds one of the values; `[data] split = {test = 0.2, eval = 0.1, seed = 7}` draws the test
and validation splits from the `train` file's rows by a seeded permutation (20% and 10% here; the rest
trains), in place of `test` and `eval` files. `[data] format = "mnist"` reads MNIST's IDX files instead of
CSV: each split names a folder and one of its splits, e.g. `train = "mnist/train"`, `eval = "mnist/validation"`,
`test = "mnist/test"` (see `tfkit.data.load_mnist`; the features are `pixels` and `label`). `[data] max_rows`
(or `tfkit train --max-rows`) reads only the first rows of each split, for a quick trial.

`[model] head` is `"regression"`, `"binary"`, or a table
`{class_name = "BinaryHead", config = {label_vocabulary = ["no", "yes"]}}`. `type = "linear"` reads categorical
columns directly (see `tfkit.models.linear_columns`); `type = "wide_and_deep"` reads `linear_features` (wide,
categorical) and `features` (deep, dense), and may set each side's optimizer and its rate: `linear_optimizer`,
`linear_learning_rate` (Ftrl at 0.05 when not set), `dnn_optimizer` and `dnn_learning_rate` (Adam at 0.001); the
`[training]` table's `optimizer` and `learning_rate` are for one-optimizer models only.

The data directory is, in order: the `TFKIT_DATA` environment variable, `[data] dir`, `../shared/data`.
Relative `model_dir` and export paths start from the current directory.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field

import feature_columns as fc
from tfkit.data import DEFAULT_DATA_DIR, MNIST_SPLITS, CsvFiles, load_mnist

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
# Arguments that may name another column of the config; a missing `key` defaults to the table's name.
_REFERENCES = {"source", "categorical_column", "keys"}
_SECTIONS = {"data", "columns", "model", "training", "export"}
_DATA_KEYS = {"dir", "format", "train", "eval", "test", "label", "column_names", "comment", "label_map"}
_DATA_KEYS |= {"keep", "split", "max_rows"}
DATA_FORMATS = ("csv", "mnist")
_TRAINING_KEYS = {
    "model_dir",
    "batch_size",
    "epochs",
    "learning_rate",
    "optimizer",
    "early_stopping_patience",
    "steps_per_execution",
    "jit_compile",
    "seed",
    "save_checkpoints_steps",
}
_EXPORT_KEYS = {"dir", "signatures"}


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

    def data_path(self, split: str) -> str | None:
        relative = getattr(self, split)
        return None if relative is None else os.path.join(self.data_dir, relative)

    def data_source(self, split: str):
        """What the Estimator reads for `split` (`"train"`, `"eval"`, `"test"`): a path; a `CsvFiles` that says
        how to read header-less files, which rows to keep and which part of them is the split; or, for MNIST,
        the split's arrays."""
        path = self.data_path(split)
        if path is None:
            return None
        if self.data_format == "mnist":
            arrays = load_mnist(os.path.dirname(path), os.path.basename(path))
            return {key: values[: self.max_rows] for key, values in arrays.items()}
        options = dict(self.csv_options, keep=self.keep, part=self.parts.get(split), max_rows=self.max_rows)
        return CsvFiles(path, **options) if any(options.values()) else path


def _error(path: str, message: str) -> ValueError:
    return ValueError(f"{path}: {message}")


def _check_keys(path: str, section: str, table: dict, allowed: set) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _error(path, f"[{section}] has unknown option(s) {unknown}. Allowed: {sorted(allowed)}.")


def _build_columns(path: str, tables: dict) -> dict:
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
        for arg in _REFERENCES & set(table):
            value = table[arg]
            table[arg] = [ref(v) for v in value] if isinstance(value, list) else ref(value)
        building.pop()
        if "key" in fields and "key" not in table:
            table["key"] = name
        table.setdefault("name", name)
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


def load_config(path: str, *, environ=os.environ) -> PipelineConfig:
    """Reads and checks a TOML pipeline config; every error names the file and the option."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            raw = tomllib.load(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"tfkit: config file {path!r} does not exist.") from None
    except tomllib.TOMLDecodeError as error:
        raise _error(path, f"is not valid TOML: {error}.") from None
    _check_keys(path, "top level", raw, _SECTIONS)
    data, model = dict(raw.get("data", {})), dict(raw.get("model", {}))
    training, export = dict(raw.get("training", {})), dict(raw.get("export", {}))
    _check_keys(path, "data", data, _DATA_KEYS)
    _check_keys(path, "training", training, _TRAINING_KEYS)
    _check_keys(path, "export", export, _EXPORT_KEYS)
    for required in ("train", "label"):
        if required not in data:
            raise _error(path, f"[data] needs `{required}`.")
    columns = _build_columns(path, raw.get("columns", {}))
    features = model.pop("features", None)
    if not features:
        raise _error(path, "[model] needs `features`, the list of dense columns the model reads.")
    linear_features = model.pop("linear_features", [])
    if (model.get("type") == "wide_and_deep") != bool(linear_features):
        raise _error(
            path,
            "[model] `linear_features` (the wide side's columns) must be given with, and only with, "
            f"type = 'wide_and_deep'. Received: type={model.get('type')!r}, linear_features={linear_features!r}.",
        )
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
    csv_options = {key: data[key] for key in ("column_names", "comment", "label_map") if key in data}
    data_format = data.get("format", "csv")
    if data_format not in DATA_FORMATS:
        raise _error(path, f"[data] `format` must be one of {list(DATA_FORMATS)}. Received: format={data_format!r}.")
    if data_format == "mnist":
        _check_mnist_splits(path, data)
    parts = _parts(path, data)
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
        model=model.pop("type", "dnn"),
        head=model.pop("head", "regression"),
        model_params=model,
        training=training,
        export_dir=export.get("dir"),
        export_signatures=_export_signatures(path, export.get("signatures", {}), columns),
        linear_features=tuple(linear_features),
        csv_options=csv_options,
        data_format=data_format,
        keep=_keep(path, data.get("keep")),
        parts=parts,
        max_rows=_max_rows(path, data.get("max_rows")),
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


def _keep(path: str, keep):
    if keep is not None and not (isinstance(keep, dict) and all(isinstance(v, list) and v for v in keep.values())):
        raise _error(
            path, f'[data] `keep` must map columns to lists of values, e.g. {{c = ["a", "b"]}}. Received: {keep!r}.'
        )
    return keep


def _max_rows(path: str, max_rows):
    if max_rows is not None and (not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1):
        raise _error(path, f"[data] `max_rows` must be a positive integer. Received: max_rows={max_rows!r}.")
    return max_rows


def _check_mnist_splits(path: str, data: dict) -> None:
    """MNIST's splits name a folder and a split of `tfkit.data.load_mnist`: checked now, read when trained."""
    unsupported = sorted({"column_names", "comment", "label_map", "keep", "split"} & set(data))
    if unsupported:
        raise _error(path, f"[data] {unsupported} are options of CSV files, not of format = 'mnist'. Remove them.")
    for split in ("train", "eval", "test"):
        if split in data and os.path.basename(str(data[split])) not in MNIST_SPLITS:
            raise _error(
                path,
                f"[data] `{split}` must name a folder of MNIST files and one of its splits {list(MNIST_SPLITS)}, "
                f'e.g. "mnist/train". Received: {split}={data[split]!r}.',
            )


def _parts(path: str, data: dict) -> dict:
    """`{split: (seed, start, stop)}` from `[data] split`: test first, then eval, the rest trains."""
    if "split" not in data:
        return {}
    split = data["split"]
    fix = "Give e.g. split = {test = 0.2, eval = 0.1, seed = 7}."
    if not isinstance(split, dict) or not set(split) <= {"test", "eval", "seed"} or not {"test", "eval"} & set(split):
        raise _error(path, f"[data] `split` must be a table of `test` and/or `eval` fractions and a `seed`. {fix}")
    given = sorted({"test", "eval"} & set(split) & set(data))
    if given:
        raise _error(path, f"[data] {given} are both files and parts of `split`. Keep one of the two.")
    seed = split.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise _error(path, f"[data] split `seed` must be an integer >= 0. Received: seed={seed!r}.")
    parts, start = {}, 0.0
    for name in ("test", "eval"):
        if name in split:
            fraction = split[name]
            if not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or not 0 < fraction < 1:
                raise _error(
                    path, f"[data] split `{name}` must be a fraction in (0, 1). Received: {name}={fraction!r}."
                )
            parts[name] = (seed, start, start + fraction)
            start += fraction
    if start >= 1:
        raise _error(path, f"[data] `split` leaves no rows to train on: its fractions add up to {start:g}. {fix}")
    parts["train"] = (seed, start, 1.0)
    return parts
