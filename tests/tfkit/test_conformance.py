"""Every builder (functional and Sequential) and every canned estimator passes the conformance harness."""

import numpy as np
import pandas as pd
import pytest

import tfkit
from feature_columns import EmbeddingColumn, HashedColumn, IndicatorColumn, NumericColumn, VocabularyColumn
from tfkit.heads import BinaryHead, MultiClassHead, RegressionHead
from tfkit.models import cnn, dnn, linear, linear_columns, wide_and_deep, wide_and_deep_optimizer
from tfkit.testing import check_estimator, check_model

RNG = np.random.default_rng(0)
ROWS = 8
FEATURES = {
    "h": RNG.choice(["a", "b", "c"], ROWS),
    "x": RNG.normal(size=ROWS).astype("float32"),
    "g": RNG.choice(["p", "q", "r"], ROWS),
    "z": RNG.normal(size=ROWS).astype("float32"),
}
IMAGES = {"pixels": RNG.uniform(size=(ROWS, 6, 6, 1)).astype("float32")}
WIDE = [HashedColumn("h", num_bins=4), NumericColumn("x")]
DEEP = [EmbeddingColumn(HashedColumn("g", num_bins=5), dimension=2), NumericColumn("z")]

# (builder, its features and labels), one head kind each; `sequential` picks the form.
BUILDS = {
    "linear": (
        lambda sequential: linear(WIDE, BinaryHead(), sequential=sequential), FEATURES, RNG.integers(0, 2, ROWS),
    ),
    "dnn": (
        lambda sequential: dnn(DEEP, MultiClassHead(3), hidden_units=[4, 3], dropout=0.1, sequential=sequential),
        FEATURES,
        RNG.integers(0, 3, ROWS),
    ),
    "cnn": (
        lambda sequential: cnn(
            [NumericColumn("pixels", shape=(6, 6, 1))], RegressionHead(), (6, 6, 1), filters=2, dense_units=4,
            sequential=sequential,
        ),
        IMAGES,
        RNG.normal(size=ROWS).astype("float32"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("sequential", [False, True], ids=["functional", "sequential"])
@pytest.mark.parametrize("builder", sorted(BUILDS))
def test_chain_builders_pass_the_model_conformance_checks(builder, sequential, tmp_path):
    build, features, labels = BUILDS[builder]
    check_model(build(sequential), features, labels, str(tmp_path))


def test_wide_and_deep_passes_the_model_conformance_checks_with_its_two_optimizers(tmp_path):
    model = wide_and_deep(
        linear_columns(WIDE) + DEEP, BinaryHead(label_vocabulary=["no", "yes"]), ["h_linear"], hidden_units=[3]
    )
    labels = RNG.choice(["no", "yes"], ROWS)
    check_model(model, FEATURES, labels, str(tmp_path), optimizer=wide_and_deep_optimizer())


def _frame():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 16).astype("float32")
    city = rng.choice(["a", "b"], 16)
    return pd.DataFrame(
        {
            "x": x,
            "city": city,
            "size": np.digitize(x, [-1 / 3, 1 / 3]),
            "rich": np.where(x + (city == "a") > 0.5, "yes", "no"),
            "big": (x > 0).astype("int64"),
            "y": 3 * x + np.where(city == "a", 1.0, -1.0),
        }
    )


CITY = VocabularyColumn("city", ["a", "b"])
X = NumericColumn("x", normalization="zscore")  # adapted by the estimator's first train
CONFIG = {"seed": 0, "steps_per_execution": 1}
ESTIMATORS = {
    "LinearClassifier": lambda: tfkit.LinearClassifier(
        [X, CITY], label_vocabulary=["no", "yes"], label="rich", config=CONFIG
    ),
    "LinearRegressor": lambda: tfkit.LinearRegressor([X, CITY], label="y", config=CONFIG),
    "DNNClassifier": lambda: tfkit.DNNClassifier(
        [4], [X, IndicatorColumn(CITY)], n_classes=3, label="size", config=CONFIG
    ),
    "DNNRegressor": lambda: tfkit.DNNRegressor([4], [X, EmbeddingColumn(CITY, dimension=2)], label="y", config=CONFIG),
    "DNNLinearCombinedClassifier": lambda: tfkit.DNNLinearCombinedClassifier(
        linear_feature_columns=[CITY], dnn_feature_columns=[X], dnn_hidden_units=[4], label="big", config=CONFIG
    ),
    "DNNLinearCombinedRegressor": lambda: tfkit.DNNLinearCombinedRegressor(
        linear_feature_columns=[CITY], dnn_feature_columns=[X], dnn_hidden_units=[4], label="y", config=CONFIG
    ),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_canned_estimators_pass_the_estimator_conformance_checks(name, tmp_path):
    check_estimator(ESTIMATORS[name](), _frame(), str(tmp_path))
