"""The strongest hand-written Keras 3 pipelines we know how to write for the benchmark's model, and its ceiling.

Same features, model, batch and optimizer as `run_keras.py` (whose `preprocessing` and `build_model` these
reuse), with everything an expert adds: rows preprocessed in 8,192-row blocks and `rebatch(512)` (tf.data's cost
per element paid once per block), the preprocessed rows cached after the first epoch and reshuffled each epoch
(tf.data's autotuning off: see `WITHOUT_AUTOTUNING`), `jit_compile=True`, `steps_per_execution=32`. The
statistics (quantile bins, means and deviations) are computed inside the timed run, from the data the variant
reads, as tfkit's adapt is: NumPy over the arrays read (streaming variants: over the five columns they need, read
in one pass first; see below).

Variants (`--variant`):
- `arrays-5`: from the NumPy arrays, 5 epochs, end to end (statistics, tracing and compilation included).
- `csv-5`: the same from `rides.csv`, read whole by pandas' C parser (the fastest read of a file that fits).
- `ceiling`: the training step alone, on the preprocessed batches already in memory (XLA, steps_per_execution):
  the machine's limit for this model. Steady state of epochs 2-5.
- `make-csv`: streaming CSV with `tf.data.experimental.make_csv_dataset` (batches of 512, parallel reads), one
  epoch. `csv-lines`: streaming CSV with `TextLineDataset` + `decode_csv` in 8,192-line blocks, one epoch.
- `tfrecord`: `TFRecordDataset` of `tf.Example`s, `parse_example` in 8,192-record blocks, one epoch.
- `write-tfrecord`: writes the rides as `rides-NN.tfrecord` (`write_tfrecords`), for the TFRecord variants;
  `write-tfrecord-shards`: the memory group's CSV shards as `tfrecords/rides-NN.tfrecord`.
The streaming variants' pass for the statistics uses the fastest reader of each kind: CSV, `TextLineDataset` +
`decode_csv(select_cols=...)` in 8,192-line blocks (for `make-csv` too); TFRecord, `parse_example` of the five.

    .venv/bin/python bench/run_expert.py --data runs/bench/data --variant arrays-5
"""

from __future__ import annotations

import argparse
import glob
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from bench import taxi
from bench.run_keras import Clock, build_model, preprocessing

BLOCK = 8192
EPOCHS = 5
STEPS_PER_EXECUTION = 32
COLUMNS = [*taxi.FLOATS, *taxi.INTEGERS, taxi.LABEL]
# For every pipeline replayed from a cache (a new iterator each epoch): with tf.data's autotuning, about one epoch in
# six started 1.2 s late on this machine (the ceiling: 11 of some 100 epochs), none without it in 80.
WITHOUT_AUTOTUNING = tf.data.Options()
WITHOUT_AUTOTUNING.autotune.enabled = False


def statistics(features: dict) -> dict:
    """What `taxi.prepare` puts in meta.json, computed from `features` (inside the timed run)."""
    quantiles = np.arange(1, taxi.NUM_BINS) / taxi.NUM_BINS
    trip = taxi.distance(features)
    return {
        "boundaries": {key: np.quantile(features[key], quantiles).tolist() for key in taxi.COORDINATES},
        "mean": {"passenger_count": float(np.mean(features["passenger_count"])), "distance": float(trip.mean())},
        "std": {"passenger_count": float(np.std(features["passenger_count"])), "distance": float(trip.std())},
    }


