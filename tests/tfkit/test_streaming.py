"""Files read a block at a time: CSV shards, TFRecord and Parquet files train, evaluate and predict as arrays do.

Streaming and in-memory reads of the same rows give the same model; a malformed row in one shard of ten names
its file and line and leaves the checkpoints; a glob that matches nothing is named; `shard` splits files by worker.
"""

import os
import re

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
from tfkit import Estimator
from tfkit.data import CsvFiles, ParquetFiles, TFRecordFiles, shard, streaming

COLUMNS = [
    fc.NumericColumn("pickup_longitude", normalization="zscore"),
    fc.IndicatorColumn(fc.BucketizedColumn(fc.NumericColumn("dropoff_latitude"), num_bins=8)),
    fc.IndicatorColumn(fc.IdentityColumn("hourofday", num_buckets=24)),
]
LABEL = "fare_amount"


def _rides(taxi_dir, rows):
    return pd.read_csv(os.path.join(taxi_dir, "taxi-train.csv"), nrows=rows)


def _estimator(**options):
    return Estimator(COLUMNS, "regression", label=LABEL, model_params={"hidden_units": [8]}, seed=3, **options)


def _write_tfrecord(path, frame):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for row in frame.itertuples():
            feature = {
                "pickup_longitude": tf.train.Feature(float_list=tf.train.FloatList(value=[row.pickup_longitude])),
                "dropoff_latitude": tf.train.Feature(float_list=tf.train.FloatList(value=[row.dropoff_latitude])),
                "hourofday": tf.train.Feature(int64_list=tf.train.Int64List(value=[row.hourofday])),
                LABEL: tf.train.Feature(float_list=tf.train.FloatList(value=[row.fare_amount])),
            }
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())


def test_streaming_and_in_memory_csv_train_the_same_weights(taxi_dir):
    # 3,000 rides fit in one block: streamed, they are permuted from the same seeds as in memory, so the epoch's
    # batches are the same rows in the same order, and the adapted state is the same (one pass, same batches).
    # One epoch: on later ones Keras 3.15 treats data of unknown length (a stream) differently (see
    # tfkit.data.streaming), so their order differs.
    path = os.path.join(taxi_dir, "taxi-train.csv")
    weights = []
    for streamed in (False, True):
        estimator = _estimator().train(CsvFiles(path, max_rows=3000, streaming=streamed), epochs=1, verbose=0)
        weights.append(estimator.model.get_weights())
    for in_memory, streamed in zip(*weights, strict=True):
        np.testing.assert_array_equal(streamed, in_memory)


def test_tfrecord_shards_train_evaluate_and_predict_as_the_same_rows_in_memory(taxi_dir, tmp_path):
    rides = _rides(taxi_dir, 2000)
    for i in range(2):
        _write_tfrecord(tmp_path / f"rides-{i}.tfrecord", rides.iloc[i * 1000 : (i + 1) * 1000])
    files = TFRecordFiles(str(tmp_path / "rides-*.tfrecord"), streaming=True)
    estimator = _estimator().train(files, epochs=1, verbose=0)
    # The same model on the same rows: streamed records and the DataFrame agree but for float sums' order.
    streamed, in_memory = estimator.evaluate(files), estimator.evaluate(rides)
    assert streamed["rmse"] == pytest.approx(in_memory["rmse"], rel=1e-5)
    predictions = estimator.predict_batch(files)["predictions"]
    np.testing.assert_allclose(predictions, estimator.predict_batch(rides)["predictions"], rtol=1e-5)


def test_parquet_files_stream_and_read_whole_alike(taxi_dir, tmp_path):
    rides = _rides(taxi_dir, 1500)
    rides.iloc[:700].to_parquet(tmp_path / "rides-0.parquet")
    rides.iloc[700:].to_parquet(tmp_path / "rides-1.parquet")
    estimator = _estimator().train(rides, epochs=1, verbose=0)
    whole = estimator.evaluate(ParquetFiles(str(tmp_path / "*.parquet"), streaming=False))
    streamed = estimator.evaluate(str(tmp_path / "*.parquet"))  # by suffix; small: read whole, by the budget
    assert whole["rmse"] == pytest.approx(estimator.evaluate(rides)["rmse"], rel=1e-5)
    assert streamed["rmse"] == pytest.approx(whole["rmse"], rel=1e-5)


def _shards(taxi_dir, folder, count=10, rows=100):
    rides = _rides(taxi_dir, count * rows)
    for i in range(count):
        rides.iloc[i * rows : (i + 1) * rows].to_csv(folder / f"rides-{i:02d}.csv", index=False)
    return str(folder / "rides-*.csv")


