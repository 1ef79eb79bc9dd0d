"""`tfkit train`, `evaluate`, `predict` and `export` on examples/census/config.toml (UCI Adult)."""

import dataclasses
import json
import os
import pathlib

import pandas as pd
import pytest

from tfkit import cli
from tfkit.config import load_config
from tfkit.data import CsvFiles
from tfkit.pipeline import make_estimator

DATA_DIR = os.environ.get("TFKIT_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "census", "config.toml")

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(DATA_DIR, "census", "adult.data")), reason="needs ../shared/data/census"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    options = ["--data-dir", DATA_DIR, "--model-dir", str(root / "model")]
    assert cli.main(["train", CONFIG, *options, "--export-dir", str(root / "export")]) == 0
    return root, options


def test_train_reaches_the_census_bar_through_the_cli(trained, capsys):
    root, _ = trained
    saved = json.loads((root / "model" / "eval" / "metrics.json").read_text())
    assert saved["name"] == "test"
    assert saved["metrics"]["accuracy"] >= 0.85 and saved["metrics"]["auc"] >= 0.90
    assert os.listdir(root / "export") == ["1"]


def test_evaluate_prints_the_same_metrics_from_the_model_dir(trained, capsys):
    root, options = trained
    saved = json.loads((root / "model" / "eval" / "metrics.json").read_text())["metrics"]
    assert cli.main(["evaluate", CONFIG, *options]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("test: ") and f"accuracy={saved['accuracy']:.4f}" in printed


def test_predict_reads_a_csv_like_the_config_and_writes_one_row_per_input(trained, tmp_path, capsys):
    _, options = trained
    source = os.path.join(DATA_DIR, "census", "adult.test")
    with open(source) as file:
        lines = file.readlines()[:6]  # the comment line and 5 examples
    (tmp_path / "in.csv").write_text("".join(lines))
    assert cli.main(["predict", CONFIG, *options, str(tmp_path / "in.csv"), str(tmp_path / "out.csv")]) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["logits", "probabilities_0", "probabilities_1", "class_ids", "classes"]
    assert len(out) == 5
    assert set(out["classes"]) <= {"<=50K", ">50K"}
    assert ((out["probabilities_1"] > 0.5).astype(int) == out["class_ids"]).all()


def test_export_writes_the_next_version(trained, capsys):
    root, options = trained
    assert cli.main(["export", CONFIG, *options, "--export-dir", str(root / "export")]) == 0
    assert capsys.readouterr().out.strip() == f"exported: {root / 'export' / '2'}"


def test_evaluate_without_a_trained_model_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["evaluate", CONFIG, "--data-dir", DATA_DIR, "--model-dir", str(tmp_path / "none")]) == 2
    assert "holds no trained model. Run `tfkit train" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "export"])
def test_help_documents_every_option(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = capsys.readouterr().out
    for option in ("config", "--data-dir", "--model-dir"):
        assert option in text
    extra = {"train": ["--epochs", "--export-dir"], "evaluate": ["--split"], "predict": ["input", "output"]}
    for option in extra.get(command, ["--export-dir"]):
        assert option in text


def test_the_census_config_reads_header_less_csv_and_a_wide_and_deep_model():
    config = load_config(CONFIG)
    assert config.model == "wide_and_deep" and len(config.linear_features) == 9
    test = config.data_source("test")
    assert isinstance(test, CsvFiles) and test.comment == "|" and test.label_map == {"<=50K.": "<=50K", ">50K.": ">50K"}
    assert test.column_names[-1] == "income"


def test_linear_features_belong_to_wide_and_deep_models_only(tmp_path):
    text = pathlib.Path(CONFIG).read_text().replace('type = "wide_and_deep"', 'type = "dnn"')
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ValueError, match=r"`linear_features` .* with, and only with, type = 'wide_and_deep'"):
        load_config(tmp_path / "config.toml")


def test_the_census_config_sets_each_sides_optimizer_and_rate():
    config = dataclasses.replace(load_config(CONFIG), training={})  # no model_dir: nothing is read or written
    optimizer = make_estimator(config).optimizer
    sides = [(type(o).__name__, round(float(o.learning_rate), 6)) for o in optimizer.optimizers]
    assert sides == [("Ftrl", 0.05), ("Adam", 0.001)]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "epochs = 5",
            "epochs = 5\nlearning_rate = 0.1",
            r"\[training\] \['learning_rate'\] must not be set with type = 'wide_and_deep'.*Set \[model\] "
            r"`linear_optimizer`, `linear_learning_rate`",
        ),
        ('dnn_optimizer = "adam"', 'dnn_optimizer = "adamm"', r"\[model\]: `dnn_optimizer` must be a Keras optimizer"),
    ],
)
def test_a_wide_and_deep_config_refuses_a_setting_it_would_drop(tmp_path, old, new, message):
    text = pathlib.Path(CONFIG).read_text().replace(old, new)
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ValueError, match=message):
        make_estimator(load_config(tmp_path / "config.toml"))
