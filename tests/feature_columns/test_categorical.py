"""Vocabulary, text, weighted, shared and multivalent columns: ids and dense outputs derived by hand."""

import os

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
from feature_columns import crossed
from tfkit.data import DEFAULT_DATA_DIR


def ids_of(column, features, state=None):
    """The ids a FeatureLayer's preprocessor gives an indicator of `column`."""
    layer = fc.FeatureLayer([fc.IndicatorColumn(column)], state=state)
    return layer.preprocessor(features)[f"{column.name}_indicator"].numpy()


def test_vocabulary_ids_put_oov_ids_first():
    column = fc.VocabularyColumn("city", ["nyc", "sf", "la"], num_oov_indices=2)
    ids = ids_of(column, {"city": np.array(["nyc", "la", "sf", "paris", "rome"])})
    # two OOV ids, then vocabulary[i] -> 2 + i: nyc 2, la 4, sf 3; unknown values hash into [0, 2)
    np.testing.assert_array_equal(ids[:3, 0], [2, 4, 3])
    assert set(ids[3:, 0]) <= {0, 1}


def test_vocabulary_without_oov_ids_gives_unknown_values_no_id():
    column = fc.VocabularyColumn("city", ["nyc", "sf"], num_oov_indices=0)
    assert column.num_buckets == 2
    out = fc.FeatureLayer([fc.IndicatorColumn(column)])({"city": np.array(["sf", "paris"])}).numpy()
    np.testing.assert_array_equal(out, [[0, 1], [0, 0]])  # paris: id -1, an all-zero indicator


def test_integer_vocabulary():
    column = fc.VocabularyColumn("zone", [30, 10, 20], dtype="int64")
    np.testing.assert_array_equal(ids_of(column, {"zone": np.array([10, 99, 30])})[:, 0], [2, 0, 1])


def test_adapted_vocabulary_is_ordered_by_frequency_and_capped_by_max_tokens():
    column = fc.VocabularyColumn("city", max_tokens=3)  # one OOV id + the two most frequent values
    layer = fc.FeatureLayer([fc.IndicatorColumn(column)])
    layer.adapt(pd.DataFrame({"city": pd.array(["b", "a", "b", "c", "b", "a", "d"], dtype="string")}))
    # counts: b 3, a 2, c 1, d 1 -> keep b, a
    assert layer.state["city"] == {"vocabulary": ["b", "a"]}
    ids = layer.preprocessor({"city": np.array(["a", "b", "c"])})["city_indicator"].numpy().ravel()
    np.testing.assert_array_equal(ids, [2, 1, 0])


def test_adapted_vocabulary_smaller_than_max_tokens_leaves_ids_unused():
    column = fc.VocabularyColumn("city", max_tokens=10)
    layer = fc.FeatureLayer([fc.IndicatorColumn(column)])
    layer.adapt({"city": ["x", "y", "x"]})
    assert layer.state["city"]["vocabulary"] == ["x", "y"]
    assert layer({"city": np.array(["y"])}).numpy().tolist() == [[0, 0, 1] + [0] * 7]  # width = max_tokens


def test_vocabulary_file_is_read_once_and_kept_in_the_state(tmp_path):
    path = tmp_path / "cities.txt"
    path.write_text("nyc\nsf\nla\n")
    column = fc.VocabularyColumn("city", str(path))
    assert column.vocabulary_size == 3 and column.num_buckets == 4
    layer = fc.FeatureLayer([fc.IndicatorColumn(column)])
    assert layer.state["city"] == {"vocabulary": ["nyc", "sf", "la"]}
    path.unlink()  # a config holds what it needs: no file at load time
    clone = fc.FeatureLayer.from_config(layer.get_config())
    np.testing.assert_array_equal(clone({"city": np.array(["la"])}), [[0, 0, 0, 1]])


def test_multivalent_ids_mark_padding_with_minus_one_and_ragged_input_matches():
    column = fc.VocabularyColumn("tags", ["kids", "pets"], multivalent=True)
    padded = ids_of(column, {"tags": np.array([["pets", "kids", ""], ["bags", "", ""]])})
    np.testing.assert_array_equal(padded, [[2, 1, -1], [0, -1, -1]])
    ragged = ids_of(column, {"tags": tf.ragged.constant([["pets", "kids"], ["bags"]])})
    np.testing.assert_array_equal(ragged, [[2, 1], [0, -1]])


