"""`tf.feature_column`'s functions, names and arguments, as thin translations to `feature_columns` specs.

Old code migrates by changing an import::

    from feature_columns import legacy as feature_column   # was: from tensorflow import feature_column

Hashed, crossed and bucketized columns give the same ids as `tf.feature_column`, and identity columns the
same ids, so tables trained with it keep their meaning. Vocabulary columns differ: Keras lookup layers put
the out-of-vocabulary (OOV) ids FIRST, `tf.feature_column` put them after the vocabulary; each function says
how ids map. Differences worth knowing:

- Categorical columns read one value per example unless given `multivalent=True` (an extra keyword): there,
  as in `tf.feature_column`, `""` and -1 pad rows and are ignored. `tf.SparseTensor` input works then too.
  With one value per example, `""` is an ordinary value and -1 an out-of-range id (tf dropped both).
- A blank (missing value: an empty CSV cell, NaN, None) is an error unless the column says what it means:
  `numeric_column(default_value=...)` as in tf, and for categorical columns the extra keyword `missing_value`
  (the raw value a blank reads as; see "Blanks" in `feature_columns.categorical`). An identity column's
  `default_value` keeps tf's meaning: it takes out-of-range ids, not blanks.
- `input_layer` sorted columns by name; `FeatureLayer` keeps the order given.
- Initializers are Keras initializer names, not callables.
- `numeric_column(normalizer_fn=fn)` applies `fn` in the preprocessing (traced into exports); a model_dir holds
  the function's name only, so reopening it in a new process needs the same function, as tf.estimator's model_fn
  did (see `feature_columns.numeric.LegacyNumericColumn`). `crossed_column(hash_key=...)` takes tf's default
  key only (the ids are tf's); another key is refused.
- The `sequence_*` columns take an extra keyword, `sequence_length`: every example gets that many positions
  (cut, or padded with no id / 0.0), which `embedding_column` embeds one by one (tf's `SequenceFeatures` padded
  each batch to its longest example instead). See `feature_columns.sequence`.
- `embedding_column` and `shared_embeddings` with `ckpt_to_load_from=, tensor_name_in_ckpt=` load the table
  from a checkpoint written by `tf.feature_column` (as `tf.estimator` wrote it), re-ordering a vocabulary
  column's rows to Keras's ids.

>>> from feature_columns import legacy
>>> city = legacy.categorical_column_with_vocabulary_list("city", ["nyc", "sf"], num_oov_buckets=1)
>>> city.num_oov_indices, city.num_buckets
(1, 3)
>>> legacy.embedding_column(city, dimension=4).name
'city_embedding'
"""

from __future__ import annotations

import tensorflow as tf

from feature_columns import parsing
from feature_columns.categorical import HashedColumn, IdentityColumn, VocabularyColumn
from feature_columns.crossed import CrossedColumn
from feature_columns.embedding import EmbeddingColumn, SharedEmbeddingColumns
from feature_columns.indicator import IndicatorColumn
from feature_columns.numeric import NUMERIC_DTYPES, BucketizedColumn, LegacyNumericColumn, NumericColumn
from feature_columns.pretrained import PretrainedCheckpoint
from feature_columns.sequence import SequenceCategoricalColumn, SequenceNumericColumn
from feature_columns.validation import as_tuple
from feature_columns.weighted import WeightedCategoricalColumn

# tf.feature_column.crossed_column's key when `hash_key` is None (sparse_ops._DEFAULT_HASH_KEY), which
# `tf.sparse.cross_hashed` also uses by default.
DEFAULT_HASH_KEY = 0xDECAFCAFFE


def _dtype(where: str, dtype) -> str:
    try:
        name = tf.as_dtype(dtype).name
    except TypeError:
        name = None
    if name not in (*NUMERIC_DTYPES, "string"):
        raise TypeError(
            f"{where}: `dtype` must be tf.string, tf.int32, tf.int64, tf.float32 or tf.float64. "
            f"Received: dtype={dtype!r}."
        )
    return name


def _initializer(where: str, initializer):
    if initializer is not None and not isinstance(initializer, str):
        raise TypeError(
            f"{where}: `initializer` must be a Keras initializer name such as 'glorot_uniform' or 'truncated_normal'. "
            f"Received: {initializer!r} (of type {type(initializer).__name__}). Omit it for tf.feature_column's "
            "default, a truncated normal with stddev 1/sqrt(dimension)."
        )
    return initializer


