"""CSV files of the wrong shape, and labels that do not suit the head: errors that name the file, the line and the fix.

Every row must have as many fields as the header; an empty or header-only file is named as such; quoted commas
and newlines, comment lines and header-less files keep reading. Labels in text for a head that takes numbers get
the head's `label_vocabulary` as the fix, and a refused `train` leaves its model_dir as it was.
"""

import bz2
import gzip
import os

import numpy as np
import pandas as pd
import pytest
from snapshots import tree_hashes

import feature_columns as fc
from tfkit import BinaryHead, DNNClassifier, Estimator
from tfkit.data import CsvFiles, csv_files, read_csv

COLUMNS = [fc.NumericColumn("x", default_value=0.0), fc.IndicatorColumn(fc.HashedColumn("s", num_bins=4))]
QUOTE_FIX = r'A text field that holds a comma must be in double quotes \(e.g. "Smith, John"\)'
SHORT_FIX = r"Add the missing fields \(an empty field, as in `1,,3`, is a missing value\), or remove the line\."


def _write(path, text):
    path.write_text(text)
    return str(path)


# -- the shape of every line --------------------------------------------------------------------------------


def test_a_line_with_an_extra_trailing_field_names_file_line_and_the_fix(tmp_path):
    path = _write(tmp_path / "rides.csv", "x,s,y\n1,u,1\n2,v,2,\n3,w,3\n")
    message = rf"rides.csv: line 3 has 4 fields, but the header \(line 1\) has 3: '2,v,2,'\. {QUOTE_FIX}; otherwise"
    with pytest.raises(ValueError, match=message + r" remove the extra field\.$"):
        read_csv(path, COLUMNS, label="y")


def test_a_short_line_names_file_and_line_instead_of_a_missing_value(tmp_path):
    path = _write(tmp_path / "rides.csv", "x,s,y\n1,u,1\n2,v\n3,w,3\n")
    with pytest.raises(ValueError, match=r"rides.csv: line 3 has 2 fields, but the header \(line 1\) has 3: '2,v'\. "):
        read_csv(path, COLUMNS, label="y")
    with pytest.raises(ValueError, match=SHORT_FIX):
        read_csv(path, COLUMNS, label="y")


def test_an_unquoted_comma_in_a_text_field_suggests_quoting_not_a_categorical_column(tmp_path):
    # "Taxi, Inc" splits in two: " Inc" would land in the numeric column `x`, the label in a fourth field.
    path = _write(tmp_path / "rides.csv", "s,x,y\nCab Co,1.5,1\nTaxi, Inc,2.5,2\n")
    with pytest.raises(
        ValueError, match=rf"line 3 has 4 fields, but the header \(line 1\) has 3: 'Taxi, Inc,2.5,2'\. {QUOTE_FIX}"
    ) as error:
        read_csv(path, COLUMNS, label="y")
    assert "categorical" not in str(error.value)
    _write(tmp_path / "rides.csv", 's,x,y\nCab Co,1.5,1\n"Taxi, Inc",2.5,2\n')  # the fix the message gives
    features, labels = read_csv(path, COLUMNS, label="y")
    assert features["s"].tolist() == ["Cab Co", "Taxi, Inc"] and labels.tolist() == [1.0, 2.0]


def test_every_wrong_line_is_counted_and_the_first_few_listed(tmp_path):
    lines = ["x,s,y", "1,u,1", "2,v", "3,w,3,4", "4,x", "5,y,5", "6", "7,a", "8,b", "9,c", "10,d,10"]
    path = _write(tmp_path / "rides.csv", "\n".join(lines) + "\n")
    # Wrong: lines 3, 4, 5, 7, 8, 9, 10 (1-based file lines); the first is named, the next five listed.
    with pytest.raises(
        ValueError,
        match=r"line 3 has 2 fields.* 6 more line\(s\) have the wrong number of fields: "
        r"4, 5, 7, 8, 9, \.\.\.\.$",
    ):
        read_csv(path, COLUMNS, label="y")