@pytest.mark.parametrize(
    ("combiner", "expected"),
    [
        # rows of the table: 0 -> [0, 0], 1 -> [1, 10], 2 -> [2, 20], 3 -> [4, 40]
        ("sum", [[3.0, 30.0], [4.0, 40.0], [0.0, 0.0]]),  # ids {1, 2}: [1+2, 10+20]; {3}; none
        ("mean", [[1.5, 15.0], [4.0, 40.0], [0.0, 0.0]]),  # [3, 30] / 2
        ("sqrtn", [[3 / 2**0.5, 30 / 2**0.5], [4.0, 40.0], [0.0, 0.0]]),  # [3, 30] / sqrt(2)
    ],
)
def test_embedding_combiners_ignore_padding(combiner, expected):
    column = fc.EmbeddingColumn(fc.IdentityColumn("ids", 4, multivalent=True), dimension=2, combiner=combiner)
    layer = fc.FeatureLayer([column])
    layer.encoder.embeddings[column.name].set_weights([np.array([[0, 0], [1, 10], [2, 20], [4, 40]], "float32")])
    out = layer({"ids": np.array([[1, 2, -1], [3, -1, -1], [-1, -1, -1]])}).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_weighted_embedding_mean_divides_by_the_sum_of_weights():
    weighted = fc.WeightedCategoricalColumn(fc.IdentityColumn("ids", 3, multivalent=True), "w")
    column = fc.EmbeddingColumn(weighted, dimension=1)
    layer = fc.FeatureLayer([column])
    layer.encoder.embeddings[column.name].set_weights([np.array([[1.0], [2.0], [4.0]], "float32")])
    out = layer({"ids": np.array([[0, 2]]), "w": np.array([[3.0, 1.0]], "float32")}).numpy()
    np.testing.assert_allclose(out, [[(3 * 1.0 + 1 * 4.0) / (3 + 1)]])  # 7 / 4 = 1.75


def test_indicator_counts_repeated_ids():
    column = fc.IndicatorColumn(fc.HashedColumn("t", num_bins=1, multivalent=True))
    np.testing.assert_array_equal(fc.FeatureLayer([column])({"t": np.array([["a", "b", ""]])}), [[2.0]])


def test_max_norm_scales_long_vectors_down_at_lookup():
    column = fc.EmbeddingColumn(fc.IdentityColumn("i", 2), dimension=2, max_norm=2.0)
    layer = fc.FeatureLayer([column])
    layer.encoder.embeddings[column.name].set_weights([np.array([[3.0, 4.0], [0.6, 0.8]], "float32")])
    out = layer({"i": np.array([0, 1])}).numpy()
    np.testing.assert_allclose(out, [[1.2, 1.6], [0.6, 0.8]], rtol=1e-6)  # [3, 4] has norm 5: * 2/5; norm 1 stays
    np.testing.assert_allclose(layer.encoder.embeddings[column.name].get_weights()[0][0], [3.0, 4.0])  # table kept


def test_initializer_and_trainable_reach_the_table():
    column = fc.EmbeddingColumn(fc.IdentityColumn("i", 3), dimension=2, initializer="ones", trainable=False)
    layer = fc.FeatureLayer([column])
    table = layer.encoder.embeddings[column.name]
    np.testing.assert_array_equal(table.get_weights()[0], np.ones((3, 2)))
    assert not table.trainable and not layer.encoder.trainable_weights


def test_default_initializer_is_truncated_normal_with_stddev_one_over_sqrt_dimension():
    column = fc.EmbeddingColumn(fc.HashedColumn("h", 5000), dimension=16)
    table = fc.FeatureLayer([column]).encoder.embeddings[column.name].get_weights()[0]
    assert table.std() == pytest.approx(16**-0.5 * 0.88, rel=0.05)  # truncation at 2 stddev shrinks it by 0.88
    assert np.abs(table).max() <= 2 * 16**-0.5


def test_shared_embedding_columns_read_one_table():
    a, b = fc.IdentityColumn("a", 4), fc.IdentityColumn("b", 4)
    shared = fc.SharedEmbeddingColumns((a, b), dimension=2)
    layer = fc.FeatureLayer([shared])
    assert list(layer.encoder.embeddings) == [shared.name] and len(layer.encoder.weights) == 1
    layer.encoder.embeddings[shared.name].set_weights([np.arange(8.0).reshape(4, 2)])
    out = layer({"a": np.array([1, 3]), "b": np.array([0, 1])}).numpy()
    np.testing.assert_array_equal(out, [[2, 3, 0, 1], [6, 7, 2, 3]])  # row a | row b, same table