def numeric_column(key, shape=(1,), default_value=None, dtype=tf.float32, normalizer_fn=None):
    """`tf.feature_column.numeric_column` as a `NumericColumn`, or with `normalizer_fn` a `LegacyNumericColumn`.

    `normalizer_fn` runs on the value (blanks filled from `default_value`) in the preprocessing, so exports hold it.
    Reopening a model_dir in a new process needs the same function: make the columns before reopening (see
    `LegacyNumericColumn`). New code can use `NumericColumn(normalization='zscore' | 'minmax' | 'log')` instead.

    >>> numeric_column("x", normalizer_fn=lambda x: (x - 3.0) / 2.0).get_config()["normalizer_fn"]
    'feature_columns.legacy.<lambda>'
    """
    where = f"numeric_column({key!r})"
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if isinstance(default_value, (list, tuple)):
        values = set(default_value) if default_value else {None}
        if len(values) != 1:
            raise ValueError(
                f"{where}: `default_value` must be one number for every position. Received: {default_value!r}."
            )
        default_value = values.pop()
    if normalizer_fn is not None:
        return LegacyNumericColumn(key, shape, _dtype(where, dtype), default_value, normalizer_fn=normalizer_fn)
    return NumericColumn(key, shape=shape, dtype=_dtype(where, dtype), default_value=default_value)


def bucketized_column(source_column, boundaries):
    """`tf.feature_column.bucketized_column`: same ids (bucket `i` holds `boundaries[i-1] <= x < boundaries[i]`)."""
    return BucketizedColumn(source_column, bin_boundaries=boundaries)


def _vocabulary_oov(where: str, default_value, num_oov_buckets) -> int:
    """`num_oov_indices` for tf.feature_column's `(default_value, num_oov_buckets)`."""
    if default_value not in (None, -1) and num_oov_buckets:
        raise ValueError(f"{where}: give `default_value` or `num_oov_buckets`, not both (as tf.feature_column).")
    if num_oov_buckets:
        return num_oov_buckets
    return 0 if default_value in (None, -1) else 1


def categorical_column_with_vocabulary_list(
    key, vocabulary_list, dtype=None, default_value=-1, num_oov_buckets=0, *, multivalent=False, missing_value=None
):
    """`tf.feature_column.categorical_column_with_vocabulary_list` as a `VocabularyColumn`.

    Ids map from tf.feature_column's (V = len(vocabulary_list)):

    - `num_oov_buckets=k > 0`: tf's `vocabulary_list[i] -> i` and OOV bucket `j -> V + j` become
      `i -> k + i` and `j -> j` here (the same hash picks `j`). Ids are a permutation: same `num_buckets`.
    - `num_oov_buckets=0, default_value=-1` (the default): identical ids; unknown values get none in both.
    - `num_oov_buckets=0, default_value=d >= 0`: unknown values get id 0 here instead of `d`, and
      `vocabulary_list[i]` gets `1 + i`: one more bucket than tf's.

    `dtype=None` infers string or int64 from the list, as tf did.
    """
    where = f"categorical_column_with_vocabulary_list({key!r})"
    values = list(vocabulary_list) if hasattr(vocabulary_list, "__iter__") else vocabulary_list
    if dtype is None:
        dtype = tf.string if values and isinstance(values[0], (str, bytes)) else tf.int64
    return VocabularyColumn(
        key,
        vocabulary=values,
        num_oov_indices=_vocabulary_oov(where, default_value, num_oov_buckets),
        dtype=_dtype(where, dtype),
        multivalent=multivalent,
        missing_value=missing_value,
    )


def categorical_column_with_vocabulary_file(
    key,
    vocabulary_file,
    vocabulary_size=None,
    dtype=tf.string,
    default_value=None,
    num_oov_buckets=0,
    *,
    multivalent=False,
    missing_value=None,
):
    """`tf.feature_column.categorical_column_with_vocabulary_file` as a `VocabularyColumn` reading the file.

    Ids map as in `categorical_column_with_vocabulary_list`, with V the number of vocabulary lines used.
    """
    where = f"categorical_column_with_vocabulary_file({key!r})"
    return VocabularyColumn(
        key,
        vocabulary=vocabulary_file,
        vocabulary_size=vocabulary_size,
        num_oov_indices=_vocabulary_oov(where, default_value, num_oov_buckets),
        dtype=_dtype(where, dtype),
        multivalent=multivalent,
        missing_value=missing_value,
    )


