"""Column specs: validation, derived names, the embedding-dimension rule and config round trips."""

import pytest

import feature_columns as fc
from tfkit.testing import all_example_columns, check_column, example_features


@pytest.mark.parametrize(("num_values", "dimension"), [(81, 3), (168, 4), (500_000, 27), (1, 1), (2, 1)])
def test_embedding_dim_fourth_root_rule(num_values, dimension):
    # 81 ** 0.25 = 3.0; 168 ** 0.25 = 3.60 -> 4; 500000 ** 0.25 = 26.59 -> 27; 2 ** 0.25 = 1.19 -> 1.
    assert fc.embedding_dim(num_values) == dimension


def test_embedding_dim_search_space_brackets_the_rule():
    # Centre 27 for 500,000 values: round(27 * 0.55) = round(14.85) = 15, round(27 * 1.3) = round(35.1) = 35,
    # the course's own 15-35. Centre 4 for 168 values: round(2.2) = 2, round(5.2) = 5.
    assert fc.embedding_dim_search_space(500_000) == (15, 35)
    assert fc.embedding_dim_search_space(168) == (2, 5)
    assert fc.embedding_dim_search_space(1) == (1, 1)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8"])
def test_embedding_dim_rejects_non_positive_integers(bad):
    with pytest.raises(ValueError, match="num_values"):
        fc.embedding_dim(bad)


@pytest.mark.parametrize("column", all_example_columns(), ids=lambda c: type(c).__name__ + ":" + c.name)
def test_every_column_round_trips_through_config(column):
    assert fc.from_config(fc.serialize(column)) == column


def test_derived_names_follow_tf_feature_column():
    lat = fc.BucketizedColumn("lat", bin_boundaries=[1.0])
    lon = fc.BucketizedColumn("lon", bin_boundaries=[1.0])
    cross = fc.CrossedColumn([lat, lon], num_bins=4)
    assert cross.name == "lat_bucketized_X_lon_bucketized"
    assert fc.EmbeddingColumn(cross, dimension=2).name == "lat_bucketized_X_lon_bucketized_embedding"
    assert fc.IndicatorColumn(lat).name == "lat_bucketized_indicator"


def test_embedding_dimension_defaults_to_the_rule():
    assert fc.EmbeddingColumn(fc.HashedColumn("h", num_bins=168)).resolved_dimension == 4  # 168 ** 0.25 -> 4
    assert fc.EmbeddingColumn(fc.HashedColumn("h", num_bins=168), dimension=9).resolved_dimension == 9


def test_crossed_columns_of_crossed_columns_flatten_their_keys():
    a, b, c = (fc.IdentityColumn(k, num_buckets=3) for k in "abc")
    nested = fc.CrossedColumn([fc.CrossedColumn([a, b], num_bins=9), c], num_bins=27)
    assert nested.keys == (a, b, c)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: fc.NumericColumn(""), "`key` must be a non-empty string"),
        (lambda: fc.NumericColumn("x", normalization="l2"), "`normalization` must be one of"),
        (lambda: fc.NumericColumn("x", clip=(3, 1)), "low < high"),
        (lambda: fc.BucketizedColumn("x"), "exactly one of `bin_boundaries` or `num_bins`"),
        (lambda: fc.BucketizedColumn("x", bin_boundaries=[2.0, 1.0]), "strictly increasing"),
        (lambda: fc.BucketizedColumn("x", num_bins=1), "at least 2"),
        (lambda: fc.HashedColumn("h", num_bins=0), "`num_bins` must be a positive integer"),
        (lambda: fc.IdentityColumn("i", num_buckets=3, default_value=5), r"\[0, num_buckets=3\)"),
        (lambda: fc.CrossedColumn(["a"], num_bins=4), "at least two"),
        (lambda: fc.CrossedColumn(["a", 3], num_bins=4), "raw string feature name or a categorical column"),
        (lambda: fc.EmbeddingColumn(fc.NumericColumn("x")), "`categorical_column` must be one of"),
        (lambda: fc.EmbeddingColumn(fc.HashedColumn("h", 4), combiner="max"), "`combiner` must be one of"),
        (lambda: fc.DistanceColumn(["a", "b"]), "four raw features"),
    ],
)
def test_bad_arguments_raise_clear_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_specs_are_immutable():
    column = fc.NumericColumn("x")
    with pytest.raises(AttributeError):
        column.key = "y"


@pytest.mark.parametrize("column", all_example_columns(), ids=lambda c: type(c).__name__ + ":" + c.name)
def test_every_column_passes_the_conformance_harness(column, tmp_path):
    check_column(column, example_features(), str(tmp_path))
