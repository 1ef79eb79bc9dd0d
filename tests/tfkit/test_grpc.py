"""TF Serving's official gRPC client against `tfkit serve`: the taxi-fare regressor and a text classifier.

Both models are trained on real data, exported, and served in this process on free loopback ports (gRPC and
REST over one model manager). Requests go through `tensorflow_serving.apis`' `PredictionServiceStub` and
`ModelServiceStub` over `grpc.insecure_channel`, exactly as a TF Serving client sends them; the answers must
equal the in-process model's. Malformed requests get `INVALID_ARGUMENT` or `NOT_FOUND` with a message, and
the server keeps answering.
"""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys

import grpc
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from live_server import call, free_port, wait_until_serving
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

import feature_columns as fc
from tfkit import Estimator, cli, heads
from tfkit.serve import serving

TEXTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "text", "rotten_tomatoes.csv.bz2")
TOLERANCE = 1e-5
RIDE = {
    "passenger_count": 1.0,
    "pickup_longitude": -73.99,
    "pickup_latitude": 40.75,
    "dropoff_longitude": -73.97,
    "dropoff_latitude": 40.78,
    "hourofday": 8,
    "dayofweek": 2,
}
# The dtypes of the taxi model's raw features, as its signature declares them (checked below).
TAXI_DTYPES = {key: tf.int64 if key in ("hourofday", "dayofweek") else tf.float32 for key in RIDE}


