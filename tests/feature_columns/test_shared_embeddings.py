"""Shared embeddings: one column per categorical column (tf.feature_column's form), one table, pretrained tables."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import feature_columns as fc
from feature_columns import legacy
from feature_columns.testing import check_column

# The rows of a 4-row, 2-wide table: row i is [2i, 2i + 1].
TABLE = np.arange(8.0, dtype="float32").reshape(4, 2)


def identity_pair(num_buckets: int = 4, **kwargs) -> fc.SharedEmbeddingColumns:
    a, b = fc.IdentityColumn("a", num_buckets), fc.IdentityColumn("b", num_buckets)
    return fc.SharedEmbeddingColumns((a, b), **{"dimension": 2, **kwargs})


def table_of(layer: fc.FeatureLayer, shared) -> np.ndarray:
    return keras.ops.convert_to_numpy(layer.encoder.embeddings[shared.name].embeddings)


def train_one_step(layer: fc.FeatureLayer, features: dict) -> None:
    """One SGD step of a linear regression on the layer's output."""
    raw = layer.raw_inputs()
    model = keras.Model(raw, keras.layers.Dense(1)(layer(raw)))
    model.compile(keras.optimizers.SGD(0.5), "mse")
    rows = len(next(iter(features.values())))
    model.fit({k: features[k] for k in raw}, np.full((rows, 1), 10.0, "float32"), epochs=1, verbose=0)


# -- one column per categorical column, placed anywhere, one table ---------------------------------------------


def test_split_gives_one_column_per_categorical_column_in_order():
    shared = identity_pair()
    first, second = shared.split()
    assert (first.index, second.index) == (0, 1) and first.shared is shared
    assert (first.name, second.name) == ("a_shared_embedding", "b_shared_embedding")  # tf.feature_column's names
    assert (first.categorical_column.key, second.categorical_column.key) == ("a", "b")
    assert first.output_dim == second.output_dim == 2 and shared.output_dim == 4  # 2 + 2, concatenated


def test_views_placed_anywhere_look_up_one_table():
    shared = identity_pair()
    a, b = legacy.shared_embeddings(list(shared.categorical_columns), 2)
    layer = fc.FeatureLayer([b, fc.NumericColumn("x"), a])
    assert list(layer.encoder.embeddings) == [a.shared.name] and len(layer.encoder.weights) == 1
    layer.encoder.embeddings[a.shared.name].set_weights([TABLE])
    out = layer({"a": np.array([1, 3]), "b": np.array([0, 2]), "x": np.array([0.5, 1.5])}).numpy()
    # Row 1: b=0 -> [0, 1], x, a=1 -> [2, 3]. Row 2: b=2 -> [4, 5], x, a=3 -> [6, 7].
    np.testing.assert_array_equal(out, [[0, 1, 0.5, 2, 3], [4, 5, 1.5, 6, 7]])


def test_the_set_and_its_views_in_one_layer_share_the_table():
    shared = identity_pair()
    layer = fc.FeatureLayer([shared, shared.split()[1]])
    assert len(layer.encoder.weights) == 1
    layer.encoder.embeddings[shared.name].set_weights([TABLE])
    out = layer({"a": np.array([3]), "b": np.array([1])}).numpy()
    np.testing.assert_array_equal(out, [[6, 7, 2, 3, 2, 3]])  # set: rows 3 | 1, then the view of b: row 1


def test_both_lookups_train_the_one_table():
    shared = identity_pair(num_buckets=3, dimension=1)
    a, b = shared.split()
    layer = fc.FeatureLayer([b, a])
    table = layer.encoder.embeddings[shared.name].embeddings
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer({"a": np.array([0, 1]), "b": np.array([2, 1])}))
    gradient = tf.convert_to_tensor(tape.gradient(loss, table)).numpy().ravel()
    np.testing.assert_array_equal(gradient, [1.0, 2.0, 1.0])  # row 0 from a, row 2 from b, row 1 from both

    features = {"a": np.array([0, 1, 2]), "b": np.array([0, 1, 2])}
    before = table_of(layer, shared)
    train_one_step(layer, features)
    assert not np.array_equal(table_of(layer, shared), before)
    out = layer(features).numpy()
    np.testing.assert_array_equal(out[:, 0], out[:, 1])  # the same id looks up the same, trained, row in both


