"""Real MNIST digits through a live `tfkit serve`: nested lists and raw bytes in `{"b64": ...}` (a tfkit
extension to TF Serving's JSON API) give the in-process model's predictions; wrong shapes get a 400 naming the
expected one; extra `column_signatures` are served by `signature_name`. The server is a real uvicorn on 127.0.0.1.
"""

import base64
import gzip
import os

import numpy as np
import pytest
import tensorflow as tf
from live_server import call, running

import feature_columns as fc
from feature_columns.integration import embedding_tables, walk_layers
from tfkit import export, heads, models
from tfkit.serve import create_app

# As tests/conftest.py finds the shared data folder.
DATA_DIR = os.environ.get("TFKIT_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
IMAGES = 6


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """The first test images of MNIST, uint8 `[IMAGES, 28, 28]` (the IDX header is 16 bytes)."""
    path = os.path.join(DATA_DIR, "mnist", "t10k-images-idx3-ubyte.gz")
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing; set TFKIT_DATA to the shared data folder")
    with gzip.open(path) as file:
        return np.frombuffer(file.read(16 + IMAGES * 784), np.uint8, offset=16).reshape(-1, 28, 28)


def _running(base: str, name: str):
    return running(create_app(base, model_name=name))


def _b64(image: np.ndarray) -> dict:
    return {"b64": base64.b64encode(image.astype(np.uint8).tobytes()).decode()}


@pytest.fixture(scope="module")
def classifier(digits, tmp_path_factory):
    """`(export base, in-process serving outputs for the digits)` of an untrained 784-8-10 classifier."""
    model = models.dnn([fc.NumericColumn("pixels", shape=(28, 28))], heads.MultiClassHead(10), hidden_units=[8])
    # The pixels arrive unscaled (0..255): a kernel scaled as if they were divided by 255 keeps the softmax away
    # from 0 and 1, so that comparing probabilities to 1e-5 tests something.
    (hidden,) = [layer for layer in walk_layers(model) if layer.name == "hidden_0"]
    hidden.kernel.assign(hidden.kernel / 255)
    outputs = models.find_head(model).serving_outputs(model({"pixels": digits.astype("float32")}))
    base = str(tmp_path_factory.mktemp("digits") / "digits")
    export.export_saved_model(model, base, column_signatures={"pixel_values": "pixels"})
    return base, {key: np.asarray(value) for key, value in outputs.items()}


@pytest.fixture(scope="module")
def port(classifier):
    with _running(classifier[0], "digits") as port:
        yield port


def _probabilities(body: dict) -> np.ndarray:
    if "predictions" in body:
        return np.array([row["probabilities"] for row in body["predictions"]])
    return np.array(body["outputs"]["probabilities"])


def test_nested_lists_and_b64_bytes_give_the_in_process_predictions(port, classifier, digits):
    _, expected = classifier
    lists = digits.tolist()
    b64 = [_b64(image) for image in digits]
    mixed = [b64[i] if i % 2 else lists[i] for i in range(IMAGES)]
    bodies = {
        "rows of nested lists": {"instances": [{"pixels": image} for image in lists]},
        "rows of b64": {"instances": [{"pixels": image} for image in b64]},
        "bare b64 rows (one input)": {"instances": b64},
        "columns of b64": {"inputs": {"pixels": b64}},
        "columns of nested lists": {"inputs": {"pixels": lists}},
        "b64 and lists mixed": {"instances": [{"pixels": image} for image in mixed]},
    }
    answers = {}
    for name, body in bodies.items():
        status, answer = call(port, "POST", "/v1/models/digits:predict", body)
        assert status == 200, (name, answer)
        answers[name] = answer
        assert np.abs(_probabilities(answer) - expected["probabilities"]).max() < 1e-5, name
    # The same pixels, however sent, are the same request: identical answers, class ids included.
    reference = answers["rows of nested lists"]
    assert answers["rows of b64"] == reference and answers["b64 and lists mixed"] == reference
    assert [row["class_ids"] for row in reference["predictions"]] == expected["class_ids"].tolist()
    assert answers["columns of b64"] == answers["columns of nested lists"]


def test_the_b64_bytes_become_the_pixels_row_by_row(port, digits):
    # The column signature returns the pixels as the model reads them: 784 floats per image, the bytes in order.
    body = {"signature_name": "pixel_values", "instances": [_b64(image) for image in digits[:2]]}
    status, answer = call(port, "POST", "/v1/models/digits:predict", body)
    assert status == 200
    assert np.array_equal(np.array(answer["predictions"]), digits[:2].reshape(2, 784).astype("float32"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"instances": [{"pixels": np.zeros((28, 27), int).tolist()}]},
            "feature 'pixels' must have shape [None, 28, 28] ([28, 28] per example; None is the batch), but has "
            "[1, 28, 27]",
        ),
        (
            {"inputs": {"pixels": [np.zeros((27, 28), int).tolist()]}},
            "must have shape [None, 28, 28] ([28, 28] per example",
        ),
        (
            {"instances": [{"pixels": {"b64": base64.b64encode(bytes(783)).decode()}}]},
            "feature 'pixels' must have shape [28, 28] per example (784 uint8 bytes in b64), but element 0 holds "
            "783 bytes",
        ),
        (
            {"inputs": {"pixels": [{"b64": base64.b64encode(bytes(784)).decode()}, {"b64": "AAAA"}]}},
            "but element 1 holds 3 bytes",
        ),
        ({"instances": [{"b64": "not base64!"}]}, "feature 'pixels': element [0] is not valid base64"),
    ],
    ids=["28x27 list", "27x28 columnar list", "783 bytes", "second image 3 bytes", "bad base64"],
)
def test_wrong_shapes_get_400_naming_the_expected_shape(port, digits, body, message):
    status, answer = call(port, "POST", "/v1/models/digits:predict", body)
    assert status == 400
    assert message in answer["error"]
    status, _ = call(port, "POST", "/v1/models/digits:predict", {"instances": [_b64(digits[0])]})
    assert status == 200  # a bad request never stops the server


