"""`FeaturePreprocessor`: raw feature tensors to scaled values and categorical ids.

This is the stateless-at-train-time half of a `FeatureLayer`: no trainable variables, so it runs inside
`tf.data` (parallel, prefetched) while training, and inside the exported model while serving.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from feature_columns import columns as fc
from feature_columns.specs import (
    always_one_id,
    check_columns,
    id_slots,
    keeps_state,
    preprocessed_spec,
    raw_features,
    walk,
    weights_key,
)
from feature_columns.vocabulary import padding_value, read_vocabulary_file


def describe(column) -> str:
    """`VocabularyColumn('city')`: how errors name a column."""
    return f"{type(column).__name__}({column.name!r})"


def _check_dtype(value, key: str, where: str, kind: str) -> None:
    if kind == "string":
        ok, expected = value.dtype == tf.string, "strings"
        fix = "Convert the values to strings (pandas: `.astype(str)`), or declare the column with an integer dtype."
    elif kind == "integer":
        ok, expected = value.dtype.is_integer, "integer ids"
        fix = "Cast the values to int64, or read text with a VocabularyColumn or HashedColumn."
    else:
        ok, expected = value.dtype.is_integer or value.dtype.is_floating, "numbers"
        fix = "Parse the values to numbers first (pandas: `pd.to_numeric`), or read them with a categorical column."
    if not ok:
        raise TypeError(
            f"{where}: raw feature {key!r} must hold {expected}. Received: a tensor of dtype {value.dtype.name}. {fix}"
        )


def raw_tensor(features, key: str, where: str, kind: str, *, pad=None, single: bool = False) -> tf.Tensor:
    """The raw feature `key` as a dense `[batch, n]` tensor, its dtype checked against `kind`.

    Args:
        kind: `"string"`, `"integer"` or `"number"`.
        pad: for multivalent features: fills a `tf.RaggedTensor`'s or `tf.SparseTensor`'s missing positions.
        single: the column reads exactly one value per example.
    """
    if key not in features:
        raise ValueError(
            f"{where}: the raw feature {key!r} is missing from the input. "
            f"Received features: {sorted(features)}. Add {key!r} to every example."
        )
    value = features[key]
    if isinstance(value, (tf.RaggedTensor, tf.SparseTensor)):
        if pad is None:
            raise ValueError(
                f"{where}: raw feature {key!r} holds several values per example ({type(value).__name__}), but the "
                "column reads one. Declare the column with `multivalent=True`."
            )
        _check_dtype(value, key, where, kind)
        value = value.to_tensor(pad) if isinstance(value, tf.RaggedTensor) else tf.sparse.to_dense(value, pad)
    else:
        value = tf.convert_to_tensor(value)
        _check_dtype(value, key, where, kind)
    if value.shape.rank == 1:
        value = tf.expand_dims(value, -1)
    elif value.shape.rank == 0:
        value = tf.reshape(value, [1, 1])
    if single and value.shape.rank == 2 and value.shape[1] not in (None, 1):
        raise ValueError(
            f"{where}: raw feature {key!r} has {value.shape[1]} values per example, but the column reads one. "
            "Declare the column with `multivalent=True`."
        )
    return value


def _require(value, ok, message: str, offending=None):
    """`value`, once `ok` holds everywhere: a ValueError now when eager; inside a graph, a failing op.

    `offending` is a function giving the values to show; in a graph it runs only when the check fails.
    """
    if tf.executing_eagerly():
        if not np.all(ok):  # NumPy's reduction of an eager tensor is several times faster than TF's op
            shown = "" if offending is None else f" Received: {offending().numpy().ravel()[:5].tolist()}."
            raise ValueError(message + shown)
        return value

    def fail():
        data = [message] if offending is None else [message, "Received:", offending()]
        with tf.control_dependencies([tf.debugging.Assert(False, data, summarize=5)]):
            return tf.identity(value)

    return tf.cond(tf.reduce_all(ok), lambda: value, fail)


def _numeric_feature(column, key: str, features, defaults: dict, memo: dict | None = None) -> tf.Tensor:
    if memo is not None:
        if key not in memo:
            memo[key] = _numeric_feature(column, key, features, defaults)
        return memo[key]
    where = describe(column)
    value = raw_tensor(features, key, where, "number")
    if not value.dtype.is_floating:
        return tf.cast(value, tf.float32)
    value = tf.cast(value, tf.float32)
    if key in defaults:
        return tf.where(tf.math.is_nan(value), tf.constant(defaults[key], tf.float32), value)
    return _require(
        value,
        ~tf.math.is_nan(value),
        f"{where}: raw feature {key!r} has a missing value (NaN) and no numeric column reading it has a "
        "`default_value`. Give one a `default_value`, or fill the data.",
    )


def numeric_value(column, features, defaults: dict, memo: dict | None = None) -> tf.Tensor:
    """A numeric or distance column's float32 value before statistics-based scaling: `[batch, n]`.

    Missing values (NaN) become their raw feature's default (`defaults`), or are an error without one;
    clipping and `log` apply here. `memo` keeps each raw feature's checked value for the other columns that
    read it.
    """
    if isinstance(column, fc.DistanceColumn):
        x0, y0, x1, y1 = (_numeric_feature(column, k, features, defaults, memo) for k in column.keys)
        value = tf.sqrt(tf.square(x1 - x0) + tf.square(y1 - y0))
    else:
        value = _numeric_feature(column, column.key, features, defaults, memo)
        if len(column.shape) > 1:
            value = tf.reshape(value, [-1, column.output_dim])
    if column.clip is not None:
        value = tf.clip_by_value(value, *column.clip)
    if column.normalization == "log":
        value = tf.math.log1p(value)
    return value


def categorical_values(column, features) -> tf.Tensor:
    """The raw values of an identity, hashed or vocabulary column, `[batch, n]`, padding included."""
    kind = "string" if column.dtype == "string" else "integer"
    pad = padding_value(column.dtype) if column.multivalent else None
    value = raw_tensor(features, column.key, describe(column), kind, pad=pad, single=not column.multivalent)
    return value if kind == "string" else tf.cast(value, tf.int64)


def resolve_state(columns, state) -> dict:
    """`state` plus the vocabularies of file-based columns, read once, so saved configs need no file."""
    resolved = dict(state or {})
    for column in walk(columns):
        if (
            isinstance(column, fc.VocabularyColumn)
            and isinstance(column.vocabulary, str)
            and column.name not in resolved
        ):
            tokens = read_vocabulary_file(describe(column), column.vocabulary, column.dtype, column.vocabulary_size)
            resolved[column.name] = {"vocabulary": list(tokens)}
    return resolved


def lookup_layer(column, vocabulary=None, name: str | None = None) -> keras.layers.Layer:
    """The Keras layer behind a vocabulary or text column; without `vocabulary`, one to `update_state` (adapt).

    A column with `num_oov_indices=0` looks up with one OOV id, which `FeaturePreprocessor.ids` turns into
    "no id": Keras itself would fail on unknown values, which the column documents as dropped.
    """
    if isinstance(column, fc.TextColumn):
        return keras.layers.TextVectorization(
            # The learned tokens: max_tokens ids less our OOV id, plus TextVectorization's mask and OOV entries.
            max_tokens=None if vocabulary is not None else column.max_tokens + 1,
            vocabulary=None if vocabulary is None else list(vocabulary),
            standardize=column.standardize,
            split=column.split,
            ngrams=column.ngrams,
            output_mode="int",
            ragged=True,
            name=name,
        )
    common = {
        "max_tokens": None if vocabulary is not None else column.max_tokens,
        "num_oov_indices": column.num_oov_indices if vocabulary is None else max(1, column.num_oov_indices),
        "vocabulary": None if vocabulary is None else list(vocabulary),
        "name": name,
    }
    if column.dtype == "string":
        return keras.layers.StringLookup(**common)
    # FarmHash of the decimal string, as tf.feature_column hashes integers into its OOV buckets.
    return keras.layers.IntegerLookup(vocabulary_dtype="int64", oov_method="farmhash", **common)


def _scaling_layer(column, stats) -> keras.layers.Layer:
    """A `Normalization` layer: z-score from mean/variance, min-max as mean=min, variance=(max-min)**2."""
    if column.normalization == "zscore":
        mean, variance = stats["mean"], stats["variance"]
    else:
        mean, variance = stats["min"], (stats["max"] - stats["min"]) ** 2
    layer = keras.layers.Normalization(mean=mean, variance=variance, name=f"{column.name}_scaling")
    layer.build((None, column.output_dim))  # now, not lazily inside a tf.data or tracing graph
    return layer


def _stage(column, stats):
    """The Keras layer that holds a column's state, or None for columns computed by plain ops."""
    if isinstance(column, (fc.NumericColumn, fc.DistanceColumn)) and column.needs_adapt:
        return _scaling_layer(column, stats)
    if isinstance(column, fc.BucketizedColumn):
        boundaries = column.bin_boundaries or tuple(stats["bin_boundaries"])
        return keras.layers.Discretization(bin_boundaries=list(boundaries), name=f"{column.name}_discretization")
    if isinstance(column, fc.HashedColumn):
        return keras.layers.Hashing(column.num_bins, name=f"{column.name}_hashing")
    if isinstance(column, (fc.VocabularyColumn, fc.TextColumn)):
        vocabulary = stats["vocabulary"] if stats else column.vocabulary
        return lookup_layer(column, vocabulary, name=f"{column.name}_lookup")
    return None


