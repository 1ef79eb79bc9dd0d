"""The public API is explicit: each package's `__all__` is snapshotted here, so changes are deliberate."""

import feature_columns
import tfkit
import tfkit.heads
import tfkit.models

SNAPSHOT = {
    feature_columns: [
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
        "embedding_dim",
        "embedding_dim_search_space",
        "from_config",
        "make_parse_example_spec",
        "serialize",
    ],
    tfkit: ["Estimator", "RegressionHead", "__version__", "data", "export", "heads", "models"],
    tfkit.heads: ["RegressionHead", "get"],
    tfkit.models: ["BUILDERS", "assemble", "dnn", "find_head", "split"],
}


def test_all_matches_the_snapshot():
    for module, names in SNAPSHOT.items():
        assert sorted(module.__all__) == sorted(names), module.__name__


def test_every_exported_name_exists():
    for module in SNAPSHOT:
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
