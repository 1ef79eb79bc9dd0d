"""`column_signatures`: extra SavedModel signatures returning one dense column's output, and their refusals."""

import os

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
from feature_columns.integration import embedding_tables
from tfkit import Estimator, export, heads, models

EMBEDDING = fc.EmbeddingColumn(fc.IdentityColumn("id", num_buckets=5), dimension=3)
# Row i of the table is [3i, 3i + 1, 3i + 2] / 10, so each vector below can be read off by hand.
TABLE = np.arange(15, dtype="float32").reshape(5, 3) / 10
FEATURES = {
    "x": tf.constant([[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, -1.0, 2.0], [0.0, 0.0, 0.0, 0.0]]),
    "id": tf.constant([4, 0, 2], tf.int64),
}


def _model(sequential: bool = False):
    model = models.dnn(
        [fc.NumericColumn("x", shape=(4,)), EMBEDDING], heads.RegressionHead(), hidden_units=[4], sequential=sequential
    )
    embedding_tables(model)[EMBEDDING.name].variable.assign(TABLE)
    return model


@pytest.mark.parametrize("sequential", [False, True], ids=["functional", "sequential"])
def test_embedding_signature_returns_the_table_rows_and_serving_default_is_unchanged(sequential, tmp_path):
    model = _model(sequential)
    path = export.export_saved_model(
        model, tmp_path / "m", column_signatures={"embedding": "id_embedding", "x_values": "x"}
    )
    loaded = tf.saved_model.load(path)
    assert sorted(loaded.signatures) == ["embedding", "predict", "regression", "serving_default", "x_values"]
    _, specs = loaded.signatures["embedding"].structured_input_signature
    assert {k: (s.shape.as_list(), s.dtype.name) for k, s in specs.items()} == {
        "id": ([None], "int64"),
        "x": ([None, 4], "float32"),
    }

    embedding = loaded.signatures["embedding"](**FEATURES)
    assert list(embedding) == ["id_embedding"]
    # ids [4, 0, 2] pick rows 4, 0 and 2: [12, 13, 14] / 10, [0, 1, 2] / 10 and [6, 7, 8] / 10.
    expected = [[1.2, 1.3, 1.4], [0.0, 0.1, 0.2], [0.6, 0.7, 0.8]]
    np.testing.assert_allclose(embedding["id_embedding"].numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(embedding["id_embedding"].numpy(), TABLE[[4, 0, 2]], atol=0)
    # A numeric column without normalization gives its raw values: each signature has its own column.
    np.testing.assert_allclose(loaded.signatures["x_values"](**FEATURES)["x"].numpy(), FEATURES["x"].numpy())

    served = loaded.signatures["serving_default"](**FEATURES)["predictions"].numpy().reshape(-1)
    in_memory = np.asarray(model(FEATURES)).reshape(-1)
    assert np.abs(served - in_memory).max() < 1e-5


def test_predictor_calls_a_column_signature_by_name(tmp_path):
    base = tmp_path / "m"
    export.export_saved_model(_model(), base, column_signatures={"embedding": "id_embedding"})
    predictor = export.load(base)
    data = {"x": FEATURES["x"].numpy(), "id": [4, 0, 2]}
    np.testing.assert_allclose(predictor(data, signature_name="embedding")["id_embedding"], TABLE[[4, 0, 2]])
    assert predictor(data)["predictions"].shape == (3,)
    with pytest.raises(ValueError, match=r"`signature_name` must name a signature taking raw features, one of "):
        predictor(data, signature_name="predict")  # takes serialized tf.Examples


def test_estimator_passes_column_signatures_through(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.uniform(0, 5, 64), "id": rng.integers(0, 5, 64)})
    frame["y"] = frame.x + frame.id
    columns = [fc.NumericColumn("x"), EMBEDDING]
    estimator = Estimator(columns, "regression", label="y", model_params={"hidden_units": [4]}, seed=0)
    estimator.train(frame, epochs=1, verbose=0)
    path = estimator.export_saved_model(str(tmp_path / "e"), column_signatures={"embedding": "id_embedding"})
    vectors = tf.saved_model.load(path).signatures["embedding"](
        x=tf.constant([0.0, 1.0]), id=tf.constant([3, 1], tf.int64)
    )["id_embedding"]
    table = embedding_tables(estimator.model)["id_embedding"].variable.numpy()
    np.testing.assert_allclose(vectors.numpy(), table[[3, 1]], atol=1e-6)


@pytest.mark.parametrize(
    ("column_signatures", "message"),
    [
        ({"embedding": "id_emb"}, r"must name dense columns of the model, \['x', 'id_embedding'\]\..*'id_emb'"),
        (
            {"embedding": "id"},
            r"'id' \(IdentityColumn\) gives ids, not dense values\. Name the column built from it: \['id_embedding'\]",
        ),
        ({"serving_default": "id_embedding"}, r"must not name a built-in signature .*Rename \['serving_default'\]"),
        ({"predict": "id_embedding"}, r"Rename \['predict'\]"),
        ({"regression": "id_embedding"}, r"Rename \['regression'\]"),
        ({"classification": "id_embedding"}, r"Rename \['classification'\]"),  # even where the head has none
        (["id_embedding"], r"`column_signatures` must be a dict of signature name to dense column name"),
        ({"": "id_embedding"}, r"`column_signatures` must be a dict of signature name to dense column name"),
        ({"embedding": EMBEDDING}, r"`column_signatures` must be a dict of signature name to dense column name"),
    ],
)
def test_bad_column_signatures_are_refused_before_anything_is_written(column_signatures, message, tmp_path):
    model = _model()
    base = tmp_path / "m"
    first = export.export_saved_model(model, base)
    before = sorted(os.listdir(base)), sorted(os.listdir(first))
    with pytest.raises(ValueError, match=message):
        export.export_saved_model(model, base, column_signatures=column_signatures)
    assert (sorted(os.listdir(base)), sorted(os.listdir(first))) == before == (["1"], before[1])
    with pytest.raises(ValueError, match=message):
        export.export_saved_model(model, tmp_path / "new", column_signatures=column_signatures)
    assert not os.path.exists(tmp_path / "new")
