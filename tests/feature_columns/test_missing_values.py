"""Blanks (missing values), declared: each column that reads a raw feature says what a blank means, or a blank is
an error naming the file, the line, the feature and the argument that fixes it (see "Blanks" in
`feature_columns.categorical`). Also: features of different lengths are refused up front.
"""

import os
import re

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
import tfkit
from feature_columns.integration import raw_features, to_feature_arrays
from tfkit.config import load_config
from tfkit.data import read_csv

# Line 1 is the header; line 3 (the second trip) is blank in every column.
TRIPS = """company,hour,fare,text,payment
Sun Taxi,5,10.5,hello world,Cash
,,,,
Flash Cab,30,7.25,world,Card
"""
# The same trips as pandas holds them after reading the file.
FRAME = pd.DataFrame(
    {
        "company": pd.array(["Sun Taxi", None, "Flash Cab"], dtype="string"),
        "hour": [5.0, np.nan, 30.0],
        "fare": [10.5, np.nan, 7.25],
        "text": ["hello world", None, "world"],
        "payment": ["Cash", None, "Card"],
    }
)


@pytest.fixture
def trips(tmp_path):
    path = tmp_path / "trips.csv"
    path.write_text(TRIPS)
    return str(path)


def _from_csv(path, column):
    features, _ = read_csv(path, [column])
    return features


def _from_frame(_, column):
    return to_feature_arrays(FRAME, raw_features([column]), source="frame")


SOURCES = pytest.mark.parametrize("read", [_from_csv, _from_frame], ids=["csv", "dataframe"])


def _where(read, path) -> tuple:
    """The source and the place of the blank trip, as errors name them: the file's line 3, or the frame's row 1."""
    return (path, "line 3") if read is _from_csv else ("frame", "row 1")


def _outputs(column, features):
    """The one-hot (or count) rows an IndicatorColumn gives for the column's ids."""
    return fc.FeatureLayer([fc.IndicatorColumn(column)])(features).numpy()


