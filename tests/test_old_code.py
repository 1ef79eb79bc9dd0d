"""Old tf.estimator code runs on tfkit by changing its imports: `RunConfig`, `normalizer_fn`, serving-input receivers.

`OLD_PROGRAM` is written for `tf.estimator` and `tf.feature_column` (TensorFlow <= 2.15): a taxi-fare DNNRegressor
with `normalizer_fn`s (a module function and closures of a factory), a `RunConfig`, and an export through a parsing
serving-input receiver. The test changes its two import lines, runs it in a new process, queries its export with
serialized `tf.Example`s as a TF Serving client sends them, and reopens its model_dir in another new process.
"""

import difflib
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from live_server import call, running

import feature_columns as fc
import tfkit
from feature_columns import legacy
from tfkit import export
from tfkit.serve import create_app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

OLD_PROGRAM = '''"""Taxi fares with a DNNRegressor on feature columns: train, evaluate, export (or reopen, predict)."""
import json
import os
import sys

import numpy as np
import pandas as pd
import tensorflow as tf
from tensorflow import estimator
from tensorflow import feature_column

DATA, OUTDIR, MODE = sys.argv[1:4]
LABEL = "fare_amount"
FEATURES = ["passenger_count", "pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude",
            "hourofday", "dayofweek"]
train_df = pd.read_csv(os.path.join(DATA, "taxi-train.csv")).dropna().head(4000)
test_df = pd.read_csv(os.path.join(DATA, "taxi-test.csv")).dropna().head(200)
PASSENGERS_MEAN, PASSENGERS_STD = train_df.passenger_count.mean(), train_df.passenger_count.std()


def scale_passengers(x):
    return (x - PASSENGERS_MEAN) / PASSENGERS_STD


def zscore(key):
    mean, std = train_df[key].mean(), train_df[key].std()
    return lambda x: (x - mean) / std


def make_columns():
    lat = np.linspace(40.6, 40.9, 8).tolist()
    lon = np.linspace(-74.05, -73.75, 8).tolist()
    pickup_lat = feature_column.bucketized_column(feature_column.numeric_column("pickup_latitude"), lat)
    pickup_lon = feature_column.bucketized_column(feature_column.numeric_column("pickup_longitude"), lon)
    day = feature_column.categorical_column_with_identity("dayofweek", 7)
    hour = feature_column.categorical_column_with_identity("hourofday", 24)
    return [
        feature_column.numeric_column("passenger_count", normalizer_fn=scale_passengers),
        feature_column.numeric_column("dropoff_latitude", normalizer_fn=zscore("dropoff_latitude")),
        feature_column.numeric_column("dropoff_longitude", normalizer_fn=zscore("dropoff_longitude")),
        feature_column.embedding_column(feature_column.crossed_column([pickup_lat, pickup_lon], 64), 4),
        feature_column.indicator_column(feature_column.crossed_column([day, hour], 168)),
    ]


def input_fn(df, shuffle, labels=True):
    features = {key: df[key].values for key in FEATURES}
    dataset = tf.data.Dataset.from_tensor_slices((features, df[LABEL].values) if labels else features)
    if shuffle:
        dataset = dataset.shuffle(1000, seed=1)
    return dataset.batch(128)


config = estimator.RunConfig(model_dir=os.path.join(OUTDIR, "model"), tf_random_seed=42, save_checkpoints_steps=20)
model = estimator.DNNRegressor(hidden_units=[16, 8], feature_columns=make_columns(), optimizer="Adam", config=config)
results = {}
if MODE == "train":
    model.train(input_fn=lambda: input_fn(train_df, True), steps=60)
    results["rmse"] = float(np.sqrt(model.evaluate(input_fn=lambda: input_fn(test_df, False))["average_loss"]))
    feature_spec = feature_column.make_parse_example_spec(make_columns())
    serving_input_fn = estimator.export.build_parsing_serving_input_receiver_fn(feature_spec)
    results["export_dir"] = os.fsdecode(model.export_saved_model(os.path.join(OUTDIR, "export"), serving_input_fn))
predictions = model.predict(input_fn=lambda: input_fn(test_df, False, labels=False))
results["predictions"] = [float(p["predictions"]) for p in predictions]
with open(os.path.join(OUTDIR, MODE + ".json"), "w") as f:
    json.dump(results, f)
'''

