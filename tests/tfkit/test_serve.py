"""The taxi-fare model from training to a live `tfkit serve`: parity, TF Serving's REST API, errors, reloads.

The model trains briefly on a copy of the real rides; the copy is deleted before anything is exported, so
every prediction below comes from what the SavedModel carries. The server is a real uvicorn on 127.0.0.1.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from live_server import call, free_port, running, wait_until_serving

import feature_columns as fc
from tfkit import cli, export, heads, models, rest
from tfkit.serve import create_app

MAX_BODY_BYTES = 64 * 1024
POLL_SECONDS = 0.2


@pytest.fixture(scope="module")
def taxi(taxi_model, tmp_path_factory):
    """`(estimator, export base, test rides)`: the session's taxi model (trained on rides since deleted), exported."""
    estimator, rides = taxi_model
    base = tmp_path_factory.mktemp("taxi") / "exports" / "taxifare"
    path = estimator.export_saved_model(str(base))
    assert os.listdir(os.path.join(path, "assets")) == []  # hashed and bucketized columns need no vocab files
    return estimator, str(base), rides


@pytest.fixture(scope="module")
def expected(taxi):
    estimator, _, rides = taxi
    return estimator.predict_batch(rides)["predictions"]


def _instances(rides: pd.DataFrame) -> list:
    # ints stay ints and floats floats, as a client sends them
    return json.loads(rides.to_json(orient="records", double_precision=15))


def _running(base: str, **options):
    """A uvicorn server for `base`'s versions, as `tfkit serve` runs it."""
    return running(create_app(base, model_name="taxifare", poll_seconds=POLL_SECONDS, **options))


@pytest.fixture(scope="module")
def port(taxi):
    _, base, _ = taxi
    with _running(base, max_body_bytes=MAX_BODY_BYTES) as port:
        yield port


def _served_version(port: int) -> str:
    status, body = call(port, "GET", "/v1/models/taxifare")
    assert status == 200
    return next(s["version"] for s in body["model_version_status"] if s["state"] == "AVAILABLE")


def _good_request_succeeds(port, rides, expected) -> None:
    status, body = call(port, "POST", "/v1/models/taxifare:predict", {"instances": _instances(rides.head(3))})
    assert status == 200
    assert np.abs(np.array(body["predictions"]) - expected[:3]).max() < 1e-4


# -- parity: the same predictions through every way in -----------------------------------------------------


def test_tf_saved_model_load_matches_the_in_memory_model(taxi, expected):
    _, base, rides = taxi
    signatures = tf.saved_model.load(export.latest_version(base)).signatures
    serving = signatures["serving_default"]
    inputs = {
        key: tf.constant(rides[key].to_numpy(), spec.dtype)
        for key, spec in serving.structured_input_signature[1].items()
    }
    assert np.abs(serving(**inputs)["predictions"].numpy() - expected).max() < 1e-4


def test_load_matches_the_in_memory_model_from_a_dataframe_and_from_lists(taxi, expected):
    _, base, rides = taxi
    predictor = export.load(base)
    assert np.abs(predictor(rides)["predictions"] - expected).max() < 1e-4
    lists = {key: rides[key].tolist() for key in rides}
    assert np.abs(predictor(lists)["predictions"] - expected).max() < 1e-4


def test_served_row_and_columnar_predictions_match_the_in_memory_model(port, taxi, expected):
    _, _, rides = taxi
    status, rows = call(port, "POST", "/v1/models/taxifare:predict", {"instances": _instances(rides)})
    assert status == 200 and list(rows) == ["predictions"]
    assert np.abs(np.array(rows["predictions"]) - expected).max() < 1e-4
    columns = {key: values.tolist() for key, values in rides.items()}
    status, columnar = call(port, "POST", "/v1/models/taxifare:predict", {"inputs": columns})
    assert status == 200 and list(columnar) == ["outputs"]
    assert np.abs(np.array(columnar["outputs"]) - expected).max() < 1e-4


def test_a_version_can_be_named_in_the_url(port, taxi, expected):
    _, _, rides = taxi
    version = _served_version(port)
    path = f"/v1/models/taxifare/versions/{version}:predict"
    status, body = call(port, "POST", path, {"instances": _instances(rides.head(5))})
    assert status == 200
    assert np.abs(np.array(body["predictions"]) - expected[:5]).max() < 1e-4


