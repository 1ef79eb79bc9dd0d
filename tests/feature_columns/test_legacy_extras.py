"""`feature_columns.legacy`'s `normalizer_fn`, `hash_key` and `sequence_*` columns."""

import json

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
import tfkit
from feature_columns import legacy
from feature_columns.sequence import SequenceCategoricalColumn
from feature_columns.testing import check_column


def halve_around_three(x):
    return (x - 3.0) / 2.0


def test_normalizer_fn_is_applied_in_the_preprocessing():
    column = legacy.numeric_column("x", default_value=7.0, normalizer_fn=halve_around_three)
    output = fc.FeatureLayer([column])({"x": tf.constant([1.0, 5.0, np.nan])})
    # (1 - 3) / 2 = -1; (5 - 3) / 2 = 1; a blank is the default 7 first: (7 - 3) / 2 = 2.
    np.testing.assert_allclose(output.numpy().ravel(), [-1.0, 1.0, 2.0])


def test_normalizer_fn_comes_before_clip_and_bucketizing_as_in_tf():
    column = legacy.numeric_column("x", normalizer_fn=halve_around_three)
    # Buckets of the normalized value: 1 -> -1 (bucket 0, below 0), 5 -> 1 (bucket 1), 9 -> 3 (bucket 2, >= 2).
    bucketized = legacy.bucketized_column(column, [0.0, 2.0])
    ids = fc.FeatureLayer([legacy.indicator_column(bucketized)]).preprocessor({"x": tf.constant([1.0, 5.0, 9.0])})
    assert ids["x_bucketized_indicator"].numpy().ravel().tolist() == [0, 1, 2]


def test_normalizer_fn_columns_pass_the_conformance_checks(tmp_path):
    # Config round trip (the function recorded by name, found again), tf.data, ragged input, .keras reload.
    features = {"x": np.array([1.0, 2.0, 5.0], "float32"), "v": np.arange(6, dtype="float32").reshape(3, 2)}
    check_column(legacy.numeric_column("x", normalizer_fn=halve_around_three), features, str(tmp_path))
    check_column(legacy.numeric_column("v", shape=2, normalizer_fn=tf.math.log1p), features, str(tmp_path))


def test_a_normalizer_fn_is_recorded_by_name():
    config = fc.serialize(legacy.numeric_column("x", normalizer_fn=halve_around_three))
    assert config["class_name"] == "LegacyNumericColumn"
    assert config["config"]["normalizer_fn"] == f"{__name__}.halve_around_three"
    assert json.loads(json.dumps(config)) == config  # estimator.json can hold it


def test_a_config_naming_a_function_this_process_lacks_is_refused():
    # As a model_dir reopened in a new process where no column was made with the function.
    config = fc.serialize(legacy.numeric_column("x", normalizer_fn=halve_around_three))
    config["config"]["normalizer_fn"] = "old_program.scale_fare"
    with pytest.raises(
        ValueError,
        match=r"^LegacyNumericColumn\('x'\): `normalizer_fn` 'old_program.scale_fare' is not a function of this "
        r"process\. A model written with a Python `normalizer_fn` needs the same function to be reopened",
    ):
        fc.from_config(config)


@pytest.mark.parametrize(
    ("normalizer_fn", "error", "message"),
    [
        ("not callable", ValueError, r"`normalizer_fn` 'not callable' is not a function of this process"),
        (3.0, TypeError, r"`normalizer_fn` must be a function of the value.*Received: normalizer_fn=3.0"),
        (lambda x: tf.reduce_sum(x, axis=1), ValueError, r"must return floats of the value's shape, \[batch, 2\]"),
        (lambda x: tf.cast(x > 0, tf.int64), ValueError, r"must return floats.*Received: int64"),
    ],
)
def test_bad_normalizer_fns_are_refused(normalizer_fn, error, message):
    with pytest.raises(error, match=message):
        column = legacy.numeric_column("v", shape=2, normalizer_fn=normalizer_fn)
        fc.FeatureLayer([column])({"v": tf.zeros([3, 2])})


def test_a_model_dir_reopened_without_the_normalizer_fn_names_the_difference(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "label": [2.0, 4.0, 6.0, 8.0]})
    config = tfkit.RunConfig(model_dir=str(tmp_path), tf_random_seed=0)
    columns = [legacy.numeric_column("x", normalizer_fn=halve_around_three)]
    tfkit.LinearRegressor(columns, config=config).train(frame, verbose=0)
    with pytest.raises(ValueError, match=r"holds checkpoints of a different model(.|\n)*feature_columns\['x'\]"):
        tfkit.LinearRegressor([legacy.numeric_column("x")], config=config)
    reopened = tfkit.LinearRegressor(columns, config=config)  # with the function: restored
    assert reopened.trained


def test_hash_key_takes_tf_feature_columns_default_only():
    default = legacy.crossed_column(["a", "b"], 1000)
    assert legacy.crossed_column(["a", "b"], 1000, hash_key=legacy.DEFAULT_HASH_KEY) == default
    # The ids are those of tf's op given that key explicitly (another key gives others: 1000 buckets).
    a, b = tf.constant(["x", "y", "z", "w"]), tf.constant(["p", "q", "r", "s"])
    ids = fc.FeatureLayer([legacy.indicator_column(default)]).preprocessor({"a": a, "b": b})["a_X_b_indicator"]
    for key, same in ((legacy.DEFAULT_HASH_KEY, True), (7, False)):
        keyed = tf.sparse.cross_hashed([a[:, None], b[:, None]], num_buckets=1000, hash_key=key)
        assert (ids.numpy().ravel().tolist() == tf.sparse.to_dense(keyed).numpy().ravel().tolist()) == same
    with pytest.raises(ValueError, match=r"`hash_key` other than .* 0xdecafcaffe, is not supported.*hash_key=7"):
        legacy.crossed_column(["a", "b"], 10, hash_key=7)


