"""The hand-written Keras 3 yardsticks: the same features and model as tfkit's, written without tfkit.

Variants (`--variant`):
- `docs`: as the Keras documentation teaches it: `from_tensor_slices -> shuffle(len) -> batch`, the
  preprocessing layers mapped over batches in `tf.data` (`num_parallel_calls=AUTOTUNE`), prefetch, a
  functional model with `Embedding` layers, `compile` defaults (`steps_per_execution=1`, `jit_compile="auto"`).
- `tuned`: the same, tuned by an expert: the arrays split into whole 512-row batches up front (batch order
  shuffled each epoch), `steps_per_execution=25`, `jit_compile=True`.
- `tuned-cached`: `tuned` with the preprocessed batches cached after the first epoch; trains two epochs and
  reports the second.
- `pipeline-docs`, `pipeline-tuned`: the input pipeline alone (preprocessing included), drained.
- `featurespace-adapt`: `keras.utils.FeatureSpace.adapt` on the same columns (16 quantile bins per coordinate,
  two 1,024-bucket crosses, the day x hour cross, z-scored numerics), fed whole 8,192-row slices. Day and hour
  enter as the ids they are (`FeatureSpace.feature` with an `Identity` preprocessor), as tfkit's
  `IdentityColumn`s read them: both sides learn the same six statistics.

    .venv/bin/python bench/run_keras.py --data runs/bench/data --variant tuned
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras
import numpy as np
import tensorflow as tf

from bench import taxi

BIN_KEYS = [f"{key}_bin" for key in taxi.COORDINATES]
ID_SIZES = {**dict.fromkeys(BIN_KEYS, taxi.NUM_BINS), "pickup_cell": taxi.CELL_BUCKETS,
            "dropoff_cell": taxi.CELL_BUCKETS, "day_hour": taxi.DAY_HOUR_BUCKETS}


def preprocessing(meta: dict):
    """`(features, label) -> (model inputs, label)` with Keras preprocessing layers, for `tf.data.map`."""
    bins = {key: keras.layers.Discretization(bin_boundaries=meta["boundaries"][key]) for key in taxi.COORDINATES}
    pickup_cell = keras.layers.HashedCrossing(num_bins=taxi.CELL_BUCKETS)
    dropoff_cell = keras.layers.HashedCrossing(num_bins=taxi.CELL_BUCKETS)
    day_hour = keras.layers.HashedCrossing(num_bins=taxi.DAY_HOUR_BUCKETS)
    scale = {key: keras.layers.Normalization(mean=meta["mean"][key], variance=meta["std"][key] ** 2)
             for key in ("passenger_count", "distance")}

    def preprocess(features, label):
        ids = {f"{key}_bin": bins[key](features[key]) for key in taxi.COORDINATES}
        trip = tf.sqrt((features["dropoff_longitude"] - features["pickup_longitude"]) ** 2
                       + (features["dropoff_latitude"] - features["pickup_latitude"]) ** 2)
        return {
            **ids,
            "pickup_cell": pickup_cell((ids["pickup_latitude_bin"], ids["pickup_longitude_bin"])),
            "dropoff_cell": dropoff_cell((ids["dropoff_latitude_bin"], ids["dropoff_longitude_bin"])),
            "day_hour": day_hour((features["dayofweek"], features["hourofday"])),
            "passenger_count": scale["passenger_count"](features["passenger_count"][:, None]),
            "distance": scale["distance"](trip[:, None]),
        }, label

    # Build the layers eagerly: built lazily inside one `tf.data` map, they could not be reused in another.
    preprocess({key: tf.zeros([1]) for key in taxi.FLOATS} | {key: tf.zeros([1], "int64") for key in taxi.INTEGERS},
               None)
    return preprocess


def build_model() -> keras.Model:
    """One-hot bins, embedded crosses (fourth-root widths), numerics -> DNN 64-32-16 -> fare."""
    inputs = {key: keras.Input(shape=(), dtype="int64", name=key) for key in ID_SIZES}
    inputs |= {key: keras.Input(shape=(1,), name=key) for key in ("passenger_count", "distance")}
    parts = [keras.layers.CategoryEncoding(taxi.NUM_BINS, output_mode="one_hot")(inputs[key]) for key in BIN_KEYS]
    for key in ("pickup_cell", "dropoff_cell", "day_hour"):
        parts.append(keras.layers.Embedding(ID_SIZES[key], taxi.embedding_dim(ID_SIZES[key]))(inputs[key]))
    x = keras.layers.Concatenate()([*parts, inputs["passenger_count"], inputs["distance"]])
    for units in taxi.HIDDEN_UNITS:
        x = keras.layers.Dense(units, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def docs_dataset(features, labels, preprocess) -> tf.data.Dataset:
    rows = len(labels)
    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(rows).batch(taxi.BATCH_SIZE)
    return dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def whole_batches(features, labels, *, shuffle: bool = True) -> tf.data.Dataset:
    """The arrays cut into contiguous 512-row batches up front, batch order reshuffled each epoch.

    While training, the last partial batch is dropped (a new shape would make XLA compile the step again).
    """
    columns = {key: tf.constant(value) for key, value in features.items()}
    label_tensor = tf.constant(labels)
    size = taxi.BATCH_SIZE
    batches = len(labels) // size if shuffle else -(-len(labels) // size)

    def batch(i):
        return {key: value[i * size:(i + 1) * size] for key, value in columns.items()}, label_tensor[
            i * size:(i + 1) * size]

    order = tf.data.Dataset.range(batches)
    return (order.shuffle(batches) if shuffle else order).map(batch, num_parallel_calls=tf.data.AUTOTUNE)


def tuned_dataset(features, labels, preprocess, *, cache: bool = False) -> tf.data.Dataset:
    dataset = whole_batches(features, labels).map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        # Cache the preprocessed batches in the order of the first epoch, then reshuffle batches each epoch.
        batches = int(dataset.cardinality())
        dataset = dataset.cache().shuffle(batches)
    return dataset.prefetch(tf.data.AUTOTUNE)


class Clock(keras.callbacks.Callback):
    """Feeds a `taxi.StepClock` from Keras's batch callbacks (one per `steps_per_execution` block)."""

    def __init__(self, clock: taxi.StepClock, steps_per_epoch: int):
        super().__init__()
        self.clock, self.steps_per_epoch, self.epoch = clock, steps_per_epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.clock.tick(self.epoch * self.steps_per_epoch + batch + 1)