def categorical_column_with_identity(key, num_buckets, default_value=None, *, multivalent=False, missing_value=None):
    """`tf.feature_column.categorical_column_with_identity`: same ids; out-of-range ids go to `default_value`,
    or are an error without one (tf failed at run time; here a `ValueError` names the feature). A blank is the
    id `missing_value` (an extra keyword), or an error without one."""
    return IdentityColumn(
        key, num_buckets=num_buckets, default_value=default_value, multivalent=multivalent, missing_value=missing_value
    )


def categorical_column_with_hash_bucket(
    key, hash_bucket_size, dtype=tf.string, *, multivalent=False, missing_value=None
):
    """`tf.feature_column.categorical_column_with_hash_bucket`: same ids (FarmHash64 of the value, or of the
    integer's decimal string, modulo `hash_bucket_size`); a blank is hashed as `missing_value` (an extra
    keyword), or is an error without one."""
    where = f"categorical_column_with_hash_bucket({key!r})"
    return HashedColumn(
        key, num_bins=hash_bucket_size, dtype=_dtype(where, dtype), multivalent=multivalent, missing_value=missing_value
    )


def crossed_column(keys, hash_bucket_size, hash_key=None):
    """`tf.feature_column.crossed_column`: same ids and name for dense input (arrays, CSV, pandas).

    `CrossedColumn` hashes its keys in the order given. `tf.feature_column` fed its op the categorical
    columns' ids as sparse tensors and dense raw string features as they came, and that op takes sparse
    inputs first: so with dense input, tf hashed the categorical columns before the raw string keys. This
    translation orders the keys that way. (Fed `tf.SparseTensor` strings, e.g. parsed with its
    `VarLenFeature` spec, tf hashed in the order given: use `CrossedColumn(keys, ...)` directly for that.)
    """
    if hash_key not in (None, DEFAULT_HASH_KEY):
        raise ValueError(
            f"crossed_column: `hash_key` other than tf.feature_column's default, {DEFAULT_HASH_KEY:#x}, is not "
            f"supported: CrossedColumn hashes with the default key, so its ids are tf's. Received: hash_key="
            f"{hash_key!r}. Omit `hash_key` (ids then differ from a model trained with that key: train anew)."
        )
    leaves = CrossedColumn(keys, num_bins=hash_bucket_size).keys
    ordered = [k for k in leaves if not isinstance(k, str)] + [k for k in leaves if isinstance(k, str)]
    name = "_X_".join(sorted(k if isinstance(k, str) else k.name for k in leaves))  # tf's name sorts
    return CrossedColumn(ordered, num_bins=hash_bucket_size, name=name)


def indicator_column(categorical_column):
    """`tf.feature_column.indicator_column`: the same one-hot (multi-hot, counting repeats) vector. Not of a
    sequence column (tf gave one vector per position): embed it with `embedding_column` instead."""
    if isinstance(categorical_column, SequenceCategoricalColumn):
        raise ValueError(
            f"indicator_column({categorical_column.name!r}): `categorical_column` must not be a sequence column: a "
            "one-hot vector per position is not supported. Received: a SequenceCategoricalColumn. Use "
            "embedding_column(column, dimension) for one vector per position."
        )
    return IndicatorColumn(categorical_column)


def embedding_column(
    categorical_column,
    dimension,
    combiner="mean",
    initializer=None,
    ckpt_to_load_from=None,
    tensor_name_in_ckpt=None,
    max_norm=None,
    trainable=True,
    use_safe_embedding_lookup=True,
):
    """`tf.feature_column.embedding_column` as an `EmbeddingColumn`.

    Same combiners and `max_norm` clipping. Lookups are always "safe" (ids without a value add nothing), so
    `use_safe_embedding_lookup` is accepted and ignored. Of a `sequence_*` column, one vector per position (as
    tf's `SequenceFeatures` ignored the combiner): `combiner=None`, `[batch, sequence_length * dimension]`.

    `ckpt_to_load_from` (a checkpoint prefix, its directory, or a glob such as `"london/*ckpt-1000*"`) and
    `tensor_name_in_ckpt` (e.g. `"dnn/input_from_feature_columns/input_layer/day_hr_embedding/embedding_weights"`)
    start the table from a checkpoint written by tf.feature_column: a `PretrainedCheckpoint`, read when the
    `FeatureLayer` is built. For a vocabulary column, tf's rows (the vocabulary, then the OOV buckets) are
    re-ordered to this column's ids, so every value, OOV ones included, looks up the vector it had in tf. A
    vocabulary column declared with `default_value=d >= 0` had no OOV row in tf: pass
    `EmbeddingColumn(..., pretrained=PretrainedCheckpoint(path, name, num_oov_indices=0, oov_position="last"))`
    instead (its unknown values then get a fresh row, not vocabulary[d]'s).
    """
    where = f"embedding_column({getattr(categorical_column, 'name', categorical_column)!r})"
    return EmbeddingColumn(
        categorical_column,
        dimension=dimension,
        combiner=None if isinstance(categorical_column, SequenceCategoricalColumn) else combiner,
        initializer=_initializer(where, initializer),
        max_norm=max_norm,
        trainable=trainable,
        pretrained=_checkpoint(where, categorical_column, ckpt_to_load_from, tensor_name_in_ckpt),
    )


