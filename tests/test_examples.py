"""The MNIST and sentiment examples end to end in their `--quick` modes, on the real data: train, evaluate,
export, reload, and the reloaded export predicting as the in-memory model does; then `tfkit serve` answering
digits (nested lists and raw bytes) and raw sentences over HTTP."""

import base64
import dataclasses
import importlib.util
import os

import numpy as np
import pytest
from live_server import call, running

from tfkit import pipeline
from tfkit.serve import create_app

ROOT = os.path.join(os.path.dirname(__file__), "..")


def _example(name: str):
    """An example's run.py as a module (examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"{name}_example", os.path.join(ROOT, "examples", name, "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data_env(taxi_dir):
    return {"TFKIT_DATA": os.path.dirname(taxi_dir)}


@pytest.mark.slow
@pytest.mark.parametrize("model", ["linear", "dnn", "cnn", "embedding"])
def test_each_mnist_model_runs_end_to_end_and_its_export_predicts_as_the_model(model, data_env, tmp_path):
    mnist = _example("mnist")
    config = mnist.configure(model, quick=True, workdir=str(tmp_path), environ=data_env)
    outcome = mnist.run(config)
    assert outcome["parity"] <= 1e-4
    assert os.path.exists(os.path.join(outcome["export_path"], "saved_model.pb"))
    assert set(outcome["test_metrics"]) >= {"accuracy", "loss"}
    # One epoch on 2,000 images already beats chance (10%) clearly, except the 3-d bottleneck, which needs more.
    if model != "embedding":
        assert outcome["test_metrics"]["accuracy"] > 0.3
    else:
        with open(outcome["scatter"], "rb") as file:
            assert file.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digit_server(data_env, tmp_path_factory):
    """The DNN config trained briefly on 10,000 images (about 93% accurate), served over HTTP."""
    mnist = _example("mnist")
    workdir = tmp_path_factory.mktemp("mnist-dnn")
    config = mnist.configure("dnn", quick=True, workdir=str(workdir), environ=data_env)
    config = dataclasses.replace(config, max_rows=10_000, training={**config.training, "epochs": 2})
    result = pipeline.train(config, verbose=0)
    test = config.data_source("test")
    with running(create_app(os.path.dirname(result["export_path"]), model_name="mnist")) as port:
        yield port, result["estimator"], test


def test_served_digits_are_recognised_from_nested_lists_and_from_raw_bytes(digit_server):
    port, estimator, test = digit_server
    images, labels = test["pixels"][:50], test["label"][:50]
    in_memory = estimator.predict_batch({"pixels": images})["probabilities"]
    lists = {"instances": [{"pixels": image.tolist()} for image in images]}
    raw = {"instances": [{"pixels": {"b64": base64.b64encode(image.tobytes()).decode()}} for image in images]}
    answers = []
    for body in (lists, raw):
        status, answer = call(port, "POST", "/v1/models/mnist:predict", body)
        assert status == 200, answer
        probabilities = np.array([p["probabilities"] for p in answer["predictions"]])
        np.testing.assert_allclose(probabilities, in_memory, atol=1e-5)
        answers.append([p["class_ids"] for p in answer["predictions"]])  # one id per digit
    assert answers[0] == answers[1]
    assert np.mean(np.array(answers[0]) == labels) >= 0.85  # 50 test digits, after two short epochs


def test_a_wrongly_shaped_image_gets_a_400_that_states_the_expected_shape(digit_server):
    port, _, test = digit_server
    status, answer = call(port, "POST", "/v1/models/mnist:predict", {"instances": [test["pixels"][0, :, :27].tolist()]})
    assert status == 400
    assert "[28, 28]" in answer["error"]


@pytest.mark.slow
def test_sentiment_runs_end_to_end_and_serves_raw_sentences(data_env, tmp_path):
    sentiment = _example("sentiment")
    outcome = sentiment.run(sentiment.configure(quick=True, workdir=str(tmp_path), environ=data_env))
    assert outcome["parity"] <= 1e-4
    assert set(outcome["test_metrics"]) >= {"accuracy", "auc"}
    with running(create_app(os.path.dirname(outcome["export_path"]), model_name="sentiment")) as port:
        body = {"instances": [{"text": sentence} for sentence in sentiment.SENTENCES]}
        status, answer = call(port, "POST", "/v1/models/sentiment:predict", body)
    assert status == 200, answer
    served = [p["probabilities"][1] for p in answer["predictions"]]
    np.testing.assert_allclose(served, outcome["sentences"], atol=1e-5)
