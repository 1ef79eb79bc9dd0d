"""`feature_columns.legacy`: tf.feature_column's names and arguments, translated (ids: see test_parity.py)."""

import numpy as np
import pytest
import tensorflow as tf

import feature_columns as fc
from feature_columns import legacy


def test_numeric_column_translates_shape_dtype_and_default():
    column = legacy.numeric_column("x", shape=3, default_value=[0.5, 0.5, 0.5], dtype=tf.float64)
    assert column == fc.NumericColumn("x", shape=(3,), dtype="float64", default_value=0.5)


def test_categorical_translations():
    assert legacy.categorical_column_with_hash_bucket("h", 10, dtype=tf.int32) == fc.HashedColumn("h", 10, "int32")
    assert legacy.categorical_column_with_identity("i", 4, default_value=0) == fc.IdentityColumn("i", 4, 0)
    vocabulary = legacy.categorical_column_with_vocabulary_list("v", [3, 1], num_oov_buckets=2)
    assert vocabulary == fc.VocabularyColumn("v", (3, 1), num_oov_indices=2, dtype="int64")  # dtype inferred
    assert legacy.categorical_column_with_vocabulary_list("v", ["a"]).num_oov_indices == 0  # default_value=-1
    assert legacy.categorical_column_with_vocabulary_list("v", ["a"], default_value=0).num_oov_indices == 1
    tags = legacy.categorical_column_with_vocabulary_list("tags", ["a"], multivalent=True)
    assert tags.multivalent and tags.id_width is None


def test_vocabulary_default_value_and_oov_buckets_together_are_rejected_as_in_tf():
    with pytest.raises(ValueError, match="not both"):
        legacy.categorical_column_with_vocabulary_list("v", ["a"], default_value=0, num_oov_buckets=2)


def test_dense_translations():
    city = legacy.categorical_column_with_hash_bucket("city", 100)
    embedding = legacy.embedding_column(city, 8, combiner="sqrtn", max_norm=2.0, trainable=False)
    assert embedding == fc.EmbeddingColumn(city, 8, combiner="sqrtn", max_norm=2.0, trainable=False)
    assert legacy.indicator_column(city) == fc.IndicatorColumn(city)
    weighted = legacy.weighted_categorical_column(city, "w")
    assert weighted == fc.WeightedCategoricalColumn(city, "w")


def test_embedding_column_explains_unsupported_arguments():
    city = legacy.categorical_column_with_hash_bucket("city", 100)
    with pytest.raises(ValueError, match=r"`ckpt_to_load_from` and `tensor_name_in_ckpt` must be given together"):
        legacy.embedding_column(city, 8, tensor_name_in_ckpt="emb")
    with pytest.raises(TypeError, match="Keras initializer name"):
        legacy.embedding_column(city, 8, initializer=tf.compat.v1.truncated_normal_initializer())
    assert legacy.embedding_column(city, 8, initializer="glorot_uniform").initializer == "glorot_uniform"


def test_shared_embeddings_returns_one_column_per_categorical_column_as_tf_does():
    a, b = (legacy.categorical_column_with_identity(key, 5) for key in "ab")
    embedded_a, embedded_b = legacy.shared_embeddings([a, b], 4, shared_embedding_collection_name="ab")
    shared = fc.SharedEmbeddingColumns((a, b), dimension=4, name="ab")
    assert (embedded_a, embedded_b) == (fc.SharedEmbeddingColumn(shared, 0), fc.SharedEmbeddingColumn(shared, 1))
    assert (embedded_a.name, embedded_b.name) == ("a_shared_embedding", "b_shared_embedding")  # tf's names
    assert embedded_a.output_dim == embedded_b.output_dim == 4


def test_shared_embeddings_translates_checkpoint_arguments_by_the_first_column():
    city = legacy.categorical_column_with_vocabulary_list("city", ["nyc", "sf"], num_oov_buckets=1)
    home = legacy.categorical_column_with_vocabulary_list("home", ["nyc", "sf"], num_oov_buckets=1)
    columns = legacy.shared_embeddings([city, home], 2, ckpt_to_load_from="old", tensor_name_in_ckpt="emb")
    # tf.feature_column put the OOV row after the vocabulary: the source's rows are laid out that way.
    assert columns[0].shared.pretrained == fc.PretrainedCheckpoint("old", "emb", oov_position="last")
    with pytest.raises(ValueError, match=r"shared_embeddings: `ckpt_to_load_from` and `tensor_name_in_ckpt` must"):
        legacy.shared_embeddings([city, home], 2, ckpt_to_load_from="old")


def test_crossed_column_rejects_a_custom_hash_key():
    with pytest.raises(ValueError, match=r"`hash_key` other than tf\.feature_column's default, 0xdecafcaffe, is not"):
        legacy.crossed_column(["a", "b"], 10, hash_key=7)


def test_unsupported_dtype_is_named():
    with pytest.raises(TypeError, match=r"`dtype` must be tf.string, tf.int32"):
        legacy.categorical_column_with_hash_bucket("h", 10, dtype=tf.bool)


def test_migrated_columns_run_in_a_feature_layer():
    day = legacy.categorical_column_with_identity("day", 7)
    columns = [
        legacy.numeric_column("fare"),
        legacy.embedding_column(legacy.crossed_column([day, "city"], 20), 3),
        *legacy.shared_embeddings([day, legacy.categorical_column_with_identity("hour", 7)], 2),
    ]
    features = {"fare": np.array([1.0]), "day": np.array([2]), "city": np.array(["nyc"]), "hour": np.array([5])}
    out = fc.FeatureLayer(columns)(features)
    assert out.shape == (1, 1 + 3 + 2 * 2)
