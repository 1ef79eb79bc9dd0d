"""Column specs: validation, derived names, the embedding-dimension rule and config round trips."""

import pytest

import feature_columns as fc
from feature_columns.testing import all_example_columns, check_column, example_features


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
        (lambda: fc.VocabularyColumn("v"), r"give `vocabulary` \(a list or a file\), or `max_tokens`"),
        (lambda: fc.VocabularyColumn("v", ["a"], max_tokens=5), "not both"),
        (lambda: fc.VocabularyColumn("v", []), "at least one value"),
        (lambda: fc.VocabularyColumn("v", ["a", "b", "a"]), r"must not repeat values.*\['a'\]"),
        (lambda: fc.VocabularyColumn("v", [1, 2]), "must hold string values"),
        (lambda: fc.VocabularyColumn("v", ["1"], dtype="int64"), "must hold int64 values"),
        (lambda: fc.VocabularyColumn("v", ["a", ""], multivalent=True), "pads multivalent features"),
        (lambda: fc.VocabularyColumn("v", max_tokens=2, num_oov_indices=2), "must exceed num_oov_indices=2"),
        (lambda: fc.VocabularyColumn("v", ["a"], num_oov_indices=-1), "non-negative integer"),
        (lambda: fc.VocabularyColumn("v", "/no/such/vocabulary.txt"), "does not exist"),
        (lambda: fc.VocabularyColumn("v", ["a"], vocabulary_size=1), "vocabulary file only"),
        (lambda: fc.HashedColumn("h", 4, multivalent="yes"), "`multivalent` must be True or False"),
        (lambda: fc.TextColumn("t"), "`max_tokens`"),
        (lambda: fc.TextColumn("t", max_tokens=1), "at least 2"),
        (lambda: fc.TextColumn("t", max_tokens=5, split="comma"), "`split` must be one of"),
        (lambda: fc.TextColumn("t", max_tokens=5, weighting="idf"), "`weighting` must be one of"),
        (lambda: fc.TextColumn("t", vocabulary=["a"], weighting="tf_idf"), "Give `max_tokens` instead of `vocabulary`"),
        (
            lambda: fc.TextColumn("t", max_tokens=5, weighting="tf_idf", output_sequence_length=4),
            "weighs the tokens of a bag of words",
        ),
        (lambda: fc.TextColumn("t", max_tokens=5, norm="l1"), "`norm` must be one of"),
        (lambda: fc.TextColumn("t", max_tokens=5, norm="l2", output_sequence_length=4), "`norm='l2'` weighs"),
        (lambda: fc.TextColumn("t", max_tokens=5, num_oov_indices=2), "must be 0 or 1.*num_oov_indices=2"),
        (lambda: fc.TextColumn("t", max_tokens=5, num_oov_indices=True), "must be 0 or 1.*num_oov_indices=True"),
        (lambda: fc.TextColumn("t", max_tokens=1, num_oov_indices=1), "at least 2 with num_oov_indices=1"),
        (lambda: fc.EmbeddingColumn(fc.HashedColumn("h", 4, multivalent=True), combiner=None), "fixed number of ids"),
        (lambda: fc.EmbeddingColumn(fc.HashedColumn("h", 4), initializer=len), "Keras initializer"),
        (lambda: fc.EmbeddingColumn(fc.HashedColumn("h", 4), max_norm=0), "`max_norm` must be a positive number"),
        (
            lambda: fc.SharedEmbeddingColumns((fc.IdentityColumn("a", 3), fc.IdentityColumn("b", 4))),
            "same num_buckets",
        ),
        (lambda: fc.SharedEmbeddingColumns((fc.IdentityColumn("a", 3),)), "at least two columns"),
        (lambda: fc.WeightedCategoricalColumn(fc.BucketizedColumn("x", num_bins=3), "w"), "must be one of"),
        (lambda: fc.WeightedCategoricalColumn(fc.IdentityColumn("a", 3), "a"), "another raw feature"),
        (lambda: fc.CrossedColumn([fc.TextColumn("t", max_tokens=4), "a"], 4), "raw string feature name or a categ"),
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


def test_vocabulary_file_size_is_counted_or_capped(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("b\na\nc\n")
    assert fc.VocabularyColumn("v", str(path)).num_buckets == 4  # 1 OOV id + 3 lines
    assert fc.VocabularyColumn("v", str(path), vocabulary_size=2, num_oov_indices=0).num_buckets == 2
    with pytest.raises(ValueError, match="at most the file's 3 lines"):
        fc.FeatureLayer([fc.IndicatorColumn(fc.VocabularyColumn("v", str(path), vocabulary_size=5))])


def test_derived_names_of_the_other_columns_follow_tf_feature_column():
    ids = fc.IdentityColumn("ids", 5, multivalent=True)
    assert fc.WeightedCategoricalColumn(ids, "w").name == "ids_weighted_by_w"
    assert fc.EmbeddingColumn(fc.WeightedCategoricalColumn(ids, "w")).name == "ids_weighted_by_w_embedding"
    shared = fc.SharedEmbeddingColumns((fc.IdentityColumn("a", 5), fc.IdentityColumn("b", 5)))
    assert shared.name == "a_b_shared_embedding"
    assert fc.IndicatorColumn(fc.TextColumn("review", max_tokens=9)).name == "review_indicator"


def test_num_buckets_and_output_dims():
    assert fc.VocabularyColumn("v", ["a", "b", "c"], num_oov_indices=2).num_buckets == 5  # 2 OOV + 3
    assert fc.VocabularyColumn("v", max_tokens=50).num_buckets == 50
    assert fc.TextColumn("t", vocabulary=["a", "b"]).num_buckets == 3  # 1 OOV + 2
    sequence = fc.TextColumn("t", max_tokens=100, output_sequence_length=8)
    assert fc.EmbeddingColumn(sequence, dimension=4, combiner=None).output_dim == 32  # 8 positions * 4
    assert fc.EmbeddingColumn(sequence).resolved_dimension == 3  # 100 ** 0.25 = 3.16 -> 3
    shared = fc.SharedEmbeddingColumns((fc.IdentityColumn("a", 81), fc.IdentityColumn("b", 81)))
    assert shared.resolved_dimension == 3 and shared.output_dim == 6  # 81 ** 0.25 = 3, two columns


def test_specs_reject_what_the_legacy_api_silently_accepted():
    # tf.feature_column took a vocabulary with repeats and failed inside the lookup table at run time.
    with pytest.raises(ValueError, match="must not repeat"):
        fc.legacy.categorical_column_with_vocabulary_list("v", ["a", "a"])


def test_a_file_vocabulary_column_passes_the_conformance_harness(tmp_path):
    path = tmp_path / "vendors.txt"
    path.write_text("a\nb\n")
    check_column(
        fc.EmbeddingColumn(fc.VocabularyColumn("vendor", str(path)), dimension=2), example_features(), str(tmp_path)
    )
