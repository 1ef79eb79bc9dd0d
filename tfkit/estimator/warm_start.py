"""`warm_start`: start a model's variables from an earlier model's, matching embedding rows by token.

As `tf.estimator.WarmStartSettings` did: a new model (more data, a changed vocabulary, another head) starts
from what an earlier one learned instead of from random values. Variables are matched by their Keras path
(`day_hr_embedding/embeddings`, `hidden_0/kernel`, ...), which tfkit builders name after the columns and
layers, so the same builder gives the same paths (up to the leading scopes Keras adds while it builds). An
embedding table whose vocabulary changed is re-mapped row by row (`feature_columns.remap`): rows of tokens
both vocabularies hold are copied, new tokens keep their fresh rows. The new model's adapted preprocessing
(vocabularies, statistics) is its own and is not copied.

`Estimator(warm_start_from=...)` calls it when the model is first built. A model_dir is read through
`tfkit.estimator.model_dir`, the one definition of its format.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re

import keras
import tensorflow as tf

import feature_columns as fc
from feature_columns.integration import embedding_column_of, embedding_tables, remap_rows, saved_model_keys, walk_layers
from tfkit.estimator import model_dir
from tfkit.export import latest_version, versions

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class _Source:
    """An earlier model's variable values by path, and the row keys of its tables whose vocabulary it records."""

    label: str
    values: dict
    keys: dict


def _pattern(where: str, variables):
    if variables is None:
        return None
    try:
        return re.compile(variables)
    except (TypeError, re.error) as error:
        raise ValueError(
            f"{where}: `variables` must be a regular expression matching variable paths, e.g. 'embedding' or "
            f"'^hidden_0/'. Received: variables={variables!r} ({error})."
        ) from None


def warm_start_settings(where: str, warm_start_from) -> tuple | None:
    """`(source, pattern)` from `Estimator(warm_start_from=...)`: a path, or a `(path, pattern)` pair.

    >>> warm_start_settings("Estimator", ("runs/london", "embedding"))
    ('runs/london', 'embedding')
    """
    if warm_start_from is None:
        return None
    if isinstance(warm_start_from, (str, os.PathLike)):
        return os.fspath(warm_start_from), None
    if (
        isinstance(warm_start_from, (tuple, list))
        and len(warm_start_from) == 2
        and isinstance(warm_start_from[0], (str, os.PathLike))
    ):
        _pattern(where, warm_start_from[1])
        return os.fspath(warm_start_from[0]), warm_start_from[1]
    raise TypeError(
        f"{where}: `warm_start_from` must be the path of an earlier model_dir, SavedModel or .keras file, or a "
        f"(path, pattern) pair. Received: warm_start_from={warm_start_from!r} (of type "
        f"{type(warm_start_from).__name__})."
    )


def _from_model(label: str, model: keras.Model) -> _Source:
    tables = embedding_tables(model).values()
    return _Source(
        label,
        {variable.path: keras.ops.convert_to_numpy(variable) for variable in model.weights},
        {table.variable.path: table.keys for table in tables if table.keys is not None},
    )


def _from_model_dir(saved: model_dir.Saved) -> _Source:
    """An Estimator's trained model, rebuilt from its model_dir's files alone."""
    label = f"the model_dir {saved.path!r}"
    if not saved.trained:
        raise ValueError(
            f"tfkit.estimator.warm_start: `source` must hold a trained model. Received: {label}, which has no "
            f"{model_dir.WEIGHTS_FILE} yet. Train that Estimator first."
        )
    return _from_model(label, model_dir.rebuild(saved))


def _from_saved_model(path: str) -> _Source:
    """A SavedModel keeps each Keras variable's path as its name; a tfkit export also records the vocabularies
    that name its tables' rows (`feature_columns.integration.saved_model_keys`). One exported before tfkit
    recorded them gives no row keys: its tables are copied in order."""
    values = {v.name.removesuffix(":0"): v.numpy() for v in tf.saved_model.load(path).variables}
    tables = saved_model_keys(path) or {}
    keys = {name: found for name in values if (found := tables.get(embedding_column_of(name))) is not None}
    return _Source(f"the SavedModel {path!r}", values, keys)


def _read(source) -> _Source:
    path = os.fspath(source)
    saved = model_dir.read(path)
    if saved is not None:
        return _from_model_dir(saved)
    if path.endswith(".keras") and os.path.isfile(path):
        return _from_model(f"the model {path!r}", keras.saving.load_model(path, compile=False))
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return _from_saved_model(path)
    if versions(path):
        return _from_saved_model(latest_version(path))
    raise ValueError(
        f"tfkit.estimator.warm_start: `source` must be an Estimator model_dir (holding {model_dir.DEFINITION_FILE}), a "
        f"SavedModel (a version folder, or an export base folder) or a .keras file. Received: source={path!r}."
    )


