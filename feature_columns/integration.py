"""What a library that builds models on a `FeatureLayer` needs of its internals (tfkit uses this module).

`feature_columns`' top-level names are for people declaring columns; this module is for code that trains and
serves the compiled layer: the raw features it reads, the tensors its preprocessor gives, its embedding tables
and the vocabularies naming their rows, the conversion and checks of raw arrays, and a SavedModel's record of
its columns. Everything else in the package is private and may change.

>>> from feature_columns import NumericColumn, IndicatorColumn, HashedColumn
>>> columns = [NumericColumn("x"), IndicatorColumn(HashedColumn("h", num_bins=4))]
>>> sorted(raw_features(columns)), preprocessed_spec(columns)
(['h', 'x'], {'x': ((1,), 'float32'), 'h_indicator': ((1,), 'int64')})
"""

from feature_columns.encoding import EmbeddingTable, embedding_tables
from feature_columns.inputs import to_feature_arrays, to_tensors
from feature_columns.keras_internals import adam_slots, walk_layers
from feature_columns.remap import remap_rows
from feature_columns.saved_model_record import embedding_column_of, saved_model_keys, write_saved_model_record
from feature_columns.specs import RawFeature, check_columns, id_slots, is_dense, preprocessed_spec, raw_features
from feature_columns.validation import is_count, is_number
from feature_columns.vocabulary import padding_value

__all__ = [
    "EmbeddingTable",
    "RawFeature",
    "adam_slots",
    "check_columns",
    "embedding_column_of",
    "embedding_tables",
    "id_slots",
    "is_count",
    "is_dense",
    "is_number",
    "padding_value",
    "preprocessed_spec",
    "raw_features",
    "remap_rows",
    "saved_model_keys",
    "to_feature_arrays",
    "to_tensors",
    "walk_layers",
    "write_saved_model_record",
]
