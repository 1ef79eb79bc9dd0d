"""The `[tune]` section of a pipeline config: how to search, and the search space, checked when the config loads.

A search space maps settings of the config, named by their dotted path, to what to try: a table of `choices`, a
range (`min`, `max`, optional `step` and `sampling`), or `"auto"` for an embedding column's `dimension` (the
range `feature_columns.embedding_dim_search_space` gives for its number of buckets):

```toml
[tune]
algorithm = "random"
max_trials = 20
objective = "rmse"

[tune.space]
"model.hidden_units" = {choices = [[64, 32], [128, 64, 32]]}
"model.dropout" = {min = 0.0, max = 0.3, step = 0.1}
"training.learning_rate" = {min = 1e-4, max = 1e-2, sampling = "log"}
"columns.trip_embedding.dimension" = "auto"
```

`tfkit.tuning` runs the search. This module imports neither TensorFlow nor KerasTuner (`tfkit.config` uses it).

>>> space = parse_space("tfkit.tune", {"dropout": {"min": 0.0, "max": 0.3, "step": 0.1}, "units": {"choices": [[8]]}})
>>> space["dropout"]
{'min': 0.0, 'max': 0.3, 'step': 0.1, 'sampling': 'linear', 'type': 'float'}
>>> decode(space, {"dropout": 0.1, "units": "[8]", "tuner/epochs": 2})
{'dropout': 0.1, 'units': [8]}
"""

from __future__ import annotations

import json
import math

import feature_columns as fc

ALGORITHMS = ("random", "bayesian", "hyperband")
RETRAIN = ("train", "train+eval")
SAMPLINGS = ("linear", "log", "reverse_log")
DIRECTIONS = ("min", "max")
# Objectives whose direction goes without saying: tfkit heads' metrics where bigger is better, and losses and errors.
MAXIMIZED = ("accuracy", "auc", "auc_precision_recall", "precision", "recall", "f1")
MINIMIZED = ("loss", "average_loss", "rmse", "mae", "mse")
# Settings a search must not change: the model's type decides which [model] keys exist, its head decides what the
# objective means, and where things are written is not a hyperparameter.
FIXED = {"model": ("type", "head", "features", "linear_features"), "training": ("model_dir", "overwrite")}
_RANGES = 'a table {choices = [...]} or a range {min = ..., max = ..., step = ..., sampling = "log"}'
_FORMS = _RANGES.replace(" or ", ", ") + ', or "auto"'

# The keys of [tune]: `(TOML type, default, meaning)`; tfkit.config makes them its SCHEMA["tune"] (and docs/config.md).
TUNE_OPTIONS = {
    "space": (
        "table",
        None,
        'the settings to search, by dotted path: "model.KEY", "training.KEY" or "columns.NAME.KEY", each given '
        f'{_FORMS} (an embedding\'s dimension only: feature_columns.embedding_dim_search_space); see "Search spaces"',
    ),
    "algorithm": ("string", ALGORITHMS[0], f"KerasTuner's search, one of {list(ALGORITHMS)}"),
    "max_trials": ("integer", 10, "random and bayesian: trials in all, those of a resumed search included"),
    "objective": (
        "string",
        "loss",
        'the metric of the eval split to optimise, as `tfkit evaluate` names it, e.g. "rmse"',
    ),
    "direction": (
        "string",
        None,
        f'"min" or "max"; not set: "max" for {", ".join(MAXIMIZED)}, "min" for {", ".join(MINIMIZED)}',
    ),
    "max_epochs": ("integer", None, "hyperband: the most epochs a trial trains; not set: [training] epochs"),
    "factor": ("integer", 3, "hyperband: the reduction factor of epochs and trials from one round to the next"),
    "seed": ("integer", None, "seeds the search's draws; not set: [training] seed"),
    "retrain": (
        "string",
        RETRAIN[0],
        '"train": the best settings are trained again as `tfkit train` would; "train+eval": on train and eval '
        "together, for as many epochs as the best trial's best",
    ),
}


