"""FeatureLayer.adapt and transform throughput against keras.utils.FeatureSpace, on the same columns and rows.

The rows are the real taxi rides (taxi-train.csv) resampled with replacement to `--rows` and jittered by a
little Gaussian noise, plus a synthetic `zone` string column (1,000 Zipf-distributed values) for a learned
vocabulary. Both sides get the same `tf.data` pipeline of whole batches. Each side does, in this order:

- adapt: learn normalization statistics, quantile bin boundaries and vocabularies (FeatureSpace makes one pass
  per adaptable feature; FeatureLayer one pass for all);
- transform: map the preprocessing over every batch in `tf.data` (parallel, prefetched) and drain it, after one
  warm-up batch. For FeatureLayer both its preprocessor (ids and scaled values, what tfkit maps while training)
  and the whole layer (the same one-hot dense output as FeatureSpace's "concat") are timed.

`--guide-style` also adapts both on the dataset the FeatureSpace guide builds,
`from_tensor_slices(dict(df)).batch(32)`, where per-batch Python overhead dominates (minutes for FeatureSpace).

Run (one run prints every figure and the ratios; `--rows 20000` is a quick smoke run):

    .venv/bin/python bench/feature_adapt.py --rows 500000 --guide-style
"""

from __future__ import annotations

import argparse
import os
import platform
import time

# TensorFlow logs an error line per string tensor that from_tensor_slices slices; they would bury the figures.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

import feature_columns as fc

