"""Column specs live in Keras's serialization registry, and a new column type is one class: the generic machinery
(walking, raw features, preprocessing, encoding, serialization) asks the column, never its type."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import feature_columns as fc
from feature_columns.base import CategoricalColumn, Read, column_spec
from feature_columns.integration import preprocessed_spec, raw_features


@column_spec
class ModuloColumn(CategoricalColumn):
    """Integer values modulo `num_buckets`: a column type defined outside the package."""

    key: str
    num_buckets: int
    name: str | None = None

    crossable = True
    id_width = 1
    needs_adapt = False

    def __post_init__(self):
        object.__setattr__(self, "name", self.name or f"{self.key}_mod")

    @property
    def input_keys(self) -> tuple:
        return (self.key,)

    def reads(self) -> tuple:
        return (Read(self.key, "int64"),)

    def compute_ids(self, preprocessor, features, memo):
        return tf.math.floormod(tf.reshape(tf.cast(features[self.key], tf.int64), [-1, 1]), self.num_buckets)


def test_column_specs_are_registered_with_keras():
    assert keras.saving.get_registered_object("feature_columns>NumericColumn") is fc.NumericColumn
    assert keras.saving.get_registered_object("feature_columns>PretrainedMatrix") is fc.PretrainedMatrix


def test_from_config_names_an_unknown_class_and_the_known_ones():
    with pytest.raises(ValueError, match=r"class_name='Nope'\. Known: \[.*'NumericColumn'.*\]"):
        fc.from_config({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match=r"class_name='FeatureLayer'"):  # registered, but not a column
        fc.from_config({"class_name": "FeatureLayer", "config": {}})


def test_a_new_column_type_is_one_class():
    modulo = ModuloColumn("n", 3)
    columns = [fc.IndicatorColumn(modulo), fc.EmbeddingColumn(fc.CrossedColumn((modulo, "s"), num_bins=8), 2)]
    assert sorted(raw_features(columns)) == ["n", "s"] and raw_features(columns)["n"].dtype == "int64"
    assert preprocessed_spec(columns[:1]) == {"n_mod_indicator": ((1,), "int64")}
    out = fc.FeatureLayer(columns)({"n": np.array([4, 5]), "s": np.array(["a", "b"])}).numpy()
    np.testing.assert_array_equal(out[:, :3], [[0, 1, 0], [0, 0, 1]])  # 4 % 3 = 1, 5 % 3 = 2
    assert out.shape == (2, 5)  # 3 one-hot values, then the cross's 2-wide embedding
    assert [fc.from_config(fc.serialize(column)) for column in columns] == columns