# The only change old code needs.
NEW_IMPORTS = {
    "from tensorflow import estimator\n": "import tfkit as estimator\n",
    "from tensorflow import feature_column\n": "from feature_columns import legacy as feature_column\n",
}


def _translated() -> str:
    source = OLD_PROGRAM
    for old, new in NEW_IMPORTS.items():
        source = source.replace(old, new)
    return source


def _run(program: str, taxi_dir: str, outdir, mode: str) -> dict:
    environment = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run(
        [sys.executable, program, taxi_dir, str(outdir), mode], capture_output=True, text=True, env=environment
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((outdir / f"{mode}.json").read_text())


def _serialized_examples(rows: pd.DataFrame, feature_spec: dict) -> list:
    """tf.Examples as a TF Serving client builds them from the model's feature spec: floats as float_list,
    integers as int64_list."""
    examples = []
    for _, row in rows.iterrows():
        feature = {}
        for key, spec in feature_spec.items():
            if spec.dtype == tf.float32:
                feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(row[key])]))
            else:
                feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(row[key])]))
        examples.append(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return examples


def test_only_the_imports_change():
    diff = [line for line in difflib.ndiff(OLD_PROGRAM.splitlines(), _translated().splitlines()) if line[:1] in "+-"]
    assert sorted(diff) == sorted(
        [f"- {old.strip()}" for old in NEW_IMPORTS] + [f"+ {new.strip()}" for new in NEW_IMPORTS.values()]
    )


def test_the_old_program_runs_and_its_export_serves_tf_examples(taxi_dir, tmp_path):
    program = tmp_path / "old_program.py"
    program.write_text(_translated())
    trained = _run(str(program), taxi_dir, tmp_path, "train")
    assert np.isfinite(trained["rmse"])

    # The export, queried as TF Serving's Regress API and a Predict client on `examples` would: serialized tf.Examples.
    loaded = tf.saved_model.load(trained["export_dir"])
    assert set(loaded.signatures) == {"serving_default", "serving_raw", "predict", "regression"}
    (spec,) = loaded.signatures["serving_default"].structured_input_signature[1].values()
    assert spec.name == "inputs" and spec.dtype == tf.string  # tf.estimator's Regress signature
    columns = [
        legacy.numeric_column(key)
        for key in ("passenger_count", "pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude")
    ] + [legacy.categorical_column_with_identity(key, 24) for key in ("hourofday", "dayofweek")]
    rows = pd.read_csv(os.path.join(taxi_dir, "taxi-test.csv")).dropna().head(200)
    serialized = tf.constant(_serialized_examples(rows, legacy.make_parse_example_spec(columns)))
    expected = np.array(trained["predictions"])
    regressed = loaded.signatures["serving_default"](inputs=serialized)["outputs"].numpy()
    np.testing.assert_allclose(regressed, expected, atol=1e-4, rtol=0)
    predicted = loaded.signatures["predict"](examples=serialized)["predictions"].numpy().ravel()
    np.testing.assert_allclose(predicted, expected, atol=1e-4, rtol=0)

    # A new process reopens the model_dir: the same columns, normalizer functions included, restore the model.
    reopened = _run(str(program), taxi_dir, tmp_path, "predict")
    np.testing.assert_allclose(reopened["predictions"], expected, atol=1e-5, rtol=0)


# -- RunConfig -------------------------------------------------------------------------------------------------


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "city": ["a", "b", "a", "b"], "label": [0, 0, 1, 1]})