def test_an_embedding_signature_is_served_by_name_and_listed_in_metadata(tmp_path):
    columns = [fc.NumericColumn("x"), fc.EmbeddingColumn(fc.IdentityColumn("id", num_buckets=5), dimension=3)]
    model = models.dnn(columns, heads.RegressionHead(), hidden_units=[4])
    table = embedding_tables(model)["id_embedding"].variable.numpy()
    base = str(tmp_path / "items")
    export.export_saved_model(model, base, column_signatures={"embedding": "id_embedding"})
    instances = [{"x": 0.5, "id": 3}, {"x": -1.0, "id": 0}, {"x": 2.0, "id": 3}]
    with _running(base, "items") as port:
        body = {"signature_name": "embedding", "instances": instances}
        status, answer = call(port, "POST", "/v1/models/items:predict", body)
        assert status == 200
        # One output, so TF Serving's format leaves its name out: the vectors of ids 3, 0, 3 are rows 3, 0, 3.
        np.testing.assert_allclose(answer["predictions"], table[[3, 0, 3]], atol=1e-6)
        status, answer = call(port, "POST", "/v1/models/items:predict", {"instances": instances})
        served = np.array(answer["predictions"]).reshape(-1)
        in_memory = np.asarray(model({"x": tf.constant([0.5, -1.0, 2.0]), "id": tf.constant([3, 0, 3])})).reshape(-1)
        assert status == 200 and np.abs(served - in_memory).max() < 1e-5
        status, metadata = call(port, "GET", "/v1/models/items/metadata")
    assert status == 200
    embedding = metadata["metadata"]["signature_def"]["signature_def"]["embedding"]
    assert sorted(embedding["inputs"]) == ["id", "x"]
    assert list(embedding["outputs"]) == ["id_embedding"]
    assert embedding["outputs"]["id_embedding"]["tensor_shape"]["dim"][1]["size"] == "3"
