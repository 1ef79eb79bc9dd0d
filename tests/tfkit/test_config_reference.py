"""docs/config.md, the config reference, is generated from the schema the loader checks against: the committed file
is up to date, it lists exactly the keys `load_config` accepts (table by table, column type by column type, model
type by model type), and its defaults are the ones the code applies."""

import ast
import inspect
import os
import pydoc
import re

import pytest

import tfkit
from tfkit import config_reference, pipeline
from tfkit.config import COLUMN_TYPES, MODEL_TYPE_KEYS, SCHEMA, load_config
from tfkit.models import BUILDERS

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "config.md")
CONFIG = """
[data]
train = "a.csv"
label = "y"
{data}
[columns.x]
type = "{column_type}"
{columns}
[model]
type = "{model_type}"
features = ["x"]
{model}
[training]
{training}
[export]
{export}
{top}
"""


def _reference() -> str:
    with open(REFERENCE, encoding="utf-8") as file:
        return file.read()


def _documented_keys() -> dict:
    """`{heading: [the keys its table lists]}` of docs/config.md, headings as written ("[data]", "`dnn`")."""
    keys, heading = {}, None
    for line in _reference().splitlines():
        if line.startswith("#"):
            heading = line.lstrip("# ")
            keys[heading] = []
        elif row := re.match(r"\| `(\w+)` \|", line):
            keys[heading].append(row[1])
    return keys


def _allowed(tmp_path, where: str, column_type: str = "numeric", model_type: str = "dnn") -> list:
    """The keys `load_config` allows where a config holds an unknown one (`where`: a table, or "top")."""
    tables = dict.fromkeys(("data", "columns", "model", "training", "export", "top"), "")
    if model_type == "wide_and_deep":  # it needs its wide side before its keys are checked
        tables["model"] = 'linear_features = ["x"]'
    path = tmp_path / "config.toml"
    unknown = "[zz_unknown]" if where == "top" else "zz_unknown = 1"
    tables[where] = f"{tables[where]}\n{unknown}"
    path.write_text(CONFIG.format(**tables, column_type=column_type, model_type=model_type))
    with pytest.raises(ValueError, match=r"has unknown option\(s\) \['zz_unknown'\]") as error:
        load_config(path)
    return sorted(ast.literal_eval(re.search(r"Allowed: (\[.*\])\.$", str(error.value))[1]))


def test_the_committed_reference_is_the_generated_one():
    assert _reference() == config_reference.reference(), (
        f"docs/config.md is out of date: regenerate it with `{config_reference.COMMAND}`"
    )


@pytest.mark.parametrize("section", ["data", "training", "export"])
def test_a_table_documents_exactly_the_keys_the_loader_allows(tmp_path, section):
    assert sorted(_documented_keys()[f"[{section}]"]) == _allowed(tmp_path, section)


def test_the_reference_documents_every_table(tmp_path):
    tables = [heading.strip("[]").split(".")[0] for heading in _documented_keys() if heading.startswith("[")]
    assert sorted(tables) == _allowed(tmp_path, "top") == ["columns", "data", "export", "model", "training", "tune"]


@pytest.mark.parametrize("model_type", sorted(BUILDERS))
def test_each_model_type_documents_exactly_the_keys_the_loader_allows(tmp_path, model_type):
    documented = _documented_keys()
    assert sorted(documented["[model]"] + documented[f"`{model_type}`"]) == _allowed(
        tmp_path, "model", model_type=model_type
    )


@pytest.mark.parametrize("column_type", sorted(COLUMN_TYPES))
def test_each_column_type_documents_exactly_the_arguments_the_loader_allows(tmp_path, column_type):
    documented = _documented_keys()[f"`{column_type}`: {COLUMN_TYPES[column_type].__name__}"]
    assert sorted(documented) == _allowed(tmp_path, "columns", column_type=column_type)


def test_documented_defaults_are_the_ones_the_code_applies():
    # [training] keys are Estimator (or Estimator.train) arguments of the same name, left at their defaults.
    signatures = {
        **inspect.signature(tfkit.Estimator.train).parameters,
        **inspect.signature(tfkit.Estimator).parameters,
    }
    training = {key: option.default for key, option in SCHEMA["training"].items()}
    assert training == {key: signatures[key].default for key in training}
    # wide_and_deep's sides: tfkit.pipeline's optimizers and rates where the config names none.
    sides = MODEL_TYPE_KEYS["wide_and_deep"]
    for side, (optimizer, rate) in pipeline.WIDE_AND_DEEP_OPTIMIZERS.items():
        assert (sides[f"{side}_optimizer"].default, sides[f"{side}_learning_rate"].default) == (optimizer, rate)


def test_the_reference_describes_the_data_directory_and_heads():
    text = _reference()
    assert "`--data-dir`, the `TFKIT_DATA` environment variable, `[data] dir`, and `../shared/data`" in text
    assert '`"binary"` (BinaryHead with its defaults) or `"regression"` (RegressionHead with its defaults)' in text
    assert all(f"### `{name}`" in text for name in ("BinaryHead", "MultiClassHead", "SampledSoftmaxHead"))


def test_help_on_load_config_does_not_print_the_environment():
    text = pydoc.render_doc(load_config, renderer=pydoc.plaintext)
    assert "environ=None" in text and "environ({" not in text