def _checkpoint(where: str, categorical_column, ckpt_to_load_from, tensor_name_in_ckpt):
    """The `PretrainedCheckpoint` for tf.feature_column's checkpoint arguments, whose table has tf's row layout
    for `categorical_column`; None without them."""
    if ckpt_to_load_from is None and tensor_name_in_ckpt is None:
        return None
    if ckpt_to_load_from is None or tensor_name_in_ckpt is None:
        raise ValueError(
            f"{where}: `ckpt_to_load_from` and `tensor_name_in_ckpt` must be given together (as in "
            f"tf.feature_column). Received: ckpt_to_load_from={ckpt_to_load_from!r}, "
            f"tensor_name_in_ckpt={tensor_name_in_ckpt!r}."
        )
    ids = getattr(categorical_column, "categorical_column", categorical_column)  # a weighted column's
    layout = {"oov_position": "last"} if isinstance(ids, VocabularyColumn) else {}
    return PretrainedCheckpoint(str(ckpt_to_load_from), tensor_name_in_ckpt, **layout)


def shared_embeddings(
    categorical_columns,
    dimension,
    combiner="mean",
    initializer=None,
    shared_embedding_collection_name=None,
    ckpt_to_load_from=None,
    tensor_name_in_ckpt=None,
    max_norm=None,
    trainable=True,
    use_safe_embedding_lookup=True,
):
    """`tf.feature_column.shared_embeddings`: one `SharedEmbeddingColumn` per categorical column, in order.

    As in tf, `a, b = shared_embeddings([x, y], dimension=8)` works and each column may go anywhere among a
    `FeatureLayer`'s columns; all of them look up ONE table, which the layer creates once, named
    `shared_embedding_collection_name` (default: the categorical columns' names joined, in the order given,
    then `_shared_embedding`; tf sorted them). Each column outputs `dimension` values per example and is named
    `<categorical name>_shared_embedding`, as in tf. Lookups are always "safe", so `use_safe_embedding_lookup`
    is accepted and ignored. (`SharedEmbeddingColumns(...)` itself outputs all of them concatenated.)

    `ckpt_to_load_from` and `tensor_name_in_ckpt` start the table from a checkpoint written by tf.feature_column,
    as in `embedding_column`; rows are re-ordered to Keras's ids by the FIRST categorical column's vocabulary
    (the columns share one table, so they share its rows' meaning).

    >>> watched, shown = (categorical_column_with_identity(key, 100) for key in ("watched", "shown"))
    >>> a, b = shared_embeddings([watched, shown], dimension=8)
    >>> b.name, b.output_dim, b.shared is a.shared
    ('shown_shared_embedding', 8, True)
    """
    where = "shared_embeddings"
    columns = as_tuple(where, "categorical_columns", categorical_columns)
    shared = SharedEmbeddingColumns(
        columns,
        dimension=dimension,
        combiner=combiner,
        initializer=_initializer(where, initializer),
        max_norm=max_norm,
        trainable=trainable,
        name=shared_embedding_collection_name,
        pretrained=_checkpoint(where, columns[0] if columns else None, ckpt_to_load_from, tensor_name_in_ckpt),
    )
    return list(shared.split())


def weighted_categorical_column(categorical_column, weight_feature_key, dtype=tf.float32):
    """`tf.feature_column.weighted_categorical_column`: same ids, each with the weight at the same position."""
    where = f"weighted_categorical_column({getattr(categorical_column, 'name', categorical_column)!r})"
    return WeightedCategoricalColumn(categorical_column, weight_feature_key, dtype=_dtype(where, dtype))


def make_parse_example_spec(feature_columns):
    """`tf.feature_column.make_parse_example_spec`; multivalent features parse as `tf.io.RaggedFeature` (tf used
    `VarLenFeature` for every categorical feature). `feature_columns.parse_example` applies it."""
    return parsing.make_parse_example_spec(feature_columns)