def test_a_header_short_of_a_name_is_pointed_at_when_every_row_disagrees(tmp_path):
    path = _write(tmp_path / "rides.csv", "x,s\n1,u,1\n2,v,2\n")
    every = r"Every row has 3: is the header the line to fix\?$"
    with pytest.raises(
        ValueError,
        match=r"line 2 has 3 fields, but the header \(line 1\) has 2.* 1 more line\(s\) "
        r"have the wrong number of fields: 3\. " + every,
    ):
        read_csv(path, COLUMNS, label="y")


@pytest.mark.parametrize("text", ["", "\n\n", "  \n\r\n\t\n"], ids=["0 bytes", "newlines", "blank lines"])
def test_an_empty_file_is_named(tmp_path, text):
    path = _write(tmp_path / "rides.csv", text)
    with pytest.raises(ValueError, match=r"rides.csv: the file is empty: it holds no rows and no header\. Check"):
        read_csv(path, COLUMNS, label="y")
    with pytest.raises(ValueError, match=r"rides.csv: the file is empty: it holds no rows\. Check the path"):
        read_csv(CsvFiles(path, column_names=["x", "s", "y"]), COLUMNS, label="y")


def test_a_header_only_file_is_named(tmp_path):
    path = _write(tmp_path / "rides.csv", "x,s,y\n")
    with pytest.raises(ValueError, match=r"rides.csv: the file holds no rows, only its header \(line 1\)\. Check the"):
        read_csv(path, COLUMNS, label="y")


def test_header_less_files_count_fields_against_column_names_and_lines_after_comments(tmp_path):
    path = _write(tmp_path / "adult.test", "|1x3 Cross validator\n1.5, u, >50K.\n2, v\n")
    source = CsvFiles(path, column_names=["x", "s", "income"], comment="|")
    # The comment is line 1, so the short row is line 3.
    with pytest.raises(ValueError, match=r"adult.test: line 3 has 2 fields, but `column_names` names 3: '2, v'\."):
        read_csv(source, COLUMNS, label="income", label_dtype="string")
    _write(tmp_path / "adult.test", "|1x3 Cross validator\n1.5, u, >50K.\nabc, v, <=50K.\n")
    # A value's error counts the comment line too (the text is on file line 3, the second row).
    with pytest.raises(ValueError, match=r"feature 'x' must be numeric \(float32\), but line 3 holds 'abc'"):
        read_csv(source, COLUMNS, label="income", label_dtype="string")


def test_a_comment_character_inside_a_line_is_text(tmp_path):
    path = _write(tmp_path / "notes.csv", "# written by hand\nx,s,y\n1,flat #4,1\n")
    features, _ = read_csv(CsvFiles(path, comment="#"), COLUMNS, label="y")
    assert features["s"].tolist() == ["flat #4"]
    with pytest.raises(
        ValueError,
        match=r"`comment` must be one ASCII character, such as '#', or None\. Received: "
        r"comment='//'\.",
    ):
        CsvFiles(path, comment="//")


def test_quoted_commas_newlines_and_quotes_read_and_lines_after_them_are_named(tmp_path):
    text = 'x,s,y\n1,"a, b",1\n2,"two\nlines, with ""quotes""",2\n3, "c",3\n'
    features, labels = read_csv(_write(tmp_path / "quoted.csv", text), COLUMNS, label="y")
    assert features["s"].tolist() == ["a, b", 'two\nlines, with "quotes"', "c"] and labels.tolist() == [1, 2, 3]
    # The second row takes file lines 3 and 4, so the short row after it is on line 5.
    path = _write(tmp_path / "quoted.csv", text + "4,d\n")
    with pytest.raises(ValueError, match=r"quoted.csv: line 6 has 2 fields"):
        read_csv(path, COLUMNS, label="y")
    # A value's error counts rows where rows span lines: "line N" would be wrong.
    path = _write(tmp_path / "quoted.csv", text + "abc,d,4\n")
    with pytest.raises(ValueError, match=r"feature 'x' must be numeric \(float32\), but row 3 holds 'abc'"):
        read_csv(path, COLUMNS, label="y")


