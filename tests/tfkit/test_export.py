"""Export: versioned and atomic, TF Serving's signatures, parity between them and with the in-memory model."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
from tfkit import Estimator, RegressionHead, export, heads, models


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": rng.uniform(0, 5, 256), "day": rng.integers(0, 7, 256), "s": rng.choice(["p", "q"], 256)}
    )
    frame["y"] = frame.x * 2 + frame.day
    columns = [
        fc.NumericColumn("x", normalization="zscore"),
        fc.EmbeddingColumn(fc.IdentityColumn("day", num_buckets=7)),
        fc.IndicatorColumn(fc.HashedColumn("s", num_bins=3)),
    ]
    estimator = Estimator(columns, "regression", label="y", model_params={"hidden_units": [8]}, seed=0)
    return estimator.train(frame, epochs=2, verbose=0), frame


def _example(row: dict) -> bytes:
    """A serialized tf.Example, the way a client of TF Serving's Classify/Regress APIs builds one."""

    def feature(value):
        values = value if isinstance(value, list) else [value]
        if not values or isinstance(values[0], str):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))
        if isinstance(values[0], int):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))

    proto = {key: feature(value) for key, value in row.items()}
    return tf.train.Example(features=tf.train.Features(feature=proto)).SerializeToString()


def _rows(frame: pd.DataFrame) -> list:
    return [{"x": float(r.x), "day": int(r.day), "s": str(r.s)} for r in frame.itertuples()]


def test_signature_takes_raw_scalars_and_matches_the_model(trained, tmp_path):
    estimator, frame = trained
    path = estimator.export_saved_model(str(tmp_path / "fares"))
    assert path == str(tmp_path / "fares" / "1")
    serving = tf.saved_model.load(path).signatures["serving_default"]
    _, specs = serving.structured_input_signature
    assert {k: (s.shape.as_list(), s.dtype.name) for k, s in specs.items()} == {
        "x": ([None], "float32"),
        "day": ([None], "int64"),
        "s": ([None], "string"),
    }
    out = serving(x=tf.constant(frame.x, tf.float32), day=tf.constant(frame.day), s=tf.constant(frame.s.astype(str)))
    expected = estimator.predict_batch(frame)["predictions"]
    assert np.abs(out["predictions"].numpy() - expected).max() < 1e-4


def test_example_signatures_follow_tf_servings_contract_and_match_the_model(trained, tmp_path):
    estimator, frame = trained
    signatures = tf.saved_model.load(estimator.export_saved_model(str(tmp_path))).signatures
    assert sorted(signatures) == ["predict", "regression", "serving_default"]  # no probabilities: no classify
    # Regress reads serialized tf.Examples from `inputs` and answers one float per example in `outputs`.
    regression = signatures["regression"]
    assert {k: (s.shape.as_list(), s.dtype) for k, s in regression.structured_input_signature[1].items()} == {
        "inputs": ([None], tf.string)
    }
    assert {k: (s.shape.as_list(), s.dtype) for k, s in regression.structured_outputs.items()} == {
        "outputs": ([None], tf.float32)
    }
    serialized = tf.constant([_example(row) for row in _rows(frame)])
    expected = estimator.predict_batch(frame)["predictions"]
    assert np.abs(regression(inputs=serialized)["outputs"].numpy() - expected).max() < 1e-4
    assert np.abs(signatures["predict"](examples=serialized)["predictions"].numpy() - expected).max() < 1e-4


def test_a_missing_required_feature_in_an_example_is_an_error_naming_it(trained, tmp_path):
    estimator, frame = trained
    regression = tf.saved_model.load(estimator.export_saved_model(str(tmp_path))).signatures["regression"]
    row = _rows(frame)[0]
    del row["day"]  # `day` has no default_value, so it is a required feature
    with pytest.raises(tf.errors.InvalidArgumentError, match="day"):
        regression(inputs=tf.constant([_example(row)]))


def test_multivalent_features_are_batch_by_n_and_example_defaults_apply(tmp_path):
    columns = [fc.NumericColumn("v", shape=(3,)), fc.NumericColumn("x", default_value=2.0)]
    model = models.dnn(columns, RegressionHead(), hidden_units=[4])
    signatures = tf.saved_model.load(export.export_saved_model(model, str(tmp_path))).signatures
    specs = signatures["serving_default"].structured_input_signature[1]
    assert {k: s.shape.as_list() for k, s in specs.items()} == {"v": [None, 3], "x": [None]}
    v = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]], "float32")
    raw = signatures["serving_default"](v=tf.constant(v), x=tf.constant([2.0, 2.0]))["predictions"].numpy()
    # `x` is left out of the examples: parsing fills in its default_value, 2.0, as the raw call passed.
    examples = tf.constant([_example({"v": row.tolist()}) for row in v])
    np.testing.assert_allclose(signatures["predict"](examples=examples)["predictions"].numpy(), raw, atol=1e-6)
    np.testing.assert_allclose(raw, model({"v": v, "x": np.array([2.0, 2.0], "float32")}).numpy()[:, 0], atol=1e-6)