def _check_sequence_length(where: str, sequence_length) -> None:
    """tf had no `sequence_length`; tfkit needs it given."""
    if sequence_length is None:
        raise ValueError(
            f"{where}: `sequence_length` must be given (an extra keyword): tfkit's sequence columns have a fixed "
            "number of positions per example, cut or padded with no id, as TextColumn(output_sequence_length=...). "
            "Received: sequence_length=None. Pass e.g. sequence_length=20."
        )


def _sequence(where: str, column, sequence_length) -> SequenceCategoricalColumn:
    """`column`'s ids as a sequence of `sequence_length` positions."""
    _check_sequence_length(where, sequence_length)
    return SequenceCategoricalColumn(column, sequence_length)


def sequence_categorical_column_with_identity(key, num_buckets, default_value=None, *, sequence_length=None):
    """`tf.feature_column.sequence_categorical_column_with_identity`: ids per position as
    `categorical_column_with_identity` gives them, `sequence_length` positions.

    >>> tokens = sequence_categorical_column_with_identity("tokens", 100, sequence_length=8)
    >>> embedding_column(tokens, dimension=4).output_dim  # one 4-d vector per position
    32
    """
    where = f"sequence_categorical_column_with_identity({key!r})"
    column = categorical_column_with_identity(key, num_buckets, default_value, multivalent=True)
    return _sequence(where, column, sequence_length)


def sequence_categorical_column_with_hash_bucket(key, hash_bucket_size, dtype=tf.string, *, sequence_length=None):
    """`tf.feature_column.sequence_categorical_column_with_hash_bucket`: hashed ids per position (tf's ids)."""
    where = f"sequence_categorical_column_with_hash_bucket({key!r})"
    column = categorical_column_with_hash_bucket(key, hash_bucket_size, dtype, multivalent=True)
    return _sequence(where, column, sequence_length)


def sequence_categorical_column_with_vocabulary_list(
    key, vocabulary_list, dtype=None, default_value=-1, num_oov_buckets=0, *, sequence_length=None
):
    """`tf.feature_column.sequence_categorical_column_with_vocabulary_list`: ids per position, mapped from tf's
    as in `categorical_column_with_vocabulary_list`."""
    where = f"sequence_categorical_column_with_vocabulary_list({key!r})"
    column = categorical_column_with_vocabulary_list(
        key, vocabulary_list, dtype, default_value, num_oov_buckets, multivalent=True
    )
    return _sequence(where, column, sequence_length)


def sequence_categorical_column_with_vocabulary_file(
    key, vocabulary_file, vocabulary_size=None, num_oov_buckets=0, default_value=None, dtype=tf.string, *,
    sequence_length=None,
):  # fmt: skip
    """`tf.feature_column.sequence_categorical_column_with_vocabulary_file`: ids per position, mapped from tf's
    as in `categorical_column_with_vocabulary_list`."""
    where = f"sequence_categorical_column_with_vocabulary_file({key!r})"
    column = categorical_column_with_vocabulary_file(
        key, vocabulary_file, vocabulary_size, dtype, default_value, num_oov_buckets, multivalent=True
    )
    return _sequence(where, column, sequence_length)


def sequence_numeric_column(
    key, shape=(1,), default_value=0.0, dtype=tf.float32, normalizer_fn=None, *, sequence_length=None
):
    """`tf.feature_column.sequence_numeric_column` as a `SequenceNumericColumn`: `shape` values per position,
    `sequence_length` positions, padded with 0.0 (tf's `default_value`, the only one taken: padding given as
    arrays is 0.0). `normalizer_fn` is refused: tf applied it to the values before padding, which dense input
    cannot tell apart; normalize the values before feeding them.

    >>> sequence_numeric_column("prices", shape=2, sequence_length=5).output_dim
    10
    """
    where = f"sequence_numeric_column({key!r})"
    if normalizer_fn is not None or default_value != 0.0:
        raise ValueError(
            f"{where}: `normalizer_fn` must be None and `default_value` 0.0: padding is 0.0, and a normalizer would "
            f"apply to it as to values. Received: normalizer_fn={normalizer_fn!r}, default_value={default_value!r}. "
            "Normalize the values before feeding them."
        )
    _check_sequence_length(where, sequence_length)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return SequenceNumericColumn(key, sequence_length, shape, dtype=_dtype(where, dtype))
