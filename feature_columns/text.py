"""The text family: free text split into tokens (`TextColumn`), each token a categorical id.

>>> TextColumn("review", vocabulary=["good", "bad"]).num_buckets
3
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from feature_columns.accumulators import Vocabulary
from feature_columns.base import CategoricalColumn, Read, column_spec, describe
from feature_columns.categorical import check_missing_value
from feature_columns.tensors import raw_tensor
from feature_columns.validation import check_choice, check_key, check_positive_int, freeze
from feature_columns.vocabulary import check_vocabulary
from feature_columns.weighted import slot_weights, weights_key

TEXT_STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
TEXT_SPLIT = (None, "whitespace", "character")
TEXT_WEIGHTING = (None, "tf_idf")


@column_spec
class TextColumn(CategoricalColumn):
    """Free text split into tokens by `keras.layers.TextVectorization`, each token an id.

    Ids follow `VocabularyColumn` with one OOV id: unknown tokens get 0, `vocabulary[i]` gets `1 + i`; padding
    gets none. Fed to `EmbeddingColumn` it is a bag of words (the combiner averages the tokens; padding never
    counts), to `IndicatorColumn` token counts. With `output_sequence_length=L` the ids are a sequence padded
    or cut to `L` tokens, which `EmbeddingColumn(..., combiner=None)` embeds position by position.

    With `weighting="tf_idf"` each token carries its inverse document frequency, `log(1 + documents / (1 +
    documents holding the token))` as Keras's `TextVectorization(output_mode="tf_idf")` learns it (the OOV id:
    the mean over the vocabulary), so an indicator gives TF-IDF values and an embedding weighs each token by it:
    with `combiner="sqrtn"`, the table times the TF-IDF vector scaled to unit length (exactly so when no token
    repeats), as a linear layer over scikit-learn's `TfidfVectorizer` features sees them. Rare words then count
    for more than "the".

    Args:
        key: the raw string feature, one text per example.
        max_tokens: with a learned vocabulary, the number of ids (the OOV id included), as `VocabularyColumn`.
        vocabulary: the tokens, or None to learn the most frequent ones with `FeatureLayer.adapt`.
        standardize, split, ngrams: as in `TextVectorization`.
        output_sequence_length: a fixed number of token ids per example; None for a bag of words.
        weighting: None (every token weighs 1) or `"tf_idf"` (each token its inverse document frequency, learned
            with the vocabulary by `FeatureLayer.adapt`); for a bag of words.
        missing_value: the text a blank reads as (`""`: no tokens); None makes a blank an error. See "Blanks" in
            `feature_columns.categorical`.
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
    missing_value: str | None = None
    name: str | None = None

    def __post_init__(self):
        where = f"TextColumn({self.key!r})"
        check_key(where, self.key)
        check_choice(where, "standardize", self.standardize, TEXT_STANDARDIZE)
        check_choice(where, "split", self.split, TEXT_SPLIT)
        check_choice(where, "weighting", self.weighting, TEXT_WEIGHTING)
        if self.weighting and self.output_sequence_length is not None:
            raise ValueError(
                f"{where}: `weighting={self.weighting!r}` weighs the tokens of a bag of words; a sequence "
                f"(output_sequence_length={self.output_sequence_length}) embeds each position as it is. Remove one."
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
            if self.max_tokens < 2:
                raise ValueError(
                    f"{where}: `max_tokens` counts the OOV id too, so it must be at least 2. "
                    f"Received: max_tokens={self.max_tokens}."
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
        return self.max_tokens if self.vocabulary is None else 1 + len(self.vocabulary)

    @property
    def id_width(self) -> int | None:
        return self.output_sequence_length

    has_vocabulary = True
    num_oov_ids = 1
    rows_description = "1 OOV row first, then one row per vocabulary token"
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
        vocabulary = Vocabulary(self, self.lookup_layer(), str)
        return _DocumentFrequencies(vocabulary) if self.weighting else vocabulary

    def observe(self, batch: dict, defaults: dict, memo: dict):
        return self._text(batch)

    def stage(self, stats):
        return self.lookup_layer(stats["vocabulary"] if stats else self.vocabulary, name=f"{self.name}_lookup")

    def lookup_layer(self, vocabulary=None, name: str | None = None) -> keras.layers.Layer:
        """The `TextVectorization` layer; without `vocabulary`, one to `update_state` (adapt), which also counts
        documents with `weighting="tf_idf"`."""
        counts_documents = vocabulary is None and self.weighting == "tf_idf"
        return keras.layers.TextVectorization(
            # The learned tokens: max_tokens ids less our OOV id, plus TextVectorization's OOV entry and, except
            # when it counts documents ("tf_idf" has no mask), its mask entry.
            max_tokens=None if vocabulary is not None else self.max_tokens + (not counts_documents),
            vocabulary=None if vocabulary is None else list(vocabulary),
            standardize=self.standardize,
            split=self.split,
            ngrams=self.ngrams,
            output_mode="tf_idf" if counts_documents else "int",
            ragged=not counts_documents,
            name=name,
        )

    def compute_ids(self, preprocessor, features: dict, memo: dict):
        tokens = preprocessor.stages[self.name](self._text(features)) - 1  # the mask id 0 is never produced (ragged)
        return tokens.to_tensor(-1, shape=[None, self.output_sequence_length])

    def slot_spec(self, key: str) -> dict:
        spec = {key: ((self.id_width,), "int64")}
        return {**spec, weights_key(key): ((self.id_width,), "float32")} if self.weighting else spec

    def slot_tensors(self, preprocessor, key: str, ids, features: dict) -> dict:
        if not self.weighting:
            return {key: ids}
        idf = tf.constant(preprocessor.state[self.name]["idf"], tf.float32)
        return {key: ids, weights_key(key): tf.where(ids >= 0, tf.gather(idf, tf.maximum(ids, 0)), 0.0)}

    def id_weights(self, preprocessed: dict, key: str, present):
        return (
            slot_weights(preprocessed, key, present)
            if self.weighting
            else super().id_weights(preprocessed, key, present)
        )

    def _text(self, features: dict):
        return raw_tensor(features, self.key, describe(self), "string", single=True)


class _DocumentFrequencies:
    """Adapt's accumulator for `weighting="tf_idf"`: the vocabulary, and each id's inverse document frequency as
    the `TextVectorization` counting them learned it (OOV id first)."""

    parallel = False

    def __init__(self, vocabulary: Vocabulary):
        self.vocabulary = vocabulary

    def update(self, texts) -> None:
        self.vocabulary.update(texts)

    def result(self) -> dict:
        stats = self.vocabulary.result()  # finalizes the layer's counts
        store: dict = {}
        self.vocabulary.layer.save_own_variables(store)  # its idf weights: OOV, then the vocabulary's
        idf = np.asarray(store["idf_weights"])[: 1 + len(stats["vocabulary"])]
        return {**stats, "idf": [float(weight) for weight in idf]}