def parse_tune(path: str, table: dict, columns: dict, *, model_keys, training_keys) -> dict:
    """The checked `[tune]` table of the config at `path` (`{}` when it has none): the options given (those not
    given keep their defaults, so that `tfkit.tune`'s arguments can still change them) and the parsed `space`.

    Args:
        path: the config file, named in errors.
        table: the `[tune]` table as read (its keys already checked against `TUNE_OPTIONS`).
        columns: the config's built columns by name (an `"auto"` dimension needs its column's buckets).
        model_keys, training_keys: the keys `[model]` and `[training]` accept.
    """
    if not table:
        return {}
    where = f"{path}: [tune]"
    check_options(where, {key: value for key, value in table.items() if key != "space"})
    if not isinstance(table.get("space"), dict) or not table["space"]:
        raise ValueError(
            f'{where} needs a `space`: the settings to search, e.g. [tune.space] "model.dropout" = {{min = 0.0, max '
            "= 0.3}. Add it, or remove the [tune] section."
        )
    allowed = {
        "model": sorted(set(model_keys) - set(FIXED["model"])),
        "training": sorted(set(training_keys) - set(FIXED["training"])),
    }

    def check(name: str, spec) -> dict | None:
        section, _, key = name.partition(".")
        column, _, field = key.partition(".")
        if section == "columns" and column in columns and field in _column_fields(columns[column]):
            if spec == "auto" and field == "dimension" and isinstance(columns[column], fc.EmbeddingColumn):
                return _auto(where, name, columns[column])
        elif not (section in allowed and key in allowed[section]):
            named = {"columns.NAME.KEY": f"NAME one of {sorted(columns)}"}
            if section == "columns" and column in columns:
                named = {f"columns.{column}.KEY": sorted(_column_fields(columns[column]))}
            raise ValueError(
                f'{where}.space: {name!r} must name a setting of this config: "model.KEY" {allowed["model"]}, '
                f'"training.KEY" {allowed["training"]} or {named}. Received: {name!r}. Fix the name (quoted, as '
                f"one key), or add the setting to the config."
            )
        if spec == "auto":
            raise ValueError(
                f'{where}.space: "auto" must be given only to an embedding column\'s dimension ("columns.NAME.'
                f'dimension" of a type = "embedding" column). Received: {name!r} = "auto". Give a range or choices '
                "instead, e.g. {min = 1, max = 8}."
            )
        return None

    return {**table, "space": parse_space(f"{where}.space", table["space"], check)}


def check_options(where: str, options: dict) -> dict:
    """`options` (the keys of `TUNE_OPTIONS` but `space`) checked, with the defaults of those not given.

    >>> check_options("tfkit.tune", {"objective": "auc"})["direction"]
    'max'
    """
    tune = {key: options.get(key, default) for key, (_, default, _) in TUNE_OPTIONS.items() if key != "space"}
    if tune["algorithm"] not in ALGORITHMS:
        raise ValueError(
            f"{where}: `algorithm` must be one of {list(ALGORITHMS)}. Received: algorithm={tune['algorithm']!r}."
        )
    hyperband = tune["algorithm"] == "hyperband"
    given = sorted({"max_epochs", "factor"} & set(options)) if not hyperband else []
    if (hyperband and "max_trials" in options) or given:
        wrong = ["max_trials"] if hyperband else given
        raise ValueError(
            f"{where}: {wrong} must not be set with algorithm={tune['algorithm']!r}: hyperband's budget is "
            "`max_epochs` and `factor`, the others' is `max_trials`. Remove them, or change the algorithm."
        )
    for key, minimum in (("max_trials", 1), ("max_epochs", 1), ("factor", 2), ("seed", 0)):
        value = tune[key]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < minimum):
            raise ValueError(f"{where}: `{key}` must be an integer >= {minimum}. Received: {key}={value!r}.")
    if not isinstance(tune["objective"], str) or not tune["objective"]:
        raise ValueError(
            f'{where}: `objective` must be a metric\'s name, e.g. "rmse". Received: {tune["objective"]!r}.'
        )
    if tune["direction"] is None:
        tune["direction"] = _direction(tune["objective"])
    if tune["direction"] not in DIRECTIONS:
        raise ValueError(
            f"{where}: `direction` must be one of {list(DIRECTIONS)}, given for objective={tune['objective']!r} (whose "
            f'direction tfkit does not know). Received: direction={tune["direction"]!r}. Add direction = "min" or '
            '"max".'
        )
    if tune["retrain"] not in RETRAIN:
        raise ValueError(f"{where}: `retrain` must be one of {list(RETRAIN)}. Received: retrain={tune['retrain']!r}.")
    return tune


def _direction(objective: str) -> str | None:
    if objective in MAXIMIZED or objective.startswith(("accuracy", "auc")):
        return "max"
    return "min" if objective in MINIMIZED or "loss" in objective or "error" in objective else None


def _column_fields(column) -> list:
    """A column's settings as `[columns.NAME]` keys: its dataclass fields but its `name` (which others refer to)."""
    return [name for name in getattr(column, "__dataclass_fields__", {}) if name != "name"]


