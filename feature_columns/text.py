"""The text family: free text split into tokens (`TextColumn`), each token a categorical id.

>>> TextColumn("review", vocabulary=["good", "bad"]).num_buckets
3
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from feature_columns.accumulators import TokenCounts, Vocabulary
from feature_columns.base import CategoricalColumn, Read, column_spec, describe
from feature_columns.categorical import check_min_frequency, check_missing_value
from feature_columns.keras_internals import text_tokens
from feature_columns.tensors import raw_tensor
from feature_columns.validation import check_choice, check_key, check_positive_int, freeze, is_count
from feature_columns.vocabulary import check_vocabulary
from feature_columns.weighted import slot_weights, weights_key

TEXT_STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
TEXT_SPLIT = (None, "whitespace", "character")
TEXT_WEIGHTING = (None, "tf_idf")
TEXT_NORM = (None, "l2")


@column_spec
class TextColumn(CategoricalColumn):
    """Free text split into tokens by `keras.layers.TextVectorization`, each token an id.

    Ids follow `VocabularyColumn`: with the one OOV id (`num_oov_indices=1`) unknown tokens get 0 and
    `vocabulary[i]` gets `1 + i`; with `num_oov_indices=0` unknown tokens get no id (they are dropped, as
    `tf.feature_column`'s `default_value=-1` dropped them) and `vocabulary[i]` gets `i`. Padding gets none.
    Fed to `EmbeddingColumn` it is a bag of words (the combiner averages the tokens; padding never counts), to
    `IndicatorColumn` token counts. With `output_sequence_length=L` the ids are a sequence padded or cut to `L`
    tokens, which `EmbeddingColumn(..., combiner=None)` embeds position by position.

    With `weighting="tf_idf"` each token carries its inverse document frequency, `log(1 + documents / (1 +
    documents holding the token))` as Keras's `TextVectorization(output_mode="tf_idf")` learns it (the OOV id:
    the mean over the vocabulary), so an indicator gives TF-IDF values and an embedding weighs each token by it:
    with `combiner="sqrtn"`, the table times the TF-IDF vector scaled to unit length (exactly so when no token
    repeats), as a linear layer over scikit-learn's `TfidfVectorizer` features sees them. Rare words then count
    for more than "the". With `norm="l2"` each text's weights are scaled so that its bag (the sum of its tokens'
    weights per id: counts, or TF-IDF values) has unit length, as `TfidfVectorizer(norm="l2")` scales it: long and
    short texts then weigh alike in an indicator's values or a `"sum"` embedding.

    Args:
        key: the raw string feature, one text per example.
        max_tokens: with a learned vocabulary, the number of ids (the OOV id included), as `VocabularyColumn`.
        vocabulary: the tokens, or None to learn the most frequent ones with `FeatureLayer.adapt`.
        standardize, split, ngrams: as in `TextVectorization`.
        output_sequence_length: a fixed number of token ids per example; None for a bag of words.
        weighting: None (every token weighs 1) or `"tf_idf"` (each token its inverse document frequency, learned
            with the vocabulary by `FeatureLayer.adapt`); for a bag of words.
        norm: None or `"l2"` (each text's bag of token weights scaled to unit length); for a bag of words.
        num_oov_indices: 1 (unknown tokens share an id, whose embedding is learned) or 0 (unknown tokens are
            dropped: a bag of words averages the known ones only; a sequence closes up).
        missing_value: the text a blank reads as (`""`: no tokens); None makes a blank an error. See "Blanks" in
            `feature_columns.categorical`.
        min_frequency: with a learned vocabulary, leave out tokens seen fewer times (they get the OOV id, or no id
            without one); see `VocabularyColumn`.
        name: defaults to `key`.

    >>> TextColumn("review", vocabulary=["good", "bad"]).num_buckets
    3
    """

    key: str
    max_tokens: int | None = None
    vocabulary: tuple | None = None
    standardize: str | None = "lower_and_strip_punctuation"
    split: str | None = "whitespace"
    ngrams: int | None = None
    output_sequence_length: int | None = None
    weighting: str | None = None
    norm: str | None = None
    num_oov_indices: int = 1
    missing_value: str | None = None
    min_frequency: int = 1
    name: str | None = None

    def __post_init__(self):
        where = f"TextColumn({self.key!r})"
        check_key(where, self.key)
        check_choice(where, "standardize", self.standardize, TEXT_STANDARDIZE)
        check_choice(where, "split", self.split, TEXT_SPLIT)
        check_choice(where, "weighting", self.weighting, TEXT_WEIGHTING)
        check_choice(where, "norm", self.norm, TEXT_NORM)
        if not is_count(self.num_oov_indices, minimum=0) or self.num_oov_indices > 1:
            raise ValueError(
                f"{where}: `num_oov_indices` must be 0 or 1: TextVectorization has one OOV token, so it cannot "
                f"spread unknown tokens over several ids. Received: num_oov_indices={self.num_oov_indices!r}."
            )
        check_min_frequency(where, self.min_frequency, learned=self.vocabulary is None)
        for arg in ("weighting", "norm"):
            if getattr(self, arg) and self.output_sequence_length is not None:
                raise ValueError(
                    f"{where}: `{arg}={getattr(self, arg)!r}` weighs the tokens of a bag of words; a sequence "
                    f"(output_sequence_length={self.output_sequence_length}) embeds each position as it is. "
                    "Remove one."
                )
        if self.weighting and self.vocabulary is not None:
            raise ValueError(
                f"{where}: `weighting={self.weighting!r}` learns each token's document frequency with the "
                "vocabulary, by `FeatureLayer.adapt`. Give `max_tokens` instead of `vocabulary`."
            )
        for arg in ("ngrams", "output_sequence_length"):
            if getattr(self, arg) is not None:
                check_positive_int(where, arg, getattr(self, arg))
        check_missing_value(where, self.missing_value, "string")
        vocabulary = self.vocabulary
        if vocabulary is None:
            if self.max_tokens is None:
                raise ValueError(
                    f"{where}: give `vocabulary`, or `max_tokens` to learn one with `FeatureLayer.adapt`: embedding "
                    "tables are sized before any data is seen. Received: vocabulary=None, max_tokens=None."
                )
            check_positive_int(where, "max_tokens", self.max_tokens)
            if self.max_tokens <= self.num_oov_indices:
                raise ValueError(
                    f"{where}: `max_tokens` counts the OOV id too, so it must be at least {self.num_oov_indices + 1} "
                    f"with num_oov_indices={self.num_oov_indices}. Received: max_tokens={self.max_tokens}."
                )
        elif self.max_tokens is not None:
            raise ValueError(
                f"{where}: give `vocabulary` or `max_tokens`, not both. Received: max_tokens={self.max_tokens}."
            )
        else:
            vocabulary = check_vocabulary(where, vocabulary, "string")
        freeze(self, vocabulary=vocabulary, name=self.name or self.key)

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    @property
    def needs_adapt(self) -> bool:
        return self.vocabulary is None

    @property
    def num_buckets(self) -> int:
        return self.max_tokens if self.vocabulary is None else self.num_oov_indices + len(self.vocabulary)

    @property
    def id_width(self) -> int | None:
        return self.output_sequence_length

    @property
    def num_oov_ids(self) -> int:
        return self.num_oov_indices

    @property
    def rows_description(self) -> str:
        return f"{self.num_oov_indices} OOV row(s) first (num_oov_indices), then one row per vocabulary token"

    has_vocabulary = True
    always_one_id = False  # padding gets no id

    def reads(self) -> tuple:
        return (
            Read(self.key, "string", default=self.missing_value, blank_option='`missing_value=""`', free_text=True),
        )

    @property
    def keeps_state(self) -> bool:
        return self.needs_adapt

    @property
    def adapt_reason(self) -> str:
        return f"its vocabulary of up to max_tokens={self.max_tokens} ids is learned"

    def accumulator(self):
        return _TextCounts(self)

    def observe(self, batch: dict, defaults: dict, memo: dict):
        return self._text(batch)

    def stage(self, stats):
        return self.lookup_layer(stats["vocabulary"] if stats else self.vocabulary, name=f"{self.name}_lookup")

    def lookup_layer(self, vocabulary=None, name: str | None = None) -> keras.layers.Layer:
        """The `TextVectorization` layer; without `vocabulary`, the one whose tokens adapt counts."""
        return keras.layers.TextVectorization(
            # The learned tokens: max_tokens ids less our OOV ids, plus TextVectorization's mask and OOV entries.
            max_tokens=None if vocabulary is not None else self.max_tokens - self.num_oov_indices + 2,
            vocabulary=None if vocabulary is None else list(vocabulary),
            standardize=self.standardize,
            split=self.split,
            ngrams=self.ngrams,
            output_mode="int",
            ragged=True,
            name=name,
        )

    def compute_ids(self, preprocessor, features: dict, memo: dict):
        # TextVectorization gives 1 to unknown tokens, 2 + i to vocabulary[i]; its mask id 0 never comes (ragged).
        ids = _ragged(preprocessor.stages[self.name](self._text(features))) - (2 - self.num_oov_indices)
        if not self.num_oov_indices:
            ids = tf.ragged.boolean_mask(ids, ids >= 0)
        return ids.to_tensor(-1, shape=[None, self.output_sequence_length])

    @property
    def _weighted(self) -> bool:
        return bool(self.weighting or self.norm)

    def slot_spec(self, key: str) -> dict:
        spec = {key: ((self.id_width,), "int64")}
        return {**spec, weights_key(key): ((self.id_width,), "float32")} if self._weighted else spec

    def slot_tensors(self, preprocessor, key: str, ids, features: dict) -> dict:
        if not self._weighted:
            return {key: ids}
        present = ids >= 0
        if self.weighting:
            idf = tf.constant(preprocessor.state[self.name]["idf"], tf.float32)
            weights = tf.where(present, tf.gather(idf, tf.maximum(ids, 0)), 0.0)
        else:
            weights = tf.cast(present, tf.float32)
        if self.norm:
            weights = tf.math.divide_no_nan(weights, _bag_lengths(ids, weights, self.num_buckets)[:, None])
        return {key: ids, weights_key(key): weights}

    def id_weights(self, preprocessed: dict, key: str, present):
        return (
            slot_weights(preprocessed, key, present)
            if self._weighted
            else super().id_weights(preprocessed, key, present)
        )

    def _text(self, features: dict):
        return raw_tensor(features, self.key, describe(self), "string", single=True)


class _TextCounts:
    """Adapt's accumulator of a `TextColumn`: the tokens its `TextVectorization` makes of each text, counted for the
    vocabulary and, with `weighting="tf_idf"`, once per text holding them, for their inverse document frequencies
    (as Keras's `output_mode="tf_idf"` computes them). Both counts keep at most the vocabulary's capacity."""

    parallel = False  # the counts are updated in place

    def __init__(self, column: TextColumn):
        self.layer = column.lookup_layer()
        self.vocabulary = Vocabulary(column, self.layer, str)
        self.documents = TokenCounts(tf.string, self.vocabulary.counts.capacity) if column.weighting else None
        self.texts = 0
        self.oov_ids = column.num_oov_indices

    def update(self, texts) -> None:
        tokens = _ragged(text_tokens(self.layer, texts))
        self.vocabulary.update(tokens.flat_values)
        if self.documents is not None:
            self.documents.update(_once_per_text(tokens))
            self.texts += int(tokens.nrows())

    def result(self) -> dict:
        stats = self.vocabulary.result()
        if self.documents is None:
            return stats
        idf = np.log(1 + self.texts / (1 + self.documents.lookup(stats["vocabulary"])))
        oov = [float(np.mean(idf))] * self.oov_ids  # the OOV id: the mean
        return {**stats, "idf": [*oov, *(float(weight) for weight in idf)]}


def _ragged(tokens):
    """The tokens of each text as rows of a ragged tensor; with `split=None` TextVectorization gives one per text."""
    return tokens if isinstance(tokens, tf.RaggedTensor) else tf.RaggedTensor.from_tensor(tf.reshape(tokens, [-1, 1]))


def _bag_lengths(ids, weights, num_buckets: int):
    """The L2 length of each row's bag: the vector of its weights summed per id (padding, -1, holds none)."""
    rows = tf.shape(ids, out_type=tf.int64)[0]
    present = ids >= 0
    row_of = tf.broadcast_to(tf.range(rows)[:, None], tf.shape(ids, out_type=tf.int64))
    # One key per (row, id), so a token repeated in a text adds up before it is squared.
    keys, index = tf.unique(tf.boolean_mask(row_of * num_buckets + ids, present))
    totals = tf.math.unsorted_segment_sum(tf.boolean_mask(weights, present), index, tf.size(keys))
    return tf.sqrt(tf.math.unsorted_segment_sum(tf.square(totals), keys // num_buckets, rows))


def _once_per_text(tokens: tf.RaggedTensor) -> tf.Tensor:
    """The tokens of each text (a row of `tokens`), each distinct one once."""
    if tf.size(tokens.flat_values) == 0:
        return tokens.flat_values
    # "<row> <token>" is unique per (text, token): row numbers hold no space.
    _, index = tf.unique(tf.strings.join([tf.as_string(tokens.value_rowids()), tokens.flat_values], separator=" "))
    first = tf.math.unsorted_segment_min(tf.range(tf.size(index)), index, tf.reduce_max(index) + 1)
    return tf.gather(tokens.flat_values, first)
