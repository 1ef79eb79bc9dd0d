"""Parity with TensorFlow 2.21's own `tf.feature_column`, evaluated Keras-free in a `tf.compat.v1` graph.

Each case builds the same column both ways: `tf.feature_column.X` and `feature_columns.legacy.X` (the import
change a migration makes), feeds both the same raw values, and compares the dense outputs: indicator vectors
for ids (identical for hashed, crossed, bucketized and identity columns; equal after the documented OOV
re-mapping for vocabulary columns), embedding outputs with the same table for combiners and weights.
"""

import numpy as np
import pytest
import tensorflow as tf

import feature_columns as fc
from feature_columns import legacy

rng = np.random.default_rng(7)
WORDS = np.array(["apple", "pear", "fig", "kiwi", "plum", "lime", "date", "", "Apple", "peach pit"])


def tf_input_layer(make_columns, features: dict) -> np.ndarray:
    """`tf.compat.v1.feature_column.input_layer` on `features`, in a fresh graph and session."""
    with tf.Graph().as_default():
        tensors = {key: tf.constant(value) for key, value in features.items()}
        output = tf.compat.v1.feature_column.input_layer(tensors, make_columns())
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
            return session.run(output)


def ours(column, features: dict, table=None) -> np.ndarray:
    layer = fc.FeatureLayer([column])
    if table is not None:
        layer.encoder.embeddings[column.name].set_weights([table])
    return layer(features).numpy()


def test_bucketized_ids_are_identical_including_values_on_the_boundaries():
    boundaries = [-1.0, 0.0, 2.5, 10.0]
    x = np.array([-5.0, -1.0, -0.5, 0.0, 2.4999, 2.5, 9.99, 10.0, 1e6], "float32")
    features = {"x": x[:, None]}
    expected = tf_input_layer(
        lambda: [
            tf.feature_column.indicator_column(
                tf.feature_column.bucketized_column(tf.feature_column.numeric_column("x"), boundaries)
            )
        ],
        features,
    )
    column = legacy.indicator_column(legacy.bucketized_column(legacy.numeric_column("x"), boundaries))
    np.testing.assert_array_equal(ours(column, {"x": x}), expected)
    # Spelled out: bucket i holds boundaries[i-1] <= x < boundaries[i]; -1.0 -> 1, 0.0 -> 2, 10.0 -> 4.
    np.testing.assert_array_equal(expected.argmax(axis=1), [0, 1, 1, 2, 2, 3, 3, 4, 4])


@pytest.mark.parametrize("num_bins", [1, 7, 1000])
def test_hashed_string_ids_are_identical(num_bins):
    words = WORDS[:, None]
    expected = tf_input_layer(
        lambda: [
            tf.feature_column.indicator_column(tf.feature_column.categorical_column_with_hash_bucket("s", num_bins))
        ],
        {"s": words},
    )
    column = legacy.indicator_column(legacy.categorical_column_with_hash_bucket("s", num_bins))
    got = ours(column, {"s": WORDS})
    # tf.feature_column ignores "" in dense input (it marks padding), so compare the other rows.
    present = WORDS != ""
    np.testing.assert_array_equal(got[present], expected[present])
    assert expected[~present].sum() == 0


def test_hashed_integer_ids_are_identical():
    values = rng.integers(0, 10**9, 50)
    expected = tf_input_layer(
        lambda: [
            tf.feature_column.indicator_column(
                tf.feature_column.categorical_column_with_hash_bucket("n", 97, dtype=tf.int64)
            )
        ],
        {"n": values[:, None]},
    )
    column = legacy.indicator_column(legacy.categorical_column_with_hash_bucket("n", 97, dtype=tf.int64))
    np.testing.assert_array_equal(ours(column, {"n": values}), expected)


@pytest.mark.parametrize("with_string_key", [True, False])
def test_crossed_ids_are_identical_for_strings_buckets_identities_and_vocabularies(with_string_key):
    # Without the raw string key there are 4 * 7 * 3 = 84 id combinations: the ids then come from the table that
    # FeaturePreprocessor makes of every combination once, not from a cross op per batch.
    rows = 300
    features = {
        "city": rng.choice(["nyc", "sf", "la", "bos"], rows),
        "x": rng.uniform(-3, 3, rows).astype("float32"),
        "day": rng.integers(0, 7, rows),
        "vendor": rng.choice(["a", "b", "z"], rows),
    }
    tf_features = {key: value[:, None] for key, value in features.items()}

    def make(api):
        bucket = api.bucketized_column(api.numeric_column("x"), [-1.0, 0.0, 1.0])
        day = api.categorical_column_with_identity("day", 7)
        vendor = api.categorical_column_with_vocabulary_list("vendor", ["a", "b"], num_oov_buckets=1)
        keys = ["city", bucket, day, vendor] if with_string_key else [bucket, day, vendor]
        return [api.indicator_column(api.crossed_column(keys, 5000))]

    expected = tf_input_layer(lambda: make(tf.feature_column), tf_features)
    column = make(legacy)[0]
    layer = fc.FeatureLayer([column])
    assert (column.categorical_column.name in layer.preprocessor.cross_tables) is not with_string_key
    np.testing.assert_array_equal(layer(features).numpy(), expected)
    # 300 rows over 4 * 84 = 336 or 84 combinations: most combinations are met, so the agreement is not trivial.
    assert len(set(expected.argmax(axis=1))) > (150 if with_string_key else 60)