def test_a_binary_head_gets_a_classify_signature_with_its_label_names(tmp_path):
    model = models.dnn([fc.NumericColumn("x")], heads.BinaryHead(label_vocabulary=["cheap", "pricey"]), [4])
    signatures = tf.saved_model.load(export.export_saved_model(model, str(tmp_path))).signatures
    assert sorted(signatures) == ["classification", "predict", "serving_default"]
    x = np.array([-1.0, 0.0, 3.0], "float32")
    served = signatures["serving_default"](x=tf.constant(x))
    out = signatures["classification"](inputs=tf.constant([_example({"x": float(v)}) for v in x]))
    # TF Serving's Classify wants every class with its score: the head's [p(cheap), p(pricey)] per example.
    np.testing.assert_allclose(out["scores"].numpy(), served["probabilities"].numpy(), atol=1e-6)
    assert out["classes"].numpy().tolist() == [[b"cheap", b"pricey"]] * 3
    assert served["classes"].numpy().tolist() == [
        b"pricey" if p > 0.5 else b"cheap" for p in served["probabilities"].numpy()[:, 1]
    ]


def test_a_multiclass_head_without_vocabulary_names_classes_by_id(tmp_path):
    model = models.dnn([fc.NumericColumn("x")], heads.MultiClassHead(3), [4])
    signatures = tf.saved_model.load(export.export_saved_model(model, str(tmp_path))).signatures
    out = signatures["classification"](inputs=tf.constant([_example({"x": 1.0}), _example({"x": 2.0})]))
    assert out["classes"].numpy().tolist() == [[b"0", b"1", b"2"]] * 2
    np.testing.assert_allclose(out["scores"].numpy().sum(axis=1), [1.0, 1.0], atol=1e-6)  # softmax


def test_vocabularies_travel_inside_the_export(tmp_path):
    vocabulary_file = tmp_path / "cities.txt"
    vocabulary_file.write_text("nyc\nsf\nla\n")
    columns = [
        fc.EmbeddingColumn(fc.VocabularyColumn("city", str(vocabulary_file)), dimension=2),
        fc.IndicatorColumn(fc.VocabularyColumn("tags", ["a", "b", "c"], multivalent=True)),
    ]
    model = models.dnn(columns, RegressionHead(), [4])
    features = {"city": np.array(["sf", "la", "rome"]), "tags": np.array([["a", "c"], ["b", ""], ["", ""]])}
    expected = model(features).numpy()[:, 0]
    path = export.export_saved_model(model, str(tmp_path / "exports"))
    os.remove(vocabulary_file)  # what the model needs from it is inside the export now
    with open(os.path.join(path, "assets.extra", "feature_columns.json")) as file:
        assert json.load(file)["feature_state"]["city"] == {"vocabulary": ["nyc", "sf", "la"]}
    serving = tf.saved_model.load(path).signatures["serving_default"]
    served = serving(city=tf.constant(features["city"]), tags=tf.constant(features["tags"]))["predictions"]
    np.testing.assert_allclose(served.numpy(), expected, atol=1e-6)
    # Over tf.Example, multivalent features are lists of any length (padding is the parser's job).
    rows = [{"city": "sf", "tags": ["a", "c"]}, {"city": "la", "tags": ["b"]}, {"city": "rome", "tags": []}]
    examples = tf.constant([_example(row) for row in rows])
    predict = tf.saved_model.load(path).signatures["predict"]
    np.testing.assert_allclose(predict(examples=examples)["predictions"].numpy(), expected, atol=1e-6)


def test_the_export_records_its_columns_and_their_adapted_state(tmp_path):
    columns = [
        fc.NumericColumn("x", normalization="zscore"),
        fc.EmbeddingColumn(fc.VocabularyColumn("city", max_tokens=3), dimension=2),
    ]
    layer = fc.FeatureLayer(columns)
    layer.adapt(pd.DataFrame({"x": [1.0, 3.0, 5.0], "city": ["sf", "la", "sf"]}))
    path = export.export_saved_model(models.dnn(layer, RegressionHead(), [2]), str(tmp_path))
    with open(os.path.join(path, "assets.extra", "feature_columns.json")) as file:
        record = json.load(file)
    assert [fc.from_config(config) for config in record["feature_columns"]] == columns
    assert record["feature_state"]["city"] == {"vocabulary": ["sf", "la"]}  # max_tokens 3: 1 OOV id + 2 tokens
    assert record["feature_state"] == json.loads(json.dumps(layer.state))  # the statistics of x too


