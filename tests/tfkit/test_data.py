"""CSV reading and batched datasets: whole batches, reshuffled, and errors that name file, column and line."""

import numpy as np
import pytest
import tensorflow as tf

import feature_columns as fc
import tfkit.data
from tfkit.data import CsvFiles, batched_dataset, cached_batches, csv_dataset, preprocessed_batches, read_csv

COLUMNS = [fc.NumericColumn("x", default_value=0.0), fc.IndicatorColumn(fc.HashedColumn("s", num_bins=4))]


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_batched_dataset_covers_every_row_once_per_pass():
    ds = batched_dataset({"x": np.arange(10.0)}, np.arange(10.0), batch_size=4, shuffle=True, seed=1)
    assert ds.cardinality().numpy() == 3  # ceil(10 / 4)
    first = np.concatenate([y.numpy() for _, y in ds])
    second = np.concatenate([y.numpy() for _, y in ds])
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert not np.array_equal(first, second)  # reshuffled
    again = batched_dataset({"x": np.arange(10.0)}, np.arange(10.0), batch_size=4, shuffle=True, seed=1)
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in again]), first)  # the seed reproduces it
    assert [len(b) for b in np.split(first, [4, 8])] == [4, 4, 2]


def test_batched_dataset_keeps_order_without_shuffle():
    ds = batched_dataset({"x": np.arange(5.0)}, batch_size=2)
    assert [b["x"].numpy().tolist() for b in ds] == [[0.0, 1.0], [2.0, 3.0], [4.0]]


def test_cached_batches_preprocess_every_row_once_and_reshuffle_every_pass():
    rows_preprocessed = tf.Variable(0)

    def preprocess(features, labels):
        rows_preprocessed.assign_add(tf.shape(labels)[0])
        return {"double": features["x"] * 2}, labels, features["x"] + 100  # features, labels, weights

    x = np.arange(20000.0)  # 20,000 rows: three 8,192-row preprocessing blocks
    ds = cached_batches({"x": x}, x, preprocess, batch_size=512, shuffle=True, seed=3, drop_remainder=True)
    passes = [[(f["double"].numpy(), y.numpy(), w.numpy()) for f, y, w in ds] for _ in range(3)]
    assert int(rows_preprocessed.numpy()) == 20000  # once, not once per pass
    for batches in passes:
        assert [len(y) for _, y, _ in batches] == [512] * 39  # 20,000 // 512 whole batches, the rest left out
        for double, y, w in batches:
            np.testing.assert_array_equal(double, 2 * y)  # a row's parts stay together
            np.testing.assert_array_equal(w, y + 100)
    orders = [np.concatenate([y for _, y, _ in batches]) for batches in passes]
    assert len(set(orders[0])) == 19968 and not np.array_equal(orders[0], orders[1])
    assert ds.options().autotune.enabled is False  # a new iterator every epoch: see tfkit.data._WITHOUT_AUTOTUNING


def test_shuffled_passes_over_large_data_visit_the_same_random_blocks_anew_each_permuted_anew():
    rows, block = 40_000, 8192  # more than two blocks: four whole ones and one of 7,232 rows
    x = np.arange(rows, dtype="float32")
    ds = preprocessed_batches({"x": x}, x, None, batch_size=512, shuffle=True, seed=4)
    passes = [np.concatenate([y.numpy() for _, y in ds]).astype(int) for _ in range(3)]
    order = tfkit.data.block_order(rows, seed=4)
    block_of = np.empty(rows, int)
    block_of[order] = np.arange(rows) // block  # each row's block, as the block order cuts it
    sizes = np.bincount(block_of)
    assert sizes.tolist() == [block] * 4 + [7232]
    for rows_seen in passes:
        assert sorted(rows_seen) == list(range(rows))  # every row once
        # The pass is the blocks one after another, each whole: runs of one block, of that block's size.
        starts = np.flatnonzero(np.diff(block_of[rows_seen], prepend=-1))
        assert len(starts) == 5 and np.array_equal(np.diff(starts, append=rows), sizes[block_of[rows_seen[starts]]])
    assert len({tuple(block_of[p[np.flatnonzero(np.diff(block_of[p], prepend=-1))]]) for p in passes}) > 1  # new visits
    for k in range(5):  # each block a random sample of the rows, its rows in a new order on every pass
        members = [p[block_of[p] == k] for p in passes]
        assert members[0].min() < 1000 and members[0].max() > 39_000
        assert not np.array_equal(members[0], members[1]) and sorted(members[0]) == sorted(members[1])
    again = preprocessed_batches({"x": x}, x, None, batch_size=512, shuffle=True, seed=4)
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in again]), passes[0])  # the seed reproduces it