CANNED = {
    "DNNClassifier": lambda **kw: tfkit.DNNClassifier([4], [fc.NumericColumn("x")], **kw),
    "DNNRegressor": lambda **kw: tfkit.DNNRegressor([4], [fc.NumericColumn("x")], **kw),
    "LinearClassifier": lambda **kw: tfkit.LinearClassifier([fc.NumericColumn("x")], **kw),
    "LinearRegressor": lambda **kw: tfkit.LinearRegressor([fc.NumericColumn("x")], **kw),
    "DNNLinearCombinedClassifier": lambda **kw: tfkit.DNNLinearCombinedClassifier(
        linear_feature_columns=[fc.HashedColumn("city", 4)], dnn_feature_columns=[fc.NumericColumn("x")], **kw
    ),
    "DNNLinearCombinedRegressor": lambda **kw: tfkit.DNNLinearCombinedRegressor(
        linear_feature_columns=[fc.HashedColumn("city", 4)], dnn_feature_columns=[fc.NumericColumn("x")], **kw
    ),
    "Estimator": lambda **kw: tfkit.Estimator([fc.NumericColumn("x")], "regression", label="label", **kw),
}


@pytest.mark.parametrize("name", sorted(CANNED))
def test_every_estimator_takes_a_run_config(name, tmp_path):
    config = tfkit.RunConfig(model_dir=str(tmp_path), tf_random_seed=7, save_checkpoints_steps=3)
    estimator = CANNED[name](config=config)
    assert (estimator.model_dir, estimator.seed, estimator.save_checkpoints_steps) == (str(tmp_path), 7, 3)


def test_a_run_config_seed_reproduces_a_run():
    def logits():
        estimator = CANNED["DNNRegressor"](config=tfkit.RunConfig(tf_random_seed=3))
        return estimator.train(_frame(), verbose=0).predict_batch(_frame())["predictions"]

    np.testing.assert_array_equal(logits(), logits())


def test_settings_given_twice_must_agree(tmp_path):
    config = tfkit.RunConfig(model_dir=str(tmp_path / "a"))
    with pytest.raises(ValueError, match=r"^DNNRegressor: `model_dir` and `config.model_dir` must agree"):
        CANNED["DNNRegressor"](config=config, model_dir=str(tmp_path / "b"))
    assert CANNED["DNNRegressor"](config=config, model_dir=tmp_path / "a").model_dir == str(tmp_path / "a")
    with pytest.raises(ValueError, match=r"^Estimator: `seed` and `config.tf_random_seed` must agree.*seed=1"):
        CANNED["Estimator"](config=tfkit.RunConfig(tf_random_seed=2), seed=1)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"save_summary_steps": 100}, ValueError, r"`save_summary_steps` has no effect in tfkit.*TensorBoard logs"),
        ({"save_checkpoints_secs": 600}, ValueError, r"`save_checkpoints_secs` has no effect.*save_checkpoints_steps"),
        ({"session_config": object()}, ValueError, r"`session_config` has no effect.*tf.config.threading"),
        ({"log_step_count_steps": 10}, ValueError, r"`log_step_count_steps` has no effect in tfkit"),
        ({"keep_checkpoint_max": 5}, ValueError, r"`keep_checkpoint_max` must be 1 or None.*keep_checkpoint_max=5"),
        ({"tf_random_seed": -1}, ValueError, r"`tf_random_seed` must be an integer in \[0, 2\*\*32\)"),
        ({"save_checkpoints_steps": 0}, ValueError, r"`save_checkpoints_steps` must be a positive integer"),
        ({"model_dir": 3}, TypeError, r"^RunConfig: `model_dir` must be a folder path"),
        ({"train_distribute": "mirroring"}, ValueError, r"`train_distribute` must be None, one of \['auto', "),
        ({"eval_distribute": "mirrored"}, ValueError, r"`eval_distribute` must be None or `train_distribute` itself"),
    ],
)
def test_run_config_refuses_what_has_no_effect(arguments, error, message):
    with pytest.raises(error, match=message):
        tfkit.RunConfig(**arguments)


