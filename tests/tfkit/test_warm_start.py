"""Warm start: a model starts from an earlier model_dir, SavedModel or .keras file, across vocabularies."""

import logging
import os
import shutil

import keras
import numpy as np
import pandas as pd
import pytest

import feature_columns as fc
from tfkit import Estimator
from tfkit.estimator.warm_start import warm_start
from tfkit.heads import RegressionHead
from tfkit.models import dnn, split

OFFSETS = {"nyc": 2.0, "sf": -1.0, "la": 0.5, "paris": 1.5, "rome": -2.0}
TABLE = "city_embedding/embeddings"


def frame(cities, rows=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice(cities, rows)
    x = rng.uniform(-1, 1, rows)
    return pd.DataFrame({"x": x, "city": city, "y": 2 * x + np.vectorize(OFFSETS.get)(city)})


def columns(vocabulary=None) -> list:
    city = fc.VocabularyColumn("city", vocabulary) if vocabulary else fc.VocabularyColumn("city", max_tokens=5)
    return [fc.NumericColumn("x"), fc.EmbeddingColumn(city, dimension=3)]


def estimator(model_dir, cols, **kwargs) -> Estimator:
    kwargs.setdefault("learning_rate", 0.05)
    return Estimator(
        cols, "regression", label="y", model_params={"hidden_units": [8]}, model_dir=str(model_dir), **kwargs
    )


def weights(model) -> dict:
    _, core = split(model)
    return {v.path: keras.ops.convert_to_numpy(v) for v in core.weights}


def model_of(cols, hidden_units=(8,)):
    layer = fc.FeatureLayer(cols)
    if layer.needs_adapt:
        layer.adapt(frame(["la", "paris", "nyc"]))
    return dnn(layer, RegressionHead(), hidden_units=hidden_units)


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A trained Estimator's model_dir, vocabulary nyc, sf, la, rome; and its weights."""
    model_dir = tmp_path_factory.mktemp("earlier")
    trained = estimator(model_dir, columns(["nyc", "sf", "la", "rome"]), seed=0)
    trained.train(frame(["nyc", "sf", "la", "rome"]), epochs=3, batch_size=32, verbose=0)
    return model_dir, trained


def test_an_estimator_warm_starts_the_whole_model_or_the_variables_a_pattern_selects(tmp_path, earlier):
    model_dir, trained = earlier
    expected = weights(trained.model)
    assert set(expected) == {TABLE, "hidden_0/kernel", "hidden_0/bias", *(p for p in expected if "head" in p)}
    data = frame(["nyc", "sf", "la", "rome"], seed=1)

    # A zero learning rate keeps what the warm start set through the training step.
    whole = estimator(
        tmp_path / "whole", columns(["nyc", "sf", "la", "rome"]), warm_start_from=str(model_dir), learning_rate=0.0
    )
    whole.train(data, steps=1, verbose=0)
    for path, value in weights(whole.model).items():
        np.testing.assert_array_equal(value, expected[path], err_msg=path)

    partial = estimator(
        tmp_path / "partial",
        columns(["nyc", "sf", "la", "rome"]),
        warm_start_from=(model_dir, "embedding"),
        learning_rate=0.0,
    )
    partial.train(data, steps=1, verbose=0)
    started = weights(partial.model)
    np.testing.assert_array_equal(started[TABLE], expected[TABLE])
    assert not np.array_equal(started["hidden_0/kernel"], expected["hidden_0/kernel"])  # fresh


def test_a_changed_vocabulary_is_matched_by_token_from_a_model_dir_a_keras_file_or_a_saved_model(
    tmp_path, earlier, caplog
):
    model_dir, trained = earlier
    trained.model.save(tmp_path / "earlier.keras")
    export = trained.export_saved_model(str(tmp_path / "export"))
    old = weights(trained.model)[TABLE]  # rows: OOV, nyc, sf, la, rome
    for source in (model_dir, tmp_path / "earlier.keras", export):
        model = model_of(columns(["la", "paris", "nyc"]))
        initial = weights(model)[TABLE]  # rows: OOV, la, paris, nyc
        caplog.clear()
        with caplog.at_level(logging.INFO):
            started = warm_start(model, source)
        assert started == sorted(weights(model))
        table = weights(model)[TABLE]
        np.testing.assert_array_equal(table[[0, 1, 3]], old[[0, 3, 1]])  # OOV, la, nyc
        np.testing.assert_array_equal(table[2], initial[2])  # paris is new: it keeps its fresh row
        assert "3 matched, 1 new (freshly initialised), 2 dropped" in caplog.text  # sf and rome dropped
        np.testing.assert_array_equal(weights(model)["hidden_0/kernel"], weights(trained.model)["hidden_0/kernel"])


@pytest.mark.parametrize("from_export", [False, True])
def test_an_estimator_with_a_relearned_vocabulary_keeps_each_citys_vector(tmp_path, from_export):
    old_data, new_data = frame(["nyc", "sf", "la"]), frame(["la", "paris", "nyc", "nyc"], seed=3)
    old = estimator(tmp_path / "old", columns()).train(old_data, epochs=2, verbose=0)
    # The export records the vocabulary adapt learned, as the model_dir does.
    source = old.export_saved_model(str(tmp_path / "export")) if from_export else tmp_path / "old"
    new = estimator(tmp_path / "new", columns(), warm_start_from=source, learning_rate=0.0)
    new.train(new_data, steps=1, verbose=0)

    def vectors(est, cities):
        preprocessor, _ = split(est.model)
        ids = preprocessor({"x": np.zeros(len(cities)), "city": np.array(cities)})["city_embedding"].numpy().ravel()
        return weights(est.model)[TABLE][ids], preprocessor.state["city"]["vocabulary"]

    (old_vectors, old_vocabulary), (new_vectors, new_vocabulary) = (
        vectors(old, ["nyc", "la"]),
        vectors(new, ["nyc", "la"]),
    )
    assert old_vocabulary != new_vocabulary  # each adapted to its own data
    np.testing.assert_array_equal(new_vectors, old_vectors)


def test_a_saved_model_exported_before_vocabularies_were_recorded_is_copied_in_order(tmp_path, earlier, caplog):
    _, trained = earlier
    base = tmp_path / "export"
    version = trained.export_saved_model(str(base))
    os.remove(os.path.join(version, "assets.extra", "feature_columns.json"))  # as tfkit exported before recording it
    same = model_of(columns(["nyc", "sf", "la", "rome"]))
    with caplog.at_level(logging.WARNING):
        warm_start(same, base)  # the base folder: its highest version
    for path, value in weights(same).items():
        np.testing.assert_array_equal(value, weights(trained.model)[path], err_msg=path)
    assert f"({TABLE!r}): the SavedModel" in caplog.text and "does not record the vocabulary" in caplog.text

    with pytest.raises(ValueError, match=r"same shape in the SavedModel.*city_embedding/embeddings: \(4, 3\) here"):
        warm_start(model_of(columns(["la", "paris", "nyc"])), base)


def test_a_frozen_table_transferred_from_a_saved_model_stays_byte_identical_in_an_estimator(tmp_path):
    rng = np.random.default_rng(0)
    day, hour = rng.integers(0, 7, 600), rng.integers(0, 24, 600)
    traffic = pd.DataFrame({"day": day, "hour": hour, "temperature": rng.normal(15, 8, 600)})
    traffic["y"] = 1.0 + 2.0 * (((hour == 8) | (hour == 17)) & (day < 5)) + traffic["temperature"] / 10

    def day_hour(**kwargs):
        ids = (fc.IdentityColumn("day", num_buckets=7), fc.IdentityColumn("hour", num_buckets=24))
        return fc.EmbeddingColumn(fc.CrossedColumn(ids, num_bins=168, name="day_hr"), dimension=4, **kwargs)

    london = estimator(tmp_path / "london", [day_hour()]).train(traffic, epochs=2, verbose=0)
    export = london.export_saved_model(str(tmp_path / "export"))
    source = fc.PretrainedModel(export, column="day_hr_embedding")
    frankfurt = estimator(
        tmp_path / "frankfurt", [day_hour(trainable=False, pretrained=source), fc.NumericColumn("temperature")]
    )
    frankfurt.train(traffic, epochs=2, verbose=0)
    table = "day_hr_embedding/embeddings"
    assert weights(frankfurt.model)[table].tobytes() == weights(london.model)[table].tobytes()
    assert weights(frankfurt.model)["hidden_0/kernel"].shape == (5, 8)  # 4 embedding values and the temperature


def test_bad_warm_starts_are_explained_before_anything_changes(tmp_path, earlier):
    model_dir, _ = earlier
    model = model_of(columns(["nyc", "sf", "la", "rome"]), hidden_units=(8, 4))
    before = weights(model)
    with pytest.raises(ValueError, match=r"`variables` must match at least one variable path.*'hidden_0/kernel'"):
        warm_start(model, model_dir, variables="^nothing")
    with pytest.raises(ValueError, match=r"must exist in the model_dir.*\['hidden_1/kernel', 'hidden_1/bias'"):
        warm_start(model, model_dir)
    wider = model_of(columns(["nyc", "sf", "la", "rome"]), hidden_units=(16,))
    with pytest.raises(ValueError, match=r"same shape.*'hidden_0/kernel: \(4, 16\) here, \(4, 8\) there'"):
        warm_start(wider, model_dir)
    for path, value in weights(model).items():
        np.testing.assert_array_equal(value, before[path])

    with pytest.raises(ValueError, match=r"`source` must be an Estimator model_dir.*Received: source='.*nowhere'"):
        warm_start(model, tmp_path / "nowhere")
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    shutil.copy(model_dir / "estimator.json", untrained)
    with pytest.raises(ValueError, match=r"has no model.weights.h5 yet\. Train that Estimator first"):
        warm_start(model, untrained)
    with pytest.raises(TypeError, match=r"`warm_start_from` must be the path of an earlier model_dir"):
        estimator(tmp_path / "e", columns(["a"]), warm_start_from=3)
    with pytest.raises(ValueError, match=r"`variables` must be a regular expression.*Received: variables='\['"):
        estimator(tmp_path / "e", columns(["a"]), warm_start_from=(model_dir, "["))