def test_saved_model_cli_lists_the_signatures(trained, tmp_path):
    estimator, _ = trained
    path = estimator.export_saved_model(str(tmp_path))
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--all", "--dir", path], capture_output=True, text=True, check=True).stdout
    for signature in ("serving_default", "predict", "regression"):
        assert f"signature_def['{signature}']" in shown
    for tensor in ("inputs['x']", "inputs['day']", "inputs['s']", "inputs['examples']", "inputs['inputs']"):
        assert tensor in shown
    assert "outputs['predictions']" in shown and "outputs['outputs']" in shown


def test_versions_increase_and_load_picks_the_latest(trained, tmp_path):
    estimator, frame = trained
    base = str(tmp_path / "fares")
    assert [os.path.basename(estimator.export_saved_model(base)) for _ in range(2)] == ["1", "2"]
    assert export.versions(base) == [1, 2]
    predictor = export.load(base)
    assert predictor.path.endswith(os.sep + "2")
    np.testing.assert_allclose(
        predictor(frame.head(5))["predictions"], estimator.predict_batch(frame.head(5))["predictions"], atol=1e-4
    )


def test_a_given_version_is_used_and_never_overwritten(trained, tmp_path):
    estimator, _ = trained
    assert estimator.export_saved_model(str(tmp_path), version=7) == str(tmp_path / "7")
    with pytest.raises(FileExistsError, match="version 7 already exists"):
        estimator.export_saved_model(str(tmp_path), version=7)
    assert os.path.basename(estimator.export_saved_model(str(tmp_path))) == "8"


@pytest.mark.parametrize("version", [-1, 1.5, "3", True])
def test_version_must_be_a_non_negative_integer(trained, tmp_path, version):
    estimator, _ = trained
    with pytest.raises(ValueError, match=r"`version` must be a non-negative integer. Received: version="):
        estimator.export_saved_model(str(tmp_path), version=version)
    assert os.listdir(tmp_path) == []


def test_only_tfkit_models_export(tmp_path):
    with pytest.raises(TypeError, match="`model_or_estimator` must be a trained Estimator"):
        export.export_saved_model("model.keras", str(tmp_path))


def test_failed_export_leaves_no_version_behind(trained, tmp_path, monkeypatch):
    estimator, _ = trained
    first = estimator.export_saved_model(str(tmp_path))
    written = []
    rename = os.rename

    def crash_after_writing(source, destination):
        if not os.path.basename(source).startswith(".tmp-"):
            return rename(source, destination)
        written.extend(os.listdir(os.path.join(source, "variables")))  # the variables are on disk ...
        raise OSError("disk full")  # ... when the process fails

    monkeypatch.setattr(os, "rename", crash_after_writing)
    with pytest.raises(OSError, match="disk full"):
        estimator.export_saved_model(str(tmp_path))
    assert "variables.index" in written
    assert os.listdir(tmp_path) == ["1"]  # no version 2, no staging folder
    assert export.load(str(tmp_path)).path == first


def test_sample_request_is_a_body_for_the_export(trained, tmp_path):
    estimator, _ = trained
    path = estimator.export_saved_model(str(tmp_path / "fares"))
    body = export.sample_request(str(tmp_path / "fares"), str(tmp_path / "request.json"))
    assert body == {"signature_name": "serving_default", "instances": [{"x": 0.0, "day": 0, "s": ""}]}
    with open(tmp_path / "request.json") as file:
        assert json.load(file) == body
    assert export.load(path)(pd.DataFrame(body["instances"]))["predictions"].shape == (1,)


def test_predictor_names_a_missing_feature(trained, tmp_path):
    estimator, frame = trained
    predictor = export.load(estimator.export_saved_model(str(tmp_path)))
    with pytest.raises(ValueError, match=r"prediction request: missing feature\(s\) \['day'\]"):
        predictor(frame[["x", "s"]])


def test_predictor_names_a_non_numeric_value(trained, tmp_path):
    estimator, _ = trained
    predictor = export.load(estimator.export_saved_model(str(tmp_path)))
    with pytest.raises(ValueError, match="feature 'x' must be numeric"):
        predictor({"x": ["three"], "day": [1], "s": ["p"]})