def test_every_tf_estimator_run_config_argument_maps_or_is_refused():
    # tf.estimator.RunConfig's arguments (TF 2.15's estimator), in its order.
    tf_arguments = [
        "model_dir", "tf_random_seed", "save_summary_steps", "save_checkpoints_steps", "save_checkpoints_secs",
        "session_config", "keep_checkpoint_max", "keep_checkpoint_every_n_hours", "log_step_count_steps",
        "train_distribute", "device_fn", "protocol", "eval_distribute", "experimental_distribute",
        "experimental_max_worker_delay_secs", "session_creation_timeout_secs", "checkpoint_save_graph_def",
    ]  # fmt: skip
    assert [field for field in tfkit.RunConfig.__dataclass_fields__] == tf_arguments
    mapped = {"model_dir": "runs/m", "tf_random_seed": 1, "save_checkpoints_steps": 2, "keep_checkpoint_max": 1}
    mapped |= {"train_distribute": "one_device"}
    for name in tf_arguments:
        if name in mapped:
            tfkit.RunConfig(**{name: mapped[name]})
        else:
            with pytest.raises(ValueError, match=f"`{name}`"):
                tfkit.RunConfig(**{name: 1})


def test_run_config_replace_checks_again():
    config = tfkit.RunConfig(tf_random_seed=1)
    assert config.replace(save_checkpoints_steps=5) == tfkit.RunConfig(tf_random_seed=1, save_checkpoints_steps=5)
    with pytest.raises(ValueError, match="`protocol` has no effect"):
        config.replace(protocol="grpc")


def test_config_of_another_type_is_refused():
    with pytest.raises(TypeError, match=r"^Estimator: `config` must be a tfkit.RunConfig or None.*of type dict"):
        CANNED["Estimator"](config={"seed": 1})
    with pytest.raises(TypeError, match=r"^LinearRegressor: `config` must be a tfkit.RunConfig, a dict with keys"):
        CANNED["LinearRegressor"](config=["seed"])
    with pytest.raises(ValueError, match=r"tf.estimator's RunConfig arguments go in `config=tfkit.RunConfig\(...\)`"):
        CANNED["LinearRegressor"](config={"tf_random_seed": 1})


# -- serving-input receivers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def classifier():
    columns = [legacy.numeric_column("x"), legacy.categorical_column_with_hash_bucket("city", 4)]
    estimator = tfkit.DNNClassifier([4], [columns[0], legacy.indicator_column(columns[1])], config={"seed": 0})
    return estimator.train(_frame(), verbose=0)


def test_a_raw_receiver_sets_serving_defaults_inputs(classifier, tmp_path):
    receiver = export.build_raw_serving_input_receiver_fn(
        {"x": tf.constant([[0.0]], tf.float64), "city": tf.constant(["a"]), "unused": np.zeros(1)}
    )
    loaded = tf.saved_model.load(classifier.export_saved_model(str(tmp_path), receiver))
    specs = loaded.signatures["serving_default"].structured_input_signature[1]
    assert {key: (spec.shape.as_list(), spec.dtype.name) for key, spec in specs.items()} == {
        "x": ([None, 1], "float64"),
        "city": ([None], "string"),
        "unused": ([None], "float64"),
    }
    outputs = loaded.signatures["serving_default"](
        x=tf.constant([[0.0], [3.0]], tf.float64), city=tf.constant(["a", "b"]), unused=tf.zeros([2], tf.float64)
    )
    expected = classifier.predict_batch(pd.DataFrame({"x": [0.0, 3.0], "city": ["a", "b"]}))["probabilities"]
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-6)
    raw = loaded.signatures["serving_raw"](x=tf.constant([0.0, 3.0]), city=tf.constant(["a", "b"]))
    np.testing.assert_allclose(raw["probabilities"].numpy(), expected, atol=1e-6)


def test_a_parsing_receiver_of_a_classifier_serves_classify(classifier, tmp_path):
    spec = legacy.make_parse_example_spec(
        [legacy.numeric_column("x"), legacy.categorical_column_with_hash_bucket("city", 4)]
    )
    receiver = export.build_parsing_serving_input_receiver_fn(spec, default_batch_size=2)
    loaded = tf.saved_model.load(classifier.export_saved_model(str(tmp_path), receiver))
    rows = pd.DataFrame({"x": [0.0, 3.0], "city": ["a", "b"]})
    examples = [
        tf.train.Example(
            features=tf.train.Features(
                feature={
                    "x": tf.train.Feature(float_list=tf.train.FloatList(value=[row.x])),
                    "city": tf.train.Feature(bytes_list=tf.train.BytesList(value=[row.city.encode()])),
                }
            )
        ).SerializeToString()
        for row in rows.itertuples()
    ]
    signature = loaded.signatures["serving_default"]
    assert signature.structured_input_signature[1]["inputs"].shape.as_list() == [2]  # default_batch_size
    outputs = signature(inputs=tf.constant(examples))
    assert set(outputs) == {"classes", "scores"}  # tf.estimator's Classify signature
    np.testing.assert_allclose(outputs["scores"].numpy(), classifier.predict_batch(rows)["probabilities"], atol=1e-6)


