"""FeatureLayer outputs on small inputs, computed by hand; adapt in one pass; bad input."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
from feature_columns.adapt import _one_pass, iter_feature_batches


def test_zscore_uses_adapted_mean_and_variance():
    layer = fc.FeatureLayer([fc.NumericColumn("x", normalization="zscore")])
    layer.adapt(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}))
    # mean = 10 / 4 = 2.5; variance = (1.5**2 + 0.5**2 + 0.5**2 + 1.5**2) / 4 = 5 / 4 = 1.25
    assert layer.state["x"]["mean"] == pytest.approx(2.5)
    assert layer.state["x"]["variance"] == pytest.approx(1.25)
    out = layer({"x": np.array([4.0, 2.5])}).numpy().ravel()
    np.testing.assert_allclose(out, [1.5 / 1.25**0.5, 0.0], rtol=1e-5)  # (4 - 2.5) / sqrt(1.25) = 1.3416


def test_minmax_scales_into_unit_interval():
    layer = fc.FeatureLayer([fc.NumericColumn("x", normalization="minmax")])
    layer.adapt({"x": [2.0, 10.0, 6.0]})
    # (x - min) / (max - min) with min 2, max 10: 4 -> 2/8 = 0.25, 10 -> 1
    np.testing.assert_allclose(layer({"x": np.array([4.0, 10.0])}).numpy().ravel(), [0.25, 1.0], rtol=1e-6)


def test_log_and_clip_need_no_adapt():
    layer = fc.FeatureLayer([fc.NumericColumn("x", normalization="log", clip=(0.0, 9.0))])
    assert not layer.needs_adapt
    # clip first, then log1p: -5 -> 0 -> log(1) = 0; 20 -> 9 -> log(10) = 2.302585
    np.testing.assert_allclose(layer({"x": np.array([-5.0, 20.0])}).numpy().ravel(), [0.0, np.log(10.0)], rtol=1e-6)


def test_bucketized_with_explicit_boundaries_is_left_inclusive():
    column = fc.IndicatorColumn(fc.BucketizedColumn("x", bin_boundaries=[0.0, 10.0]))
    out = fc.FeatureLayer([column])({"x": np.array([-5.0, 0.0, 5.0, 10.0])}).numpy()
    # buckets: (-inf, 0) -> 0, [0, 10) -> 1, [10, inf) -> 2
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]])


def test_bucketized_num_bins_adapts_quantile_boundaries():
    column = fc.BucketizedColumn("x", num_bins=4)
    layer = fc.FeatureLayer([fc.IndicatorColumn(column)])
    layer.adapt({"x": np.arange(100.0)})
    # quantiles 0.25, 0.5, 0.75 of 0..99 by linear interpolation: 0.25 * 99 = 24.75, 49.5, 74.25
    np.testing.assert_allclose(layer.state[column.name]["bin_boundaries"], [24.75, 49.5, 74.25])
    ids = layer.preprocessor({"x": np.array([24.0, 25.0, 99.0])})[column.name + "_indicator"].numpy().ravel()
    np.testing.assert_array_equal(ids, [0, 1, 3])


def test_quantile_boundaries_from_several_batches_equal_numpys_over_all_values():
    # Ties, an odd count and uneven batches: the cuts are those of np.quantile (linear) over every value seen.
    values = np.round(np.random.default_rng(0).lognormal(size=10_001), 1).astype("float32")
    column = fc.BucketizedColumn("x", num_bins=16)
    layer = fc.FeatureLayer([fc.IndicatorColumn(column)])
    layer.adapt({"x": values}, batch_size=999)
    expected = np.unique(np.quantile(values, np.linspace(0, 1, 17)[1:-1]))
    np.testing.assert_array_equal(layer.state[column.name]["bin_boundaries"], expected)


def test_distance_is_euclidean():
    column = fc.DistanceColumn(("x0", "y0", "x1", "y1"), name="d")
    features = {
        "x0": np.array([0.0, 1.0]),
        "y0": np.array([0.0, 1.0]),
        "x1": np.array([3.0, 1.0]),
        "y1": np.array([4.0, 2.0]),
    }
    # sqrt(3**2 + 4**2) = 5; sqrt(0**2 + 1**2) = 1
    np.testing.assert_allclose(fc.FeatureLayer([column])(features).numpy().ravel(), [5.0, 1.0])


def test_embedding_looks_up_rows_and_concatenates_in_column_order():
    column = fc.EmbeddingColumn(fc.IdentityColumn("id", num_buckets=3), dimension=2)
    layer = fc.FeatureLayer([fc.NumericColumn("x"), column])
    layer.encoder.embeddings[column.name].set_weights([np.array([[0.0, 0.0], [1.0, 10.0], [2.0, 20.0]])])
    out = layer({"x": np.array([7.0, 8.0]), "id": np.array([2, 1])}).numpy()
    # [x, row of id]: [7, 2, 20] and [8, 1, 10]
    np.testing.assert_array_equal(out, [[7.0, 2.0, 20.0], [8.0, 1.0, 10.0]])


def test_hashed_ids_match_tensorflow_fingerprint_hashing():
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.HashedColumn("s", num_bins=7))])
    words = np.array(["apple", "pear", "fig"])
    ids = layer.preprocessor({"s": words})["s_indicator"].numpy().ravel()
    np.testing.assert_array_equal(ids, tf.strings.to_hash_bucket_fast(words, 7).numpy())


def test_crossed_ids_are_deterministic_and_in_range():
    day, hour = fc.IdentityColumn("day", num_buckets=7), fc.IdentityColumn("hour", num_buckets=24)
    cross = fc.CrossedColumn((day, hour), num_bins=168)
    layer = fc.FeatureLayer([fc.IndicatorColumn(cross)])
    features = {"day": np.repeat(np.arange(7), 24), "hour": np.tile(np.arange(24), 7)}
    ids = layer.preprocessor(features)[cross.name + "_indicator"].numpy().ravel()
    assert ids.min() >= 0 and ids.max() < 168
    np.testing.assert_array_equal(ids, layer.preprocessor(features)[cross.name + "_indicator"].numpy().ravel())
    assert len(set(ids)) > 100  # 168 pairs hashed into 168 buckets: collisions exist, but most pairs differ


def test_default_value_fills_missing_numbers_everywhere_the_feature_is_read():
    columns = [
        fc.NumericColumn("x", default_value=3.0),
        fc.IndicatorColumn(fc.BucketizedColumn("x", bin_boundaries=[2.0])),
    ]
    out = fc.FeatureLayer(columns)({"x": np.array([np.nan, 1.0])}).numpy()
    # NaN -> 3.0, which is also bucketized as 3.0 (>= 2 -> bucket 1)
    np.testing.assert_array_equal(out, [[3.0, 0.0, 1.0], [1.0, 1.0, 0.0]])


def test_adapt_accepts_a_dataset_and_matches_the_dataframe_result():
    column = fc.NumericColumn("x", normalization="zscore")
    frame = pd.DataFrame({"x": np.linspace(0, 1, 1000)})
    from_frame, from_dataset = fc.FeatureLayer([column]), fc.FeatureLayer([column])
    from_frame.adapt(frame)
    from_dataset.adapt(tf.data.Dataset.from_tensor_slices(({"x": frame["x"].to_numpy()}, np.zeros(1000))).batch(64))
    assert from_frame.state["x"]["mean"] == pytest.approx(from_dataset.state["x"]["mean"])
    assert from_frame.state["x"]["variance"] == pytest.approx(from_dataset.state["x"]["variance"])


def test_adapt_regroups_dense_batches_as_dataset_rebatch_does():
    # 10 rows in batches of 3 (3, 3, 3, 1), with a [batch, 2] feature and labels, read in steps of 4 rows:
    # the same rows in the same order as `rebatch(4)` gives them (4, 4, 2), labels dropped.
    rows = {"x": np.arange(10.0), "pair": np.arange(20).reshape(10, 2)}
    dataset = tf.data.Dataset.from_tensor_slices((rows, np.zeros(10))).batch(3)
    columns = [fc.NumericColumn("x"), fc.NumericColumn("pair", shape=(2,))]
    ours = list(iter_feature_batches(dataset, columns, batch_size=4))
    theirs = [features for features, _ in dataset.rebatch(4)]
    assert [len(batch["x"]) for batch in ours] == [4, 4, 2]
    for mine, expected in zip(ours, theirs, strict=True):
        assert mine.keys() == expected.keys()
        for key in mine:
            np.testing.assert_array_equal(mine[key], expected[key])


def test_adapt_turns_off_tf_data_rewrites_and_autotune_unless_the_dataset_sets_them():
    plain = tf.data.Dataset.from_tensor_slices({"x": np.arange(8.0)}).batch(2)
    options = _one_pass(plain, 4).options()
    assert options.autotune.enabled is False
    assert options.experimental_optimization.apply_default_optimizations is False
    own = tf.data.Options()
    own.autotune.enabled = True  # the user's choice stands
    options = _one_pass(plain.with_options(own), 4).options()
    assert options.autotune.enabled is True
    assert options.experimental_optimization.apply_default_optimizations is False


def test_string_columns_from_pandas_string_dtype():
    frame = pd.DataFrame({"city": pd.array(["a", "b"], dtype="string")})
    layer = fc.FeatureLayer([fc.IndicatorColumn(fc.HashedColumn("city", num_bins=5))])
    layer.adapt(frame)  # nothing to learn, but the conversion runs
    assert layer.raw_features["city"].dtype == "string"


def test_raw_inputs_are_scalars_per_example_with_the_data_dtypes():
    layer = fc.FeatureLayer([fc.NumericColumn("x"), fc.EmbeddingColumn(fc.IdentityColumn("id", num_buckets=3))])
    inputs = layer.raw_inputs()
    assert {k: (tuple(v.shape), v.dtype) for k, v in inputs.items()} == {
        "x": ((None,), "float32"),
        "id": ((None,), "int64"),
    }


def test_layer_config_round_trip_keeps_adapted_state():
    layer = fc.FeatureLayer([fc.NumericColumn("x", normalization="zscore")])
    layer.adapt({"x": [0.0, 2.0]})
    clone = fc.FeatureLayer.from_config(layer.get_config())
    np.testing.assert_allclose(clone({"x": np.array([3.0])}), layer({"x": np.array([3.0])}))


# -- bad input -----------------------------------------------------------------------------------------


def test_using_an_unadapted_layer_says_to_adapt():
    layer = fc.FeatureLayer([fc.NumericColumn("x", normalization="zscore")])
    with pytest.raises(ValueError, match=r"\['x'\] learn statistics from data. Call `FeatureLayer.adapt"):
        layer({"x": np.array([1.0])})


def test_missing_feature_is_named():
    layer = fc.FeatureLayer([fc.NumericColumn("x"), fc.NumericColumn("y")])
    with pytest.raises(ValueError, match="raw feature 'y' is missing"):
        layer({"x": np.array([1.0])})


def test_nan_without_default_is_rejected_at_adapt():
    layer = fc.FeatureLayer([fc.NumericColumn("x", normalization="zscore")])
    with pytest.raises(ValueError, match="feature 'x' has a missing value \\(row 1\\)"):
        layer.adapt(pd.DataFrame({"x": [1.0, np.nan]}))


def test_text_in_a_numeric_column_is_named():
    layer = fc.FeatureLayer([fc.NumericColumn("x", normalization="zscore")])
    with pytest.raises(ValueError, match=r"feature 'x' must be numeric .* row 2 holds 'abc'"):
        layer.adapt(pd.DataFrame({"x": ["1", "2", "abc"]}))


def test_two_columns_with_one_name_are_rejected():
    with pytest.raises(ValueError, match="two different columns are named 'x'"):
        fc.FeatureLayer([fc.NumericColumn("x"), fc.NumericColumn("y", name="x")])


def test_categorical_columns_must_be_wrapped():
    with pytest.raises(TypeError, match="Wrap categorical columns in EmbeddingColumn or IndicatorColumn"):
        fc.FeatureLayer([fc.HashedColumn("h", num_bins=3)])


def test_conflicting_dtypes_for_one_raw_feature_are_rejected():
    with pytest.raises(ValueError, match="raw feature 'h' is read as"):
        fc.FeatureLayer(
            [fc.IndicatorColumn(fc.HashedColumn("h", 3)), fc.IndicatorColumn(fc.IdentityColumn("h", 3, name="h_id"))]
        )


def test_adapt_after_building_a_model_is_rejected():
    layer = fc.FeatureLayer([fc.NumericColumn("x", normalization="zscore")])
    layer.adapt({"x": [0.0, 1.0]})
    layer({"x": np.array([1.0])})
    with pytest.raises(ValueError, match="already part of a built model"):
        layer.adapt({"x": [5.0, 6.0]})


def test_empty_data_is_rejected_at_adapt():
    with pytest.raises(ValueError, match="holds no examples"):
        fc.FeatureLayer([fc.NumericColumn("x", normalization="zscore")]).adapt(
            tf.data.Dataset.from_tensor_slices({"x": np.zeros(0, "float32")}).batch(4)
        )


def test_layer_takes_a_dataframe_with_pandas_strings_directly():
    layer = fc.FeatureLayer([fc.NumericColumn("x"), fc.IndicatorColumn(fc.VocabularyColumn("c", ["a", "b"]))])
    frame = pd.DataFrame({"x": [1.5, 2.5], "c": pd.array(["b", "z"], dtype="string")})
    np.testing.assert_array_equal(layer(frame), [[1.5, 0, 0, 1], [2.5, 1, 0, 0]])  # b -> 2, z -> OOV 0


def test_dataframe_input_is_checked_with_row_numbers():
    layer = fc.FeatureLayer([fc.NumericColumn("x")])
    with pytest.raises(ValueError, match=r"FeatureLayer: feature 'x' has a missing value \(row 1\)"):
        layer(pd.DataFrame({"x": [1.0, None]}))