def train(variant: str, folder: str) -> dict:
    features, labels, meta = taxi.load(folder)
    preprocess = preprocessing(meta)
    keras.utils.set_random_seed(0)
    model = build_model()
    if variant == "docs":
        dataset, epochs, options = docs_dataset(features, labels, preprocess), 1, {}
    else:
        dataset = tuned_dataset(features, labels, preprocess, cache=variant == "tuned-cached")
        epochs, options = (2 if variant == "tuned-cached" else 1), {"steps_per_execution": 25, "jit_compile": True}
    model.compile(keras.optimizers.Adam(taxi.LEARNING_RATE), loss="mse",
                  metrics=[keras.metrics.RootMeanSquaredError()], **options)
    steps = -(-len(labels) // taxi.BATCH_SIZE)
    clock = taxi.StepClock(taxi.BATCH_SIZE)
    clock.start()
    model.fit(dataset, epochs=epochs, callbacks=[Clock(clock, steps)], verbose=0)
    test_features, test_labels, _ = taxi.load(folder, "test")
    test = whole_batches(test_features, test_labels, shuffle=False).map(preprocess).map(lambda x, y: x)
    rmse = float(np.sqrt(np.mean((model.predict(test, verbose=0)[:, 0] - test_labels) ** 2)))
    steady = clock.steady(from_step=steps if epochs == 2 else 0)
    return {"examples_per_s": steady, "end_to_end_per_s": epochs * len(labels) / (clock.ticks[-1][1] - clock.started)
            if epochs == 1 else None, "rmse": rmse}


def drain(dataset: tf.data.Dataset, min_seconds: float = 2.0) -> dict:
    """Examples per second over whole passes of `dataset`, as many as take `min_seconds` (start-up included).

    Each pass runs inside TensorFlow (`Dataset.reduce`), as `fit` consumes its input: a Python loop would add
    its own cost per batch (about a fifth of the tfkit pipeline's time, measured), which training never pays.
    Several passes, because one pass of a fast pipeline lasts a quarter of a second: too short to time.
    """
    start, seen = time.perf_counter(), 0
    while not seen or time.perf_counter() - start < min_seconds:
        seen += int(dataset.reduce(tf.constant(0, tf.int64), lambda count, element: count + tf.shape(
            tf.nest.flatten(element)[0], out_type=tf.int64)[0]))
    return {"examples_per_s": seen / (time.perf_counter() - start)}


def adapt_batches(features, labels) -> tf.data.Dataset:
    """What both adapts read: the rides in whole 8,192-row slices (cheap to make, so adapt is what is timed)."""
    size = 8192
    columns = {key: tf.constant(value) for key, value in features.items()}
    batches = tf.data.Dataset.range(-(-len(labels) // size))
    return batches.map(lambda i: {key: value[i * size:(i + 1) * size] for key, value in columns.items()})


def featurespace_adapt(folder: str) -> dict:
    features, labels, _ = taxi.load(folder)
    features["distance"] = taxi.distance(features)
    space = keras.utils.FeatureSpace
    spec = {key: space.float_discretized(num_bins=taxi.NUM_BINS, name=f"{key}_bin") for key in taxi.COORDINATES}
    # Day and hour are ids already, as tfkit's IdentityColumns read them: nothing to learn, so no adapt pass.
    ids = {key: space.feature(dtype="int64", preprocessor=keras.layers.Identity(), output_mode="int")
           for key in ("dayofweek", "hourofday")}
    spec |= {"passenger_count": space.float_normalized(), "distance": space.float_normalized(), **ids}
    crosses = [space.cross(("pickup_latitude", "pickup_longitude"), crossing_dim=taxi.CELL_BUCKETS),
               space.cross(("dropoff_latitude", "dropoff_longitude"), crossing_dim=taxi.CELL_BUCKETS),
               space.cross(("dayofweek", "hourofday"), crossing_dim=taxi.DAY_HOUR_BUCKETS)]
    feature_space = keras.utils.FeatureSpace(spec, crosses=crosses, output_mode="dict")  # concat takes no ids
    dataset = adapt_batches(features, labels)
    feature_space.adapt(dataset.take(1))  # warm-up: trace the adapt functions on one batch
    start = time.perf_counter()
    feature_space.adapt(dataset)
    return {"adapt_s": time.perf_counter() - start}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder written by bench.taxi.prepare")
    parser.add_argument("--variant", required=True,
                        choices=["docs", "tuned", "tuned-cached", "pipeline-docs", "pipeline-tuned",
                                 "featurespace-adapt"])
    parser.add_argument("--out", help="write the result JSON here too")
    args = parser.parse_args(argv)
    if args.variant.startswith("pipeline"):
        features, labels, meta = taxi.load(args.data)
        make = docs_dataset if args.variant == "pipeline-docs" else tuned_dataset
        result = drain(make(features, labels, preprocessing(meta)))
    elif args.variant == "featurespace-adapt":
        result = featurespace_adapt(args.data)
    else:
        result = train(args.variant, args.data)
    taxi.report(args.out, {"variant": f"keras-{args.variant}", **result})


if __name__ == "__main__":
    main()
