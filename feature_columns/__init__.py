"""Declarative feature columns for Keras 3, compiled into preprocessing and embedding layers.

`feature_columns.legacy` offers `tf.feature_column`'s function names for migrating code. Each column family
lives in one module (`numeric`, `categorical`, `crossed`, `weighted`, `text`, `image`, `embedding`, `indicator`)
with its behaviour; the rest of the package calls the methods declared in `base`.

>>> from feature_columns import BucketizedColumn, EmbeddingColumn, FeatureLayer, embedding_dim
>>> embedding_dim(168)
4
"""

from feature_columns import legacy
from feature_columns.base import from_config, serialize
from feature_columns.categorical import HashedColumn, IdentityColumn, VocabularyColumn
from feature_columns.crossed import CrossedColumn
from feature_columns.embedding import (
    EmbeddingColumn,
    SharedEmbeddingColumn,
    SharedEmbeddingColumns,
    embedding_dim,
    embedding_dim_search_space,
)
from feature_columns.encoding import FeatureEncoder
from feature_columns.feature_layer import FeatureLayer
from feature_columns.image import BinarizedColumn, ImageColumn
from feature_columns.indicator import IndicatorColumn
from feature_columns.numeric import BucketizedColumn, DistanceColumn, NumericColumn
from feature_columns.parsing import make_parse_example_spec, parse_example
from feature_columns.preprocessing import FeaturePreprocessor
from feature_columns.pretrained import PretrainedCheckpoint, PretrainedModel
from feature_columns.pretrained_matrix import PretrainedMatrix
from feature_columns.text import TextColumn
from feature_columns.weighted import WeightedCategoricalColumn

__all__ = [
    "BinarizedColumn",
    "BucketizedColumn",
    "CrossedColumn",
    "DistanceColumn",
    "EmbeddingColumn",
    "FeatureEncoder",
    "FeatureLayer",
    "FeaturePreprocessor",
    "HashedColumn",
    "IdentityColumn",
    "ImageColumn",
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
