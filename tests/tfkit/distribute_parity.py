"""The mirrored-training checks of tests/tfkit/test_distribute.py, run in a process of their own.

Two logical CPU devices stand in for two GPUs; TensorFlow takes that setting only before it starts, so this runs
as `python distribute_parity.py TAXI_CSV WORK_DIR` and prints its findings as one JSON line.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf

CPUS = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(CPUS[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import tfkit  # noqa: E402
from feature_columns import CrossedColumn, EmbeddingColumn, HashedColumn, NumericColumn, VocabularyColumn  # noqa: E402
from tfkit.export import load  # noqa: E402

DAYS = np.array(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])


def taxi(path: str) -> pd.DataFrame:
    """1,536 rides with string features: the day's name and the hour as text (looked up, hashed and crossed)."""
    frame = pd.read_csv(path).head(1536)
    frame["day"] = DAYS[frame.pop("dayofweek").to_numpy() % 7]
    frame["hour"] = frame.pop("hourofday").astype(str)
    return frame


def taxi_arguments() -> dict:
    columns = [
        EmbeddingColumn(VocabularyColumn("day", max_tokens=9), 2),
        EmbeddingColumn(HashedColumn("hour", num_bins=32), 2),
        EmbeddingColumn(CrossedColumn(("day", "hour"), num_bins=64), 3),
        NumericColumn("passenger_count"),
        *(NumericColumn(key, normalization="zscore") for key in ["pickup_longitude", "pickup_latitude",
                                                                "dropoff_longitude", "dropoff_latitude"]),
    ]  # fmt: skip
    # LazyAdam: Keras's Adam squares each occurrence of a sparse gradient's row before summing them on one device,
    # where the replicas' all-reduce has summed them already (the losses then differ by about 1%, 3% by epoch 3);
    # LazyAdam sums first on one device too.
    return {"feature_columns": columns, "head": "regression", "label": "fare_amount",
            "model_params": {"hidden_units": [32, 16]}, "optimizer": "lazy_adam", "learning_rate": 0.01}  # fmt: skip


def tokens() -> pd.DataFrame:
    """2,048 examples of 100 classes, each named by tokens `t<class>_<0..3>`: a string in, a class id out."""
    rng = np.random.default_rng(0)
    label = rng.integers(0, 100, 2048)
    return pd.DataFrame(
        {"token": [f"t{c}_{i}" for c, i in zip(label, rng.integers(0, 4, 2048), strict=True)], "label": label}
    )


def sampled_arguments() -> dict:
    head = tfkit.SampledSoftmaxHead(100, num_sampled=8, seed=3)
    columns = [EmbeddingColumn(VocabularyColumn("token", max_tokens=410), 8)]
    return {"feature_columns": columns, "head": head, "label": "label", "model_params": {"hidden_units": [16]},
            "optimizer": "lazy_adam", "learning_rate": 0.05}  # fmt: skip


def weighted() -> pd.DataFrame:
    """1,001 examples with weights: batches of 100 leave a last one of a single example, which splits unevenly
    (1 and 0) between two replicas, so the global average must weigh each replica's mean by its share."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=1001).astype("float32")
    label = (x + rng.normal(scale=0.5, size=1001) > 0).astype("int64")
    return pd.DataFrame({"x": x, "w": rng.uniform(0.5, 2.0, 1001).astype("float32"), "label": label})


def weighted_arguments() -> dict:
    return {"feature_columns": [NumericColumn("x")], "head": tfkit.BinaryHead(weight_column="w"), "label": "label",
            "model_params": {"hidden_units": [4]}, "optimizer": "sgd", "learning_rate": 0.1}  # fmt: skip


def batches(frame: pd.DataFrame, label: str, batch_size: int) -> tf.data.Dataset:
    """Raw batches in one fixed order: tfkit's own shuffle draws another order under a strategy, so the runs
    compared read the same batches this way."""
    features = {key: value.to_numpy()[:, None] for key, value in frame.drop(columns=[label]).items()}
    dataset = tf.data.Dataset.from_tensor_slices((features, frame[label].to_numpy()))
    return dataset.batch(batch_size)


def run(arguments, frame, strategy, work_dir, name, batch_size, epochs) -> dict:
    model_dir = os.path.join(work_dir, f"{name}-{strategy}")
    estimator = tfkit.Estimator(**arguments, seed=42, strategy=strategy, model_dir=model_dir)
    estimator.train(batches(frame, arguments["label"], batch_size), epochs=epochs, batch_size=batch_size, verbose=0)
    found = {"losses": estimator.history["loss"], "steps_per_execution": estimator._core.steps_per_execution}
    with open(os.path.join(model_dir, "distribution.json")) as file:
        found["distribution"] = json.load(file)
    if strategy is None:
        return found
    rows = frame.drop(columns=[arguments["label"]]).head(100)
    in_memory = estimator.predict_batch(rows)
    exported = load(estimator.export_saved_model(os.path.join(work_dir, f"export-{name}-{strategy}")))(rows)
    key = next(key for key in ("predictions", "probabilities", "class_ids") if key in exported)
    found["export_gap"] = float(np.max(np.abs(np.asarray(in_memory[key], "float64") - exported[key])))
    if key == "class_ids":
        probabilities = exported["top_k_probabilities"][:, 0]
        found["export_gap"] = max(found["export_gap"], float(np.max(np.abs(
            np.max(in_memory["probabilities"], axis=-1) - probabilities))))  # fmt: skip
    return found


def refusals(frame, work_dir) -> dict:
    """The messages of the checks made before training, under 2 replicas."""
    found = {}
    model_dir = os.path.join(work_dir, "refused")
    estimator = tfkit.Estimator(**taxi_arguments(), strategy="mirrored", model_dir=model_dir)
    try:
        estimator.train(frame, batch_size=255, verbose=0)
    except ValueError as error:
        found["batch"] = str(error)
    found["refused_dir_exists"] = os.path.exists(model_dir)
    try:
        tfkit.Estimator(**taxi_arguments(), strategy="mirrored", jit_compile=True)
    except ValueError as error:
        found["jit_compile"] = str(error)
    return found


def main(taxi_csv: str, work_dir: str) -> None:
    frame, found = taxi(taxi_csv), {}
    for strategy in (None, "mirrored"):
        found[f"taxi-{strategy}"] = run(taxi_arguments(), frame, strategy, work_dir, "taxi", 256, 3)
        found[f"sampled-{strategy}"] = run(sampled_arguments(), tokens(), strategy, work_dir, "sampled", 128, 2)
        found[f"weighted-{strategy}"] = run(weighted_arguments(), weighted(), strategy, work_dir, "weighted", 100, 2)
    found["refusals"] = refusals(frame, work_dir)
    print(json.dumps(found))


if __name__ == "__main__":
    main(*sys.argv[1:3])