def block_size(rows: int) -> int:
    """8,192 rows, or fewer whole batches for fewer rows (a smoke run's)."""
    return max(taxi.BATCH_SIZE, min(BLOCK, rows // taxi.BATCH_SIZE * taxi.BATCH_SIZE))


def steps_per_epoch(rows: int) -> int:
    """Batches per epoch of `block_batches`: the whole blocks' (the rest of the rows, reshuffled, wait a pass)."""
    return rows // block_size(rows) * block_size(rows) // taxi.BATCH_SIZE


def block_batches(features: dict, labels, preprocess, *, cache: bool) -> tf.data.Dataset:
    """Shuffled rows gathered in 8,192-row blocks, preprocessed per block, cut into 512-row batches; with `cache`,
    the preprocessed rows of the first epoch kept and reshuffled (by block) on the next ones."""
    columns = {key: tf.constant(value) for key, value in features.items()}
    label_tensor = tf.constant(labels)
    rows, block = len(labels), block_size(len(labels))

    def gather(indices):
        return {key: tf.gather(value, indices) for key, value in columns.items()}, tf.gather(label_tensor, indices)

    order = tf.data.Dataset.from_tensors(0).map(lambda _: tf.random.shuffle(tf.range(rows)))
    blocks = order.flat_map(
        lambda perm: tf.data.Dataset.from_tensor_slices(tf.reshape(perm[: rows // block * block], [-1, block]))
    )
    dataset = blocks.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        dataset = dataset.cache().shuffle(rows // block).with_options(WITHOUT_AUTOTUNING)
    return dataset.rebatch(taxi.BATCH_SIZE, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def compiled_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(
        keras.optimizers.Adam(taxi.LEARNING_RATE), loss="mse", jit_compile=True, steps_per_execution=STEPS_PER_EXECUTION
    )
    return model


def fit(model, dataset, epochs: int, steps: int, clock: taxi.StepClock) -> None:
    model.fit(dataset, epochs=epochs, callbacks=[Clock(clock, steps)], verbose=0)


def rmse(model, preprocess, folder: str) -> float:
    test_features, test_labels, _ = taxi.load(folder, "test")
    test = tf.data.Dataset.from_tensor_slices((test_features, test_labels)).batch(BLOCK).map(preprocess)
    predictions = model.predict(test.map(lambda x, y: x), verbose=0)[:, 0]
    return float(np.sqrt(np.mean((predictions - test_labels) ** 2)))


def in_memory(variant: str, folder: str) -> dict:
    clock = taxi.StepClock(taxi.BATCH_SIZE)
    clock.start()  # before the data is read, as tfkit's `train` reads the CSV itself
    if variant == "csv-5":
        frame = pd.read_csv(
            os.path.join(folder, "rides.csv"), dtype={key: "float32" for key in taxi.FLOATS} | {taxi.LABEL: "float32"}
        )
        features = {key: frame[key].to_numpy() for key in [*taxi.FLOATS, *taxi.INTEGERS]}
        labels = frame[taxi.LABEL].to_numpy()
    else:
        features, labels, _ = taxi.load(folder)
    preprocess = preprocessing(statistics(features))
    model = compiled_model()
    steps = steps_per_epoch(len(labels))
    fit(model, block_batches(features, labels, preprocess, cache=True), EPOCHS, steps, clock)
    return {
        "examples_per_s": clock.steady(from_step=steps),
        "epochs": EPOCHS,
        "end_to_end_per_s": EPOCHS * steps * taxi.BATCH_SIZE / (clock.ticks[-1][1] - clock.started),
        "rmse": rmse(model, preprocess, folder),
    }


def ceiling(folder: str) -> dict:
    features, labels, meta = taxi.load(folder)
    preprocess = preprocessing(meta)
    batches = list(block_batches(features, labels, preprocess, cache=False))  # preprocessed before the clock
    dataset = tf.data.Dataset.from_tensor_slices(tf.nest.map_structure(lambda *parts: tf.stack(parts), *batches))
    dataset = dataset.cache().shuffle(len(batches)).prefetch(tf.data.AUTOTUNE).with_options(WITHOUT_AUTOTUNING)
    list(dataset)  # the cache filled: every epoch reads memory
    model = compiled_model()
    clock = taxi.StepClock(taxi.BATCH_SIZE)
    clock.start()
    fit(model, dataset, EPOCHS, len(batches), clock)
    return {
        "examples_per_s": clock.steady(from_step=len(batches)),
        "epochs": EPOCHS,
        "rmse": rmse(model, preprocess, folder),
    }


def streamed_statistics(variant: str, paths: list) -> dict:
    """`statistics` from one pass over the files, reading only the columns they need (`taxi.FLOATS`)."""
    if variant == "tfrecord":
        spec = {key: tf.io.FixedLenFeature((), tf.float32) for key in taxi.FLOATS}
        records = tf.data.Dataset.from_tensor_slices(paths).interleave(
            lambda path: tf.data.TFRecordDataset(path).batch(BLOCK), num_parallel_calls=tf.data.AUTOTUNE
        )
        blocks = records.map(
            lambda serialized: tf.io.parse_example(serialized, spec), num_parallel_calls=tf.data.AUTOTUNE
        )
    else:
        wanted = [COLUMNS.index(key) for key in taxi.FLOATS]
        defaults = [tf.constant([], tf.float32)] * len(wanted)
        lines = tf.data.Dataset.from_tensor_slices(paths).interleave(
            lambda path: tf.data.TextLineDataset(path).skip(1).batch(BLOCK), num_parallel_calls=tf.data.AUTOTUNE
        )
        blocks = lines.map(
            lambda block: dict(zip(taxi.FLOATS, tf.io.decode_csv(block, defaults, select_cols=wanted), strict=True)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    parts = list(blocks.prefetch(tf.data.AUTOTUNE).as_numpy_iterator())
    return statistics({key: np.concatenate([part[key] for part in parts]) for key in taxi.FLOATS})


def streaming(variant: str, folder: str, paths: list) -> dict:
    labels = taxi.load(folder)[1]  # their number: the steps of the epoch
    clock = taxi.StepClock(taxi.BATCH_SIZE)
    clock.start()  # before the statistics pass, as tfkit's adapt pass is timed
    preprocess = preprocessing(streamed_statistics(variant, paths))
    floats = set(taxi.FLOATS) | {taxi.LABEL}
    if variant == "make-csv":
        defaults = [tf.float32 if key in floats else tf.int64 for key in COLUMNS]
        dataset = tf.data.experimental.make_csv_dataset(
            paths,
            taxi.BATCH_SIZE,
            column_names=COLUMNS,
            column_defaults=defaults,
            label_name=taxi.LABEL,
            num_epochs=1,
            shuffle=True,
            shuffle_buffer_size=BLOCK,
            num_parallel_reads=tf.data.AUTOTUNE,
        )
        dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    elif variant == "csv-lines":
        defaults = [tf.constant([], tf.float32 if key in floats else tf.int64) for key in COLUMNS]

        def decode(lines):
            values = dict(zip(COLUMNS, tf.io.decode_csv(lines, defaults), strict=True))
            return values, values.pop(taxi.LABEL)

        files = tf.data.Dataset.from_tensor_slices(paths).shuffle(len(paths))
        lines = files.interleave(
            lambda path: tf.data.TextLineDataset(path).skip(1).batch(BLOCK), num_parallel_calls=tf.data.AUTOTUNE
        )
        dataset = lines.map(decode, num_parallel_calls=tf.data.AUTOTUNE).map(
            preprocess, num_parallel_calls=tf.data.AUTOTUNE
        )
    else:
        spec = {key: tf.io.FixedLenFeature((), tf.float32 if key in floats else tf.int64) for key in COLUMNS}

        def parse(serialized):
            values = tf.io.parse_example(serialized, spec)
            return values, values.pop(taxi.LABEL)

        files = tf.data.Dataset.from_tensor_slices(paths).shuffle(len(paths))
        records = files.interleave(
            lambda path: tf.data.TFRecordDataset(path).batch(BLOCK), num_parallel_calls=tf.data.AUTOTUNE
        )
        dataset = records.map(parse, num_parallel_calls=tf.data.AUTOTUNE).map(
            preprocess, num_parallel_calls=tf.data.AUTOTUNE
        )
    dataset = dataset.rebatch(taxi.BATCH_SIZE, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    model = compiled_model()
    fit(model, dataset, 1, len(labels) // taxi.BATCH_SIZE, clock)
    return {
        "examples_per_s": clock.steady(),
        "end_to_end_per_s": len(labels) / (clock.ticks[-1][1] - clock.started),
        "rmse": rmse(model, preprocess, folder),
    }


def write_tfrecords(folder: str) -> list:
    """`rides-NN.tfrecord`: the rides of `rides.npz` as `tf.Example`s in `taxi.SHARDS` files (made once, kept)."""
    paths = [os.path.join(folder, f"rides-{i:02d}.tfrecord") for i in range(taxi.SHARDS)]
    if all(os.path.exists(path) for path in paths):
        return paths
    features, labels, _ = taxi.load(folder)
    columns = {**features, taxi.LABEL: labels}
    per_shard = -(-len(labels) // taxi.SHARDS)
    for i, path in enumerate(paths):
        rows = slice(i * per_shard, (i + 1) * per_shard)
        with tf.io.TFRecordWriter(path + ".partial") as writer:
            _write_examples(writer, {key: values[rows] for key, values in columns.items()})
        os.replace(path + ".partial", path)
    return paths


def write_tfrecord_shards(folder: str) -> list:
    """`folder/tfrecords/rides-NN.tfrecord`: the CSV shards of `taxi.prepare_large` as `tf.Example`s, one file per
    shard, a million rows at a time (made once, kept): the memory group's TFRecord data."""
    os.makedirs(os.path.join(folder, "tfrecords"), exist_ok=True)
    paths = []
    for shard in sorted(glob.glob(os.path.join(folder, "shards", "rides-*.csv"))):
        path = os.path.join(folder, "tfrecords", os.path.basename(shard).replace(".csv", ".tfrecord"))
        paths.append(path)
        if os.path.exists(path):
            continue
        with tf.io.TFRecordWriter(path + ".partial") as writer:
            for chunk in pd.read_csv(shard, chunksize=1_000_000):
                _write_examples(writer, {key: chunk[key].to_numpy() for key in COLUMNS})
        os.replace(path + ".partial", path)
    return paths


def _write_examples(writer, columns: dict) -> None:
    """Writes one `tf.Example` per row of `columns` (the rides' integer features as int64, the rest as float)."""
    for row in range(len(next(iter(columns.values())))):
        feature = {
            key: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(values[row])]))
            if key in taxi.INTEGERS
            else tf.train.Feature(float_list=tf.train.FloatList(value=[float(values[row])]))
            for key, values in columns.items()
        }
        writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder written by bench.taxi.prepare")
    parser.add_argument(
        "--variant",
        required=True,
        choices=[
            "arrays-5",
            "csv-5",
            "ceiling",
            "make-csv",
            "csv-lines",
            "tfrecord",
            "write-tfrecord",
            "write-tfrecord-shards",
        ],
    )
    parser.add_argument("--out", help="write the result JSON here too")
    args = parser.parse_args(argv)
    if args.variant == "write-tfrecord":  # data for the TFRecord variants, not a measurement
        write_tfrecords(args.data)
        return
    if args.variant == "write-tfrecord-shards":  # data for the TFRecord memory variants, not a measurement
        write_tfrecord_shards(args.data)
        return
    if args.variant in ("arrays-5", "csv-5"):
        result = in_memory(args.variant, args.data)
    elif args.variant == "ceiling":
        result = ceiling(args.data)
    else:
        paths = (
            write_tfrecords(args.data)
            if args.variant == "tfrecord"
            else sorted(glob.glob(os.path.join(args.data, "shards", "rides-*.csv")))
        )
        result = streaming(args.variant, args.data, paths)
    taxi.report(args.out, {"variant": f"expert-{args.variant}", **result})


if __name__ == "__main__":
    main()
