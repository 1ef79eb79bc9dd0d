"""`tf.Example` parsing specs derived from columns, so serialized examples feed the same columns."""

from __future__ import annotations

import tensorflow as tf

from feature_columns.specs import raw_features

_TF_DTYPES = {"string": tf.string, "float32": tf.float32, "float64": tf.float32, "int32": tf.int64, "int64": tf.int64}


def make_parse_example_spec(columns) -> dict:
    """`{key: tf.io.FixedLenFeature}` for every raw feature the columns read, for `tf.io.parse_example`.

    `tf.Example` stores floats as float32 and integers as int64, so those are the parsed dtypes. A numeric
    column's `default_value` becomes the feature's default; features without one are required.

    >>> from feature_columns import NumericColumn
    >>> make_parse_example_spec([NumericColumn("x", default_value=0.0)])
    {'x': FixedLenFeature(shape=(), dtype=tf.float32, default_value=0.0)}
    """
    return {
        key: tf.io.FixedLenFeature(spec.shape, _TF_DTYPES[spec.dtype], default_value=spec.default)
        for key, spec in raw_features(columns).items()
    }