DATA_DIR = os.environ.get("TFKIT_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
COORDINATES = ["pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude"]


def taxi_rows(rows: int, seed: int) -> pd.DataFrame:
    """`rows` taxi rides resampled from taxi-train.csv with coordinate noise, and a synthetic `zone`."""
    source = pd.read_csv(os.path.join(DATA_DIR, "taxifare", "taxi-train.csv"))
    rng = np.random.default_rng(seed)
    frame = source.iloc[rng.integers(0, len(source), rows)].reset_index(drop=True)
    for key in COORDINATES:
        frame[key] = (frame[key] + rng.normal(0.0, 1e-3, rows)).astype("float32")  # about 100 m
    frame["passenger_count"] = frame["passenger_count"].astype("float32")
    zipf = 1.0 / np.arange(1, 1001) ** 1.1
    frame["zone"] = pd.array(np.char.add("zone_", rng.choice(1000, rows, p=zipf / zipf.sum()).astype(str)))
    return frame


def our_columns() -> list:
    pickup_lat = fc.BucketizedColumn("pickup_latitude", num_bins=16)
    pickup_lon = fc.BucketizedColumn("pickup_longitude", num_bins=16)
    return [
        *(fc.NumericColumn(key, normalization="zscore") for key in [*COORDINATES, "passenger_count"]),
        fc.IndicatorColumn(pickup_lat),
        fc.IndicatorColumn(pickup_lon),
        fc.IndicatorColumn(fc.CrossedColumn((pickup_lat, pickup_lon), num_bins=256)),
        fc.IndicatorColumn(fc.VocabularyColumn("hourofday", max_tokens=25, dtype="int64")),
        fc.IndicatorColumn(fc.VocabularyColumn("dayofweek", max_tokens=8, dtype="int64")),
        fc.IndicatorColumn(fc.VocabularyColumn("zone", max_tokens=1001)),
    ]


def feature_space() -> keras.utils.FeatureSpace:
    space = keras.utils.FeatureSpace
    return space(
        features={
            **{key: space.float_normalized() for key in [*COORDINATES, "passenger_count"]},
            "pickup_latitude_bins": space.float_discretized(num_bins=16),
            "pickup_longitude_bins": space.float_discretized(num_bins=16),
            "hourofday": space.integer_categorical(max_tokens=25),
            "dayofweek": space.integer_categorical(max_tokens=8),
            "zone": space.string_categorical(max_tokens=1001),
        },
        crosses=[space.cross(("pickup_latitude_bins", "pickup_longitude_bins"), crossing_dim=256)],
        output_mode="concat",
    )


def arrays(frame: pd.DataFrame, for_feature_space: bool = False) -> dict:
    columns = {key: frame[key].to_numpy(dtype=str if key == "zone" else None) for key in frame if key != "fare_amount"}
    if for_feature_space:  # its discretized features are separate inputs; its integer features are int32
        columns["pickup_latitude_bins"] = columns["pickup_latitude"]
        columns["pickup_longitude_bins"] = columns["pickup_longitude"]
        columns["hourofday"] = columns["hourofday"].astype("int32")
        columns["dayofweek"] = columns["dayofweek"].astype("int32")
    return columns


def batches(frame: pd.DataFrame, batch_size: int, for_feature_space: bool = False) -> tf.data.Dataset:
    """Whole batches sliced from in-memory columns (never row by row)."""
    columns = {key: tf.constant(value) for key, value in arrays(frame, for_feature_space).items()}
    rows = len(frame)

    def take(i):
        return {key: value[i * batch_size : (i + 1) * batch_size] for key, value in columns.items()}

    return tf.data.Dataset.range(-(-rows // batch_size)).map(take, num_parallel_calls=tf.data.AUTOTUNE)


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def transform_rate(dataset: tf.data.Dataset, function, rows: int) -> float:
    """Rows per second through `dataset.map(function)`, drained once after a warm-up batch."""
    mapped = dataset.map(function, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    next(iter(mapped))
    seconds = timed(lambda: [None for _ in mapped])
    return rows / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--guide-style", action="store_true", help="also adapt on batches of 32 rows")
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)

    frame = taxi_rows(args.rows, args.seed)
    ours_data, theirs_data = batches(frame, args.batch_size), batches(frame, args.batch_size, for_feature_space=True)
    print(
        f"{args.rows:,} rows, batches of {args.batch_size}; TF {tf.__version__}, Keras {keras.__version__}, "
        f"{platform.machine()} x{os.cpu_count()}"
    )

    warm_up = frame.head(1000)  # TensorFlow's first ops and tracing should not count against either side
    fc.FeatureLayer(our_columns()).adapt(batches(warm_up, args.batch_size))
    feature_space().adapt(batches(warm_up, args.batch_size, for_feature_space=True))

    layer = fc.FeatureLayer(our_columns())
    ours_adapt = timed(lambda: layer.adapt(ours_data))
    frame_layer = fc.FeatureLayer(our_columns())
    ours_frame_adapt = timed(lambda: frame_layer.adapt(frame))
    space = feature_space()
    theirs_adapt = timed(lambda: space.adapt(theirs_data))

    if args.guide_style:
        guide = fc.FeatureLayer(our_columns())
        ours_guide = timed(lambda: guide.adapt(tf.data.Dataset.from_tensor_slices(arrays(frame)).batch(32)))
        guide_space = feature_space()
        theirs_guide = timed(
            lambda: guide_space.adapt(tf.data.Dataset.from_tensor_slices(arrays(frame, True)).batch(32))
        )

    preprocessor_rate = transform_rate(ours_data, layer.preprocessor, args.rows)
    layer_rate = transform_rate(ours_data, layer, args.rows)
    space_rate = transform_rate(theirs_data, space, args.rows)
    width = sum(column.output_dim for column in layer.columns)
    print(f"output width: FeatureLayer {width}, FeatureSpace {space.get_encoded_features().shape[-1]}")

    print(f"adapt  FeatureLayer (Dataset)   {ours_adapt:7.2f} s")
    print(f"adapt  FeatureLayer (DataFrame) {ours_frame_adapt:7.2f} s")
    print(f"adapt  FeatureSpace (Dataset)   {theirs_adapt:7.2f} s")
    if args.guide_style:
        print(f"adapt  FeatureLayer (batches of 32) {ours_guide:7.2f} s")
        print(f"adapt  FeatureSpace (batches of 32) {theirs_guide:7.2f} s")
    print(f"transform FeatureLayer.preprocessor {preprocessor_rate:12,.0f} rows/s")
    print(f"transform FeatureLayer (dense)      {layer_rate:12,.0f} rows/s")
    print(f"transform FeatureSpace (concat)     {space_rate:12,.0f} rows/s")
    print(
        f"ratio adapt: FeatureSpace / FeatureLayer = {theirs_adapt / ours_adapt:.1f}x (Dataset), "
        f"{theirs_adapt / ours_frame_adapt:.1f}x (DataFrame)"
    )
    if args.guide_style:
        print(f"ratio adapt, batches of 32: FeatureSpace / FeatureLayer = {theirs_guide / ours_guide:.1f}x")
    print(
        f"ratio transform: FeatureLayer / FeatureSpace = {preprocessor_rate / space_rate:.2f}x (preprocessor), "
        f"{layer_rate / space_rate:.2f}x (dense)"
    )


if __name__ == "__main__":
    main()