@pytest.mark.parametrize(
    ("receiver", "error", "message"),
    [
        (lambda: lambda: None, TypeError, r"`serving_input_receiver_fn` must come from tfkit.export.build_parsing"),
        (
            lambda: export.build_parsing_serving_input_receiver_fn({"x": tf.io.FixedLenFeature([], tf.float32)}),
            ValueError,
            r"receiver's `feature_spec` must give every raw feature the model reads, \['city', 'x'\]. Received: "
            r"feature_spec without \['city'\]",
        ),
        (
            lambda: export.build_raw_serving_input_receiver_fn({"x": tf.constant([0.0]), "city": tf.constant([1])}),
            TypeError,
            r"raw feature 'city' must be strings, as the model reads it. Received: int32",
        ),
        (
            lambda: export.build_raw_serving_input_receiver_fn({"x": tf.zeros([1, 2]), "city": tf.constant(["a"])}),
            ValueError,
            r"raw feature 'x' must have shape \[None\].*Received: \[None, 2\]",
        ),
    ],
)
def test_bad_receivers_are_refused_before_anything_is_written(classifier, tmp_path, receiver, error, message):
    with pytest.raises(error, match=message):
        classifier.export_saved_model(str(tmp_path / "exports"), receiver())
    assert not (tmp_path / "exports").exists() or not os.listdir(tmp_path / "exports")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: export.build_parsing_serving_input_receiver_fn({"x": "float"}), r"`feature_spec` must be a dict"),
        (lambda: export.build_raw_serving_input_receiver_fn([1.0]), r"`features` must be a non-empty dict"),
        (lambda: export.build_raw_serving_input_receiver_fn({"x": object()}), r"feature 'x' must be a tensor"),
    ],
)
def test_receiver_arguments_are_checked(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_an_export_with_a_parsing_receiver_is_served_and_predicted(classifier, tmp_path):
    # Its serving_default takes tf.Examples: tfkit serve warms up, and Predictor predicts, through serving_raw.
    spec = legacy.make_parse_example_spec(
        [legacy.numeric_column("x"), legacy.categorical_column_with_hash_bucket("city", 4)]
    )
    path = classifier.export_saved_model(str(tmp_path), export.build_parsing_serving_input_receiver_fn(spec))
    rows = pd.DataFrame({"x": [0.0, 3.0], "city": ["a", "b"]})
    expected = classifier.predict_batch(rows)["probabilities"]
    np.testing.assert_allclose(export.load(path)(rows)["probabilities"], expected, atol=1e-6)
    with running(create_app(str(tmp_path), model_name="old")) as port:
        status, answer = call(port, "GET", "/v1/models/old")
        assert status == 200 and answer["model_version_status"][0]["state"] == "AVAILABLE", answer
        body = {"signature_name": "serving_raw", "instances": rows.to_dict("records")}
        status, answer = call(port, "POST", "/v1/models/old:predict", body)
    assert status == 200, answer
    np.testing.assert_allclose([p["probabilities"] for p in answer["predictions"]], expected, atol=1e-5)


def test_data_is_given_once_as_data_or_as_input_fn(classifier):
    with pytest.raises(TypeError, match=r"DNNClassifier.evaluate: give the data once, as `data` \(or tf.estimator's"):
        classifier.evaluate(_frame(), input_fn=_frame)
    with pytest.raises(TypeError, match=r"DNNClassifier.predict_batch: give the data once"):
        classifier.predict_batch()
