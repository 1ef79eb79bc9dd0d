import keras
import numpy as np
import pandas as pd
import pytest

import tfkit
from feature_columns import EmbeddingColumn, HashedColumn, ImageColumn, NumericColumn
from feature_columns.integration import embedding_tables
from tfkit.heads import BinaryHead, MultiClassHead, RegressionHead, SampledSoftmaxHead
from tfkit.models import (
    BUILDERS,
    HeadModel,
    cnn,
    dnn,
    find_head,
    linear,
    linear_columns,
    split,
    wide_and_deep,
    wide_and_deep_optimizer,
)

WIDE = [HashedColumn("h", num_bins=4), NumericColumn("x")]
DEEP = [EmbeddingColumn(HashedColumn("g", num_bins=5), dimension=2), NumericColumn("z")]
RNG = np.random.default_rng(0)
DATA = {
    "h": np.array(["a", "b", "c", "a", "d", "e"]),
    "x": RNG.normal(size=6).astype("float32"),
    "g": np.array(["p", "q", "r", "s", "t", "p"]),
    "z": RNG.normal(size=6).astype("float32"),
}


def _randomize(model):
    for variable in model.weights:
        variable.assign(RNG.normal(size=variable.shape).astype("float32"))


def test_the_builders_are_registered():
    assert {"cnn", "dnn", "linear", "wide_and_deep"} <= set(BUILDERS)


def test_linear_logits_sum_the_ids_weights_and_the_weighted_values():
    model = linear(WIDE, BinaryHead())
    _, core = split(model)
    _randomize(core)
    (table,) = [v for v in core.weights if "h_linear" in v.path]
    kernel, bias = core.head.projection.get_weights()
    ids = split(model)[0]({"h": DATA["h"], "x": DATA["x"]})["h_linear"].numpy().ravel()
    # logits = w_h * table[id] + w_x * x + b: one looked-up weight per categorical column, no one-hot matrix
    expected = kernel[0, 0] * table.numpy()[ids, 0] + kernel[1, 0] * DATA["x"] + bias[0]
    np.testing.assert_allclose(model({"h": DATA["h"], "x": DATA["x"]}).numpy().ravel(), expected, rtol=1e-5)