@pytest.fixture(scope="module")
def taxi(taxi_model, tmp_path_factory):
    """`(export base, rides, the in-process model's fares)` for the session's taxi model."""
    estimator, rides = taxi_model
    base = tmp_path_factory.mktemp("grpc") / "taxifare"
    estimator.export_saved_model(str(base))
    rides = rides.head(50)
    return str(base), rides, estimator.predict_batch(rides)["predictions"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """`(export base, test reviews, the in-process model's P(fresh))`: a bag-of-words classifier, 3 epochs."""
    if not os.path.exists(TEXTS):
        pytest.fail(f"{TEXTS} is missing; see the shared data folder's README")
    frame = pd.read_csv(TEXTS, usecols=["category", "text"]).dropna()
    frame = frame[frame.category.isin(["fresh", "rotten"])].sample(2400, random_state=0)
    train, test = frame.iloc[:2000], frame.iloc[2000:2040]
    columns = [fc.EmbeddingColumn(fc.TextColumn("text", max_tokens=3000), dimension=8)]
    head = heads.BinaryHead(label_vocabulary=["rotten", "fresh"])
    estimator = Estimator(columns, head, label="category", model_params={"hidden_units": [8]}, seed=0)
    estimator.train(train, epochs=3, verbose=0)
    base = tmp_path_factory.mktemp("grpc") / "reviews"
    estimator.export_saved_model(str(base))
    texts = test.text.tolist()
    # The head's probabilities are [P(rotten), P(fresh)] per review.
    return str(base), texts, estimator.predict_batch(pd.DataFrame({"text": texts}))["probabilities"][:, 1]


@contextlib.contextmanager
def _served(base: str, name: str):
    """`(prediction stub, model stub, REST port)` of `tfkit serve` running in this process."""
    with (
        serving(base, model_name=name, port=0, rest_api_port=0, log_level="warning") as ports,
        grpc.insecure_channel(f"127.0.0.1:{ports.grpc}") as channel,
    ):
        yield (
            prediction_service_pb2_grpc.PredictionServiceStub(channel),
            model_service_pb2_grpc.ModelServiceStub(channel),
            ports.rest,
        )


@pytest.fixture(scope="module")
def taxi_server(taxi):
    with _served(taxi[0], "taxifare") as stubs:
        yield stubs


@pytest.fixture(scope="module")
def review_server(reviews):
    with _served(reviews[0], "reviews") as stubs:
        yield stubs


def _predict_request(rides: pd.DataFrame) -> predict_pb2.PredictRequest:
    """Predict for the taxi model: the raw features as TensorProtos of the signature's dtypes."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "taxifare"
    for key, dtype in TAXI_DTYPES.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(rides[key].to_numpy(), dtype))
    return request


def _example(features: dict, dtypes: dict) -> tf.train.Example:
    """A tf.Example of `features`, each list typed as the model reads it (`dtypes`), as a client must type them."""

    def feature(key, value) -> tf.train.Feature:
        if dtypes[key] == tf.string:
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
        if dtypes[key].is_integer:
            return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
        return tf.train.Feature(float_list=tf.train.FloatList(value=[value]))

    return tf.train.Example(features=tf.train.Features(feature={k: feature(k, v) for k, v in features.items()}))


def _rows(rides: pd.DataFrame) -> list:
    return json.loads(rides.to_json(orient="records", double_precision=15))  # ints stay ints, floats floats


# -- answers: equal to the in-process model -----------------------------------------------------------------


def test_predict_with_tensor_protos_equals_the_in_process_model(taxi_server, taxi):
    predictions, _, _ = taxi_server
    _, rides, expected = taxi
    response = predictions.Predict(_predict_request(rides), timeout=60)
    assert list(response.outputs) == ["predictions"]
    assert np.abs(tf.make_ndarray(response.outputs["predictions"]) - expected).max() < TOLERANCE
    assert response.model_spec.name == "taxifare" and response.model_spec.signature_name == "serving_default"
    assert response.model_spec.version.value == 1


def test_regress_with_tf_examples_equals_the_in_process_model(taxi_server, taxi):
    predictions, _, _ = taxi_server
    _, rides, expected = taxi
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = "taxifare"
    request.input.example_list.examples.extend(_example(row, TAXI_DTYPES) for row in _rows(rides))
    response = predictions.Regress(request, timeout=60)
    values = np.array([regression.value for regression in response.result.regressions])
    assert np.abs(values - expected).max() < TOLERANCE
    assert response.model_spec.signature_name == "regression"
    # The same rides with what they share in a context: TF Serving merges it into every example.
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = "taxifare"
    shared = {"passenger_count": 1.0}
    request.input.example_list_with_context.context.CopyFrom(_example(shared, TAXI_DTYPES))
    rows = [row for row in _rows(rides) if row["passenger_count"] == 1.0]
    request.input.example_list_with_context.examples.extend(_example(row, TAXI_DTYPES) for row in rows)
    response = predictions.Regress(request, timeout=60)
    ones = (rides.passenger_count == 1.0).to_numpy()
    assert len(response.result.regressions) == ones.sum() > 0
    values = np.array([regression.value for regression in response.result.regressions])
    assert np.abs(values - expected[ones]).max() < TOLERANCE


def test_predict_and_classify_a_text_model_equal_the_in_process_model(review_server, reviews):
    predictions, _, _ = review_server
    _, texts, fresh = reviews
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "reviews"
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(texts, tf.string))
    outputs = predictions.Predict(request, timeout=60).outputs
    assert np.abs(tf.make_ndarray(outputs["probabilities"])[:, 1] - fresh).max() < TOLERANCE
    classes = [label.decode() for label in tf.make_ndarray(outputs["classes"]).reshape(-1)]
    assert classes == ["fresh" if p > 0.5 else "rotten" for p in fresh]
    assert 0 < classes.count("fresh") < len(texts)  # the model tells reviews apart
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "reviews"
    request.input.example_list.examples.extend(_example({"text": text}, {"text": tf.string}) for text in texts)
    response = predictions.Classify(request, timeout=60)
    assert response.model_spec.signature_name == "classification"
    for classifications, p in zip(response.result.classifications, fresh, strict=True):
        (rotten, fresh_) = classifications.classes
        assert (rotten.label, fresh_.label) == ("rotten", "fresh")
        # A sigmoid head's two scores are [1 - p, p].
        assert abs(fresh_.score - p) < TOLERANCE and abs(rotten.score - (1 - p)) < TOLERANCE


def test_output_filter_keeps_the_outputs_named(review_server, reviews):
    predictions, _, _ = review_server
    _, texts, fresh = reviews
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "reviews"
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(texts[:3], tf.string))
    request.output_filter.append("probabilities")
    outputs = predictions.Predict(request, timeout=60).outputs
    assert list(outputs) == ["probabilities"]
    assert np.abs(tf.make_ndarray(outputs["probabilities"])[:, 1] - fresh[:3]).max() < TOLERANCE


def test_metadata_and_status_have_tf_servings_protos(taxi_server):
    predictions, models, _ = taxi_server
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "taxifare"
    request.metadata_field.append("signature_def")
    response = predictions.GetModelMetadata(request, timeout=60)
    assert response.model_spec.name == "taxifare" and response.model_spec.version.value == 1
    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signatures)
    assert {"serving_default", "predict", "regression"} <= set(signatures.signature_def)
    serving_default = signatures.signature_def["serving_default"]
    assert {key: tensor.dtype for key, tensor in serving_default.inputs.items()} == {
        key: dtype.as_datatype_enum for key, dtype in TAXI_DTYPES.items()
    }
    assert [d.size for d in serving_default.inputs["hourofday"].tensor_shape.dim] == [-1]
    assert signatures.signature_def["regression"].inputs["inputs"].dtype == tf.string.as_datatype_enum

    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "taxifare"
    (status,) = models.GetModelStatus(request, timeout=60).model_version_status
    assert status.version == 1 and status.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert status.status.error_code == 0 and status.status.error_message == ""  # tensorflow.error.OK


def test_grpc_and_rest_answer_from_the_same_model(taxi_server, taxi):
    predictions, _, rest_port = taxi_server
    _, rides, expected = taxi
    status, body = call(rest_port, "POST", "/v1/models/taxifare:predict", {"instances": _rows(rides.head(5))})
    assert status == 200
    assert np.abs(np.array(body["predictions"]) - expected[:5]).max() < TOLERANCE
    response = predictions.Predict(_predict_request(rides.head(5)), timeout=60)
    assert np.abs(tf.make_ndarray(response.outputs["predictions"]) - np.array(body["predictions"])).max() < 1e-6


# -- malformed requests: a status with a message, and the server keeps serving ------------------------------


def _ride_request(output_filter=(), **changes) -> predict_pb2.PredictRequest:
    """A one-ride Predict request, typed as the taxi model's signature; `changes` replace, add or (None) drop inputs."""
    request = predict_pb2.PredictRequest(output_filter=output_filter)
    request.model_spec.name = "taxifare"
    for key, value in RIDE.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto([value], TAXI_DTYPES[key]))
    for key, proto in changes.items():
        if proto is None:
            del request.inputs[key]
        else:
            request.inputs[key].CopyFrom(proto)
    return request


