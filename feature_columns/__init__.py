"""Declarative feature columns for Keras 3, compiled into preprocessing and embedding layers.

`feature_columns.legacy` offers `tf.feature_column`'s function names for migrating code.

>>> from feature_columns import BucketizedColumn, EmbeddingColumn, FeatureLayer, embedding_dim
>>> embedding_dim(168)
4
"""

from feature_columns import legacy
from feature_columns.columns import (
    BucketizedColumn,
    CrossedColumn,
    DistanceColumn,
    EmbeddingColumn,
    HashedColumn,
    IdentityColumn,
    IndicatorColumn,
    NumericColumn,
    SharedEmbeddingColumn,
    SharedEmbeddingColumns,
    TextColumn,
    VocabularyColumn,
    WeightedCategoricalColumn,
    embedding_dim,
    embedding_dim_search_space,
    from_config,
    serialize,
)
from feature_columns.encoding import FeatureEncoder
from feature_columns.feature_layer import FeatureLayer
from feature_columns.parsing import make_parse_example_spec, parse_example
from feature_columns.preprocessing import FeaturePreprocessor
from feature_columns.pretrained import PretrainedCheckpoint, PretrainedMatrix, PretrainedModel

__all__ = [
    "BucketizedColumn",
    "CrossedColumn",
    "DistanceColumn",
    "EmbeddingColumn",
    "FeatureEncoder",
    "FeatureLayer",
    "FeaturePreprocessor",
    "HashedColumn",
    "IdentityColumn",
    "IndicatorColumn",
    "NumericColumn",
    "PretrainedCheckpoint",
    "PretrainedMatrix",
    "PretrainedModel",
    "SharedEmbeddingColumn",
    "SharedEmbeddingColumns",
    "TextColumn",
    "VocabularyColumn",
    "WeightedCategoricalColumn",
    "embedding_dim",
    "embedding_dim_search_space",
    "from_config",
    "legacy",
    "make_parse_example_spec",
    "parse_example",
    "serialize",
]