@pytest.mark.parametrize("head", [BinaryHead, lambda: MultiClassHead(3)])
def test_wide_and_deep_logits_equal_linear_plus_dnn_logits_with_the_same_weights(head):
    wide, deep = linear_columns(WIDE), DEEP
    combined = wide_and_deep(wide + deep, head(), [c.name for c in wide], hidden_units=[3])
    alone_linear, alone_dnn = linear(wide, head()), dnn(deep, head(), hidden_units=[3])
    for model in (alone_linear, alone_dnn):
        _randomize(split(model)[1])
    _, core = split(combined)
    # The combined model's one encoder holds both sides' tables; the hidden layers keep the DNN's names.
    tables = {**embedding_tables(alone_linear), **embedding_tables(alone_dnn)}
    for name, table in embedding_tables(combined).items():
        table.variable.assign(tables[name].variable)
    for layer in split(alone_dnn)[1].body.layers:
        if layer.name.startswith("hidden_"):
            core.body.get_layer(layer.name).set_weights(layer.get_weights())
    (linear_kernel, linear_bias), (dnn_kernel, dnn_bias) = (
        split(model)[1].head.projection.get_weights() for model in (alone_linear, alone_dnn)
    )
    # [h_l, h_d] @ [[W_l], [W_d]] + (b_l + b_d) = (h_l W_l + b_l) + (h_d W_d + b_d)
    core.head.projection.set_weights([np.concatenate([linear_kernel, dnn_kernel]), linear_bias + dnn_bias])
    expected = alone_linear({k: DATA[k] for k in ("h", "x")}) + alone_dnn({k: DATA[k] for k in ("g", "z")})
    np.testing.assert_allclose(combined(DATA).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_wide_and_deep_optimizer_trains_the_linear_side_with_ftrl_and_the_rest_with_adam():
    wide = linear_columns(WIDE)
    model = wide_and_deep(wide + DEEP, BinaryHead(), [c.name for c in wide], hidden_units=[3])
    _, core = split(model)
    optimizer = wide_and_deep_optimizer()
    core.compile(optimizer=optimizer)
    before = {v.path: v.numpy().copy() for v in core.trainable_variables}
    labels = np.array([0, 1, 0, 1, 1, 0], "float32")
    core.fit(split(model)[0](DATA), labels, epochs=1, verbose=0)
    chosen = {v.path: type(optimizer._optimizer_map[v.path]).__name__ for v in core.trainable_variables}
    assert {chosen[p] for p in chosen if "_linear/" in p} == {"Ftrl"}
    assert {chosen[p] for p in chosen if "_linear/" not in p} == {"Adam"}
    assert all(not np.array_equal(before[v.path], v.numpy()) for v in core.trainable_variables if "logits" in v.path)


def test_wide_and_deep_needs_linear_features_that_name_some_columns():
    wide = linear_columns(WIDE)
    with pytest.raises(
        ValueError, match=r"`linear_features` must name some, not all.*Received: linear_features=\['nope'\]"
    ):
        wide_and_deep(wide + DEEP, BinaryHead(), ["nope"])


def test_builders_train_under_keras():
    for model in (linear(WIDE, BinaryHead()), wide_and_deep(linear_columns(WIDE) + DEEP, BinaryHead(), ["h_linear"])):
        _, core = split(model)
        core.compile(optimizer=keras.optimizers.Adam(0.1))
        history = core.fit(split(model)[0](DATA), np.array([0, 1, 0, 1, 1, 0], "float32"), epochs=5, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]


def test_cnn_stacks_the_course_layers_and_learns_where_the_bright_half_is():
    model = cnn([NumericColumn("pixels", shape=(6, 6, 1))], BinaryHead(), (6, 6, 1), filters=4, dense_units=8)
    _, core = split(model)
    kinds = [type(layer).__name__ for layer in core.body.layers[2:]]
    assert kinds == ["Reshape", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout"]
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 0.5, size=(256, 6, 6, 1)).astype("float32")
    labels = rng.integers(0, 2, 256)
    images[labels == 1, :, 3:] += 0.5  # class 1: the right half is bright
    core.compile(optimizer=keras.optimizers.Adam(0.01))
    features = split(model)[0]({"pixels": images})
    core.fit(features, labels.astype("float32"), epochs=20, batch_size=32, verbose=0)
    assert core.evaluate(features, labels.astype("float32"), return_dict=True, verbose=0)["accuracy"] > 0.95


def test_cnn_needs_an_image_shape_that_holds_the_features():
    with pytest.raises(ValueError, match=r"`image_shape` must be \(height, width, channels\) holding the features' 36"):
        cnn([NumericColumn("pixels", shape=(6, 6, 1))], BinaryHead(), (5, 5, 1))


def test_cnn_stacks_a_convolution_and_pooling_per_filters_entry_over_an_image_column():
    # image_shape comes from the ImageColumn: 12x12 pixels, one channel.
    model = cnn([ImageColumn("pixels", shape=(12, 12))], MultiClassHead(3), filters=[2, 4], dense_units=3)
    _, core = split(model)
    names = [layer.name for layer in core.body.layers[2:]]
    assert names[:5] == ["image", "conv_1", "pool_1", "conv_2", "pool_2"]
    # 12x12 -> conv 3x3: 10x10x2 -> pool 2: 5x5x2 -> conv 3x3: 3x3x4 -> pool 2: 1x1x4 -> flatten: 4 values.
    assert core.body.get_layer("flatten").output.shape == (None, 4)
    assert model({"pixels": np.zeros((2, 12, 12), "uint8")}).shape == (2, 3)


def test_cnn_without_image_shape_needs_exactly_one_image_column():
    with pytest.raises(ValueError, match=r"`image_shape` must be given unless the features are one ImageColumn"):
        cnn([NumericColumn("pixels", shape=(6, 6, 1))], BinaryHead())
    with pytest.raises(ValueError, match=r"`filters` must be a positive integer or a non-empty list"):
        cnn([ImageColumn("pixels", shape=(6, 6))], BinaryHead(), filters=[])


IMAGES = {"pixels": RNG.uniform(size=(4, 6, 6, 1)).astype("float32")}
CHAINS = {
    "linear": (lambda sequential: linear(WIDE, BinaryHead(), sequential=sequential), {"h": DATA["h"], "x": DATA["x"]}),
    "dnn": (
        lambda sequential: dnn(DEEP, MultiClassHead(3), [4, 3], dropout=0.2, batch_norm=True, sequential=sequential),
        {"g": DATA["g"], "z": DATA["z"]},
    ),
    "cnn": (
        lambda sequential: cnn(
            [NumericColumn("pixels", shape=(6, 6, 1))], RegressionHead(), (6, 6, 1), filters=2, dense_units=3,
            sequential=sequential,
        ),
        IMAGES,
    ),
}  # fmt: skip


@pytest.mark.parametrize("builder", sorted(CHAINS))
def test_the_sequential_form_gives_the_functional_forms_outputs_with_the_same_weights(builder):
    build, features = CHAINS[builder]
    functional, sequential = build(False), build(True)
    preprocessor, core = split(sequential)
    assert isinstance(sequential, keras.Sequential) and sequential.layers == [preprocessor, core]
    assert (
        isinstance(core, HeadModel) and isinstance(core.body, keras.Sequential) and find_head(sequential) is core.head
    )
    for variable in functional.weights:  # positive, so that batch normalization's moving variances are valid
        variable.assign(RNG.uniform(0.1, 1.0, size=variable.shape).astype("float32"))
    sequential.set_weights(functional.get_weights())  # same layers in the same order, so the same weight list
    expected = functional(features).numpy()
    assert np.abs(expected).max() > 0.1  # random weights: outputs that would show a difference
    np.testing.assert_allclose(sequential(features).numpy(), expected, rtol=1e-5, atol=1e-6)


class _CountingHead(SampledSoftmaxHead):
    """Counts the times the full logits are computed (at tracing, which is when graph code runs Python)."""

    full_logits = 0

    def call(self, hidden):
        _CountingHead.full_logits += 1
        return super().call(hidden)


def test_the_sequential_form_trains_with_the_heads_loss_never_the_full_logits_of_a_sampled_head():
    model = dnn([NumericColumn("z")], _CountingHead(50, num_sampled=4), hidden_units=[4], sequential=True)
    preprocessor, core = split(model)
    core.compile(optimizer="sgd")
    features, labels = preprocessor({"z": DATA["z"]}), np.arange(6)
    before = _CountingHead.full_logits
    core.fit(features, labels, epochs=1, verbose=0)
    assert _CountingHead.full_logits == before  # training used the sampled loss alone
    assert {"accuracy", "loss"} <= set(core.evaluate(features, labels, return_dict=True, verbose=0))
    assert _CountingHead.full_logits > before  # evaluation does use them


def test_wide_and_deep_has_no_sequential_form_and_says_to_use_the_functional_one():
    wide = linear_columns(WIDE)
    with pytest.raises(
        ValueError,
        match=r"wide_and_deep: `sequential` must be False: a wide-and-deep model has two branches.*"
        r"Received: sequential=True. Use the functional form \(sequential=False\)",
    ):
        wide_and_deep(wide + DEEP, BinaryHead(), ["h_linear"], sequential=True)


def test_sequential_must_be_a_bool():
    with pytest.raises(ValueError, match=r"dnn: `sequential` must be True or False. Received: sequential='yes' \(of"):
        dnn(DEEP, BinaryHead(), sequential="yes")


def test_an_estimator_trains_resumes_and_predicts_with_the_sequential_form(tmp_path):
    frame = pd.DataFrame({"z": DATA["z"], "y": 2.0 * DATA["z"]})
    params = {"hidden_units": [4], "sequential": True}
    trained = tfkit.Estimator([NumericColumn("z")], "regression", label="y", model_params=params, model_dir=tmp_path)
    trained.train(frame, epochs=2, verbose=0)
    assert isinstance(trained.model, keras.Sequential)
    # a new Estimator on the same model_dir rebuilds the Sequential form and loads the trained weights into it
    restored = tfkit.Estimator([NumericColumn("z")], "regression", label="y", model_params=params, model_dir=tmp_path)
    np.testing.assert_array_equal(
        restored.predict_batch(frame)["predictions"], trained.predict_batch(frame)["predictions"]
    )