def test_crossed_multivalent_ids_are_identical():
    tags = np.array([["kids", "pets"], ["bags", ""], ["", ""], ["pets", "pets"]])
    city = np.array(["nyc", "sf", "la", "nyc"])

    def make(api, **kwargs):
        tags_column = api.categorical_column_with_vocabulary_list("tags", ["kids", "pets", "bags"], **kwargs)
        return [api.indicator_column(api.crossed_column([tags_column, "city"], 101))]

    expected = tf_input_layer(lambda: make(tf.feature_column), {"tags": tags, "city": city[:, None]})
    got = ours(make(legacy, multivalent=True)[0], {"tags": tags, "city": city})
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(expected.sum(axis=1), [2, 1, 0, 2])  # one id per tag; none without tags


def _vocabulary_ids(tf_ids: np.ndarray, vocabulary_size: int, num_oov: int) -> np.ndarray:
    """The documented re-mapping: tf's `vocabulary[i] -> i`, OOV `j -> V + j` become `i -> k + i`, `j -> j`."""
    return np.where(tf_ids < vocabulary_size, tf_ids + num_oov, tf_ids - vocabulary_size)


@pytest.mark.parametrize(
    ("vocabulary", "values", "dtype"),
    [
        (["apple", "pear", "fig"], WORDS[WORDS != ""], tf.string),
        ([3, 5, 8, 13], np.array([3, 8, 9, 10, 11, 12, 13, 5, 10**12]), tf.int64),
    ],
    ids=["string", "integer"],
)
@pytest.mark.parametrize("num_oov", [1, 3])
def test_vocabulary_ids_match_up_to_the_documented_oov_remapping(vocabulary, values, dtype, num_oov):
    def make(api):
        return api.categorical_column_with_vocabulary_list("v", vocabulary, dtype=dtype, num_oov_buckets=num_oov)

    expected = tf_input_layer(
        lambda: [tf.feature_column.indicator_column(make(tf.feature_column))], {"v": values[:, None]}
    )
    got = ours(legacy.indicator_column(make(legacy)), {"v": values})
    assert got.shape == expected.shape  # the same number of buckets
    tf_ids = expected.argmax(axis=1)
    np.testing.assert_array_equal(got.argmax(axis=1), _vocabulary_ids(tf_ids, len(vocabulary), num_oov))
    # Unknown values really spread over several OOV buckets (the same FarmHash as tf) when there are several.
    if num_oov == 3:
        assert len(set(tf_ids[tf_ids >= len(vocabulary)])) > 1


def test_vocabulary_file_ids_match_up_to_the_documented_oov_remapping(tmp_path):
    path = tmp_path / "fruit.txt"
    path.write_text("apple\npear\nfig\nkiwi\n")
    values = WORDS[WORDS != ""]

    def make(api):
        return api.categorical_column_with_vocabulary_file("v", str(path), vocabulary_size=3, num_oov_buckets=2)

    expected = tf_input_layer(
        lambda: [tf.feature_column.indicator_column(make(tf.feature_column))], {"v": values[:, None]}
    )
    got = ours(legacy.indicator_column(make(legacy)), {"v": values})
    np.testing.assert_array_equal(got.argmax(axis=1), _vocabulary_ids(expected.argmax(axis=1), 3, 2))
    assert expected.argmax(axis=1)[list(values).index("kiwi")] >= 3  # past vocabulary_size: out of vocabulary


def test_vocabulary_without_oov_buckets_drops_unknown_values_as_tf_does():
    values = np.array(["apple", "kiwi", "fig"])

    def make(api):
        return api.indicator_column(api.categorical_column_with_vocabulary_list("v", ["apple", "pear", "fig"]))

    expected = tf_input_layer(lambda: [make(tf.feature_column)], {"v": values[:, None]})
    np.testing.assert_array_equal(ours(make(legacy), {"v": values}), expected)
    np.testing.assert_array_equal(expected, [[1, 0, 0], [0, 0, 0], [0, 0, 1]])  # kiwi: no id at all


