"""Config data sources beyond plain CSV splits: rows kept by value, seeded splits of one file, MNIST's IDX
files, `max_rows`; text, image and binarized columns and extra export signatures declared in TOML."""

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest

import feature_columns as fc
from tfkit.config import load_config
from tfkit.data import CsvFiles, read_csv

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SENTIMENT = os.path.join(ROOT, "examples", "sentiment", "config.toml")
MNIST = os.path.join(ROOT, "examples", "mnist", "embedding.toml")

TEMPLATE = """
[data]
{data}
label = "y"

[columns.x]
type = "numeric"

[model]
features = ["x"]
hidden_units = [2]
{export}
"""


def _write(tmp_path, data: str, export: str = "") -> str:
    path = tmp_path / "config.toml"
    path.write_text(TEMPLATE.format(data=data, export=export))
    return str(path)


@pytest.fixture(scope="module")
def sentiment(taxi_dir):
    return load_config(SENTIMENT, environ={"TFKIT_DATA": os.path.dirname(taxi_dir)})


def _reviews(config, split: str):
    column = config.columns["review"]
    features, labels = read_csv(config.data_source(split), [column], label=config.label, label_dtype="string")
    return features[column.key], labels


def test_seeded_split_parts_are_disjoint_and_cover_the_kept_rows(sentiment):
    parts = {split: _reviews(sentiment, split) for split in ("train", "eval", "test")}
    # 13,905 snippets, 1,097 of them "plot" synopses: 12,808 reviews, split 20% / 10% / 70%.
    sizes = {split: len(texts) for split, (texts, _) in parts.items()}
    assert sizes == {"test": 2562, "eval": 1281, "train": 8965}  # ranks < 2561.6, < 3842.4, the rest
    frame = pd.read_csv(sentiment.data_path("train"), dtype=str, skipinitialspace=True)  # as tfkit reads CSV
    kept = frame[frame["category"].isin(["fresh", "rotten"])]
    # Every review lands in exactly one part: the parts together are the kept rows, each once.
    together = sorted(zip(*(np.concatenate([p[i] for p in parts.values()]).tolist() for i in (0, 1)), strict=True))
    assert together == sorted(zip(kept["text"].tolist(), kept["category"].tolist(), strict=True))
    assert all(set(labels.tolist()) == {"fresh", "rotten"} for _, labels in parts.values())
    # The same rows in every run: the permutation is drawn from the config's seed.
    np.testing.assert_array_equal(_reviews(sentiment, "test")[0], parts["test"][0])


def test_max_rows_reads_only_the_first_rows(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(10)))
    features, labels = read_csv(CsvFiles(str(path), max_rows=4), [fc.NumericColumn("x")], label="y")
    assert features["x"].tolist() == [0, 1, 2, 3] and labels.tolist() == [0, 2, 4, 6]


def test_mnist_splits_are_read_from_the_idx_files_up_to_max_rows(taxi_dir):
    config = load_config(MNIST, environ={"TFKIT_DATA": os.path.dirname(taxi_dir)})
    assert isinstance(config.columns["pixels"], fc.ImageColumn)
    assert isinstance(config.columns["lit"], fc.BinarizedColumn)
    assert config.export_signatures == {"embedding": "lit_embedding"}
    test = dataclasses.replace(config, max_rows=3).data_source("test")
    assert test["pixels"].shape == (3, 28, 28) and test["label"].tolist() == [7, 2, 1]  # MNIST's first test digits


@pytest.mark.parametrize(
    "data, message",
    [
        ('train = "a.csv"\nsplit = {test = 0.6, eval = 0.5, seed = 1}', "leaves no rows to train on.*1.1"),
        ('train = "a.csv"\nsplit = {test = 1.5}', r"split `test` must be a fraction in \(0, 1\)"),
        ('train = "a.csv"\nsplit = {validation = 0.1}', "table of `test` and/or `eval` fractions"),
        ('train = "a.csv"\ntest = "b.csv"\nsplit = {test = 0.2}', r"\['test'\] are both files and parts of `split`"),
        ('train = "a.csv"\nsplit = {test = 0.2, seed = -1}', "seed` must be an integer >= 0"),
        ('train = "a.csv"\nmax_rows = 0', "`max_rows` must be a positive integer"),
        ('train = "a.csv"\nkeep = {category = "fresh"}', r"`keep` must map columns to lists of values"),
        ('train = "a.csv"\nformat = "parquet"', r"`format` must be one of \['csv', 'mnist'\]"),
        ('format = "mnist"\ntrain = "mnist/training"', r"must name a folder of MNIST files and one of its splits"),
        ('format = "mnist"\ntrain = "mnist/train"\ncomment = "#"', r"\['comment'\] are options of CSV files"),
    ],
)
def test_bad_data_options_are_named_with_the_fix(tmp_path, data, message):
    with pytest.raises(ValueError, match=message):
        load_config(_write(tmp_path, data))


def test_an_export_signature_must_name_a_column_of_the_file(tmp_path):
    path = _write(tmp_path, 'train = "a.csv"', '[export]\ndir = "out"\nsignatures = {embedding = "nope"}')
    with pytest.raises(
        ValueError, match=r"\[export\] `signatures` names undefined column\(s\) \{'embedding': 'nope'\}"
    ):
        load_config(path)


def test_keep_values_must_be_lists():
    with pytest.raises(ValueError, match="`keep` must map column names to non-empty lists"):
        CsvFiles("a.csv", keep={"category": "fresh"})


def test_text_columns_are_declared_in_toml_with_the_fourth_root_rule(tmp_path):
    path = tmp_path / "text.toml"
    path.write_text(
        """
[data]
train = "reviews.csv"
label = "y"

[columns.words]
type = "text"
key = "review"
max_tokens = 10000
ngrams = 2
standardize = "lower"

[columns.sequence]
type = "text"
key = "review"
vocabulary = ["good", "bad"]
output_sequence_length = 5

[columns.words_embedding]
type = "embedding"
categorical_column = "words"

[columns.sequence_embedding]
type = "embedding"
categorical_column = "sequence"
dimension = 2
combiner = "none"           # TOML has no null: one vector per position

[model]
features = ["words_embedding"]
"""
    )
    columns = load_config(str(path)).columns
    words = columns["words"]
    assert (words.key, words.max_tokens, words.ngrams, words.standardize) == ("review", 10000, 2, "lower")
    assert columns["sequence"].output_sequence_length == 5 and columns["sequence"].num_buckets == 3
    assert columns["sequence_embedding"].combiner is None and columns["sequence_embedding"].output_dim == 10  # 5 x 2
    # The fourth-root rule: round(10000 ** 0.25) = 10 dimensions.
    assert columns["words_embedding"].resolved_dimension == 10
