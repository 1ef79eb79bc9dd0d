"""Canned estimators are `Estimator` subclasses with tf.estimator's optimizers and rates, and every argument
(`optimizer`, `learning_rate`, `config`) takes effect or is refused."""

import inspect

import keras
import numpy as np
import pandas as pd
import pytest

import tfkit
from feature_columns import EmbeddingColumn, HashedColumn, NumericColumn, TextColumn
from tfkit.models import split

X = NumericColumn("x")
CITY = HashedColumn("city", num_bins=8)
FRAME = pd.DataFrame(
    {"x": [0.0, 1.0, 2.0, 3.0] * 4, "city": ["a", "b", "c", "d"] * 4, "label": [0, 1] * 8, "y": [1.0, 2.0] * 8}
)

# Each canned estimator, built with its defaults, and the optimizer class and rate tf.estimator gave it
# (tfkit/canned/*.py cite the constants of tensorflow/estimator's canned/*.py).
DEFAULTS = {
    # DNN: 'Adagrad', made without a rate, so at Keras's default for Adagrad, 0.001.
    "DNNClassifier": (lambda **kw: tfkit.DNNClassifier([4], [X], **kw), [("Adagrad", 0.001)]),
    "DNNRegressor": (lambda **kw: tfkit.DNNRegressor([4], [X], label="y", **kw), [("Adagrad", 0.001)]),
    # Linear: 'Ftrl' at linear.py's _LEARNING_RATE, 0.2.
    "LinearClassifier": (lambda **kw: tfkit.LinearClassifier([X, CITY], **kw), [("Ftrl", 0.2)]),
    "LinearRegressor": (lambda **kw: tfkit.LinearRegressor([X, CITY], label="y", **kw), [("Ftrl", 0.2)]),
    # Wide and deep: Ftrl at min(0.005, 1 / sqrt(1 linear column)) = 0.005, and Adagrad at 0.001.
    "DNNLinearCombinedClassifier": (
        lambda **kw: tfkit.DNNLinearCombinedClassifier(
            linear_feature_columns=[CITY], dnn_feature_columns=[X], dnn_hidden_units=[4], **kw
        ),
        [("Ftrl", 0.005), ("Adagrad", 0.001)],
    ),
    "DNNLinearCombinedRegressor": (
        lambda **kw: tfkit.DNNLinearCombinedRegressor(
            linear_feature_columns=[CITY], dnn_feature_columns=[X], dnn_hidden_units=[4], label="y", **kw
        ),
        [("Ftrl", 0.005), ("Adagrad", 0.001)],
    ),
}


def _compiled_optimizers(estimator) -> list:
    """`[(class name, learning rate)]` of the optimizer(s) training the estimator's model."""
    _, core = split(estimator.model)
    optimizer = core.optimizer
    optimizers = optimizer.optimizers if isinstance(optimizer, keras.optimizers.MultiOptimizer) else [optimizer]
    return [(type(o).__name__, pytest.approx(float(o.learning_rate), rel=1e-6)) for o in optimizers]


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_tf_estimators_default_optimizer_and_rate_reach_the_compiled_model(name):
    make, expected = DEFAULTS[name]
    estimator = make(config={"seed": 0})
    assert isinstance(estimator, tfkit.Estimator) and type(estimator) is getattr(tfkit, name)
    estimator.train(FRAME, steps=1, batch_size=4, verbose=0)
    assert _compiled_optimizers(estimator) == expected


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        # a name alone gets the rate tf.estimator gave it: Keras's default for a DNN (SGD: 0.01), 0.2 for linear
        ("DNNClassifier", {"optimizer": "SGD"}, [("SGD", 0.01)]),
        ("DNNRegressor", {"optimizer": "Adam", "learning_rate": 0.02}, [("Adam", 0.02)]),
        ("DNNRegressor", {"optimizer": keras.optimizers.RMSprop(0.003)}, [("RMSprop", 0.003)]),
        ("LinearClassifier", {"optimizer": "Adagrad"}, [("Adagrad", 0.2)]),
        ("LinearRegressor", {"learning_rate": 0.5}, [("Ftrl", 0.5)]),
        ("LinearClassifier", {"optimizer": "lazy_adam", "learning_rate": 0.1}, [("LazyAdam", 0.1)]),
        (
            "DNNLinearCombinedClassifier",
            {"linear_learning_rate": 0.05, "dnn_optimizer": "Adam", "dnn_learning_rate": 0.002},
            [("Ftrl", 0.05), ("Adam", 0.002)],
        ),
        (
            "DNNLinearCombinedRegressor",
            {"linear_optimizer": keras.optimizers.SGD(0.3), "dnn_optimizer": "sgd"},
            [("SGD", 0.3), ("SGD", 0.001)],
        ),
    ],
)
def test_optimizer_and_learning_rate_arguments_take_effect(name, arguments, expected):
    make, _ = DEFAULTS[name]
    estimator = make(config={"seed": 0}, **arguments)
    estimator.train(FRAME, steps=1, batch_size=4, verbose=0)
    assert _compiled_optimizers(estimator) == expected


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_a_learning_rate_in_config_is_refused_with_the_argument_to_use(name):
    make, _ = DEFAULTS[name]
    with pytest.raises(ValueError, match=rf"^{name}: `config` must hold run settings only.*learning_rate="):
        make(config={"learning_rate": 0.5})


def test_a_rate_with_an_optimizer_instance_is_refused():
    with pytest.raises(ValueError, match=r"`dnn_learning_rate` must be None when `dnn_optimizer` is an optimizer "):
        DEFAULTS["DNNLinearCombinedClassifier"][0](dnn_optimizer=keras.optimizers.Adam(), dnn_learning_rate=0.1)
    with pytest.raises(ValueError, match=r"^LinearRegressor: `learning_rate` must be None when `optimizer` is"):
        DEFAULTS["LinearRegressor"][0](optimizer=keras.optimizers.Ftrl(), learning_rate=0.1)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_help_shows_every_argument(name):
    cls = getattr(tfkit, name)
    parameters = list(inspect.signature(cls).parameters)
    assert parameters[-1].endswith("learning_rate") and "config" in parameters and "model_dir" in parameters
    args = cls.__doc__.split("Args:")[1].split("Example:")[0]
    for parameter in parameters:
        assert f"\n        {parameter}: " in args, parameter


def test_a_dnn_classifier_trains_a_text_embedding_with_its_default_adagrad():
    # Keras 3.15's Adagrad once crashed in its sparse update on TextVectorization -> Embedding(mask_zero=True)
    # -> masked mean (DESIGN.md); tf.estimator's default optimizer must train a text column.
    rng = np.random.default_rng(0)
    words = np.array(["free", "prize", "call", "now", "hello", "lunch", "see", "you"])
    spam = rng.integers(0, 2, 64)
    texts = [" ".join(rng.choice(words[:4] if s else words[4:], rng.integers(1, 6))) for s in spam]
    frame = pd.DataFrame({"text": texts, "label": spam})
    classifier = tfkit.DNNClassifier([8], [EmbeddingColumn(TextColumn("text", max_tokens=20), dimension=4)],
                                     config={"seed": 0})  # fmt: skip
    metrics = classifier.train(frame, epochs=3, batch_size=16, verbose=0).evaluate(frame)
    assert _compiled_optimizers(classifier) == [("Adagrad", 0.001)]
    assert np.isfinite(metrics["loss"])
    assert classifier.predict_batch(frame)["probabilities"].shape == (64, 2)