def test_a_quote_inside_an_unquoted_field_is_text_as_pandas_reads_it(tmp_path):
    # `12" pizza` would open a quoted field if quotes were counted alone; pandas (and tfkit) read it as text.
    path = _write(tmp_path / "orders.csv", 'x,s,y\n1,12" pizza,1\n2,plain,2\n3,"a, b",3\n')
    features, _ = read_csv(path, COLUMNS, label="y")
    assert features["s"].tolist() == ['12" pizza', "plain", "a, b"]
    _write(tmp_path / "orders.csv", 'x,s,y\n1,12" pizza,1\n2,plain\n')
    with pytest.raises(ValueError, match=r"orders.csv: line 3 has 2 fields, but the header \(line 1\) has 3"):
        read_csv(path, COLUMNS, label="y")


def test_a_quote_left_open_names_the_lines_it_swallows(tmp_path):
    path = _write(tmp_path / "open.csv", 'x,s,y\n1,"open,1\n2,b,2\n')
    # The quote opened on line 2 runs to the end of the file, line 3.
    with pytest.raises(
        ValueError,
        match=r"open.csv: the row on lines 2-3 \(in quotes\) has 2 fields, but the header "
        r"\(line 1\) has 3: '1,\"open,1'\. Is a quote on line 2 left open\? Close it",
    ):
        read_csv(path, COLUMNS, label="y")


def test_compressed_files_and_max_rows_read_only_what_they_need(tmp_path):
    text = "x,s,y\n" + "".join(f"{i},s{i},{i}\n" for i in range(100_000)) + "1,bad\n"
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    # The bad last line lies past the rows read.
    features, labels = read_csv(CsvFiles(str(path), max_rows=3), COLUMNS, label="y")
    assert labels.tolist() == [0.0, 1.0, 2.0] and features["s"].tolist() == ["s0", "s1", "s2"]
    with pytest.raises(ValueError, match=r"big.csv.gz: line 100002 has 2 fields"):  # header + 100,000 rows before it
        read_csv(str(path), COLUMNS, label="y")
    bz = tmp_path / "small.csv.bz2"
    bz.write_bytes(bz2.compress(b"x,s,y\n1,u,1\n"))
    assert read_csv(str(bz), COLUMNS, label="y")[1].tolist() == [1.0]


def test_keep_and_part_select_from_checked_files(tmp_path):
    path = _write(tmp_path / "reviews.csv", "x,s,y\n" + "".join(f"{i},{'ab'[i % 2]},{i}\n" for i in range(10)))
    _, kept = read_csv(CsvFiles(path, keep={"s": ["a"]}), COLUMNS, label="y")
    assert kept.tolist() == [0, 2, 4, 6, 8]
    parts = [read_csv(CsvFiles(path, part=(7, a, b)), COLUMNS, label="y")[1] for a, b in [(0, 0.2), (0.2, 1)]]
    assert len(parts[0]) == 2 and sorted(np.concatenate(parts).tolist()) == list(range(10))  # 20/80, each row once


# -- real files ---------------------------------------------------------------------------------------------


def test_rotten_tomatoes_with_quoted_multiline_text_reads_every_row(census_dir):
    path = os.path.join(os.path.dirname(census_dir), "text", "rotten_tomatoes.csv.bz2")
    columns = [fc.IndicatorColumn(fc.HashedColumn("movie_name", num_bins=4))]
    _, labels = read_csv(path, columns, label="category", label_dtype="string")
    assert len(labels) == 13_905 and set(labels) == {"fresh", "rotten", "plot"}
    assert len(pd.read_csv(path)) == 13_905  # as pandas reads it


def test_census_files_read_with_their_comment_line(census_dir, census_column_names):
    columns = [fc.NumericColumn("age"), fc.IndicatorColumn(fc.HashedColumn("workclass", num_bins=16))]
    train = CsvFiles(os.path.join(census_dir, "adult.data"), column_names=census_column_names)
    test = CsvFiles(os.path.join(census_dir, "adult.test"), column_names=census_column_names, comment="|")
    _, train_labels = read_csv(train, columns, label="income", label_dtype="string")
    features, test_labels = read_csv(test, columns, label="income", label_dtype="string")
    assert len(train_labels) == 32_561 and len(test_labels) == 16_281
    assert features["age"][:2].tolist() == [25.0, 38.0] and set(test_labels) == {"<=50K.", ">50K."}