def _with_spec(request, **spec):
    for key, value in spec.items():
        if key == "version":
            request.model_spec.version.value = value
        else:
            setattr(request.model_spec, key, value)
    return request


def _regress_request(*rows) -> regression_pb2.RegressionRequest:
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = "taxifare"
    request.input.example_list.examples.extend(_example(row, TAXI_DTYPES) for row in rows)
    return request


INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
HOUR_RANGE = (
    "the model rejected the request: IdentityColumn('hourofday'): raw feature 'hourofday' must hold ids in "
    "[0, 24). Give the column a `default_value` to map other ids to one bucket, or fix the data. Received: [30]"
)
MALFORMED = {
    "unknown input": (
        "Predict",
        lambda: _ride_request(tip=tf.make_tensor_proto([2.0])),
        INVALID,
        "the request for signature 'serving_default' has unknown feature(s) ['tip']. The model reads [",
    ),
    "missing input": (
        "Predict",
        lambda: _ride_request(dayofweek=None),
        INVALID,
        "the request for signature 'serving_default' has missing feature(s) ['dayofweek']",
    ),
    "wrong dtype": (
        "Predict",
        lambda: _ride_request(hourofday=tf.make_tensor_proto([8])),  # int32, as make_tensor_proto guesses
        INVALID,
        "input 'hourofday' of signature 'serving_default' must be int64 of shape [None] (None: any size). "
        "Received: int32 of shape [1].",
    ),
    "wrong shape": (
        "Predict",
        lambda: _ride_request(pickup_latitude=tf.make_tensor_proto([[40.75]], tf.float32)),
        INVALID,
        "input 'pickup_latitude' of signature 'serving_default' must be float32 of shape [None]",
    ),
    "not a tensor": (
        "Predict",
        lambda: _ride_request(hourofday=tensor_pb2.TensorProto()),  # no dtype
        INVALID,
        "input 'hourofday' is not a valid TensorProto (TypeError: ",
    ),
    "the model's own check": (
        "Predict",
        lambda: _ride_request(hourofday=tf.make_tensor_proto([30], tf.int64)),
        INVALID,
        HOUR_RANGE,
    ),
    "unknown signature": (
        "Predict",
        lambda: _with_spec(_ride_request(), signature_name="serving"),
        INVALID,
        "`signature_name` must be one of ['predict', 'regression', 'serving_default']. Received: "
        "signature_name='serving'.",
    ),
    "unknown output": (
        "Predict",
        lambda: _ride_request(output_filter=["fare"]),
        INVALID,
        "`output_filter` names unknown output(s) ['fare']. Signature 'serving_default' returns ['predictions'].",
    ),
    "unknown model": (
        "Predict",
        lambda: _with_spec(_ride_request(), name="fares"),
        NOT_FOUND,
        "model 'fares' is not served here. Served: 'taxifare'.",
    ),
    "unknown version": (
        "Predict",
        lambda: _with_spec(_ride_request(), version=7),
        NOT_FOUND,
        "version 7 of model 'taxifare' is not served; served: 1.",
    ),
    "version label": (
        "Predict",
        lambda: _with_spec(_ride_request(), version_label="stable"),
        INVALID,
        "`model_spec.version_label` is not supported",
    ),
    "no input": (
        "Regress",
        lambda: regression_pb2.RegressionRequest(model_spec=_regress_request().model_spec),
        INVALID,
        "`input` must hold an `example_list` or an `example_list_with_context`. Received: an empty `input`.",
    ),
    "no examples": (
        "Regress",
        lambda: regression_pb2.RegressionRequest(model_spec=_regress_request().model_spec, input={"example_list": {}}),
        INVALID,
        "`input.example_list` holds no tf.Example. Send one or more.",
    ),
    "a required tf.Example feature missing": (
        "Regress",
        lambda: _regress_request({k: v for k, v in RIDE.items() if k != "passenger_count"}),
        INVALID,
        "the model rejected the request: Name: <unknown>, Feature: passenger_count (data type: float) is required "
        "but could not be found.",
    ),
    "an id out of range in a tf.Example": (
        "Regress",
        lambda: _regress_request({**RIDE, "hourofday": 30}),
        INVALID,
        HOUR_RANGE,
    ),
    "a signature that takes no tf.Examples": (
        "Regress",
        lambda: _with_spec(_regress_request(RIDE), signature_name="serving_default"),
        INVALID,
        "regress needs a signature taking serialized tf.Examples as 'inputs', but signature 'serving_default' takes [",
    ),
    "classify a regressor": (
        "Classify",
        lambda: classification_pb2.ClassificationRequest(
            model_spec=_regress_request(RIDE).model_spec, input=_regress_request(RIDE).input
        ),
        INVALID,
        "`signature_name` must be one of ['predict', 'regression', 'serving_default']. Received: "
        "signature_name='classification'.",
    ),
    "metadata of something else": (
        "GetModelMetadata",
        lambda: get_model_metadata_pb2.GetModelMetadataRequest(
            model_spec=_ride_request().model_spec, metadata_field=["graph"]
        ),
        INVALID,
        "`metadata_field` must list ['signature_def'], the metadata a model has. Received: metadata_field=['graph'].",
    ),
    "status of an unknown version": (
        "GetModelStatus",
        lambda: get_model_status_pb2.GetModelStatusRequest(
            model_spec=_with_spec(_ride_request(), version=7).model_spec
        ),
        NOT_FOUND,
        "version 7 of model 'taxifare' is unknown; known: [1].",
    ),
    "status of an unknown model": (
        "GetModelStatus",
        lambda: get_model_status_pb2.GetModelStatusRequest(model_spec=_with_spec(_ride_request(), name="").model_spec),
        NOT_FOUND,
        "model '' is not served here. Served: 'taxifare'.",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_gets_a_status_with_a_message_and_the_next_one_succeeds(taxi_server, taxi, case):
    predictions, models, _ = taxi_server
    method, make_request, code, message = MALFORMED[case]
    stub = models if method == "GetModelStatus" else predictions
    with pytest.raises(grpc.RpcError) as caught:
        getattr(stub, method)(make_request(), timeout=60)
    assert caught.value.code() == code
    assert message in caught.value.details()
    _, rides, expected = taxi
    response = predictions.Predict(_predict_request(rides.head(3)), timeout=60)
    assert np.abs(tf.make_ndarray(response.outputs["predictions"]) - expected[:3]).max() < TOLERANCE


def test_a_request_over_the_size_limit_is_refused_and_the_server_keeps_serving(taxi, tmp_path):
    base, rides, expected = taxi
    with serving(base, model_name="taxifare", port=0, rest_api_port=None, max_body_bytes=4096) as ports:
        assert ports.rest is None
        with grpc.insecure_channel(f"127.0.0.1:{ports.grpc}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            big = pd.concat([rides] * 4)  # 200 rides x 7 features x 4-8 bytes: more than 4096 bytes
            with pytest.raises(grpc.RpcError) as caught:
                stub.Predict(_predict_request(big), timeout=60)
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            response = stub.Predict(_predict_request(rides.head(3)), timeout=60)
            assert np.abs(tf.make_ndarray(response.outputs["predictions"]) - expected[:3]).max() < TOLERANCE


# -- starting and stopping ----------------------------------------------------------------------------------


def test_tf_servings_command_line_serves_grpc_and_rest_and_stops_on_sigterm(taxi):
    base, rides, expected = taxi
    grpc_port, rest_port = free_port(), free_port()
    command = [sys.executable, "-m", "tfkit.cli", "serve", "--model_name=taxifare", f"--model_base_path={base}"]
    command += [f"--port={grpc_port}", f"--rest_api_port={rest_port}"]  # TF Serving's flags, unchanged
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_serving(process, rest_port, "taxifare")
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            response = stub.Predict(_predict_request(rides), timeout=60)
        assert np.abs(tf.make_ndarray(response.outputs["predictions"]) - expected).max() < TOLERANCE
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    assert f"model 'taxifare': gRPC on 127.0.0.1:{grpc_port}, REST on 127.0.0.1:{rest_port}" in output, output
    # Both stop gracefully, then the signal is raised again so that the exit status reports it.
    assert "Finished server process" in output and process.returncode == -signal.SIGTERM, output


def test_tfkits_old_port_flag_is_refused_with_the_fix(taxi, capsys):
    base, _, _ = taxi
    # Before TF Serving's meaning: `--port 8501` was the REST port; now it is gRPC's and meets REST's default.
    assert cli.main(["serve", "--model_base_path", base, "--port", "8501"]) == 2
    assert capsys.readouterr().err == (
        "tfkit: error: tfkit.serve: `port` (gRPC) and `rest_api_port` (REST) must differ. Received: both 8501. As "
        "in TF Serving, `--port` is the gRPC port: give REST its own with `--rest_api_port` (e.g. --port=8500 "
        "--rest_api_port=8501).\n"
    )


@pytest.mark.parametrize("api", ["gRPC", "REST"])
def test_a_port_in_use_is_refused_naming_the_flag(taxi, api):
    base, _, _ = taxi
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {"port": port, "rest_api_port": 0} if api == "gRPC" else {"port": 0, "rest_api_port": port}
        flag = "`port` (--port)" if api == "gRPC" else "`rest_api_port` (--rest_api_port)"
        message = (
            f"{api} could not listen on 127.0.0.1:{port}: the port is in use or not allowed. Choose another {flag}."
        )
        with pytest.raises(OSError, match=re.escape(message)), serving(base, log_level="critical", **ports):
            pass
