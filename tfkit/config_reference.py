"""docs/config.md, the reference of tfkit's TOML configs, generated from what `tfkit.config.load_config` checks.

The tables' keys come from `tfkit.config.SCHEMA`, the column types from `tfkit.config.COLUMN_TYPES` (each class's
dataclass fields, defaults and documented arguments), the model types from `tfkit.models.BUILDERS`' signatures
and the heads from `tfkit.heads`, so the reference says what the loader accepts. After changing any of them,
regenerate it (tests/tfkit/test_config_reference.py fails until the committed file matches):

    python -m tfkit.config_reference > docs/config.md

>>> text = reference()
>>> text.splitlines()[0]
'# Config reference'
>>> "| `max_rows` | integer | not set |" in text
True
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re

from tfkit import heads
from tfkit.config import COLUMN_TYPES, MODEL_TYPE_KEYS, NAMED_BY_TABLE, NONE_CHOICES, REFERENCES, REQUIRED, SCHEMA
from tfkit.data import DEFAULT_DATA_DIR
from tfkit.models import BUILDERS, builder_arguments
from tfkit.search_space import FIXED, SAMPLINGS

COMMAND = "python -m tfkit.config_reference > docs/config.md"
# Python annotations in TOML's words. TOML has no null: a None default is a key left out ("not set").
_TOML_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "tuple": "array",
    "list": "array",
    "dict": "table",
}


def documented_arguments(obj) -> dict:
    """`{argument: description}` from the `Args:` section of `obj`'s Google-style docstring, each description on
    one line; an entry for several arguments (`a, b: ...`) describes each of them.

    >>> def f(a, b, c):
    ...     '''Adds.
    ...
    ...     Args:
    ...         a: the first,
    ...             continued.
    ...         b, c: the others.
    ...     '''
    >>> documented_arguments(f)
    {'a': 'the first, continued.', 'b': 'the others.', 'c': 'the others.'}
    """
    sections = re.split(r"^Args:\n", inspect.getdoc(obj) or "", maxsplit=1, flags=re.MULTILINE)
    found: dict = {}
    names: list = []
    for line in sections[1].splitlines() if len(sections) == 2 else []:
        entry = re.fullmatch(r" {4}(\w+(?:, \w+)*): (.*)", line)
        if entry:
            names = entry[1].split(", ")
            found.update(dict.fromkeys(names, entry[2]))
        elif line.startswith(" " * 8) and names:
            found.update({name: f"{found[name]} {line.strip()}" for name in names})
        else:  # a blank line or the next section ends the arguments
            break
    return found


def _toml(value) -> str:
    """`value` as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + "}"
    return repr(value)


def _default(value) -> str:
    if value is REQUIRED or value is inspect.Parameter.empty or value is dataclasses.MISSING:
        return "required"
    return "not set" if value is None else f"`{_toml(value)}`"


def _code(names) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _table(header: tuple, rows: list) -> list:
    def cell(text) -> str:
        return str(text).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return [*lines, ""]


def _description(obj) -> list:
    """The prose paragraphs of `obj`'s docstring (those before its arguments and examples), one line each."""
    lines = []
    for paragraph in (inspect.getdoc(obj) or "").split("\n\n"):
        if paragraph.startswith(("Args:", "Example", ">>>")):
            break
        lines += [" ".join(line.strip() for line in paragraph.splitlines()), ""]
    return lines


def _section(name: str) -> list:
    rows = [(f"`{key}`", option.type, _default(option.default), option.meaning) for key, option in SCHEMA[name].items()]
    return _table(("key", "type", "default", "meaning"), rows)


def _column_type(field: dataclasses.Field) -> str:
    annotation = field.type if isinstance(field.type, str) else field.type.__name__
    if field.name in REFERENCES:
        return "array of names" if "tuple" in annotation else "name"
    words = [_TOML_TYPES.get(word, word) for word in annotation.split(" | ") if word != "None"]
    return " or ".join(dict.fromkeys(words))