def test_shared_embeddings_train_one_table_from_both_columns():
    shared = fc.SharedEmbeddingColumns((fc.IdentityColumn("a", 3), fc.IdentityColumn("b", 3)), dimension=1)
    layer = fc.FeatureLayer([shared])
    table = layer.encoder.embeddings[shared.name]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer({"a": np.array([0]), "b": np.array([2])}))
    gradient = tf.convert_to_tensor(tape.gradient(loss, table.embeddings))
    np.testing.assert_array_equal(gradient.numpy().ravel(), [1.0, 0.0, 1.0])  # rows 0 (from a) and 2 (from b)


def test_text_bag_of_words_embedding_averages_the_tokens():
    text = fc.TextColumn("review", vocabulary=["good", "driver"])
    column = fc.EmbeddingColumn(text, dimension=1)
    layer = fc.FeatureLayer([column])
    layer.encoder.embeddings[column.name].set_weights([np.array([[100.0], [1.0], [2.0]], "float32")])
    out = layer({"review": np.array(["Good driver!", "GOOD", "late", ""])}).numpy().ravel()
    # ids: OOV 0, good 1, driver 2. "Good driver!" -> (1 + 2) / 2; "GOOD" -> 1; "late" -> OOV 100; "" -> no token, 0
    np.testing.assert_allclose(out, [1.5, 1.0, 100.0, 0.0])


def test_text_indicator_counts_tokens():
    column = fc.IndicatorColumn(fc.TextColumn("review", vocabulary=["good", "driver"]))
    out = fc.FeatureLayer([column])({"review": np.array(["good good driver, bad"])}).numpy()
    np.testing.assert_array_equal(out, [[1, 2, 1]])  # bad -> OOV once; good twice; driver once


def test_text_split_none_makes_each_text_one_token():
    column = fc.IndicatorColumn(fc.TextColumn("city", vocabulary=["new york", "boston"], split=None))
    out = fc.FeatureLayer([column])({"city": np.array(["New York", "Boston!", "nyc"])}).numpy()
    # standardized (lower case, no punctuation), then whole: "new york" id 1, "boston" id 2, "nyc" the OOV id 0
    np.testing.assert_array_equal(out, [[0, 1, 0], [0, 0, 1], [1, 0, 0]])


def test_text_tf_idf_weighs_each_token_by_its_inverse_document_frequency():
    text = fc.TextColumn("review", max_tokens=4, weighting="tf_idf")  # the OOV id + three tokens
    layer = fc.FeatureLayer([fc.IndicatorColumn(text)])
    layer.adapt({"review": ["a b a", "a", "c a", "d"]})
    # 4 documents; idf = log(1 + 4 / (1 + documents with the token)): a (3 documents, though seen 4 times)
    # log(2) = 0.6931, b c d (1) log(3) = 1.0986. b, c, d tie on count; the greater token first keeps d, c. OOV:
    # the mean of the three kept.
    idf_a, idf_rare = np.log(2.0), np.log(3.0)
    idf_oov = (idf_a + 2 * idf_rare) / 3
    assert layer.state["review"]["vocabulary"] == ["a", "d", "c"]
    np.testing.assert_allclose(layer.state["review"]["idf"], [idf_oov, idf_a, idf_rare, idf_rare], rtol=1e-6)
    out = layer({"review": np.array(["a a b z", "c", ""])}).numpy()
    # "a a b z": a twice, b and z unknown (OOV twice): 2 idf_oov, 2 idf_a; "c": idf_rare at id 3; "": nothing
    np.testing.assert_allclose(out, [[2 * idf_oov, 2 * idf_a, 0, 0], [0, 0, 0, idf_rare], [0, 0, 0, 0]], rtol=1e-6)

    embedding = fc.EmbeddingColumn(text, dimension=1, combiner="sqrtn")
    layer = fc.FeatureLayer([embedding], state=layer.state)
    layer.encoder.embeddings[embedding.name].set_weights([np.array([[0.0], [1.0], [10.0], [100.0]], "float32")])
    out = layer({"review": np.array(["a b", "c c"])}).numpy().ravel()
    # "a b": (idf_a * 1 + idf_oov * 0) / sqrt(idf_a^2 + idf_oov^2); "c c": 2 idf_rare 100 / sqrt(2 idf_rare^2)
    expected = [idf_a / np.sqrt(idf_a**2 + idf_oov**2), 2 * idf_rare * 100 / np.sqrt(2 * idf_rare**2)]
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    restored = fc.FeaturePreprocessor.from_config(layer.preprocessor.get_config())  # as a saved model reloads it
    np.testing.assert_allclose(
        restored({"review": np.array(["a b"])})["review_embedding_weights"].numpy(), [[idf_a, idf_oov]], rtol=1e-6
    )