def test_views_of_two_different_sets_with_one_table_name_are_rejected():
    first = identity_pair(name="table")
    c, d = fc.IdentityColumn("c", 4), fc.IdentityColumn("d", 4)
    other = fc.SharedEmbeddingColumns((c, d), dimension=2, name="table")
    with pytest.raises(ValueError, match=r"look up embedding tables both named 'table', but from different specs"):
        fc.FeatureLayer([first.split()[0], other.split()[1]])
    with pytest.raises(ValueError, match=r"both named 'table'"):
        fc.FeatureLayer([fc.EmbeddingColumn(c, dimension=2, name="table"), first.split()[1]])


def test_bad_views_are_rejected():
    with pytest.raises(
        ValueError, match=r"SharedEmbeddingColumn\('a_b_shared_embedding'\): `index` must be .*\[0, 2\)"
    ):
        fc.SharedEmbeddingColumn(identity_pair(), 2)
    with pytest.raises(TypeError, match=r"`shared` must be a SharedEmbeddingColumns.*\.split\(\)"):
        fc.SharedEmbeddingColumn(fc.IdentityColumn("a", 4), 0)


# -- config and saving -------------------------------------------------------------------------------------------


def test_view_config_round_trips():
    view = identity_pair(combiner="sqrtn", max_norm=1.0).split()[1]
    assert fc.from_config(fc.serialize(view)) == view
    layer = fc.FeatureLayer([view, fc.NumericColumn("x")])
    assert fc.FeatureLayer.from_config(layer.get_config()).columns == layer.columns


@pytest.mark.parametrize(
    "categoricals",
    [
        (fc.VocabularyColumn("city", max_tokens=4), fc.VocabularyColumn("home", max_tokens=4)),  # adapted
        (fc.IdentityColumn("tags", 5, multivalent=True), fc.IdentityColumn("clicks", 5, multivalent=True)),
    ],
    ids=["adapted", "multivalent"],
)
def test_views_pass_the_conformance_harness(categoricals, tmp_path):
    features = {
        "city": np.array(["nyc", "sf", "nyc", "la"]),
        "home": np.array(["sf", "sf", "la", "x"]),
        "tags": np.array([[1, 4, -1], [0, -1, -1], [-1, -1, -1], [2, 3, 3]]),
        "clicks": np.array([[2, -1], [0, 1], [4, -1], [-1, -1]]),
    }
    for view in fc.SharedEmbeddingColumns(categoricals, dimension=3).split():
        check_column(view, {key: features[key] for key in view.input_keys}, str(tmp_path))


def test_keras_save_and_load_keep_one_table_and_the_outputs(tmp_path):
    a, b = identity_pair().split()
    layer = fc.FeatureLayer([a, fc.NumericColumn("x"), b])
    raw = layer.raw_inputs()
    model = keras.Model(raw, layer(raw))
    features = {"a": np.array([0, 3]), "b": np.array([2, 2]), "x": np.array([1.0, 2.0], "float32")}
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(reloaded.predict(features, verbose=0), model.predict(features, verbose=0))
    assert len(reloaded.weights) == 1


# -- pretrained shared tables ------------------------------------------------------------------------------------


def test_pretrained_shared_table_from_a_checkpoint_stays_frozen_through_training(tmp_path):
    prefix = tf.train.Checkpoint(table=tf.Variable(TABLE)).write(str(tmp_path / "ckpt"))
    shared = identity_pair(pretrained=fc.PretrainedCheckpoint(prefix, "table"), trainable=False)
    a, b = shared.split()
    layer = fc.FeatureLayer([a, b, fc.NumericColumn("x")])
    features = {"a": np.array([0, 1, 2]), "b": np.array([3, 3, 1]), "x": np.array([1.0, 2.0, 3.0], "float32")}
    out = layer(features).numpy()
    np.testing.assert_array_equal(out[:, :4], [[0, 1, 6, 7], [2, 3, 6, 7], [4, 5, 2, 3]])  # rows a | rows b
    before = table_of(layer, shared).tobytes()
    train_one_step(layer, features)
    assert table_of(layer, shared).tobytes() == before
    assert not layer.encoder.trainable_weights