def test_sequence_categorical_columns_give_ids_per_position():
    vocabulary = legacy.sequence_categorical_column_with_vocabulary_list("w", ["a", "b"], sequence_length=3)
    identity = legacy.sequence_categorical_column_with_identity("n", 5, sequence_length=3)
    hashed = legacy.sequence_categorical_column_with_hash_bucket("h", 7, sequence_length=2)
    layer = fc.FeatureLayer([legacy.embedding_column(c, dimension=2) for c in (vocabulary, identity, hashed)])
    ids = layer.preprocessor(
        {
            "w": tf.ragged.constant([["b", "a", "a", "b"], ["a"]]),
            "n": tf.constant([[4, 0, -1], [2, -1, -1]], tf.int64),
            "h": tf.ragged.constant([["x"], ["x", "y", "z"]]),
        }
    )
    # tf's vocabulary ids a -> 0, b -> 1 without OOV buckets; cut to 3 positions, padded with no id (-1).
    assert ids["w_embedding"].numpy().tolist() == [[1, 0, 0], [0, -1, -1]]
    assert ids["n_embedding"].numpy().tolist() == [[4, 0, -1], [2, -1, -1]]
    x, y = (tf.strings.to_hash_bucket_fast([token], 7).numpy()[0] for token in ("x", "y"))  # tf's FarmHash ids
    assert ids["h_embedding"].numpy().tolist() == [[x, -1], [x, y]]
    # One 2-d vector per position, as tf's SequenceFeatures gave (it ignored the combiner).
    output = layer({"w": tf.constant([["a", ""]]), "n": tf.constant([[1]]), "h": tf.constant([["x"]])})
    assert output.shape == (1, 2 * 3 + 2 * 3 + 2 * 2)  # 2-d vectors: 3 + 3 + 2 positions


def test_sequence_columns_pass_the_conformance_checks(tmp_path):
    vocabulary = tmp_path / "words.txt"
    vocabulary.write_text("a\nb\nc\n")
    words = legacy.sequence_categorical_column_with_vocabulary_file("w", str(vocabulary), sequence_length=4)
    features = {
        "w": np.array([["a", "c", "", ""], ["b", "a", "c", "b"], ["", "", "", ""]]),
        "p": np.array([[1.0, 2.0, 3.0, 0.0], [4.0, 0.0, 0.0, 0.0], [5.0, 6.0, 7.0, 8.0]], "float32"),
    }
    check_column(legacy.embedding_column(words, dimension=3), features, str(tmp_path))
    check_column(legacy.sequence_numeric_column("p", shape=2, sequence_length=3), features, str(tmp_path))


def test_sequence_numeric_column_cuts_and_pads_with_zeros():
    prices = legacy.sequence_numeric_column("p", sequence_length=3)
    output = fc.FeatureLayer([prices])({"p": tf.ragged.constant([[1.0, 2.0, 3.0, 4.0], [5.0]])})
    assert output.numpy().tolist() == [[1.0, 2.0, 3.0], [5.0, 0.0, 0.0]]


def test_sequence_columns_feed_a_sequence_model():
    # The text model's sequence mode, from tf.feature_column's names: per-position embeddings into a DNN.
    words = legacy.sequence_categorical_column_with_vocabulary_list(
        "words", ["good", "bad", "film"], num_oov_buckets=1, sequence_length=4
    )
    frame = pd.DataFrame({"words": [["good", "film"], ["bad", "film", "bad"]] * 8, "label": [1, 0] * 8})
    estimator = tfkit.DNNClassifier([4], [legacy.embedding_column(words, dimension=3)], config={"seed": 0})
    estimator.train(frame, epochs=1, verbose=0)
    assert estimator.predict_batch(frame)["probabilities"].shape == (16, 2)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: legacy.sequence_categorical_column_with_identity("n", 5),
            ValueError,
            r"^sequence_categorical_column_with_identity\('n'\): `sequence_length` must be given",
        ),
        (
            lambda: legacy.indicator_column(
                legacy.sequence_categorical_column_with_identity("n", 5, sequence_length=2)
            ),
            ValueError,
            r"^indicator_column\('n'\): `categorical_column` must not be a sequence column",
        ),
        (
            lambda: legacy.sequence_numeric_column("p", default_value=-1.0, sequence_length=2),
            ValueError,
            r"`normalizer_fn` must be None and `default_value` 0.0.*default_value=-1.0",
        ),
        (
            lambda: legacy.sequence_numeric_column("p", normalizer_fn=halve_around_three, sequence_length=2),
            ValueError,
            r"`normalizer_fn` must be None",
        ),
        (
            lambda: SequenceCategoricalColumn(fc.IdentityColumn("n", 5), sequence_length=2),
            ValueError,
            r"`categorical_column` must hold several values per example \(`multivalent=True`\)",
        ),
    ],
)
def test_sequence_column_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()