def test_text_without_oov_ids_drops_unknown_tokens():
    text = fc.TextColumn("review", vocabulary=["good", "driver"], num_oov_indices=0)
    assert text.num_buckets == 2
    embedding = fc.EmbeddingColumn(text, dimension=1)
    layer = fc.FeatureLayer([fc.IndicatorColumn(text), embedding])
    layer.encoder.embeddings[embedding.name].set_weights([np.array([[1.0], [2.0]], "float32")])
    out = layer({"review": np.array(["good late driver", "late"])}).numpy()
    # ids: good 0, driver 1; "late" gets none. Indicator | mean embedding: (1 + 2) / 2, and nothing for "late"
    np.testing.assert_allclose(out, [[1, 1, 1.5], [0, 0, 0]])

    sequence = fc.TextColumn("review", max_tokens=3, num_oov_indices=0, output_sequence_length=3)
    layer = fc.FeatureLayer([fc.EmbeddingColumn(sequence, dimension=1, combiner=None)])
    layer.adapt({"review": ["a a a b b c c", "d"]})
    assert layer.state["review"]["vocabulary"] == ["a", "c", "b"]  # a 3, then b and c 2 (the greater first); d 1
    layer.encoder.embeddings["review_embedding"].set_weights([np.array([[1.0], [2.0], [3.0]], "float32")])
    out = layer({"review": np.array(["x c x a", "x"])}).numpy()
    np.testing.assert_allclose(out, [[2, 1, 0], [0, 0, 0]])  # ids c 1, a 0; the unknown x close up, then padding

    tf_idf = fc.TextColumn("review", max_tokens=2, num_oov_indices=0, weighting="tf_idf")
    layer = fc.FeatureLayer([fc.IndicatorColumn(tf_idf)])
    layer.adapt({"review": ["a b", "a", "a c"]})
    # no OOV id, so no OOV weight: a (3 of 3 documents) log(1 + 3/4); c (1, kept over b) log(1 + 3/2)
    np.testing.assert_allclose(layer.state["review"]["idf"], [np.log(1.75), np.log(2.5)], rtol=1e-6)
    np.testing.assert_allclose(layer({"review": np.array(["c z a"])}).numpy(), [[np.log(1.75), np.log(2.5)]], rtol=1e-6)


def test_text_l2_norm_scales_each_bag_to_unit_length():
    text = fc.TextColumn("review", vocabulary=["good", "driver", "fun"], num_oov_indices=0, norm="l2")
    embedding = fc.EmbeddingColumn(text, dimension=1, combiner="sum")
    layer = fc.FeatureLayer([fc.IndicatorColumn(text), embedding])
    layer.encoder.embeddings[embedding.name].set_weights([np.array([[1.0], [10.0], [100.0]], "float32")])
    out = layer({"review": np.array(["good good driver", "fun x", "x", ""])}).numpy()
    # "good good driver": counts [2, 1, 0] / sqrt(2^2 + 1^2) = [0.8944, 0.4472, 0] (the repeat adds up before the
    # square, not 1^2 + 1^2 + 1^2); sum embedding 0.8944 * 1 + 0.4472 * 10 = 5.3666. "fun x": [0, 0, 1], 100.
    # "x" and "": no known token, all zeros.
    expected = [[2 / 5**0.5, 1 / 5**0.5, 0, 2 / 5**0.5 + 10 / 5**0.5], [0, 0, 1, 100], [0, 0, 0, 0], [0, 0, 0, 0]]
    np.testing.assert_allclose(out, expected, rtol=1e-6)

    tf_idf = fc.TextColumn("review", max_tokens=3, weighting="tf_idf", norm="l2")  # the OOV id + two tokens
    layer = fc.FeatureLayer([fc.IndicatorColumn(tf_idf)])
    layer.adapt({"review": ["a b", "a", "a c"]})
    # 3 documents: a in 3, log(1 + 3/4) = 0.5596; b and c in 1, log(1 + 3/2) = 0.9163, c kept (the greater token)
    idf_a, idf_c = np.log(1.75), np.log(2.5)
    idf_oov = (idf_a + idf_c) / 2
    out = layer({"review": np.array(["a a z"])}).numpy()
    bag = np.array([idf_oov, 2 * idf_a, 0.0])  # z unknown (OOV id 0); a twice
    np.testing.assert_allclose(out, [bag / np.linalg.norm(bag)], rtol=1e-6)