def test_pretrained_shared_table_is_shape_checked(tmp_path):
    path = str(tmp_path / "table.npy")
    np.save(path, TABLE[:3])
    shared = identity_pair(pretrained=fc.PretrainedMatrix(path))
    with pytest.raises(ValueError, match=r"must have shape \(num_buckets, dimension\) = \(4, 2\).*shape \(3, 2\)"):
        fc.FeatureLayer(shared.split())


def test_pretrained_npy_rows_follow_the_first_columns_vocabulary(tmp_path):
    path = str(tmp_path / "table.npy")
    np.save(path, np.array([[1.0, 1.0], [2.0, 2.0]], "float32"))  # rows of "nyc", "sf"
    city = fc.VocabularyColumn("city", ["sf", "nyc", "la"])  # ids: OOV 0, sf 1, nyc 2, la 3
    home = fc.VocabularyColumn("home", ["la", "nyc", "sf"])  # ids: OOV 0, la 1, nyc 2, sf 3
    pretrained = fc.PretrainedMatrix(path, vocabulary=["nyc", "sf"])
    shared = fc.SharedEmbeddingColumns((city, home), dimension=2, pretrained=pretrained, initializer="zeros")
    layer = fc.FeatureLayer(shared.split())
    # Rows are named by city's vocabulary: row 1 "sf" <- [2, 2], row 2 "nyc" <- [1, 1]; rows 0 and 3 stay zeros.
    np.testing.assert_array_equal(table_of(layer, shared), [[0, 0], [2, 2], [1, 1], [0, 0]])
    out = layer({"city": np.array(["sf", "nyc", "la"]), "home": np.array(["la", "nyc", "sf"])}).numpy()
    # home's ids 1, 2, 3 look up rows 1, 2, 3 of the one table: home's "la" gets city's "sf" row, as documented.
    np.testing.assert_array_equal(out, [[2, 2, 2, 2], [1, 1, 1, 1], [0, 0, 0, 0]])


def test_a_learned_first_vocabulary_must_be_adapted_in_the_layer(tmp_path):
    path = str(tmp_path / "table.npy")
    np.save(path, np.ones((1, 2), "float32"))
    columns = (fc.VocabularyColumn("city", max_tokens=3), fc.VocabularyColumn("home", max_tokens=3))
    pretrained = fc.PretrainedMatrix(path, vocabulary=["nyc"])
    _, home = fc.SharedEmbeddingColumns(columns, dimension=2, pretrained=pretrained).split()
    layer = fc.FeatureLayer([home])
    layer.adapt({"home": np.array(["nyc", "sf"])})
    with pytest.raises(
        ValueError,
        match=r"tables of \['city_home_shared_embedding'\].*first categorical column \(\{'\w+': 'city'\}\)",
    ):
        layer({"home": np.array(["nyc"])})


# -- parity with TensorFlow 2.21's own tf.feature_column.shared_embeddings ----------------------------------------


def tf_dense_features(make_columns, features: dict, save_to: str | None = None) -> np.ndarray:
    """What `DenseFeatures` gave for tf.feature_column's v2 columns: each column's dense tensor, sorted by name,
    concatenated. (`DenseFeatures` is gone with Keras 2 and `input_layer` rejects v2 shared columns, so the
    columns are evaluated one by one in a `tf.compat.v1` graph.) `save_to`: a checkpoint of the graph's variables."""
    with tf.Graph().as_default():
        cache = tf.__internal__.feature_column.FeatureTransformationCache(
            {key: tf.constant(value) for key, value in features.items()}
        )
        columns = sorted(make_columns(), key=lambda column: column.name)
        output = tf.concat([column.get_dense_tensor(cache, None) for column in columns], axis=1)
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
            if save_to:
                tf.compat.v1.train.Saver().save(session, save_to)
            return session.run(output)