# -- large files, parsed a block at a time ------------------------------------------------------------------


def _blocks_of(monkeypatch, block_bytes):
    monkeypatch.setattr(csv_files, "READ_BLOCK_BYTES", block_bytes)


def test_real_files_parsed_in_blocks_give_the_arrays_of_one_parse(
    taxi_dir, census_dir, census_column_names, monkeypatch
):
    movies = os.path.join(os.path.dirname(census_dir), "text", "rotten_tomatoes.csv.bz2")  # quoted, multiline text
    reads = [
        (
            CsvFiles(os.path.join(taxi_dir, "taxi-train.csv")),
            [fc.NumericColumn("pickup_longitude")],
            "fare_amount",
            "float32",
        ),
        (  # no header, spaces after the commas, a comment line
            CsvFiles(os.path.join(census_dir, "adult.test"), column_names=census_column_names, comment="|"),
            [fc.NumericColumn("age"), fc.IndicatorColumn(fc.HashedColumn("workclass", num_bins=16))],
            "income",
            "string",
        ),
        (CsvFiles(movies), [fc.IndicatorColumn(fc.HashedColumn("movie_name", num_bins=4))], "category", "string"),
    ]
    for source, columns, label, dtype in reads:
        path = csv_files.resolve_paths(source.paths)[0]
        assert len(list(csv_files.text_blocks(path, source, 2**16))) > 3  # the small blocks below are several
        _blocks_of(monkeypatch, 2**16)
        features, labels = read_csv(source, columns, label=label, label_dtype=dtype)
        _blocks_of(monkeypatch, 2**28)  # each file one block
        whole_features, whole_labels = read_csv(source, columns, label=label, label_dtype=dtype)
        assert labels.dtype == whole_labels.dtype and np.array_equal(labels, whole_labels)
        for key, values in whole_features.items():
            assert features[key].dtype == values.dtype and np.array_equal(features[key], values), key