def test_min_frequency_leaves_rarer_values_and_tokens_out_of_the_vocabulary():
    city = fc.VocabularyColumn("city", max_tokens=10, min_frequency=2)
    text = fc.TextColumn("review", max_tokens=10, min_frequency=2)
    layer = fc.FeatureLayer([fc.IndicatorColumn(city), fc.IndicatorColumn(text)])
    layer.adapt({"city": ["a", "a", "a", "b", "b", "c"], "review": ["good fun", "good", "dull", "good dull", "x", "y"]})
    assert layer.state["city"]["vocabulary"] == ["a", "b"]  # a 3 times, b 2; c once: left out, an OOV id
    assert layer.state["review"]["vocabulary"] == ["good", "dull"]  # good 3, dull 2; fun, x, y once
    with pytest.raises(ValueError, match=r"found no values at least min_frequency=9 times"):
        fc.FeatureLayer([fc.IndicatorColumn(fc.TextColumn("review", max_tokens=10, min_frequency=9))]).adapt(
            {"review": ["good fun", "good"]}
        )


def test_text_vocabulary_matches_keras_text_vectorization_on_real_reviews():
    path = os.path.join(DEFAULT_DATA_DIR, "text", "rotten_tomatoes.csv.bz2")
    reviews = pd.read_csv(path)["text"].dropna().to_numpy(str)
    reviews = reviews[reviews != ""]
    text = fc.TextColumn("review", max_tokens=3000, ngrams=2)
    layer = fc.FeatureLayer([fc.IndicatorColumn(text)])
    layer.adapt({"review": reviews})
    keras_layer = keras.layers.TextVectorization(max_tokens=3001, ngrams=2)  # + its mask; its OOV is our id 0
    keras_layer.adapt(reviews)
    assert layer.state["review"]["vocabulary"] == keras_layer.get_vocabulary(include_special_tokens=False)


def test_text_sequence_keeps_positions_padded_to_the_length():
    text = fc.TextColumn("review", vocabulary=["a", "b"], output_sequence_length=3)
    column = fc.EmbeddingColumn(text, dimension=2, combiner=None)
    assert column.output_dim == 6
    layer = fc.FeatureLayer([column])
    layer.encoder.embeddings[column.name].set_weights([np.array([[9, 9], [1, 1], [2, 2]], "float32")])
    ids = layer.preprocessor({"review": np.array(["b a", "a b z a"])})[column.name].numpy()
    np.testing.assert_array_equal(ids, [[2, 1, -1], [1, 2, 0]])  # padded with -1; cut after 3 tokens
    out = layer({"review": np.array(["b a", "a b z a"])}).numpy()
    np.testing.assert_array_equal(out, [[2, 2, 1, 1, 0, 0], [1, 1, 2, 2, 9, 9]])  # padding embeds as zeros


def test_text_vocabulary_adapts_with_the_layer_standardization():
    text = fc.TextColumn("review", max_tokens=3)  # the OOV id + two tokens
    layer = fc.FeatureLayer([fc.IndicatorColumn(text)])
    layer.adapt({"review": ["Fast, clean.", "fast driver", "FAST and clean"]})
    assert layer.state["review"] == {"vocabulary": ["fast", "clean"]}  # fast 3, clean 2; and/driver dropped


def test_crossing_multivalent_columns_gives_every_combination():
    tags = fc.VocabularyColumn("tags", ["a", "b"], multivalent=True)
    cross = fc.CrossedColumn((tags, fc.IdentityColumn("day", 7)), num_bins=1000)
    ids = ids_of(cross, {"tags": np.array([["a", "b"], ["", ""]]), "day": np.array([1, 2])})
    assert ids.shape == (2, 2)
    assert (ids[0] >= 0).all() and ids[0, 0] != ids[0, 1]  # (a, 1) and (b, 1)
    np.testing.assert_array_equal(ids[1], [-1, -1])  # no tags: no combination