def test_vocabulary_default_value_becomes_the_first_id():
    values = np.array(["apple", "kiwi", "fig"])
    tf_column = tf.feature_column.categorical_column_with_vocabulary_list(
        "v", ["apple", "pear", "fig"], default_value=1
    )
    expected = tf_input_layer(lambda: [tf.feature_column.indicator_column(tf_column)], {"v": values[:, None]})
    column = legacy.categorical_column_with_vocabulary_list("v", ["apple", "pear", "fig"], default_value=1)
    got = ours(legacy.indicator_column(column), {"v": values})
    np.testing.assert_array_equal(expected.argmax(axis=1), [0, 1, 2])  # kiwi -> default_value 1 ("pear"'s id)
    np.testing.assert_array_equal(got.argmax(axis=1), [1, 0, 3])  # here: vocabulary[i] -> 1 + i, unknown -> 0


def test_identity_ids_are_identical_with_default_value_and_multivalent_input():
    ids = np.array([[0, 4], [9, -1], [-1, -1], [2, 2]])

    def make(api, **kwargs):
        return api.indicator_column(api.categorical_column_with_identity("i", 5, default_value=3, **kwargs))

    expected = tf_input_layer(lambda: [make(tf.feature_column)], {"i": ids})
    np.testing.assert_array_equal(ours(make(legacy, multivalent=True), {"i": ids}), expected)
    # 9 is out of range -> default 3; -1 pads; a repeated id counts twice.
    np.testing.assert_array_equal(expected, [[1, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0], [0, 0, 2, 0, 0]])


@pytest.mark.parametrize("combiner", ["mean", "sum", "sqrtn"])
def test_weighted_multivalent_embedding_combiners_are_identical(combiner):
    table = rng.normal(size=(6, 3)).astype("float32")
    features = {
        "i": np.array([[1, 3, -1], [2, -1, -1], [-1, -1, -1], [5, 5, 0]]),
        "w": np.array([[0.5, 2.0, 0.0], [1.5, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 3.0]], "float32"),
    }

    def make(api, **kwargs):
        weighted = api.weighted_categorical_column(api.categorical_column_with_identity("i", 6, **kwargs), "w")
        return api.embedding_column(
            weighted,
            3,
            combiner=combiner,
            **({"initializer": tf.constant_initializer(table)} if api is tf.feature_column else {}),
        )

    expected = tf_input_layer(lambda: [make(tf.feature_column)], features)
    np.testing.assert_allclose(ours(make(legacy, multivalent=True), features, table), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(expected[2], [0.0, 0.0, 0.0])  # no ids: zeros, as a "safe" lookup gives


@pytest.mark.parametrize("combiner", ["mean", "sqrtn"])
def test_unweighted_multivalent_strings_ignore_padding_in_the_combiner(combiner):
    table = rng.normal(size=(4, 2)).astype("float32")
    tags = np.array([["kids", "pets", ""], ["bags", "", ""], ["pets", "pets", "kids"]])

    def make(api, **kwargs):
        tags_column = api.categorical_column_with_vocabulary_list(
            "tags", ["kids", "pets", "bags"], num_oov_buckets=1, **kwargs
        )
        if api is tf.feature_column:
            return api.embedding_column(tags_column, 2, combiner=combiner, initializer=tf.constant_initializer(table))
        return api.embedding_column(tags_column, 2, combiner=combiner)

    expected = tf_input_layer(lambda: [make(tf.feature_column)], {"tags": tags})
    # Rows of tf's table are in tf's id order (kids, pets, bags, OOV); ours puts the OOV row first.
    ours_table = table[_vocabulary_ids(np.arange(4), 3, 1).argsort()]
    got = ours(make(legacy, multivalent=True), {"tags": tags}, ours_table)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_max_norm_clips_looked_up_vectors_as_tf_does():
    table = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]], "float32")  # norms 5, 0.5, 10
    ids = np.array([[0], [1], [2]])

    def make(api):
        column = api.categorical_column_with_identity("i", 3)
        if api is tf.feature_column:
            return api.embedding_column(column, 2, max_norm=1.0, initializer=tf.constant_initializer(table))
        return api.embedding_column(column, 2, max_norm=1.0)

    expected = tf_input_layer(lambda: [make(tf.feature_column)], {"i": ids})
    np.testing.assert_allclose(ours(make(legacy), {"i": ids.ravel()}, table), expected, rtol=1e-6)
    np.testing.assert_allclose(expected, [[0.6, 0.8], [0.3, 0.4], [0.6, 0.8]], rtol=1e-6)  # longer than 1 -> norm 1


