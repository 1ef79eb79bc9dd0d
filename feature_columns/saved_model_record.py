"""A SavedModel's record of its `FeatureLayer`: the columns and their adapted state, beside the model.

A SavedModel keeps a model's variables but not what their rows mean. An exporter (tfkit's `export_saved_model`)
writes this record into the export with `write_saved_model_record`; `PretrainedModel` and tfkit's warm start read
it back with `saved_model_keys`, to match an embedding table's rows to a new vocabulary by token. The file is
`RECORD_FILE` inside the SavedModel folder (`assets.extra/`, TF Serving's place for extra files), in the form an
Estimator's `estimator.json` records the columns.

>>> import tempfile
>>> from feature_columns import EmbeddingColumn, VocabularyColumn
>>> folder = tempfile.mkdtemp()
>>> write_saved_model_record(folder, [EmbeddingColumn(VocabularyColumn("day", ["mon", "tue"]), 2)], {})
>>> saved_model_keys(folder)["day_embedding"][1:]  # the OOV row first, then the tokens' rows
['mon', 'tue']
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from feature_columns.base import from_config, serialize
from feature_columns.encoding import embedding_tables
from feature_columns.feature_layer import FeatureLayer

RECORD_FILE = os.path.join("assets.extra", "feature_columns.json")


def write_saved_model_record(export_dir: str, columns, state: dict) -> None:
    """Writes the record of a `FeatureLayer` (its `columns` and adapted `state`) into the SavedModel `export_dir`."""
    record = {"feature_columns": [serialize(column) for column in columns], "feature_state": state}
    tf.io.gfile.makedirs(os.path.dirname(os.path.join(export_dir, RECORD_FILE)))
    with tf.io.gfile.GFile(os.path.join(export_dir, RECORD_FILE), "w") as file:
        json.dump(record, file, indent=1, sort_keys=True)


def saved_model_keys(path: str) -> dict | None:
    """`{embedding table name: row keys}` of a SavedModel's tables, as `EmbeddingTable.keys` (None: plain ids).

    None for a SavedModel without `RECORD_FILE` (exported before tfkit recorded it): its rows are unnamed.
    """
    record_path = os.path.join(path, RECORD_FILE)
    if not tf.io.gfile.exists(record_path):
        return None
    with tf.io.gfile.GFile(record_path, "r") as file:
        record = json.load(file)
    # The recorded layer, rebuilt without its tables' sources, names its rows exactly as a loaded model's would.
    layer = FeatureLayer(
        [from_config(config) for config in record["feature_columns"]],
        state=record["feature_state"],
        read_pretrained=False,
    )
    return {name: table.keys for name, table in embedding_tables(layer).items()}


def embedding_column_of(variable_name: str) -> str | None:
    """The embedding column whose table a SavedModel variable is, or None: Keras keeps a variable's path,
    `<leading scopes>/<column>/embeddings`, as its name in a SavedModel."""
    if not variable_name.endswith("/embeddings"):
        return None
    return variable_name.removesuffix("/embeddings").rsplit("/", 1)[-1]