def test_one_adapt_pass_learns_numbers_buckets_and_vocabularies_together():
    passes = []

    def rows():
        passes.append(1)
        for i in range(100):
            yield {"x": float(i), "city": "abc"[i % 3], "review": "good" if i % 2 else "bad trip"}

    signature = {
        "x": tf.TensorSpec([], tf.float32),
        "city": tf.TensorSpec([], tf.string),
        "review": tf.TensorSpec([], tf.string),
    }
    dataset = tf.data.Dataset.from_generator(rows, output_signature=signature).batch(16)
    layer = fc.FeatureLayer(
        [
            fc.NumericColumn("x", normalization="zscore"),
            fc.IndicatorColumn(fc.BucketizedColumn("x", num_bins=4)),
            fc.EmbeddingColumn(fc.VocabularyColumn("city", max_tokens=4)),
            fc.EmbeddingColumn(fc.TextColumn("review", max_tokens=5)),
        ]
    )
    layer.adapt(dataset)
    assert len(passes) == 1
    assert layer.state["x"]["mean"] == pytest.approx(49.5)  # mean of 0..99
    assert layer.state["x_bucketized"]["bin_boundaries"] == pytest.approx([24.75, 49.5, 74.25])
    assert layer.state["city"]["vocabulary"] == ["a", "c", "b"]  # a 34 times, b and c 33: on ties the greater first
    assert sorted(layer.state["review"]["vocabulary"]) == ["bad", "good", "trip"]


def test_dataframe_list_columns_feed_multivalent_features():
    frame = pd.DataFrame({"tags": [["kids", "pets"], [], ["pets"]], "city": pd.array(["a", "b", "a"], dtype="string")})
    layer = fc.FeatureLayer(
        [
            fc.IndicatorColumn(fc.VocabularyColumn("tags", max_tokens=3, multivalent=True)),
            fc.IndicatorColumn(fc.VocabularyColumn("city", max_tokens=3)),
        ]
    )
    layer.adapt(frame)
    assert layer.state["tags"]["vocabulary"] == ["pets", "kids"]  # pets twice
    assert layer.raw_features["tags"].shape == (None,)


def test_output_order_is_the_column_order():
    x, day = fc.NumericColumn("x"), fc.IndicatorColumn(fc.IdentityColumn("day", 2))
    features = {"x": np.array([5.0]), "day": np.array([1])}
    np.testing.assert_array_equal(fc.FeatureLayer([x, day])(features), [[5, 0, 1]])
    np.testing.assert_array_equal(fc.FeatureLayer([day, x])(features), [[0, 1, 5]])


def test_layer_config_round_trip_keeps_learned_vocabularies():
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.VocabularyColumn("city", max_tokens=4))])
    layer.adapt({"city": ["b", "a", "b"]})
    clone = fc.FeatureLayer.from_config(layer.get_config())
    features = {"city": np.array(["a", "b", "z"])}
    np.testing.assert_array_equal(clone(features), layer(features))


def test_a_cross_by_its_table_of_combinations_gives_the_cross_ops_ids(monkeypatch):
    # Bucketized, identity, vocabulary (OOV ids first) and hashed keys: 3 * 7 * 3 * 5 = 315 combinations, under
    # the table's limit; with the limit at 0 the same layer crosses each batch with the sparse cross op.
    rng = np.random.default_rng(3)
    features = {
        "x": rng.uniform(-2, 2, 400).astype("float32"),
        "day": rng.integers(0, 7, 400),
        "vendor": rng.choice(["a", "b", "z"], 400),
        "zone": rng.integers(0, 10**6, 400),
    }
    keys = (
        fc.BucketizedColumn("x", bin_boundaries=[-1.0, 1.0]),
        fc.IdentityColumn("day", 7),
        fc.VocabularyColumn("vendor", ["a", "b"], num_oov_indices=1),
        fc.HashedColumn("zone", num_bins=5, dtype="int64"),
    )
    cross = fc.CrossedColumn(keys, num_bins=1000)
    by_table = fc.FeaturePreprocessor([fc.IndicatorColumn(cross)])
    monkeypatch.setattr(crossed, "CROSS_TABLE_MAX_COMBINATIONS", 0)
    by_op = fc.FeaturePreprocessor([fc.IndicatorColumn(cross)])
    assert len(by_table.cross_tables[cross.name]) == 315 and not by_op.cross_tables
    ids = by_table(features)[cross.name + "_indicator"].numpy()
    np.testing.assert_array_equal(ids, by_op(features)[cross.name + "_indicator"].numpy())
    assert len(np.unique(ids)) > 150  # 400 rows over 315 combinations: most of the table is checked