def _auto(where: str, name: str, column) -> dict:
    buckets = column.categorical_column.num_buckets
    if not buckets:
        raise ValueError(
            f'{where}.space: {name!r} = "auto" needs the number of values its column embeds, and '
            f"{column.categorical_column.name!r} learns its vocabulary from the data. Give a range instead, e.g. "
            "{min = 2, max = 8}, or give the column a `vocabulary` or `max_tokens`."
        )
    low, high = fc.embedding_dim_search_space(buckets)
    return {"min": low, "max": high, "step": 1, "sampling": "linear", "type": "int"}


def parse_space(where: str, space: dict, check=None) -> dict:
    """`{name: spec}` checked, each spec as `{"choices": [...]}` or `{"min", "max", "step", "sampling", "type"}`.

    Nested tables name settings too (`model.dropout = {...}` without quotes, as TOML reads it). `check(name,
    spec)`, if given, is called first for each name: it raises for names it refuses, and may return the spec to
    use (e.g. for `"auto"`).
    """
    if not isinstance(space, dict) or not space:
        raise ValueError(
            f"{where}: the search space must be a non-empty table of settings, each given {_FORMS}. Received: "
            f"{space!r}."
        )
    parsed = {}
    for name, spec in _flatten(space).items():
        resolved = check(name, spec) if check else None
        parsed[name] = resolved if resolved is not None else _spec(where, name, spec)
    return parsed


def _flatten(space: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in space.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not {"choices", "min", "max"} & set(value):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _spec(where: str, name: str, spec) -> dict:
    fix = f"Give {name!r} {_RANGES}."
    if not isinstance(spec, dict) or not spec:
        raise ValueError(f"{where}: {name!r} must be {_FORMS}. Received: {name}={spec!r}. {fix}")
    if "choices" in spec:
        choices = spec["choices"]
        if set(spec) != {"choices"} or not isinstance(choices, list) or not choices:
            raise ValueError(
                f"{where}: {name!r} must have a non-empty list of `choices` and nothing else. Received: {name}="
                f"{spec!r}. {fix}"
            )
        return {"choices": choices}
    unknown = sorted(set(spec) - {"min", "max", "step", "sampling"})
    low, high, step = spec.get("min"), spec.get("max"), spec.get("step")
    sampling = spec.get("sampling", "linear")
    if unknown or not all(_is_number(value) for value in (low, high)) or not (step is None or _is_number(step)):
        raise ValueError(
            f"{where}: {name!r} must be a range of numbers `min` and `max` (with an optional `step` and `sampling`). "
            f"Received: {name}={spec!r}. {fix}"
        )
    if not low < high:
        raise ValueError(
            f"{where}: the range of {name!r} must not be empty: `min` must be less than `max`. Received: min={low!r}, "
            f"max={high!r}. Swap them, or widen the range."
        )
    if step is not None and step <= 0:
        raise ValueError(f"{where}: {name!r} `step` must be positive. Received: step={step!r}.")
    if sampling not in SAMPLINGS or (sampling != "linear" and low <= 0):
        raise ValueError(
            f"{where}: {name!r} `sampling` must be one of {list(SAMPLINGS)}, and a log scale needs min > 0. Received: "
            f"sampling={sampling!r}, min={low!r}."
        )
    integer = all(isinstance(value, int) for value in (low, high, step if step is not None else 1))
    return {"min": low, "max": high, "step": step, "sampling": sampling, "type": "int" if integer else "float"}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _encoded(choices: list) -> bool:
    """Whether KerasTuner gets `choices` as JSON text: it takes only lists of one scalar type (int, float, str or
    bool), and a list of arrays or tables (hidden units, ranges) or a mix of types is none."""
    kinds = {type(choice) for choice in choices}
    return len(kinds) != 1 or not kinds <= {int, float, str, bool}


def declare(hp, space: dict) -> None:
    """Declares `space` on the KerasTuner `HyperParameters` `hp`, one hyperparameter per setting, named by it."""
    for name, spec in space.items():
        if "choices" in spec:
            choices = spec["choices"]
            hp.Choice(name, [json.dumps(choice) for choice in choices] if _encoded(choices) else choices)
        elif spec["type"] == "int":
            hp.Int(name, spec["min"], spec["max"], step=spec["step"] or 1, sampling=spec["sampling"])
        else:
            hp.Float(name, spec["min"], spec["max"], step=spec["step"], sampling=spec["sampling"])


def decode(space: dict, values: dict) -> dict:
    """The settings of a trial from its KerasTuner `values` (JSON choices read back; KerasTuner's own `tuner/...`
    values left out)."""
    return {
        name: json.loads(values[name]) if "choices" in spec and _encoded(spec["choices"]) else values[name]
        for name, spec in space.items()
    }
