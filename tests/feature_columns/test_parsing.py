"""A dataset of serialized `tf.Example`s feeds the same columns as arrays do, with the same outputs."""

import numpy as np
import pytest
import tensorflow as tf

import feature_columns as fc

COLUMNS = [
    fc.NumericColumn("fare", default_value=-1.0),
    fc.NumericColumn("passengers", dtype="int32"),
    fc.EmbeddingColumn(
        fc.WeightedCategoricalColumn(fc.VocabularyColumn("tags", ["kids", "pets"], multivalent=True), "tag_weights")
    ),
    fc.IndicatorColumn(fc.IdentityColumn("day", num_buckets=7)),
    fc.EmbeddingColumn(fc.TextColumn("review", vocabulary=["good", "late"]), dimension=2),
]
ROWS = [
    {"fare": 7.5, "passengers": 1, "tags": [b"kids", b"pets"], "tag_weights": [1.0, 0.5], "day": 3, "review": b"Good"},
    # A feature left out of an example: the default for "fare", no values for the multivalent ones.
    {"fare": None, "passengers": 2, "tags": None, "tag_weights": None, "day": 0, "review": b"late, late"},
    {"fare": 3.0, "passengers": 4, "tags": [b"bags"], "tag_weights": [2.0], "day": 6, "review": b""},
]
FEATURES = {  # the same rows as arrays, padded
    "fare": np.array([7.5, -1.0, 3.0], "float32"),
    "passengers": np.array([1, 2, 4], "int32"),
    "tags": np.array([["kids", "pets"], ["", ""], ["bags", ""]]),
    "tag_weights": np.array([[1.0, 0.5], [0.0, 0.0], [2.0, 0.0]], "float32"),
    "day": np.array([3, 0, 6]),
    "review": np.array(["Good", "late, late", ""]),
}


def _example(row: dict, label: float) -> bytes:
    def feature(value):
        values = value if isinstance(value, list) else [value]
        if values and isinstance(values[0], bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        if values and isinstance(values[0], float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=values))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    features = {key: feature(value) for key, value in row.items() if value is not None}
    features["label"] = feature(label)
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def test_parse_example_spec_per_feature():
    spec = fc.make_parse_example_spec(COLUMNS)
    assert spec["fare"] == tf.io.FixedLenFeature((), tf.float32, default_value=-1.0)
    assert spec["passengers"] == tf.io.FixedLenFeature((), tf.int64)  # tf.Example holds int64; cast on parsing
    assert spec["tags"] == tf.io.RaggedFeature(tf.string, row_splits_dtype=tf.int64)
    assert spec["tag_weights"] == tf.io.RaggedFeature(tf.float32, row_splits_dtype=tf.int64)
    assert spec["review"] == tf.io.FixedLenFeature((), tf.string)


def test_tfrecord_dataset_feeds_the_same_columns_with_identical_outputs(tmp_path):
    path = str(tmp_path / "rides.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for i, row in enumerate(ROWS):
            writer.write(_example(row, float(i)))
    dataset = tf.data.TFRecordDataset(path).batch(3).map(lambda s: fc.parse_example(s, COLUMNS, label="label"))
    features, labels = next(iter(dataset))
    assert features["passengers"].dtype == tf.int32  # the column's dtype, as the model's inputs expect
    np.testing.assert_array_equal(labels, [0.0, 1.0, 2.0])
    layer = fc.FeatureLayer(COLUMNS)
    np.testing.assert_allclose(layer(features), layer(FEATURES), rtol=1e-6)
    for key, value in FEATURES.items():
        parsed = features[key].numpy()
        np.testing.assert_array_equal(parsed.astype(str) if parsed.dtype == object else parsed, value)


def test_parse_example_label_must_not_be_a_feature():
    with pytest.raises(ValueError, match="`label` 'fare' is also a feature"):
        fc.parse_example(tf.constant([_example(ROWS[0], 0.0)]), COLUMNS, label="fare")