@keras.saving.register_keras_serializable(package="feature_columns")
class FeaturePreprocessor(keras.layers.Layer):
    """Maps raw features to `{key: tensor}`: float32 `[batch, n]` values, int64 `[batch, n]` ids (-1: none).

    Keys and shapes are `preprocessed_spec(columns)`: a dense column's name; for an embedding or indicator
    column, its name for the ids (and `<name>_weights` for a weighted column's weights).

    Args:
        columns: the top-level (dense) columns of a `FeatureLayer`.
        state: adapted statistics, `{leaf column name: {...}}`, as `FeatureLayer.adapt` computes them.

    Example:

    >>> import numpy as np
    >>> from feature_columns import NumericColumn, BucketizedColumn, IndicatorColumn
    >>> pre = FeaturePreprocessor([NumericColumn("x"), IndicatorColumn(BucketizedColumn("x", bin_boundaries=[0.0]))])
    >>> out = pre({"x": np.array([-1.0, 2.0])})
    >>> out["x"].numpy().ravel().tolist(), out["x_bucketized_indicator"].numpy().ravel().tolist()
    ([-1.0, 2.0], [0, 1])
    """

    def __init__(self, columns, state=None, **kwargs):
        super().__init__(**kwargs)
        self.columns = check_columns(columns)
        self.state = resolve_state(self.columns, state)
        self.defaults = {key: f.default for key, f in raw_features(self.columns).items() if f.default is not None}
        self.stages: dict = {}
        for column in walk(self.columns):
            stats = self.state.get(column.name)
            if keeps_state(column) and stats is None:
                raise ValueError(
                    f"FeaturePreprocessor: column {column.name!r} needs statistics from data "
                    f"({_why_adapt(column)}). Call `FeatureLayer.adapt(data)` first, or give them explicitly."
                )
            stage = _stage(column, stats)
            if stage is not None:
                self.stages[column.name] = stage
        self.cross_tables = {
            column.name: table
            for column in walk(self.columns)
            if isinstance(column, fc.CrossedColumn) and (table := _cross_table(column)) is not None
        }

    def build(self, input_shape=None):
        """Nothing to build: scaling layers are built in `__init__`, and the lookup layers hold no weights."""

    def call(self, features):
        outputs = {}
        # Each raw feature is checked, and each categorical column's ids computed, once per batch, however many
        # columns read them (a bucketized coordinate feeds its indicator and a cross, say).
        memo: dict = {}
        for column in self.columns:
            slots = id_slots(column)
            if not slots:
                value = numeric_value(column, features, self.defaults, memo)
                outputs[column.name] = self.stages[column.name](value) if column.name in self.stages else value
            for key, categorical in slots:
                outputs[key] = self.ids(categorical, features, memo)
                if isinstance(categorical, fc.WeightedCategoricalColumn):
                    outputs[weights_key(key)] = _weights(categorical, features, outputs[key])
        return dict(sorted(outputs.items()))  # the key order of the model's preprocessed `Input`s

    def ids(self, column, features, memo: dict | None = None) -> tf.Tensor:
        """A categorical column's int64 ids, `[batch, n]`, with -1 where an example has no value."""
        if memo is None:
            memo = {}
        if column not in memo:
            memo[column] = self._ids(column, features, memo)
        return memo[column]

    def _ids(self, column, features, memo: dict) -> tf.Tensor:
        if isinstance(column, fc.WeightedCategoricalColumn):
            return self.ids(column.categorical_column, features, memo)
        if isinstance(column, fc.BucketizedColumn):
            value = numeric_value(column.source, features, self.defaults, memo)
            return tf.cast(self.stages[column.name](value), tf.int64)
        if isinstance(column, fc.TextColumn):
            text = raw_tensor(features, column.key, describe(column), "string", single=True)
            tokens = self.stages[column.name](text) - 1  # TextVectorization's mask id 0 is never produced (ragged)
            return tokens.to_tensor(-1, shape=[None, column.output_sequence_length])
        if isinstance(column, fc.CrossedColumn):
            return self._crossed_ids(column, features, memo)
        values = categorical_values(column, features)
        if isinstance(column, fc.IdentityColumn):
            ids = _identity_ids(column, values)
        else:
            ids = tf.cast(self.stages[column.name](values), tf.int64)
            if isinstance(column, fc.VocabularyColumn) and column.num_oov_indices == 0:
                ids -= 1  # built with one OOV id (see `lookup_layer`): it becomes "no id"
        if column.multivalent:
            ids = tf.where(values == padding_value(column.dtype), tf.constant(-1, tf.int64), ids)
        return ids

    def _crossed_ids(self, column, features, memo: dict) -> tf.Tensor:
        values, present = [], []
        for key in column.keys:
            if isinstance(key, str):
                values.append(raw_tensor(features, key, describe(column), "string", single=True))
                present.append(None)
                continue
            ids = self.ids(key, features, memo)
            values.append(self._legacy_order(key, ids) if isinstance(key, fc.VocabularyColumn) else ids)
            present.append(None if always_one_id(key) else ids >= 0)
        if column.name in self.cross_tables:
            combination = values[0]
            for key, value in zip(column.keys[1:], values[1:], strict=True):
                combination = combination * key.num_buckets + value
            return tf.gather(tf.constant(self.cross_tables[column.name]), combination)
        if all(mask is None for mask in present):
            return tf.sparse.to_dense(tf.sparse.cross_hashed(values, num_buckets=column.num_bins))  # one id each
        # The cross op takes sparse inputs before dense ones: make every input sparse to keep the keys' order.
        parts = [
            _sparse(value, tf.fill(tf.shape(value), True) if mask is None else mask)
            for value, mask in zip(values, present, strict=True)
        ]
        crossed = tf.sparse.cross_hashed(parts, num_buckets=column.num_bins)
        if column.id_width == 1:  # a row whose key had no id has none: keep the width at one
            batch = tf.shape(crossed, out_type=tf.int64)[0]
            crossed = tf.sparse.reset_shape(crossed, tf.stack([batch, tf.constant(1, tf.int64)]))
        return tf.sparse.to_dense(crossed, default_value=-1)

    def _legacy_order(self, column, ids):
        """Vocabulary ids in `tf.feature_column`'s order (OOV ids after the vocabulary), which crosses hash so
        that crossed ids match it."""
        oov = column.num_oov_indices
        if not oov:
            return ids
        known = self.stages[column.name].vocabulary_size() - max(1, oov)  # built with at least one OOV id
        return tf.where(ids >= oov, ids - oov, ids + known)

    def compute_output_spec(self, features):
        batch = next(iter(features.values())).shape[0]
        return {
            key: keras.KerasTensor((batch, *shape), dtype=dtype)
            for key, (shape, dtype) in preprocessed_spec(self.columns).items()
        }

    def get_config(self):
        config = super().get_config()
        config.update(columns=[fc.serialize(c) for c in self.columns], state=self.state)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["columns"] = [fc.from_config(c) for c in config["columns"]]
        return cls(**config)