@SOURCES
def test_vocabulary_blank_is_the_missing_value_looked_up_like_any_other(trips, read):
    company = fc.VocabularyColumn("company", ["Flash Cab", "Sun Taxi"], missing_value="")
    features = read(trips, company)
    assert features["company"].tolist() == ["Sun Taxi", "", "Flash Cab"]
    # Ids: OOV 0, "Flash Cab" 1, "Sun Taxi" 2; "" is not in the vocabulary, so the blank gets the OOV id 0.
    np.testing.assert_array_equal(_outputs(company, features), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


@SOURCES
def test_vocabulary_blank_without_missing_value_names_source_line_feature_and_option(trips, read):
    source, where = _where(read, trips)
    message = (
        f"{source}: feature 'company' has a missing value ({where}) and no column reading it says what a blank "
        """means. Give VocabularyColumn('company') `missing_value=""`, or fill the data."""
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        read(trips, fc.VocabularyColumn("company", ["Flash Cab", "Sun Taxi"]))


def test_a_learned_vocabulary_learns_a_frequent_blank_as_a_token_of_its_own():
    company = fc.VocabularyColumn("company", max_tokens=3, missing_value="")
    layer = fc.FeatureLayer([fc.IndicatorColumn(company)])
    layer.adapt(pd.DataFrame({"company": ["Sun Taxi", None, None, "Flash Cab", "Sun Taxi"]}))
    # Counts: "" 2, "Sun Taxi" 2, "Flash Cab" 1; max_tokens=3 keeps 1 OOV id + 2 tokens, ties greater value first:
    # "Sun Taxi" -> 1, "" -> 2, and "Flash Cab" falls to the OOV id 0.
    got = layer(pd.DataFrame({"company": [None, "Sun Taxi", "Flash Cab"]})).numpy()
    np.testing.assert_array_equal(got, [[0, 0, 1], [0, 1, 0], [1, 0, 0]])


@SOURCES
def test_hashed_blank_hashes_as_its_missing_value(trips, read):
    payment = fc.HashedColumn("payment", num_bins=8, missing_value="")
    features = read(trips, payment)
    assert features["payment"].tolist() == ["Cash", "", "Card"]
    # The blank row's bucket is the one an explicit "" hashes to.
    explicit = _outputs(payment, {"payment": np.array([""])})
    np.testing.assert_array_equal(_outputs(payment, features)[1], explicit[0])


@SOURCES
def test_hashed_blank_without_missing_value_names_the_option(trips, read):
    source, where = _where(read, trips)
    message = f"""{source}: feature 'payment' has a missing value ({where}) and no column reading it says what a \
blank means. Give HashedColumn('payment') `missing_value=""`, or fill the data."""
    with pytest.raises(ValueError, match=re.escape(message)):
        read(trips, fc.HashedColumn("payment", num_bins=8))


@SOURCES
def test_identity_blank_takes_missing_value_and_out_of_range_ids_take_default_value(trips, read):
    hour = fc.IdentityColumn("hour", num_buckets=24, default_value=23, missing_value=0)
    features = read(trips, hour)
    # 5 is in [0, 24); the blank is missing_value 0; 30 is out of range, so default_value 23.
    assert features["hour"].tolist() == [5, 0, 30]
    ids = _outputs(hour, features).argmax(axis=1)
    assert ids.tolist() == [5, 0, 23]


@SOURCES
def test_identity_default_value_does_not_cover_blanks(trips, read):
    source, where = _where(read, trips)
    message = (
        f"{source}: feature 'hour' has a missing value ({where}) and no column reading it says what a blank means. "
        "Give IdentityColumn('hour') `missing_value=` an id in [0, 24), or fill the data."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        read(trips, fc.IdentityColumn("hour", num_buckets=24, default_value=23))


@SOURCES
def test_numeric_blank_is_the_default_value(trips, read):
    features = read(trips, fc.NumericColumn("fare", default_value=-1.0))
    np.testing.assert_array_equal(features["fare"], np.array([10.5, -1.0, 7.25], "float32"))


@SOURCES
def test_numeric_blank_without_default_value_names_the_option(trips, read):
    source, where = _where(read, trips)
    message = (
        f"{source}: feature 'fare' has a missing value ({where}) and no column reading it says what a blank means. "
        "Give NumericColumn('fare') `default_value=` the number a blank stands for, or fill the data."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        read(trips, fc.NumericColumn("fare"))


@SOURCES
def test_text_blank_with_missing_value_empty_has_no_tokens(trips, read):
    text = fc.TextColumn("text", vocabulary=["hello", "world"], missing_value="")
    features = read(trips, text)
    # Ids: OOV 0, "hello" 1, "world" 2; counts per id. The blank text "" holds no token at all.
    np.testing.assert_array_equal(_outputs(text, features), [[0, 1, 1], [0, 0, 0], [0, 0, 1]])


@SOURCES
def test_text_blank_without_missing_value_names_the_option(trips, read):
    source, where = _where(read, trips)
    message = f"""{source}: feature 'text' has a missing value ({where}) and no column reading it says what a \
blank means. Give TextColumn('text') `missing_value=""`, or fill the data."""
    with pytest.raises(ValueError, match=re.escape(message)):
        read(trips, fc.TextColumn("text", vocabulary=["hello", "world"]))


def test_one_columns_missing_value_fills_the_feature_for_every_column_reading_it():
    company = fc.VocabularyColumn("company", ["Sun Taxi"], missing_value="")
    crossed = fc.CrossedColumn(["company", "payment"], num_bins=16)  # reads 'company' raw: no option of its own
    features = {"company": [None], "payment": ["Cash"]}
    arrays = to_feature_arrays(features, raw_features([fc.IndicatorColumn(company), fc.IndicatorColumn(crossed)]))
    assert arrays["company"].tolist() == [""]


def test_a_blank_no_column_can_declare_says_to_fill_the_data():
    distance = fc.DistanceColumn(("x0", "y0", "x1", "y1"))
    features = {"x0": [0.0, np.nan], "y0": [0.0, 0.0], "x1": [3.0, 3.0], "y1": [4.0, 4.0]}
    message = (
        "input: feature 'x0' has a missing value (row 1), and nothing says what a blank means for it. Fill the "
        "data or drop those rows."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        to_feature_arrays(features, raw_features([distance]))


def test_multivalent_blanks_given_the_padding_value_add_no_value():
    tags = fc.VocabularyColumn("tags", ["a", "b"], multivalent=True, missing_value="")
    arrays = to_feature_arrays({"tags": [["a", None], None, ["b"]]}, raw_features([tags]))
    assert arrays["tags"].tolist() == [["a", ""], ["", ""], ["b", ""]]
    # Ids: OOV 0, a 1, b 2; "" pads, so the blank inside row 0 and the blank row 1 add nothing.
    np.testing.assert_array_equal(_outputs(tags, arrays), [[0, 1, 0], [0, 0, 0], [0, 0, 1]])


def test_columns_reading_one_feature_must_agree_on_its_missing_value():
    columns = [
        fc.IndicatorColumn(fc.VocabularyColumn("company", ["a"], missing_value="")),
        fc.IndicatorColumn(fc.HashedColumn("company", 4, missing_value="?", name="company_hashed")),
    ]
    with pytest.raises(ValueError, match=r"raw feature 'company' has two different values for a blank.*'' and '\?'"):
        fc.FeatureLayer(columns)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: fc.VocabularyColumn("c", ["a"], missing_value=0), TypeError, 'must be a string such as ""'),
        (lambda: fc.HashedColumn("c", 4, dtype="int64", missing_value="x"), TypeError, "must be an integer such as -1"),
        (lambda: fc.TextColumn("t", max_tokens=5, missing_value=1), TypeError, "must be a string"),
        (lambda: fc.IdentityColumn("h", 24, missing_value=24), ValueError, r"`missing_value` must be an integer in \["),
        (lambda: fc.IdentityColumn("h", 24, missing_value=True), ValueError, r"Received: missing_value=True"),
    ],
)
def test_missing_value_must_be_a_raw_value_of_the_columns_dtype(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_missing_value_round_trips_and_is_the_default_of_the_parsed_example_feature():
    company = fc.VocabularyColumn("company", ["Sun Taxi"], missing_value="")
    hour = fc.IdentityColumn("hour", 24, missing_value=0)
    assert fc.from_config(fc.serialize(company)) == company
    # A tf.Example without the features reads as its blanks: "" and 0.
    parsed = fc.parse_example(tf.constant([tf.train.Example().SerializeToString()]), [company, hour])
    assert parsed["company"].numpy().tolist() == [b""] and parsed["hour"].numpy().tolist() == [0]


def test_missing_value_is_a_key_of_a_columns_table_in_the_config(tmp_path):
    config = tmp_path / "pipeline.toml"
    config.write_text(
        """
[data]
train = "trips.csv"
label = "fare"
[columns.company]
type = "vocabulary"
vocabulary = ["Flash Cab", "Sun Taxi"]
missing_value = ""
[columns.hour]
type = "identity"
num_buckets = 24
default_value = 23
missing_value = 0
[columns.company_embedding]
type = "embedding"
categorical_column = "company"
dimension = 2
[model]
features = ["company_embedding"]
"""
    )
    columns = load_config(str(config)).columns
    assert columns["company"].missing_value == "" and columns["hour"].missing_value == 0


def test_features_of_different_lengths_are_refused_up_front():
    columns = [fc.NumericColumn("fare"), fc.IndicatorColumn(fc.VocabularyColumn("company", ["a"]))]
    message = (
        "input: `data` must hold the same number of examples in every feature. Received: {'fare': 3, 'company': 2} "
        "examples by feature. Give every feature one value (or one row of values) per example."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        to_feature_arrays({"fare": [1.0, 2.0, 3.0], "company": ["a", "b"]}, raw_features(columns))
    with pytest.raises(ValueError, match=r"FeatureLayer.adapt: `data` must hold the same number of examples"):
        fc.FeatureLayer([fc.NumericColumn("fare", normalization="zscore"), *columns[1:]]).adapt(
            {"fare": [1.0, 2.0, 3.0], "company": ["a", "b"]}
        )


def test_an_estimator_given_features_of_different_lengths_says_so_before_training(tmp_path):
    # It used to fail in TensorFlow with a raw InvalidArgumentError from GatherV2, after building the model.
    estimator = tfkit.DNNRegressor(
        [4], [fc.NumericColumn("x"), fc.NumericColumn("z")], label="y", model_dir=str(tmp_path)
    )
    data = {"x": [1.0, 2.0, 3.0], "z": [1.0, 2.0], "y": [0.0, 1.0, 2.0]}
    with pytest.raises(ValueError, match=re.escape("Received: {'x': 3, 'z': 2} examples by feature.")):
        estimator.train(data, epochs=1)
    assert os.listdir(tmp_path) == []


def test_a_text_column_holding_only_numbers_names_the_feature_and_the_fix(tmp_path):
    review = fc.TextColumn("review", max_tokens=10)
    # From a CSV file every field is text: '3' and '5' are numbers all the same.
    path = tmp_path / "reviews.csv"
    path.write_text("review,y\n3,1\n5,0\n")
    message = r"reviews.csv: feature 'review' is read as free text by TextColumn\('review'\), but it holds only numbers"
    with pytest.raises(TypeError, match=message + r" \(e.g. '3'\)\. Point the column at the text feature"):
        read_csv(str(path), [review], label="y")
    with pytest.raises(TypeError, match=r"feature 'review' is read as free text .* but it holds int64 values"):
        to_feature_arrays(pd.DataFrame({"review": [3, 5]}), raw_features([review]))
    # Words with a number among them are text.
    path.write_text("review,y\ngreat fun,1\n10,0\n")
    assert read_csv(str(path), [review], label="y")[0]["review"].tolist() == ["great fun", "10"]