def test_parity_one_column_per_feature_dimension_wide_one_table():
    table = np.arange(15.0, dtype="float32").reshape(5, 3)
    features = {"a": np.array([[1], [2]]), "b": np.array([[4], [0]])}

    def make_tf():
        b, a = (tf.feature_column.categorical_column_with_identity(key, 5) for key in "ba")
        return tf.feature_column.shared_embeddings([b, a], 3, initializer=tf.constant_initializer(table))

    expected = tf_dense_features(make_tf, features)
    np.testing.assert_array_equal(expected, [[3, 4, 5, 12, 13, 14], [6, 7, 8, 0, 1, 2]])  # rows 1, 4 | rows 2, 0
    b, a = legacy.shared_embeddings([legacy.categorical_column_with_identity(key, 5) for key in "ba"], 3)
    layer = fc.FeatureLayer([a, b])  # DenseFeatures sorted by name; FeatureLayer keeps the order given
    layer.encoder.embeddings[a.shared.name].set_weights([table])
    np.testing.assert_array_equal(layer({k: v.ravel() for k, v in features.items()}).numpy(), expected)


def test_parity_legacy_shared_embeddings_loads_a_tf_checkpoint_with_oov_rows_last(tmp_path):
    vocabulary = ["nyc", "sf", "la"]
    # tf's ids: nyc 0, sf 1, la 2, then OOV buckets 3 and 4: row i of the table is [10i, 10i + 1].
    table = np.array([[10.0 * i, 10.0 * i + 1] for i in range(5)], "float32")
    features = {"city": np.array(["nyc", "la", "paris", "sf"]), "home": np.array(["tokyo", "sf", "nyc", "rome"])}

    def make(api, **kwargs):
        city, home = (api.categorical_column_with_vocabulary_list(k, vocabulary, num_oov_buckets=2) for k in features)
        return api.shared_embeddings([city, home], 2, **kwargs)

    prefix = str(tmp_path / "model.ckpt")
    tf_features = {key: value[:, None] for key, value in features.items()}
    expected = tf_dense_features(
        lambda: make(tf.feature_column, initializer=tf.constant_initializer(table)), tf_features, save_to=prefix
    )
    assert tf.train.list_variables(prefix) == [("city_home_shared_embedding", [5, 2])]  # tf's one table
    columns = make(legacy, ckpt_to_load_from=prefix, tensor_name_in_ckpt="city_home_shared_embedding")
    out = fc.FeatureLayer(columns)(features).numpy()
    np.testing.assert_array_equal(out, expected)  # every value, OOV ones included, gets tf's vector
    np.testing.assert_array_equal(expected[1], [20, 21, 10, 11])  # la: row 2 | sf: row 1
    assert expected[0, :2].tolist() == [0, 1] and expected[0, 2:].tolist() in ([30, 31], [40, 41])  # nyc | OOV


def test_pretrained_shared_table_from_a_keras_model_is_matched_by_the_first_columns_tokens(tmp_path):
    def pair(vocabulary, **kwargs):
        columns = tuple(fc.VocabularyColumn(key, vocabulary) for key in ("city", "home"))
        return fc.SharedEmbeddingColumns(columns, dimension=2, name="places", **kwargs)

    source = pair(["nyc", "sf"])  # ids: OOV 0, nyc 1, sf 2
    layer = fc.FeatureLayer(source.split())
    layer.encoder.embeddings["places"].set_weights([np.array([[0, 0], [1, 1], [2, 2]], "float32")])
    raw = layer.raw_inputs()
    keras.Model(raw, layer(raw)).save(tmp_path / "source.keras")

    target = pair(["sf", "la", "nyc"], pretrained=fc.PretrainedModel(str(tmp_path / "source.keras"), "places"))
    table = table_of(fc.FeatureLayer(target.split()), target)
    # Target ids: OOV 0 <- OOV row [0, 0], sf 1 <- [2, 2], nyc 3 <- [1, 1]; la (2) is new, freshly initialised.
    np.testing.assert_array_equal(table[[0, 1, 3]], [[0, 0], [2, 2], [1, 1]])
