"""The text family: free text split into tokens (`TextColumn`), each token a categorical id.

>>> TextColumn("review", vocabulary=["good", "bad"]).num_buckets
3
"""

from __future__ import annotations

import keras

from feature_columns.accumulators import Vocabulary
from feature_columns.base import CategoricalColumn, Read, column_spec, describe
from feature_columns.categorical import check_missing_value
from feature_columns.tensors import raw_tensor
from feature_columns.validation import check_choice, check_key, check_positive_int, freeze
from feature_columns.vocabulary import check_vocabulary

TEXT_STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
TEXT_SPLIT = (None, "whitespace", "character")


@column_spec
class TextColumn(CategoricalColumn):
    """Free text split into tokens by `keras.layers.TextVectorization`, each token an id.

    Ids follow `VocabularyColumn` with one OOV id: unknown tokens get 0, `vocabulary[i]` gets `1 + i`; padding
    gets none. Fed to `EmbeddingColumn` it is a bag of words (the combiner averages the tokens; padding never
    counts), to `IndicatorColumn` token counts. With `output_sequence_length=L` the ids are a sequence padded
    or cut to `L` tokens, which `EmbeddingColumn(..., combiner=None)` embeds position by position.

    Args:
        key: the raw string feature, one text per example.
        max_tokens: with a learned vocabulary, the number of ids (the OOV id included), as `VocabularyColumn`.
        vocabulary: the tokens, or None to learn the most frequent ones with `FeatureLayer.adapt`.
        standardize, split, ngrams: as in `TextVectorization`.
        output_sequence_length: a fixed number of token ids per example; None for a bag of words.
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
    missing_value: str | None = None
    name: str | None = None

    def __post_init__(self):
        where = f"TextColumn({self.key!r})"
        check_key(where, self.key)
        check_choice(where, "standardize", self.standardize, TEXT_STANDARDIZE)
        check_choice(where, "split", self.split, TEXT_SPLIT)
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
        return Vocabulary(self, self.lookup_layer(), str)

    def observe(self, batch: dict, defaults: dict, memo: dict):
        return self._text(batch)

    def stage(self, stats):
        return self.lookup_layer(stats["vocabulary"] if stats else self.vocabulary, name=f"{self.name}_lookup")

    def lookup_layer(self, vocabulary=None, name: str | None = None) -> keras.layers.Layer:
        """The `TextVectorization` layer; without `vocabulary`, one to `update_state` (adapt)."""
        return keras.layers.TextVectorization(
            # The learned tokens: max_tokens ids less our OOV id, plus TextVectorization's mask and OOV entries.
            max_tokens=None if vocabulary is not None else self.max_tokens + 1,
            vocabulary=None if vocabulary is None else list(vocabulary),
            standardize=self.standardize,
            split=self.split,
            ngrams=self.ngrams,
            output_mode="int",
            ragged=True,
            name=name,
        )

    def compute_ids(self, preprocessor, features: dict, memo: dict):
        tokens = preprocessor.stages[self.name](self._text(features)) - 1  # the mask id 0 is never produced (ragged)
        return tokens.to_tensor(-1, shape=[None, self.output_sequence_length])

    def _text(self, features: dict):
        return raw_tensor(features, self.key, describe(self), "string", single=True)
