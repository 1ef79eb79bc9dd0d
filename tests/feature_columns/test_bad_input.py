"""Bad input, one case per test: each raises ValueError/TypeError naming the column's feature and the fix.

Errors surface at the earliest point that has the information: the DataFrame/array boundary and `adapt`
check whole arrays; an eager call checks its tensors; inside a graph (`tf.data`, a SavedModel) the same
message fails the step. Unknown categories are not an error: they get OOV ids silently.
"""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc


def test_missing_feature_names_it_and_says_to_add_it():
    layer = fc.FeatureLayer([fc.NumericColumn("x"), fc.IndicatorColumn(fc.VocabularyColumn("city", ["a", "b"]))])
    with pytest.raises(ValueError, match=r"VocabularyColumn\('city'\): the raw feature 'city' is missing.*Add 'city'"):
        layer({"x": np.array([1.0])})


def test_missing_feature_at_adapt_lists_what_the_model_reads():
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.VocabularyColumn("city", max_tokens=5))])
    with pytest.raises(ValueError, match=r"missing feature\(s\) \['city'\].*Add the missing ones"):
        layer.adapt(pd.DataFrame({"town": ["a"]}))


def test_numbers_for_a_string_feature_are_a_type_error_not_silently_stringified():
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.VocabularyColumn("zip", max_tokens=5))])
    with pytest.raises(TypeError, match=r"feature 'zip' is read as strings, but it holds int64.*astype\(str\)"):
        layer.adapt(pd.DataFrame({"zip": [10001, 94110]}))


def test_unexpected_tensor_dtype_names_the_column_and_the_fix():
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.HashedColumn("city", num_bins=4))])
    with pytest.raises(TypeError, match=r"HashedColumn\('city'\): raw feature 'city' must hold strings.*float32"):
        layer({"city": np.array([1.5, 2.5], "float32")})


def test_text_in_a_numeric_tensor_names_the_column():
    layer = fc.FeatureLayer([fc.NumericColumn("fare")])
    with pytest.raises(TypeError, match=r"NumericColumn\('fare'\): raw feature 'fare' must hold numbers.*to_numeric"):
        layer({"fare": np.array(["1.5"])})


def test_nan_without_default_is_rejected_when_called():
    layer = fc.FeatureLayer([fc.NumericColumn("fare")])
    with pytest.raises(ValueError, match=r"raw feature 'fare' has a missing value \(NaN\).*`default_value`"):
        layer({"fare": np.array([1.0, np.nan], "float32")})


def test_nan_without_default_fails_the_tf_data_step_with_the_same_message():
    layer = fc.FeatureLayer([fc.NumericColumn("fare")])
    dataset = tf.data.Dataset.from_tensors({"fare": np.array([np.nan], "float32")}).map(layer.preprocessor)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"raw feature .*fare.* has a missing value \(NaN\)"):
        next(iter(dataset))


def test_identity_id_out_of_range_is_rejected_when_called():
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.IdentityColumn("day", num_buckets=7))])
    with pytest.raises(ValueError, match=r"IdentityColumn\('day'\).*ids in \[0, 7\).*`default_value`.*Received: \[9\]"):
        layer({"day": np.array([3, 9])})


def test_identity_id_out_of_range_is_rejected_at_the_data_boundary():
    layer = fc.FeatureLayer(
        [fc.IndicatorColumn(fc.IdentityColumn("day", num_buckets=7)), fc.NumericColumn("x", normalization="zscore")]
    )
    with pytest.raises(ValueError, match=r"feature 'day' must hold ids in \[0, 7\).*row 1 holds -2"):
        layer.adapt(pd.DataFrame({"day": [3, -2], "x": [0.0, 1.0]}))


def test_identity_default_value_takes_out_of_range_ids_silently():
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.IdentityColumn("day", num_buckets=3, default_value=0))])
    np.testing.assert_array_equal(layer({"day": np.array([2, 7, -5])}), [[0, 0, 1], [1, 0, 0], [1, 0, 0]])


def test_empty_vocabulary_after_adapt_names_the_column():
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.VocabularyColumn("tags", max_tokens=5, multivalent=True))])
    with pytest.raises(ValueError, match=r"VocabularyColumn\('tags'\) found no values.*padding is ignored"):
        layer.adapt({"tags": np.array([["", ""], ["", ""]])})


def test_two_columns_with_the_same_name_are_rejected():
    with pytest.raises(ValueError, match=r"two different columns are named 'city'.*another `name=`"):
        fc.FeatureLayer(
            [
                fc.IndicatorColumn(fc.VocabularyColumn("city", max_tokens=5)),
                fc.EmbeddingColumn(fc.VocabularyColumn("city", max_tokens=50)),
            ]
        )


def test_unknown_categories_map_to_oov_ids_silently():
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.VocabularyColumn("city", ["nyc", "sf"]))])
    # one OOV id first: unknown -> 0, "nyc" -> 1, "sf" -> 2
    np.testing.assert_array_equal(layer({"city": np.array(["sf", "paris"])}), [[0, 0, 1], [1, 0, 0]])


def test_several_values_for_a_single_valued_column_say_to_declare_it_multivalent():
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.VocabularyColumn("tags", ["a", "b"]))])
    with pytest.raises(ValueError, match=r"raw feature 'tags' has 2 values per example.*`multivalent=True`"):
        layer({"tags": np.array([["a", "b"]])})


def test_weights_not_aligned_with_their_ids_are_rejected():
    column = fc.WeightedCategoricalColumn(fc.IdentityColumn("ids", 5, multivalent=True), "w")
    layer = fc.FeatureLayer([fc.IndicatorColumn(column)])
    with pytest.raises(ValueError, match=r"raw feature 'w' must hold one weight per id of 'ids'"):
        layer({"ids": np.array([[1, 2]]), "w": np.array([[1.0, 2.0, 3.0]], "float32")})