def _targets(model: keras.Model) -> dict:
    """`{path: variable}` of the variables a warm start may set: all but the preprocessing's adapted state."""
    preprocessing = {
        id(variable)
        for layer in walk_layers(model)
        if isinstance(layer, fc.FeaturePreprocessor)
        for variable in layer.weights
    }
    targets: dict = {}
    for variable in model.weights:
        if id(variable) not in preprocessing and targets.setdefault(variable.path, variable) is not variable:
            raise ValueError(
                f"tfkit.estimator.warm_start: two variables of model {model.name!r} share the path "
                f"{variable.path!r}, so they cannot be told apart. Give their layers distinct names."
            )
    return targets


def _counterpart(where: str, path: str, read: _Source) -> str | None:
    """The source variable that is `path`: the same path, or one that differs by leading scopes only.

    Keras prefixes a variable's path with the layers being built around it, which depends on how the model was
    made: the head's `dnn_core/regression_head/logits/kernel` in a built model is `regression_head/logits/kernel`
    in one loaded from a `.keras` file.
    """
    if path in read.values:
        return path
    found = [other for other in read.values if other.endswith("/" + path) or path.endswith("/" + other)]
    if len(found) > 1:
        raise ValueError(
            f"{where}: variable {path!r} must have one counterpart in {read.label}. Received: {found}, which differ "
            "only by their leading scopes. Select the variables you mean with `variables`."
        )
    return found[0] if found else None


def warm_start(model: keras.Model, source, *, variables: str | None = None) -> list:
    """Sets a model's variables to an earlier model's values; returns the paths of the variables set.

    Everything is checked before any variable changes: a variable the source lacks, or whose shape differs
    (other than an embedding table matched by token), is an error naming it.

    Args:
        model: a model made by a tfkit builder (or any Keras model with a `FeatureLayer`), not yet trained.
        source: an Estimator `model_dir` (its `estimator.json` and `model.weights.h5`), a SavedModel exported by
            tfkit (a version folder, or the base folder: its highest version) or a `.keras` file. Each records
            its vocabularies, so embedding tables are matched by token. A SavedModel exported before tfkit
            recorded them (no `assets.extra/feature_columns.json`) does not: its tables are copied in order, with
            a warning, and must have the model's shapes.
        variables: a regular expression; only the variables whose path it matches (`re.search`) start from the
            source, e.g. `"embedding"` or `"^hidden_0/"`. None: all of them.

    Example:

    >>> import tempfile
    >>> from feature_columns import EmbeddingColumn, IdentityColumn
    >>> from tfkit.heads import RegressionHead
    >>> from tfkit.models import dnn
    >>> columns = [EmbeddingColumn(IdentityColumn("day", num_buckets=7), dimension=2)]
    >>> old = dnn(columns, RegressionHead(), hidden_units=[4])
    >>> path = f"{tempfile.mkdtemp()}/old.keras"
    >>> old.save(path)
    >>> warm_start(dnn(columns, RegressionHead(), hidden_units=[4]), path, variables="embedding")
    ['day_embedding/embeddings']
    """
    where = "tfkit.estimator.warm_start"
    pattern = _pattern(where, variables)
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"{where}: `model` must be a Keras model made by a tfkit builder. Received: model of type "
            f"{type(model).__name__}."
        )
    targets = _targets(model)
    selected = [path for path in targets if pattern is None or pattern.search(path)]
    if not selected:
        raise ValueError(
            f"{where}: `variables` must match at least one variable path of the model. Received: "
            f"variables={variables!r}. The paths: {sorted(targets)}."
        )
    read = _read(source)
    tables = {table.variable.path: table.keys for table in embedding_tables(model).values()}
    matches = {path: _counterpart(where, path, read) for path in selected}
    missing = [path for path, match in matches.items() if match is None]
    if missing:
        raise ValueError(
            f"{where}: every variable selected must exist in {read.label}. Received: variables={variables!r}, "
            f"which selects {missing}, absent there. Give `variables` a pattern that leaves them out, e.g. "
            "'embedding'."
        )
    values, mismatched = {}, []
    for path, match in matches.items():
        value, target = read.values[match], targets[path]
        if tables.get(path) is not None and match in read.keys:
            initial = keras.ops.convert_to_numpy(target)
            values[path] = remap_rows(f"{where}({path!r})", read.label, value, read.keys[match], tables[path], initial)
        elif tuple(value.shape) == tuple(target.shape):
            values[path] = value
            if tables.get(path) is not None:
                logger.warning(
                    "%s(%r): %s does not record the vocabulary; rows are copied in order, as if it were unchanged.",
                    where,
                    path,
                    read.label,
                )
        else:
            mismatched.append(f"{path}: {tuple(target.shape)} here, {tuple(value.shape)} there")
    if mismatched:
        raise ValueError(
            f"{where}: each variable selected must have the same shape in {read.label}. Received: {mismatched}. "
            "Leave them out with `variables`; an embedding table whose vocabulary changed is matched by token "
            "from a model_dir, a .keras file or a SavedModel that records its vocabularies (tfkit exports do since "
            "they write assets.extra/feature_columns.json; export the earlier model again)."
        )
    for path, value in values.items():
        targets[path].assign(value)
    logger.info("%s: %d variable(s) started from %s.", where, len(values), read.label)
    return sorted(values)