def test_an_error_in_a_later_block_is_the_one_a_whole_read_reports(tmp_path, monkeypatch):
    # A blank line between rows: file lines no longer follow from rows, so errors count the file's data rows.
    lines = ["x,s,y", *[f"{i},s{i},{i}" for i in range(5_000)]]
    lines.insert(100, "")
    lines[2_500] = "oops,s,1"  # data row 2,498 (0-based: the header and the blank line come before it)
    path = _write(tmp_path / "rides.csv", "\n".join(lines) + "\n")
    _blocks_of(monkeypatch, 2**14)
    with pytest.raises(
        ValueError, match=r"rides.csv: feature 'x' must be numeric \(float32\), but row 2498 holds 'oops'"
    ):
        read_csv(path, COLUMNS, label="y")
    # A short line further on: the lines are checked before anything is parsed, so that line is the error.
    lines[4_800] = "1,s"
    _write(tmp_path / "rides.csv", "\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"rides.csv: line 4801 has 2 fields, but the header \(line 1\) has 3"):
        read_csv(path, COLUMNS, label="y")


# -- labels -------------------------------------------------------------------------------------------------

LABEL_FIX = (
    r"For classes named by strings, give the head their names, e\.g\. `BinaryHead\(label_vocabulary=\['no', "
    r"'yes'\]\)` \(a canned classifier takes `label_vocabulary` too\); otherwise map the labels to numbers\.$"
)


def _labelled(rows=8):
    return pd.DataFrame({"x": np.arange(rows, dtype=float), "s": ["u"] * rows, "y": ["yes", "no"] * (rows // 2)})


def test_text_labels_for_a_head_without_a_vocabulary_name_the_label_column_and_the_fix(tmp_path):
    model_dir = tmp_path / "model"
    estimator = Estimator(COLUMNS, BinaryHead(), label="y", model_dir=str(model_dir))
    message = r"^Estimator.train: the label column 'y' must hold numbers \(float32\) for this head, but row 0 holds "
    with pytest.raises(ValueError, match=message + r"strings such as 'yes'\. " + LABEL_FIX):
        estimator.train(_labelled(), verbose=0)
    path = str(tmp_path / "labelled.csv")
    _labelled().to_csv(path, index=False)
    with pytest.raises(
        ValueError,
        match=r"labelled.csv: the label column 'y' must hold numbers \(float32\) for this "
        r"head, but line 2 holds strings such as 'yes'\. " + LABEL_FIX,
    ):
        estimator.train(path, verbose=0)
    assert not model_dir.exists()  # refused before anything was written


def test_a_refused_train_leaves_an_existing_model_dir_byte_for_byte_as_it_was(tmp_path):
    model_dir = tmp_path / "model"
    frame = _labelled().assign(y=lambda f: (f["y"] == "yes").astype(float))
    options = {"model_dir": str(model_dir), "label": "y"}
    DNNClassifier([4], COLUMNS, **options).train(frame, steps=2, batch_size=4, verbose=0)
    before = tree_hashes(model_dir)
    assert any(name.endswith("estimator.json") for name in before)
    with pytest.raises(
        ValueError,
        match=r"^DNNClassifier.train: the label column 'y' must hold numbers \(float32\)"
        r" for this head, but row 0 holds strings such as 'yes'\. ",
    ):
        DNNClassifier([4], COLUMNS, **options).train(_labelled(), steps=2, batch_size=4, verbose=0)
    assert tree_hashes(model_dir) == before
    path = _write(tmp_path / "short.csv", "x,s,y\n1,u,1\n2,v\n")
    with pytest.raises(ValueError, match=r"short.csv: line 3 has 2 fields"):
        DNNClassifier([4], COLUMNS, **options).train(path, steps=2, batch_size=4, verbose=0)
    assert tree_hashes(model_dir) == before


def test_many_text_classes_suggest_a_multiclass_head_and_missing_labels_are_named(tmp_path):
    frame = _labelled(12).assign(y=[f"c{i}" for i in range(12)])
    with pytest.raises(
        ValueError,
        match=r"`MultiClassHead\(label_vocabulary=\['c0', 'c1', 'c10', 'c11', 'c2', 'c3', "
        r"'c4', 'c5', \.\.\.\]\)`",
    ):
        Estimator(COLUMNS, "regression", label="y").train(frame, verbose=0)
    path = _write(tmp_path / "labels.csv", "x,s,y\n1,u,1\n2,v,\n")
    with pytest.raises(
        ValueError,
        match=r"labels.csv: the label column 'y' has a missing value \(line 3\)\. Every "
        r"example needs a label: fill it in, or drop the rows without one\.$",
    ):
        read_csv(path, COLUMNS, label="y")
    frame = _labelled().assign(y=[0, 1] * 4)
    message = r"the label column 'y' holds numbers, but the head names its classes by its `label_vocabulary`\. "
    with pytest.raises(ValueError, match=message + r"Map the labels to those names, or leave `label_vocabulary` out"):
        Estimator(COLUMNS, BinaryHead(label_vocabulary=["no", "yes"]), label="y").train(frame, verbose=0)


def test_words_that_pandas_reads_as_missing_stay_words_in_text_columns(tmp_path):
    # "NA" is Namibia's country code and "None" a message; only the empty field is a blank in a text column.
    path = tmp_path / "rows.csv"
    path.write_text("country,message,x\nNA,None,1.5\nDE,,NA\n")
    columns = [
        fc.VocabularyColumn("country", ["NA", "DE"]),
        fc.TextColumn("message", vocabulary=["none"], missing_value=""),
        fc.NumericColumn("x", default_value=0.0),
    ]
    features, _ = read_csv(str(path), columns)
    assert features["country"].tolist() == ["NA", "DE"]
    assert features["message"].tolist() == ["None", ""]
    assert features["x"].tolist() == [1.5, 0.0]  # "NA" in a numeric column is missing: the default