# A cross of single-id columns with at most this many id combinations (a 512 KiB table) looks its ids up in a
# table of every combination's crossed id, made once by the cross op itself: a gather per batch, where the sparse
# cross op and its conversions cost several times the rest of the taxi columns' preprocessing.
CROSS_TABLE_MAX_COMBINATIONS = 65536


def _cross_table(column) -> np.ndarray | None:
    """`column`'s crossed id of every combination of its keys' ids (the last key's id varying fastest), or None
    when a key is a raw string, may have no id or several, or the combinations are too many."""
    if any(isinstance(key, str) or not always_one_id(key) for key in column.keys):
        return None
    sizes = [key.num_buckets for key in column.keys]
    if np.prod(sizes, dtype=np.float64) > CROSS_TABLE_MAX_COMBINATIONS:
        return None
    grid = np.indices(sizes, dtype=np.int64).reshape(len(sizes), -1, 1)
    with tf.init_scope():  # computed now, even when the layer is built inside a graph
        crossed = tf.sparse.cross_hashed([tf.constant(ids) for ids in grid], num_buckets=column.num_bins)
        return tf.sparse.to_dense(crossed).numpy().ravel()


def _sparse(values, present) -> tf.SparseTensor:
    """The `present` entries of a dense `[batch, n]` tensor, as a SparseTensor of the same shape."""
    indices = tf.where(present)
    return tf.SparseTensor(indices, tf.gather_nd(values, indices), tf.shape(values, out_type=tf.int64))