@pytest.mark.parametrize("rows", [10_000, 40_000])  # one uniform permutation a pass; blocks (see block_order)
def test_cached_batches_give_the_batches_of_preprocessing_every_pass_whatever_the_dtypes_and_shapes(rows):
    def preprocess(features, labels):  # ids, an image-like float block, a float value: two dtypes, three shapes
        x = features["x"]
        ids = tf.stack([tf.cast(x, tf.int64), -tf.cast(x, tf.int64)], axis=1)
        pixels = tf.reshape(tf.repeat(x, 6), [-1, 3, 2]) + tf.constant([[0.0, 0.5]] * 3)
        return {"ids": ids, "pixels": pixels, "value": x[:, None] / 2}, labels

    x = np.arange(rows, dtype="float32")
    options = {"batch_size": 256, "shuffle": True, "seed": 5, "drop_remainder": True}
    cached = cached_batches({"x": x}, x, preprocess, **options)
    fresh = preprocessed_batches({"x": x}, x, preprocess, **options)  # preprocessed again every pass
    for _ in range(2):  # the same rows in the same order on each pass, every tensor whole
        for (got, y), (want, y_want) in zip(cached, fresh, strict=True):
            np.testing.assert_array_equal(y, y_want)
            for key in ("ids", "pixels", "value"):
                assert got[key].dtype == want[key].dtype and got[key].shape == want[key].shape
                np.testing.assert_array_equal(got[key], want[key])


def test_cached_batches_decline_what_does_not_fit_in_memory_or_changes_width(monkeypatch):
    x = np.arange(20000.0)
    assert cached_batches({"x": x}, x, lambda f, y: (f["x"], y), max_bytes=100_000) is None  # 320 kB preprocessed

    def ragged_width(features, labels):  # padded per chunk to the chunk's own widest row, as multivalent ids are
        width = 1 + tf.cast(tf.shape(labels)[0] < 8192, tf.int32)  # here the short last chunk's rows are wider
        return tf.zeros([tf.shape(labels)[0], width]), labels

    assert cached_batches({"x": x}, x, ragged_width) is not None  # one chunk: one width
    monkeypatch.setattr(tfkit.data, "CACHE_CHUNK_ROWS", 8192)
    assert cached_batches({"x": x}, x, ragged_width) is None  # chunks of 8,192, 8,192 and 3,616 rows: widths 1, 1, 2


def test_csv_dataset_reads_glob_and_fills_defaults(tmp_path):
    _write(tmp_path / "a.csv", "x,s,y\n1.5,u,1\n,v,2\n")
    _write(tmp_path / "b.csv", "x,s,y\n3,w,3\n")
    ds = csv_dataset(str(tmp_path / "*.csv"), label="y", batch_size=8, columns=COLUMNS, shuffle=False)
    features, labels = next(iter(ds))
    assert features["x"].numpy().tolist() == [1.5, 0.0, 3.0]  # the empty field took default_value 0.0
    assert [s.decode() for s in features["s"].numpy()] == ["u", "v", "w"]
    assert labels.numpy().tolist() == [1.0, 2.0, 3.0]


def test_text_in_numeric_column_names_file_column_and_line(tmp_path):
    path = _write(tmp_path / "rides.csv", "x,s,y\n1,u,1\n2,v,2\nabc,w,3\n")
    with pytest.raises(ValueError, match=r"rides.csv: feature 'x' must be numeric \(float32\), but line 4 holds 'abc'"):
        read_csv(path, COLUMNS, label="y")


def test_missing_csv_column_names_it_and_the_header(tmp_path):
    path = _write(tmp_path / "rides.csv", "x,y\n1,1\n")
    with pytest.raises(
        ValueError, match=r"rides.csv: column\(s\) \['s'\] are not in the file. Its header has \['x', 'y'\]"
    ):
        read_csv(path, COLUMNS, label="y")


def test_glob_matching_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file matches"):
        read_csv(str(tmp_path / "none-*.csv"), COLUMNS, label="y")


def test_taxi_csv_reads_with_the_example_columns(taxi_dir):
    columns = [fc.NumericColumn("pickup_latitude", default_value=40.75), fc.NumericColumn("passenger_count")]
    features, labels = read_csv(f"{taxi_dir}/taxi-valid.csv", columns, label="fare_amount")
    assert len(labels) == 14_905 and not np.isnan(features["pickup_latitude"]).any()
    assert labels.min() >= 2.5 and labels.max() <= 194.75


def test_headerless_files_with_comments_and_relabelled_classes(tmp_path):
    _write(tmp_path / "adult.test", "|1x3 Cross validator\n1.5, u, >50K.\n2, v, <=50K.\n")
    source = CsvFiles(
        str(tmp_path / "adult.test"),
        column_names=["x", "s", "income"],
        comment="|",
        label_map={">50K.": ">50K", "<=50K.": "<=50K"},
    )
    features, labels = read_csv(source, COLUMNS, label="income", label_dtype="string")
    assert features["x"].tolist() == [1.5, 2.0]
    assert features["s"].tolist() == ["u", "v"]  # the space after each comma is skipped
    assert labels.tolist() == [">50K", "<=50K"]


def test_census_training_file_reads_with_column_names(census_dir, census_column_names):
    columns = [fc.NumericColumn("age"), fc.IndicatorColumn(fc.HashedColumn("workclass", num_bins=16))]
    features, labels = read_csv(
        CsvFiles(f"{census_dir}/adult.data", column_names=census_column_names),
        columns,
        label="income",
        label_dtype="string",
    )
    assert len(labels) == 32_561 and set(labels) == {"<=50K", ">50K"}
    assert features["age"][:2].tolist() == [39.0, 50.0] and features["workclass"][0] == "State-gov"