def _column(kind: str, cls) -> list:
    # In a config a column's `name` is NAME unless set, whatever the class's own default.
    documented = {**documented_arguments(cls), "name": "the column's name in the model and its exports"}
    rows = []
    for field in dataclasses.fields(cls):
        if field.name in NAMED_BY_TABLE:
            default = "NAME"
        elif field.default_factory is not dataclasses.MISSING:
            default = _default(field.default_factory())
        else:
            default = _default(field.default)
        rows.append((f"`{field.name}`", _column_type(field), default, documented.get(field.name, "")))
    return [
        f"### `{kind}`: {cls.__name__}",
        "",
        *_description(cls),
        *_table(("key", "type", "default", "meaning"), rows),
    ]


def _model_type(kind: str) -> list:
    documented = documented_arguments(BUILDERS[kind])
    rows = [
        (f"`{key}`", _default(option.default), option.meaning) for key, option in MODEL_TYPE_KEYS.get(kind, {}).items()
    ]
    rows += [
        (f"`{name}`", _default(value), documented.get(name, "")) for name, value in builder_arguments(kind).items()
    ]
    return [f"### `{kind}`", "", *_description(BUILDERS[kind]), *_table(("key", "default", "meaning"), rows)]


def _head_arguments(cls) -> list:
    """`(argument, default, meaning)` of a head class and of the bases its `**kwargs` reach, up to `Head`."""
    bases = [base for base in cls.__mro__ if issubclass(base, heads.Head) and "__init__" in vars(base)]
    found: dict = {}
    for base in bases:
        parameters = list(inspect.signature(base.__init__).parameters.values())[1:]
        for parameter in parameters:
            # Every head sets `Head`'s `units` (its output width) itself, from its own arguments.
            named = parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
            if named and parameter.name not in found and not (base is heads.Head and parameter.name == "units"):
                found[parameter.name] = parameter.default
        if all(parameter.kind is not parameter.VAR_KEYWORD for parameter in parameters):
            break
    documented = [documented_arguments(base) for base in bases]
    # A subclass may only point to its base ("see `tfkit.heads.Head`"): the base's own words are preferred.
    return [
        (f"`{name}`", _default(default), next((d[name] for d in reversed(documented) if d.get(name)), ""))
        for name, default in found.items()
    ]


def _heads() -> list:
    classes = [getattr(heads, name) for name in heads.__all__]
    classes = [
        cls for cls in classes if isinstance(cls, type) and issubclass(cls, heads.Head) and cls is not heads.Head
    ]
    named = []
    for cls in classes:
        short = cls.__name__.removesuffix("Head").lower()
        try:
            heads.get(short)
        except ValueError:  # only heads that need no arguments have a name
            continue
        named.append(f'`"{short}"` ({cls.__name__} with its defaults)')
    lines = [
        "## Heads",
        "",
        f'`[model] head` is a name, {" or ".join(named)}, or a table `{{class_name = "MultiClassHead", config = '
        "{num_classes = 3}}` whose `config` holds the class's arguments below. A head of your own, registered with "
        '`keras.saving.register_keras_serializable(package="package")`, is named `"package>ClassName"`.',
        "",
    ]
    for cls in classes:
        lines += [
            f"### `{cls.__name__}`",
            "",
            *_description(cls),
            *_table(("key", "default", "meaning"), _head_arguments(cls)),
        ]
    return lines