def test_shared_embeddings_use_one_table_as_tf_does():
    table = np.arange(15.0, dtype="float32").reshape(5, 3)
    features = {"a": np.array([[1], [2]]), "b": np.array([[4], [0]])}

    def make_tf():
        a, b = (tf.feature_column.categorical_column_with_identity(key, 5) for key in "ab")
        return tf.compat.v1.feature_column.shared_embedding_columns(
            [a, b], 3, initializer=tf.constant_initializer(table)
        )

    expected = tf_input_layer(make_tf, features)
    a, b = legacy.shared_embeddings([legacy.categorical_column_with_identity(key, 5) for key in "ab"], 3)
    layer = fc.FeatureLayer([a, b])
    layer.encoder.embeddings[a.shared.name].set_weights([table])
    np.testing.assert_allclose(layer({k: v.ravel() for k, v in features.items()}).numpy(), expected)
    np.testing.assert_allclose(expected, [[3, 4, 5, 12, 13, 14], [6, 7, 8, 0, 1, 2]])  # rows 1, 4 | rows 2, 0


def test_weighted_indicator_sums_the_weights_as_tf_does():
    features = {"i": np.array([[1, 3], [2, -1]]), "w": np.array([[0.5, 2.0], [1.0, 0.0]], "float32")}

    def make(api, **kwargs):
        column = api.categorical_column_with_identity("i", 5, **kwargs)
        return api.indicator_column(api.weighted_categorical_column(column, "w"))

    expected = tf_input_layer(lambda: [make(tf.feature_column)], features)
    np.testing.assert_allclose(ours(make(legacy, multivalent=True), features), expected)
    np.testing.assert_allclose(expected, [[0, 0.5, 0, 2.0, 0], [0, 0, 1.0, 0, 0]])


def test_crossed_keys_hash_in_the_order_given_and_legacy_orders_them_as_tf_with_dense_input():
    city, day = np.array(["nyc", "sf", "la"]), np.array([3, 0, 6])
    tf_day = tf.feature_column.categorical_column_with_identity("day", 7)

    def tf_cross(city_input):
        with tf.Graph().as_default():
            features = {"city": city_input(), "day": tf.constant(day[:, None])}
            column = tf.feature_column.indicator_column(tf.feature_column.crossed_column(["city", tf_day], 1000))
            output = tf.compat.v1.feature_column.input_layer(features, [column])
            with tf.compat.v1.Session() as session:
                return session.run(output).argmax(axis=1)

    dense_tf = tf_cross(lambda: tf.constant(city[:, None]))
    sparse_tf = tf_cross(lambda: tf.sparse.from_dense(tf.constant(city[:, None])))
    day_column = fc.IdentityColumn("day", 7)

    def crossed_ids(column):
        return ours(fc.IndicatorColumn(column), {"city": city, "day": day}).argmax(axis=1)

    legacy_cross = legacy.crossed_column(["city", legacy.categorical_column_with_identity("day", 7)], 1000)
    assert legacy_cross.name == "city_X_day" and legacy_cross.keys == (day_column, "city")
    np.testing.assert_array_equal(crossed_ids(legacy_cross), dense_tf)
    np.testing.assert_array_equal(crossed_ids(fc.CrossedColumn(["city", day_column], 1000)), sparse_tf)
    assert (dense_tf != sparse_tf).any()  # tf's own ids depend on how the string feature arrived


def test_parsed_examples_agree_with_tf_parse_example_spec():
    def make(api):
        return [
            api.numeric_column("x", default_value=0.0),
            api.indicator_column(api.categorical_column_with_identity("day", 7)),
            api.indicator_column(api.categorical_column_with_hash_bucket("city", 10)),
        ]

    examples = [
        tf.train.Example(
            features=tf.train.Features(
                feature={
                    "day": tf.train.Feature(int64_list=tf.train.Int64List(value=[day])),
                    "city": tf.train.Feature(bytes_list=tf.train.BytesList(value=[city])),
                    **({"x": tf.train.Feature(float_list=tf.train.FloatList(value=[x]))} if x is not None else {}),
                }
            )
        ).SerializeToString()
        for x, day, city in [(1.5, 3, b"nyc"), (None, 6, b"sf")]
    ]
    serialized = tf.constant(examples)
    expected = tf.io.parse_example(serialized, tf.feature_column.make_parse_example_spec(make(tf.feature_column)))
    got = fc.parse_example(serialized, make(legacy))
    np.testing.assert_array_equal(got["x"], tf.reshape(expected["x"], [-1]))  # tf: [batch, 1]; here [batch]
    np.testing.assert_array_equal(got["x"], [1.5, 0.0])  # the default fills the missing value
    np.testing.assert_array_equal(got["day"], tf.sparse.to_dense(expected["day"])[:, 0])  # tf: VarLenFeature
    np.testing.assert_array_equal(got["city"], tf.sparse.to_dense(expected["city"])[:, 0])