def _weights(column, features, ids) -> tf.Tensor:
    """A weighted column's float32 weights, shaped like its ids, zero where there is no id."""
    where = describe(column)
    pad = 0.0 if column.id_width is None else None
    weights = tf.cast(
        raw_tensor(features, column.weight_feature_key, where, "number", pad=pad, single=pad is None), tf.float32
    )
    weights = _require(
        weights,
        tf.reduce_all(tf.equal(tf.shape(weights), tf.shape(ids))),
        f"{where}: raw feature {column.weight_feature_key!r} must hold one weight per id of "
        f"{column.categorical_column.key!r}, padded the same way. Align the two features.",
    )
    return tf.where(ids >= 0, weights, 0.0)


def _identity_ids(column, ids) -> tf.Tensor:
    in_range = (ids >= 0) & (ids < column.num_buckets)
    if column.multivalent:
        in_range |= ids == -1  # padding
    if column.default_value is not None:
        return tf.where(in_range, ids, tf.constant(column.default_value, tf.int64))
    return _require(
        ids,
        in_range,
        f"{describe(column)}: raw feature {column.key!r} must hold ids in [0, {column.num_buckets}). "
        "Give the column a `default_value` to map other ids to one bucket, or fix the data.",
        offending=lambda: tf.boolean_mask(ids, ~in_range),
    )


def _why_adapt(column) -> str:
    if isinstance(column, fc.BucketizedColumn):
        return f"num_bins={column.num_bins} boundaries are quantiles"
    if isinstance(column, (fc.VocabularyColumn, fc.TextColumn)):
        return f"its vocabulary of up to max_tokens={column.max_tokens} ids is learned"
    return f"normalization={column.normalization!r}"
