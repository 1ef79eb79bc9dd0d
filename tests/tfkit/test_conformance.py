"""Every builder (functional and Sequential) and every canned estimator passes the conformance harness, which
raises real exceptions (under `python -O` too) and rejects a model holding a second copy of its feature state."""

import ast
import inspect
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

import feature_columns.testing
import tfkit
import tfkit.testing
from feature_columns import (
    EmbeddingColumn,
    FeatureLayer,
    HashedColumn,
    IndicatorColumn,
    NumericColumn,
    VocabularyColumn,
)
from feature_columns.testing import ConformanceError
from tfkit.heads import BinaryHead, MultiClassHead, RegressionHead
from tfkit.models import BUILDERS, cnn, dnn, linear, linear_columns, wide_and_deep, wide_and_deep_optimizer
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


def test_every_builder_is_checked():
    # wide_and_deep has its own test above: it has no Sequential form and trains with two optimizers.
    assert sorted([*BUILDS, "wide_and_deep"]) == sorted(BUILDERS)


class _HeadWithSpare(RegressionHead):
    """A head that also holds `spare`: how a builder could smuggle a second copy of feature state into a model."""

    def __init__(self, spare, **kwargs):
        super().__init__(**kwargs)
        self.spare = spare


def _table_copy():
    copy = keras.layers.Embedding(5, 2, name="g_embedding")  # DEEP's table: HashedColumn("g", num_bins=5), dim 2
    copy.build((None,))
    return copy


@pytest.mark.parametrize(
    ("spare", "message"),
    [
        (lambda: FeatureLayer(DEEP).preprocessor, r"2 FeaturePreprocessor layers"),
        (lambda: FeatureLayer(DEEP).encoder, r"2 FeatureEncoder layers"),
        (_table_copy, r"embedding table 'g_embedding' is 2 variables"),
    ],
    ids=["preprocessor", "encoder", "table"],
)
def test_check_model_rejects_a_second_copy_of_feature_state(spare, message, tmp_path):
    model = dnn(DEEP, _HeadWithSpare(spare()), hidden_units=[2])
    with pytest.raises(ConformanceError, match=message):
        check_model(model, FEATURES, RNG.normal(size=ROWS).astype("float32"), str(tmp_path))


@pytest.mark.parametrize("module", [feature_columns.testing, tfkit.testing], ids=lambda module: module.__name__)
def test_the_harness_has_no_bare_assert(module):
    # `python -O` strips `assert` statements: a harness built on them would pass everything.
    tree = ast.parse(inspect.getsource(module))
    assert [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)] == []


def test_a_failing_check_raises_under_python_optimize(tmp_path):
    script = f"""
import keras, numpy as np
from feature_columns import NumericColumn
from feature_columns.testing import ConformanceError
from tfkit.heads import RegressionHead
from tfkit.models import dnn
from tfkit.testing import check_model
assert False, "not reached: -O strips asserts"
model = dnn([NumericColumn("x")], RegressionHead(), hidden_units=[2])
try:  # a learning rate of 0 cannot lower the loss
    check_model(model, {{"x": [1.0, 2.0]}}, np.array([1.0, 3.0]), {str(tmp_path)!r},
                optimizer=keras.optimizers.SGD(0.0), export=False)
except ConformanceError as error:
    print("raised:", error)
"""
    root = pathlib.Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-O", "-c", script], cwd=root, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "raised: model 'dnn': loss" in result.stdout


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
