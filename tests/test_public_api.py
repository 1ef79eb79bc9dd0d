"""The public API is explicit: each package's `__all__` is snapshotted here, so changes are deliberate."""

import feature_columns
import feature_columns.base
import tfkit
import tfkit.estimator
import tfkit.heads
import tfkit.layers
import tfkit.models

SNAPSHOT = {
    feature_columns.base: [
        "CategoricalColumn",
        "Column",
        "DenseColumn",
        "OverOneCategorical",
        "PretrainedSource",
        "Read",
        "column_spec",
        "describe",
    ],
    feature_columns: [
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
    ],
    tfkit: [
        "BinaryHead",
        "DNNClassifier",
        "DNNLinearCombinedClassifier",
        "DNNLinearCombinedRegressor",
        "DNNRegressor",
        "Estimator",
        "EvalSpec",
        "LinearClassifier",
        "LinearRegressor",
        "MultiClassHead",
        "MultiLabelHead",
        "NCEHead",
        "RegressionHead",
        "RunConfig",
        "SampledSoftmaxHead",
        "TrainSpec",
        "__version__",
        "data",
        "evaluation",
        "export",
        "heads",
        "layers",
        "models",
        "optimizers",
        "train_and_evaluate",
        "tune",
    ],
    tfkit.estimator: ["Estimator"],
    tfkit.heads: [
        "PREDICTION_KEYS",
        "BinaryHead",
        "Head",
        "MultiClassHead",
        "MultiLabelHead",
        "NCEHead",
        "OutputEmbedding",
        "RegressionHead",
        "SampledSoftmaxHead",
        "get",
    ],
    tfkit.layers: ["dropout", "elastic_net", "l1", "l2", "regularize"],
    tfkit.models: [
        "BUILDERS",
        "HeadModel",
        "assemble",
        "builder_arguments",
        "check_params",
        "cnn",
        "dnn",
        "find_head",
        "linear",
        "linear_columns",
        "split",
        "wide_and_deep",
        "wide_and_deep_optimizer",
    ],
}


def test_all_matches_the_snapshot():
    for module, names in SNAPSHOT.items():
        assert sorted(module.__all__) == sorted(names), module.__name__


def test_every_exported_name_exists():
    for module in SNAPSHOT:
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
