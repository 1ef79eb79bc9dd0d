"""`tf.Example` parsing derived from columns, so a dataset of serialized examples feeds the same columns.

>>> import tensorflow as tf
>>> from feature_columns import EmbeddingColumn, NumericColumn, VocabularyColumn
>>> columns = [NumericColumn("x"), EmbeddingColumn(VocabularyColumn("tags", ["a", "b"], multivalent=True))]
>>> example = tf.train.Example(features=tf.train.Features(feature={
...     "x": tf.train.Feature(float_list=tf.train.FloatList(value=[1.5])),
...     "tags": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"b", b"a"])),
... }))
>>> features = parse_example(tf.constant([example.SerializeToString()]), columns)
>>> features["x"].numpy().tolist(), features["tags"].numpy().tolist()
([1.5], [[b'b', b'a']])
"""

from __future__ import annotations

import tensorflow as tf

from feature_columns.specs import raw_features
from feature_columns.vocabulary import padding_value

# tf.Example stores three kinds of list: bytes, float (float32) and int64.
_EXAMPLE_DTYPES = {
    "string": tf.string,
    "float32": tf.float32,
    "float64": tf.float32,
    "int32": tf.int64,
    "int64": tf.int64,
}


def make_parse_example_spec(columns) -> dict:
    """`{key: feature spec}` for every raw feature the columns read, for `tf.io.parse_example`.

    One value per example: a `tf.io.FixedLenFeature` (a numeric column's `default_value` is its default;
    features without one are required). Several (multivalent columns, weights): a `tf.io.RaggedFeature`.
    `tf.Example` stores floats as float32 and integers as int64, so those are the parsed dtypes.

    >>> from feature_columns import NumericColumn
    >>> make_parse_example_spec([NumericColumn("x", default_value=0.0)])
    {'x': FixedLenFeature(shape=(), dtype=tf.float32, default_value=0.0)}
    """
    spec = {}
    for key, feature in raw_features(columns).items():
        dtype = _EXAMPLE_DTYPES[feature.dtype]
        if feature.shape == (None,):
            spec[key] = tf.io.RaggedFeature(dtype, row_splits_dtype=tf.int64)
        else:
            spec[key] = tf.io.FixedLenFeature(feature.shape, dtype, default_value=feature.default)
    return spec


def parse_example(serialized, columns, *, label: str | None = None, label_dtype: str = "float32"):
    """Parses a batch of serialized `tf.Example`s into the raw features the columns read.

    Features come back as a `FeatureLayer` takes them: in the columns' dtypes, multivalent ones padded
    (`""`, -1, 0.0). Map it over a batched dataset:
    `tf.data.TFRecordDataset(files).batch(512).map(lambda s: parse_example(s, columns, label="fare"))`.

    Args:
        serialized: a 1-D string tensor of serialized examples.
        columns: the feature columns.
        label: also parse this scalar feature and return `(features, label)`.
        label_dtype: the label's dtype, `"float32"`, `"int64"` or `"string"`.
    """
    spec = make_parse_example_spec(columns)
    if label is not None:
        if label in spec:
            raise ValueError(
                f"parse_example: `label` {label!r} is also a feature the columns read. Received: label={label!r}. "
                "Name the label column, not a feature."
            )
        if label_dtype not in ("float32", "int64", "string"):
            raise ValueError(
                f"parse_example: `label_dtype` must be 'float32', 'int64' or 'string'. Received: {label_dtype!r}."
            )
        spec[label] = tf.io.FixedLenFeature((), tf.as_dtype(label_dtype))
    parsed = tf.io.parse_example(serialized, spec)
    features = {}
    for key, feature in raw_features(columns).items():
        value = parsed[key]
        if isinstance(value, tf.RaggedTensor):
            value = value.to_tensor(padding_value(feature.dtype))
        features[key] = tf.cast(value, tf.as_dtype(feature.dtype)) if value.dtype != tf.string else value
    return features if label is None else (features, parsed[label])
