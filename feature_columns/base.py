"""What every column spec shares: serialization through Keras's registry, and the methods that the generic
machinery (`specs`, `FeaturePreprocessor`, `compute_state`, `FeatureEncoder`, `remap`) calls, with defaults.

A family module (`numeric`, `categorical`, `crossed`, `weighted`, `text`, `embedding`, `indicator`) defines frozen
dataclass specs with `@column_spec` and overrides these methods, so a new column type is one module: nothing else
switches on a column's type. Specs stay config: methods may build ops and layers when called, never keep them.

This module is public for that purpose: a column type of your own subclasses `DenseColumn` or
`CategoricalColumn` under `@column_spec` (see `tests/feature_columns/test_extension.py`); `__all__` lists what
it may use.

>>> from feature_columns import NumericColumn
>>> config = serialize(NumericColumn("x", normalization="log"))
>>> config["class_name"], from_config(config) == NumericColumn("x", normalization="log")
('NumericColumn', True)
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import keras
from keras import ops

__all__ = [
    "CategoricalColumn",
    "Column",
    "DenseColumn",
    "OverOneCategorical",
    "PretrainedSource",
    "Read",
    "column_spec",
    "describe",
]

PACKAGE = "feature_columns"


class Serializable:
    """`get_config` / `from_config` shared by every spec; nested specs serialize recursively."""

    def get_config(self) -> dict:
        return {f.name: _to_config(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**{k: _from_config_value(v) for k, v in config.items()})


def _to_config(value: Any) -> Any:
    if isinstance(value, Serializable):
        return serialize(value)
    if isinstance(value, tuple):
        return [_to_config(v) for v in value]
    return value


def _from_config_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
        return from_config(value)
    if isinstance(value, list):
        return tuple(_from_config_value(v) for v in value)
    return value


def column_spec(cls):
    """Class decorator: a frozen dataclass, registered with Keras (`feature_columns>Name`) for `from_config`."""
    return keras.saving.register_keras_serializable(package=PACKAGE)(dataclasses.dataclass(frozen=True)(cls))


def registered(base: type = Serializable) -> list:
    """The registered spec classes that subclass `base`, in registration order."""
    prefix = PACKAGE + ">"
    return [
        obj
        for name, obj in keras.saving.get_custom_objects().items()
        if name.startswith(prefix) and isinstance(obj, type) and issubclass(obj, base)
    ]


def serialize(column) -> dict:
    """`{"class_name": ..., "config": ...}`, the form `from_config` reads back."""
    return {"class_name": type(column).__name__, "config": column.get_config()}


def from_config(config: dict):
    """Rebuilds a column from `serialize(column)` or `column.get_config()` with its class name."""
    class_name = config.get("class_name")
    cls = keras.saving.get_registered_object(f"{PACKAGE}>{class_name}") if isinstance(class_name, str) else None
    if not (isinstance(cls, type) and issubclass(cls, Serializable)):
        raise ValueError(
            f"feature_columns.from_config: `class_name` must name a registered column class. Received: "
            f"class_name={class_name!r}. Known: {sorted(c.__name__ for c in registered())}. Import the module "
            "that defines the class first."
        )
    return cls.from_config(config["config"])


def describe(column) -> str:
    """`VocabularyColumn('city')`: how errors name a column."""
    return f"{type(column).__name__}({column.name!r})"


class Read(NamedTuple):
    """How a column reads one raw feature; `specs.raw_features` merges every column's reads into `RawFeature`s.

    Attributes:
        numeric: the column reads a number, so integers that another column reads as ids suit it too.
        default: replaces a missing value (a blank: NaN, None): the column's `default_value` or `missing_value`.
        num_buckets: integer ids must lie in `[0, num_buckets)`.
        blank_option: how the column would say what a blank means, e.g. '`missing_value=""`', for the error
            when a value is missing and no column gave one; None when the column has no such argument.
        free_text: the column reads words (a `TextColumn`): a feature holding only numbers is a mistake there.
    """

    key: str
    dtype: str
    shape: tuple = ()
    numeric: bool = False
    default: float | int | str | None = None
    num_buckets: int | None = None
    blank_option: str | None = None
    free_text: bool = False


class Column(Serializable):
    """The methods every column has; the defaults fit a column that reads no raw feature and keeps no state.

    Every column also has the attributes `name`, `input_keys` and `needs_adapt`.
    """

    def children(self) -> tuple:
        """The columns this one is built from."""
        return ()

    def reads(self) -> tuple:
        """A `Read` per raw feature the column reads itself (its children's reads are theirs)."""
        return ()

    @property
    def keeps_state(self) -> bool:
        """Whether `FeatureLayer.state` holds something for the column: adapted statistics, or a file's tokens."""
        return False

    def state_from_files(self) -> dict | None:
        """The state read from files instead of data (a vocabulary file's tokens), or None."""
        return None

    @property
    def adapt_reason(self) -> str:
        """Why a column that keeps state needs statistics from data, for the error when they are missing."""
        raise NotImplementedError(f"{type(self).__name__} keeps no state.")

    def accumulator(self):
        """A new `feature_columns.accumulators` object to learn the column's state from what `observe` gives."""
        raise NotImplementedError(f"{type(self).__name__} learns nothing from data.")

    def observe(self, batch: dict, defaults: dict, memo: dict):
        """What the accumulator learns from one batch of raw features (`defaults`, `memo`: as `preprocess`)."""
        raise NotImplementedError(f"{type(self).__name__} learns nothing from data.")

    def stage(self, stats):
        """The Keras layer that applies the column's state (`stats`, from adapt or the column), or None."""
        return None

    def constant_table(self):
        """A NumPy table the column's ids are gathered from, made once when the preprocessor is built, or None."""
        return None


class DenseColumn(Column):
    """A column that gives `output_dim` dense float values: the top-level columns of a `FeatureLayer`.

    One without `id_slots` gives its preprocessed value (`preprocess`), which the encoder passes on; one with
    id slots is given the ids of each slot and turns them into floats (`encode_single`, `encode_ids`).
    """

    def id_slots(self) -> tuple:
        """`(preprocessed key, categorical column)` for each id tensor the column reads."""
        return ()

    @property
    def table_owner(self):
        """The spec whose embedding table the column looks up (it needs `name`, `rows_column`,
        `resolved_dimension`, `initializer`, `trainable` and `pretrained`), or None."""
        return None

    def preprocess(self, preprocessor, features: dict, memo: dict):
        """The float32 `[batch, output_dim]` value of a column without id slots."""
        raise NotImplementedError(f"{type(self).__name__} reads ids: see `id_slots`.")

    def encode_single(self, tables: dict, ids):
        """Floats for `[batch]` ids, one per example, none missing; `tables`: the encoder's embedding layers."""
        raise NotImplementedError(f"{type(self).__name__} reads no ids.")

    def encode_ids(self, tables: dict, ids, weights):
        """Floats for `[batch, n]` ids with their weights, 0 where an example has no id (its id is then 0)."""
        raise NotImplementedError(f"{type(self).__name__} reads no ids.")


class OverOneCategorical(DenseColumn):
    """A dense column over the ids of one `categorical_column` (embedding and indicator columns): it reads what
    that column reads, learns what it learns, and has one id slot, under its own name."""

    @property
    def input_keys(self) -> tuple:
        return self.categorical_column.input_keys

    @property
    def needs_adapt(self) -> bool:
        return self.categorical_column.needs_adapt

    def children(self) -> tuple:
        return (self.categorical_column,)

    def id_slots(self) -> tuple:
        return ((self.name, self.categorical_column),)


class CategoricalColumn(Column):
    """A column that gives int64 ids in `[0, num_buckets)`, `id_width` per example, -1 where there is none."""

    crossable = False  # may be a key of a CrossedColumn
    weightable = False  # may carry weights (WeightedCategoricalColumn)
    has_vocabulary = False  # ids are vocabulary positions (OOV ids first): `num_oov_ids` and `vocabulary` exist
    rows_description = "one row per id"  # how an embedding table's rows are counted, for shape errors

    @property
    def ids_column(self):
        """The column whose ids these are: itself, or the column a weighted column wraps."""
        return self

    @property
    def always_one_id(self) -> bool:
        """Whether every example gets exactly one id: never none (-1), never several."""
        return self.id_width == 1

    def compute_ids(self, preprocessor, features: dict, memo: dict):
        """The int64 ids, `[batch, n]`; `preprocessor.ids(child, features, memo)` gives a child column's."""
        raise NotImplementedError(f"{type(self).__name__} must define `compute_ids`.")

    def cross_ids(self, preprocessor, ids):
        """The ids as a `CrossedColumn` hashes them."""
        return ids

    def slot_spec(self, key: str) -> dict:
        """`{preprocessed key: (shape, dtype)}` of an id slot `key` reading this column."""
        return {key: ((self.id_width,), "int64")}

    def slot_tensors(self, preprocessor, key: str, ids, features: dict) -> dict:
        """The preprocessed tensors of an id slot `key`, from its `ids`."""
        return {key: ids}

    def id_weights(self, preprocessed: dict, key: str, present):
        """The float32 weight of each id of slot `key`, 0 where an example has none (`present` is False)."""
        return ops.cast(present, "float32")


def check_categorical(where: str, column, arg: str = "categorical_column") -> None:
    """Raises unless `column` is a categorical column, which `arg` of `where` must be."""
    if not isinstance(column, CategoricalColumn):
        raise TypeError(
            f"{where}: `{arg}` must be one of {[t.__name__ for t in registered(CategoricalColumn)]}. "
            f"Received: {arg}={column!r} (of type {type(column).__name__})."
        )


class PretrainedSource(Serializable):
    """Base of the references in `feature_columns.pretrained`: where an embedding table's initial rows come from.

    Declared here so that `EmbeddingColumn` can check its `pretrained` argument without importing the readers.
    """

    def load(self, column, state: dict, initial):
        """The table of `column` (a table owner): the source's rows matched to the ids of its `rows_column`,
        `initial` rows where it has none."""
        raise NotImplementedError