def test_a_malformed_row_in_shard_7_of_10_names_file_and_line_and_keeps_the_checkpoint(taxi_dir, tmp_path):
    pattern = _shards(taxi_dir, tmp_path)
    model_dir = tmp_path / "model"
    # A checkpoint after every step (of 50 rows), so that some are written before shard 7's row 41 is reached.
    estimator = _estimator(model_dir=str(model_dir), save_checkpoints_steps=1, steps_per_execution=1)
    estimator.train(CsvFiles(pattern, streaming=True), epochs=1, batch_size=50, verbose=0)
    weights = (model_dir / "model.weights.h5").read_bytes()
    shard_7 = tmp_path / "rides-07.csv"
    lines = shard_7.read_text().splitlines()
    lines[41] += ",7"  # file line 42: one field too many
    shard_7.write_text("\n".join(lines) + "\n")
    message = (
        rf"Estimator.train: {shard_7}: line 42 has 9 fields, but the header \(line 1\) has 8: '{lines[41]}'\. "
        r"A text field that holds a comma must be in double quotes"
    )
    with pytest.raises(ValueError, match=message) as raised:
        estimator.train(CsvFiles(pattern, streaming=True), epochs=1, batch_size=50, verbose=0)
    assert "The last checkpoint, written before the failing batch, stays in" in str(raised.value)
    assert os.listdir(model_dir / "backup")
    assert (model_dir / "model.weights.h5").read_bytes() == weights


def test_a_malformed_row_found_while_adapting_names_file_and_line(taxi_dir, tmp_path):
    pattern = _shards(taxi_dir, tmp_path, count=3)
    (tmp_path / "rides-01.csv").write_text("fare_amount,pickup_longitude\n7.5,-73.9\n")
    with pytest.raises(ValueError, match=r"rides-01.csv: column\(s\) \['dropoff_latitude', 'hourofday'\] are not in"):
        _estimator().train(CsvFiles(pattern, streaming=True), verbose=0)


def test_a_glob_matching_no_file_is_named_before_anything_is_read(tmp_path):
    pattern = str(tmp_path / "rides-*.csv")
    with pytest.raises(
        FileNotFoundError, match=rf"tfkit.data: no file matches '{re.escape(pattern)}'\. Check the path"
    ):
        _estimator().train(CsvFiles(pattern, streaming=True), verbose=0)


def test_files_stream_by_the_memory_budget_unless_told(taxi_dir, monkeypatch):
    path = os.path.join(taxi_dir, "taxi-train.csv")
    files = [path]
    assert not streaming.streams(CsvFiles(path), files)
    assert streaming.streams(CsvFiles(path, streaming=True), files)
    monkeypatch.setattr(streaming, "MEMORY_BUDGET_BYTES", os.path.getsize(path) - 1)
    assert streaming.streams(CsvFiles(path), files)
    assert not streaming.streams(CsvFiles(path, streaming=False), files)
    with pytest.raises(ValueError, match=r"so it streams, but `part` draws rows from each whole file"):
        streaming.streams(CsvFiles(path, part=(7, 0.0, 0.2)), files)


def test_part_and_streaming_are_refused_together():
    with pytest.raises(ValueError, match=r"CsvFiles: `part` draws rows from each whole file, which streaming never"):
        CsvFiles("rides.csv", part=(7, 0.0, 0.2), streaming=True)
    with pytest.raises(ValueError, match=r"`streaming` must be True, False or None .* Received: streaming=1\."):
        CsvFiles("rides.csv", streaming=1)


def test_shard_gives_each_worker_its_own_files(taxi_dir, tmp_path):
    pattern = _shards(taxi_dir, tmp_path, count=5, rows=10)
    names = [[os.path.basename(p) for p in shard(CsvFiles(pattern), 2, i).paths] for i in range(2)]
    assert names == [["rides-00.csv", "rides-02.csv", "rides-04.csv"], ["rides-01.csv", "rides-03.csv"]]
    assert shard(CsvFiles(pattern, max_rows=3), 2, 1).max_rows == 3  # the other options stay
    assert list(shard(tf.data.Dataset.range(6), 3, 1).as_numpy_iterator()) == [1, 4]
    with pytest.raises(ValueError, match=r"matches 5 file\(s\), fewer than the 6 workers"):
        shard(pattern, 6, 0)
    with pytest.raises(
        ValueError, match=r"`index` an integer in \[0, num_workers\)\. Received: num_workers=2, index=2"
    ):
        shard(pattern, 2, 2)


CONFIG = """
[data]
train = "{train}"
label = "fare_amount"
{streaming}
[columns.hour]
type = "identity"
key = "hourofday"
num_buckets = 24
[columns.hour_indicator]
type = "indicator"
categorical_column = "hour"
[model]
features = ["hour_indicator"]
"""


def test_the_config_sets_streaming_for_csv_files_and_refuses_it_elsewhere(tmp_path):
    from tfkit.config import load_config

    def load(streaming: str, train: str = "rides-*.csv"):
        path = tmp_path / "pipeline.toml"
        path.write_text(CONFIG.format(train=train, streaming=streaming))
        return load_config(path, environ={"TFKIT_DATA": str(tmp_path)})

    for value in (True, False):  # false is given too: not the budget's choice
        assert load(f"streaming = {str(value).lower()}").data_source("train") == CsvFiles(
            str(tmp_path / "rides-*.csv"), streaming=value
        )
    assert load("").data_source("train") == str(tmp_path / "rides-*.csv")
    with pytest.raises(ValueError, match=r"pipeline.toml: \[data\] `streaming` must be true or false\. Received: "):
        load('streaming = "yes"')
    with pytest.raises(ValueError, match=r"\[data\] `streaming` applies to CSV files, but \['train'\] name TFRecord"):
        load("streaming = true", train="rides-*.parquet")