def reference() -> str:
    """The text of docs/config.md."""
    lines = [
        "# Config reference",
        "",
        f"<!-- Generated by `{COMMAND}` from the schema tfkit.config checks configs against. Do not edit. -->",
        "",
        "A pipeline config is a TOML file that `tfkit train CONFIG.toml` runs (and `tfkit evaluate`, `predict`, "
        "`export` reuse). Its tables are `[data]`, one `[columns.NAME]` per feature column, `[model]`, "
        "`[training]`, `[export]` and, for `tfkit tune`, `[tune]`; an unknown table or key is an error that lists the "
        "allowed ones. A key whose "
        'default is "not set" is left out (TOML has no null). Complete configs: `examples/*/config.toml`.',
        "",
        "## [data]",
        "",
        *_section("data"),
        "### The data directory",
        "",
        "The `train`, `eval` and `test` paths start from the data directory, which is, in order: the command's "
        f"`--data-dir`, the `TFKIT_DATA` environment variable, `[data] dir`, and `{DEFAULT_DATA_DIR}` (relative to "
        "the current directory). `[training] model_dir` and `[export] dir` start from the current directory.",
        "",
        "## [columns.NAME]",
        "",
        f"Each `[columns.NAME]` table declares a feature column: `type` (one of {', '.join(map(_toml, COLUMN_TYPES))}) "
        f"picks the column class below, and the other keys are its arguments. {_code(NAMED_BY_TABLE)} default to "
        f"NAME. {_code(REFERENCES)} may name another column of the file by its NAME; a string that names no column "
        f'is a raw feature. TOML has no null: for {_code(NONE_CHOICES)}, `"none"` means None (e.g. `combiner = "none"` '
        "embeds a sequence position by position).",
        "",
    ]
    for kind, cls in COLUMN_TYPES.items():
        lines += _column(kind, cls)
    lines += ["## [model]", "", *_section("model"), "## Model types", ""]
    lines += ["`[model] type` picks a builder; its arguments (of `tfkit.models.<type>`) are `[model]` keys too.", ""]
    for kind in sorted(BUILDERS):
        lines += _model_type(kind)
    lines += [*_heads(), "## [training]", "", *_section("training"), "## [export]", "", *_section("export")]
    lines += _tune()
    return "\n".join(lines).rstrip("\n") + "\n"


def _tune() -> list:
    """`[tune]`: its keys, then the forms of its search space (`tfkit.search_space`)."""
    fixed = "; ".join(f"[{section}] {_code(keys)}" for section, keys in FIXED.items())
    forms = [
        ("choices", "`{choices = [[64, 32], [128, 64, 32]]}`", "one of the values: numbers, strings, arrays, tables"),
        (
            "range",
            '`{min = 1e-4, max = 1e-2, sampling = "log"}`',
            "integers when `min`, `max` (and `step`) are integers, else numbers; `min` < `max`; optional `step`, "
            f"and `sampling` one of {_code(SAMPLINGS)} (log scales need `min` > 0)",
        ),
        (
            "auto",
            '`"auto"`',
            "only an embedding column's `dimension`: the range `feature_columns.embedding_dim_search_space"
            "(num_buckets)` gives around the fourth-root rule (e.g. 15 to 35 for 500,000 values)",
        ),
    ]
    return [
        "## [tune]",
        "",
        "`tfkit tune CONFIG.toml` (or `tfkit.tune(config)`) searches the settings of `space` with KerasTuner. Each "
        "trial trains the config with its settings in `<model_dir>/tuning/trial_<id>/model/` (a `model_dir` is "
        "needed) and is scored by the objective's metric on the eval split. Run again on the same model_dir, the "
        "search resumes: finished trials stay and an interrupted one runs again (with the same space and "
        "objective; `max_trials` may grow). Then the best settings are trained afresh in `model_dir` (an earlier "
        "search's best replaced), evaluated and exported as `tfkit train` does; `tuning/trials.csv` (a row per "
        "trial: id, status, settings, objective, metrics), `tuning/objective.png` (the objective by trial) and "
        "`tuning/best.json` record the search. Trials train for `[training] epochs` with its early stopping; "
        "Hyperband's for the epochs of their round, each continuing the model of the trial it promotes.",
        "",
        *_section("tune"),
        "### Search spaces",
        "",
        '`[tune.space]` names settings by dotted path, quoted as one key: `"model.KEY"`, `"training.KEY"` or '
        f'`"columns.NAME.KEY"` (any argument of the column but its `name`); not {fixed}. A column rebuilt with a '
        "trial's setting rebuilds the columns that refer to it. Each setting is given one of:",
        "",
        *_table(("form", "example", "what is searched"), forms),
        "```toml",
        "[tune.space]",
        '"model.hidden_units" = {choices = [[64, 32], [128, 64, 32]]}',
        '"model.dropout" = {min = 0.0, max = 0.3, step = 0.1}',
        '"training.learning_rate" = {min = 1e-4, max = 1e-2, sampling = "log"}',
        '"training.batch_size" = {choices = [256, 512]}',
        '"columns.trip_embedding.dimension" = "auto"',
        "```",
    ]


if __name__ == "__main__":
    print(reference(), end="")