def test_serialized_examples_go_through_b64_and_the_regress_api(port, taxi, expected):
    _, base, rides = taxi
    examples = _instances(rides.head(20))
    raw_features = export.read_raw_features(export.latest_version(base))

    def feature(key, value):  # typed as the model reads the feature, as a tf.Example client must
        if raw_features[key].dtype.startswith("int"):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
        return tf.train.Feature(float_list=tf.train.FloatList(value=[value]))

    serialized = [
        tf.train.Example(
            features=tf.train.Features(feature={key: feature(key, value) for key, value in example.items()})
        ).SerializeToString()
        for example in examples
    ]
    b64 = [{"b64": base64.b64encode(s).decode()} for s in serialized]
    status, body = call(port, "POST", "/v1/models/taxifare:predict", {"signature_name": "predict", "instances": b64})
    assert status == 200
    assert np.abs(np.array(body["predictions"]) - expected[:20]).max() < 1e-4
    status, body = call(port, "POST", "/v1/models/taxifare:regress", {"examples": examples})
    assert status == 200
    assert np.abs(np.array(body["results"]) - expected[:20]).max() < 1e-4


def test_status_and_metadata_have_tf_servings_shape(port):
    version = _served_version(port)
    status, body = call(port, "GET", f"/v1/models/taxifare/versions/{version}")
    assert status == 200
    assert body == {
        "model_version_status": [
            {"version": version, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    status, body = call(port, "GET", "/v1/models/taxifare/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": "taxifare", "signature_name": "", "version": version}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "predict", "regression"} <= set(signatures)
    hour = signatures["serving_default"]["inputs"]["hourofday"]
    assert hour["dtype"] == "DT_INT64" and hour["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]
    assert signatures["regression"]["inputs"]["inputs"]["dtype"] == "DT_STRING"
    assert signatures["regression"]["outputs"]["outputs"]["dtype"] == "DT_FLOAT"


def test_the_sample_request_is_answered(port, taxi, tmp_path):
    _, base, _ = taxi
    export.sample_request(base, str(tmp_path / "request.json"))
    status, body = call(port, "POST", "/v1/models/taxifare:predict", (tmp_path / "request.json").read_bytes())
    assert status == 200 and len(body["predictions"]) == 1


def test_a_classifier_is_served_through_the_classify_api(tmp_path):
    columns = [fc.NumericColumn("x"), fc.IndicatorColumn(fc.VocabularyColumn("city", ["nyc", "sf"]))]
    model = models.dnn(columns, heads.BinaryHead(label_vocabulary=["cheap", "pricey"]), [4])
    export.export_saved_model(model, str(tmp_path / "fares"))
    probabilities = model({"x": np.array([0.5, 3.0], "float32"), "city": np.array(["sf", "rome"])}).numpy()
    with _running(str(tmp_path / "fares")) as port:
        body = {"context": {"x": 0.5}, "examples": [{"city": "sf"}], "signature_name": "classification"}
        status, answer = call(port, "POST", "/v1/models/taxifare:classify", body)
        assert status == 200
        ((cheap, pricey),) = answer["results"]
        assert cheap[0] == "cheap" and pricey[0] == "pricey"
        # The model's output is the positive logit: p(pricey) = sigmoid(logit).
        assert abs(pricey[1] - 1 / (1 + np.exp(-probabilities[0, 0]))) < 1e-5
        assert abs(cheap[1] + pricey[1] - 1) < 1e-6
        status, answer = call(port, "POST", "/v1/models/taxifare:predict", {"instances": [{"x": 3.0, "city": "rome"}]})
        assert status == 200 and answer["predictions"][0]["classes"] in ("cheap", "pricey")


def test_multivalent_rows_of_different_lengths_are_padded_and_strictly_typed():
    tags = tf.TensorSpec([None, None], tf.string)
    tensors, _ = rest.predict_inputs({"instances": [{"tags": ["a", "b"]}, {"tags": []}]}, {"tags": tags})
    assert tensors["tags"].numpy().tolist() == [[b"a", b"b"], [b"", b""]]
    ids = tf.TensorSpec([None, None], tf.int64)
    tensors, _ = rest.predict_inputs({"inputs": {"ids": [[3], [1, 2]]}}, {"ids": ids})
    assert tensors["ids"].numpy().tolist() == [[3, -1], [1, 2]]
    with pytest.raises(rest.RequestError, match="must hold integers"):
        rest.predict_inputs({"inputs": {"ids": [[3], [True]]}}, {"ids": ids})


# -- errors: the right status, JSON, and the server still answers -----------------------------------------

RIDE = {
    "passenger_count": 1,
    "pickup_longitude": -73.99,
    "pickup_latitude": 40.75,
    "dropoff_longitude": -73.97,
    "dropoff_latitude": 40.78,
    "hourofday": 8,
    "dayofweek": 2,
}


def _without(key: str) -> dict:
    return {k: v for k, v in RIDE.items() if k != key}


ERRORS = {
    "malformed JSON": ("POST", "/v1/models/taxifare:predict", b'{"instances": [', 400, "not valid JSON"),
    "not an object": ("POST", "/v1/models/taxifare:predict", [RIDE], 400, "must be a JSON object"),
    "instances and inputs": (
        "POST",
        "/v1/models/taxifare:predict",
        {"instances": [RIDE], "inputs": {k: [v] for k, v in RIDE.items()}},
        400,
        "exactly one of",
    ),
    "missing feature": (
        "POST",
        "/v1/models/taxifare:predict",
        {"instances": [_without("hourofday")]},
        400,
        r"instance 0 has missing feature(s) ['hourofday']",
    ),
    "missing feature, columnar": (
        "POST",
        "/v1/models/taxifare:predict",
        {"inputs": {k: [v] for k, v in _without("dayofweek").items()}},
        400,
        r"missing feature(s) ['dayofweek']",
    ),
    "unknown feature": (
        "POST",
        "/v1/models/taxifare:predict",
        {"instances": [{**RIDE, "tip": 2.0}]},
        400,
        "unknown feature(s) ['tip']",
    ),
    "text in a numeric feature": (
        "POST",
        "/v1/models/taxifare:predict",
        {"instances": [{**RIDE, "pickup_latitude": "40.75"}]},
        400,
        "feature 'pickup_latitude' must hold numbers (float32)",
    ),
    "fraction in an integer feature": (
        "POST",
        "/v1/models/taxifare:predict",
        {"instances": [{**RIDE, "hourofday": 8.5}]},
        400,
        "feature 'hourofday' must hold integers (int64)",
    ),
    "list where a scalar goes": (
        "POST",
        "/v1/models/taxifare:predict",
        {"instances": [{**RIDE, "hourofday": [8, 9]}]},
        400,
        "feature 'hourofday' must have shape [None]",
    ),
    "columns of different lengths": (
        "POST",
        "/v1/models/taxifare:predict",
        {"inputs": {**{k: [v] for k, v in RIDE.items()}, "hourofday": [8, 9]}},
        400,
        "the same number of examples",
    ),
    "bad base64": (
        "POST",
        "/v1/models/taxifare:predict",
        {"signature_name": "predict", "instances": [{"b64": "not base64!"}]},
        400,
        "not valid base64",
    ),
    "unknown signature": (
        "POST",
        "/v1/models/taxifare:predict",
        {"signature_name": "serving", "instances": [RIDE]},
        400,
        "`signature_name` must be one of",
    ),
    "required feature missing from a tf.Example": (
        "POST",
        "/v1/models/taxifare:regress",
        {"examples": [_without("passenger_count")]},
        400,
        "the model rejected the request",
    ),
    "unknown model": ("POST", "/v1/models/fares:predict", {"instances": [RIDE]}, 404, "model 'fares' is not served"),
    "unknown model status": ("GET", "/v1/models/fares", None, 404, "model 'fares' is not served"),
    "unknown version": (
        "POST",
        "/v1/models/taxifare/versions/99:predict",
        {"instances": [RIDE]},
        404,
        "version 99 of model 'taxifare' is not served",
    ),
    "unknown version status": ("GET", "/v1/models/taxifare/versions/99", None, 404, "version 99"),
    "unknown API": ("POST", "/v1/models/taxifare:explain", {"instances": [RIDE]}, 404, "unknown API 'explain'"),
    "unknown path": ("GET", "/v2/models", None, 404, "Not Found"),
    "body over the limit": (
        "POST",
        "/v1/models/taxifare:predict",
        {"instances": [RIDE] * (MAX_BODY_BYTES // 150)},
        413,
        f"exceeds {MAX_BODY_BYTES} bytes",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_a_bad_request_gets_a_json_error_and_the_next_request_succeeds(port, taxi, expected, case):
    method, path, body, want_status, message = ERRORS[case]
    status, answer = call(port, method, path, body)
    assert status == want_status
    assert list(answer) == ["error"] and message in answer["error"]
    _, _, rides = taxi
    _good_request_succeeds(port, rides, expected)


# -- versions: hot reload, and an export that dies midway ---------------------------------------------------


def _wait_for_version(port: int, version: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        status, body = call(port, "GET", "/v1/models/taxifare")
        states = body.get("model_version_status", [])
        if status == 200 and any(s["version"] == version and s["state"] == "AVAILABLE" for s in states):
            return
        assert time.monotonic() < deadline, f"version {version} was not picked up"
        time.sleep(POLL_SECONDS)


def test_a_new_version_is_picked_up_while_serving(port, taxi, expected):
    estimator, base, rides = taxi
    before = int(_served_version(port))
    path = estimator.export_saved_model(base)
    _wait_for_version(port, os.path.basename(path))
    assert int(os.path.basename(path)) > before
    status, _ = call(port, "POST", f"/v1/models/taxifare/versions/{before}:predict", {"instances": [RIDE]})
    assert status == 404  # like TF Serving's default policy, only the latest version is served
    _good_request_succeeds(port, rides, expected)


def test_an_export_killed_midway_is_never_served(port, taxi, expected, monkeypatch):
    estimator, base, rides = taxi
    before, versions = _served_version(port), export.versions(base)
    rename, written = os.rename, []

    def die_after_writing(source, destination):
        if not os.path.basename(source).startswith(".tmp-"):
            return rename(source, destination)
        written.extend(os.listdir(os.path.join(source, "variables")))
        raise KeyboardInterrupt  # the process is stopped once the variables are on disk

    monkeypatch.setattr(os, "rename", die_after_writing)
    with pytest.raises(KeyboardInterrupt):
        estimator.export_saved_model(base)
    monkeypatch.undo()
    assert "variables.index" in written
    assert export.versions(base) == versions and not [n for n in os.listdir(base) if n.startswith(".")]
    time.sleep(5 * POLL_SECONDS)  # several polls of the base path
    assert _served_version(port) == before
    _good_request_succeeds(port, rides, expected)


def test_a_version_that_fails_to_load_is_reported_and_the_previous_one_serves(port, taxi, expected):
    _, base, rides = taxi
    before = _served_version(port)
    broken = os.path.join(base, str(max(export.versions(base)) + 1))
    os.makedirs(broken)  # a version folder without a SavedModel (copied by hand, say)
    try:
        deadline = time.monotonic() + 60
        while True:
            status, body = call(port, "GET", f"/v1/models/taxifare/versions/{os.path.basename(broken)}")
            if status == 200:
                break
            assert time.monotonic() < deadline, "the broken version was never tried"
            time.sleep(POLL_SECONDS)
        (state,) = body["model_version_status"]
        assert state["state"] == "END" and state["status"]["error_code"] == "UNKNOWN"
        assert _served_version(port) == before
        _good_request_succeeds(port, rides, expected)
    finally:
        os.rmdir(broken)


def test_a_server_started_before_any_export_waits_for_the_first_version(tmp_path):
    base = tmp_path / "fares"
    base.mkdir()
    with _running(str(base)) as port:
        status, answer = call(port, "GET", "/v1/models/taxifare")
        assert status == 404 and "has no version yet" in answer["error"]
        status, _ = call(port, "POST", "/v1/models/taxifare:predict", {"instances": [{"x": 1.0}]})
        assert status == 404
        export.export_saved_model(models.dnn([fc.NumericColumn("x")], heads.RegressionHead(), [2]), str(base))
        _wait_for_version(port, "1")
        status, answer = call(port, "POST", "/v1/models/taxifare:predict", {"instances": [{"x": 1.0}]})
        assert status == 200 and len(answer["predictions"]) == 1


# -- the command ----------------------------------------------------------------------------------------


def test_tfkit_serve_answers_on_loopback_and_shuts_down_gracefully_on_sigterm(taxi, expected):
    _, base, rides = taxi
    port = free_port()
    command = [sys.executable, "-m", "tfkit.cli", "serve", "--model_base_path", base, "--rest_api_port", str(port)]
    command += ["--port", "0"]  # REST alone: gRPC's default port may be taken (tests/tfkit/test_grpc.py runs both)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_serving(process, port, "taxifare")
        _good_request_succeeds(port, rides, expected)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    assert "serving version" in output, output
    # uvicorn finishes the requests in flight, then re-raises the signal so the exit status reports it.
    assert "Finished server process" in output and process.returncode == -signal.SIGTERM, output


def test_tfkit_serve_refuses_a_missing_base_path(tmp_path, capsys):
    assert cli.main(["serve", "--model_base_path", str(tmp_path / "nowhere")]) == 2
    assert "`model_base_path` must be a folder of exported versions" in capsys.readouterr().err
