"""tfkit.layers: weight penalties on every kernel (and embedding) of a model, and dropout by drop probability."""

import keras
import numpy as np
import pytest

import feature_columns as fc
from tfkit import Estimator, layers
from tfkit.heads import RegressionHead, SampledSoftmaxHead
from tfkit.models import HeadModel, dnn, find_head, linear, split, wide_and_deep


def _model(head=None):
    features = fc.FeatureLayer([fc.NumericColumn("x"), fc.EmbeddingColumn(fc.HashedColumn("s", 8), dimension=2)])
    return dnn(features, head or RegressionHead(), hidden_units=[4, 3])


def _weights(model, name):
    """The model's variables whose name is `name` ("kernel", "embeddings")."""
    return [v.numpy() for v in model.weights if v.name == name]


def test_l2_penalizes_every_kernel_and_only_kernels_by_default():
    model = layers.l2(_model(), 0.01)
    kernels = _weights(model, "kernel")
    assert len(kernels) == 3  # hidden_0, hidden_1 and the head's projection
    # 0.01 * the sum of every kernel's squared entries; the embedding table is left alone
    assert float(sum(model.losses)) == pytest.approx(0.01 * sum((k**2).sum() for k in kernels), rel=1e-5)


def test_embeddings_are_penalized_when_asked():
    model = layers.l1(_model(), 0.01, embeddings=True)
    tables = _weights(model, "kernel") + _weights(model, "embeddings")
    assert float(sum(model.losses)) == pytest.approx(0.01 * sum(np.abs(t).sum() for t in tables), rel=1e-5)


def test_elastic_net_adds_both_penalties():
    model = layers.elastic_net(_model(), l1=0.01, l2=0.02)
    kernels = _weights(model, "kernel")
    expected = sum(0.01 * np.abs(k).sum() + 0.02 * (k**2).sum() for k in kernels)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)


def test_a_layer_set_before_it_is_built_is_penalized_once_built():
    dense = layers.l2(keras.layers.Dense(2), 0.5)
    dense.build((None, 1))
    dense.kernel.assign([[1.0, -2.0]])
    assert float(sum(dense.losses)) == pytest.approx(0.5 * (1 + 4))


def test_a_sampled_heads_output_embeddings_count_as_embeddings():
    head = SampledSoftmaxHead(100, 10)
    head.build((None, 4))
    with pytest.raises(ValueError, match=r"'sampled_softmax_head' has no kernel to regularize"):
        layers.l2(head, 0.1)  # its [100, 4] table would be penalized densely every step
    layers.l2(head, 0.1, embeddings=True)
    table = head.projection.embeddings.numpy()
    assert float(sum(head.losses)) == pytest.approx(0.1 * (table**2).sum(), rel=1e-5)


def test_the_penalty_is_trained_on_and_logged_but_not_evaluated():
    inputs = keras.Input((1,))
    model = HeadModel(keras.Model(inputs, inputs), layers.l2(RegressionHead(), 0.5))
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # no update: the logged loss is the first one's
    model.build((None, 1))
    model.head.projection.set_weights([np.array([[2.0]]), np.zeros(1)])
    x, y = np.array([[1.0], [2.0]], "float32"), np.array([1.0, 1.0], "float32")
    # predictions 2 and 4: mse (1 + 9) / 2 = 5; penalty 0.5 * 2**2 = 2
    assert model.fit(x, y, batch_size=2, verbose=0).history["loss"] == [pytest.approx(7.0)]
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] == pytest.approx(5.0)


def test_penalties_survive_a_keras_file(tmp_path):
    model = layers.l2(_model(), 0.01)
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert float(sum(reloaded.losses)) == pytest.approx(float(sum(model.losses)), rel=1e-6)
    assert find_head(reloaded).get_config()["regularizer"]["config"]["l2"] == pytest.approx(0.01)


def test_a_sampled_heads_embedding_penalty_survives_a_keras_file(tmp_path):
    features = fc.FeatureLayer([fc.NumericColumn("x")])  # the head's table alone
    model = layers.l2(dnn(features, SampledSoftmaxHead(50, 5), hidden_units=[4]), 0.01, embeddings=True)
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    # the same weights under the same penalty: 0.01 * the sum of squares of every kernel and table, once
    tables = _weights(model, "kernel") + _weights(model, "embeddings")
    expected = 0.01 * sum((t**2).sum() for t in tables)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)
    assert float(sum(reloaded.losses)) == pytest.approx(expected, rel=1e-5)


def test_feature_embedding_penalties_survive_a_keras_file(tmp_path):
    model = layers.l2(_model(), 0.01, embeddings=True)
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert float(sum(reloaded.losses)) == pytest.approx(float(sum(model.losses)), rel=1e-6)


def test_targets_must_be_layers_with_kernels():
    with pytest.raises(TypeError, match=r"`target` must be a Keras model or layer. Received: target of type list"):
        layers.l2([keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"has no kernel to regularize"):
        layers.l2(keras.layers.Dropout(0.5))
    with pytest.raises(ValueError, match=r"tfkit.layers.l2: `rate` must be a non-negative number. Received: rate=-1"):
        layers.l2(keras.layers.Dense(1), -1)


def test_dropout_rate_is_the_probability_of_dropping():
    layer = layers.dropout(0.3, seed=0)
    dropped = (layer(np.ones((100_000,), "float32"), training=True).numpy() == 0).mean()
    assert dropped == pytest.approx(0.3, abs=0.01)  # a keep probability of 0.3 would drop 70%


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, True])
def test_dropout_outside_zero_one_explains_keep_probability(rate):
    with pytest.raises(ValueError, match=r"`rate` must be the probability of dropping a unit, in \[0, 1\).*keep_prob"):
        layers.dropout(rate)


def test_regularized_dnn_still_splits_into_preprocessor_and_core():
    preprocessor, core = split(layers.l2(_model(), 0.01))
    assert isinstance(core, HeadModel) and preprocessor is not None


@pytest.mark.parametrize("sequential", [False, True])
def test_builders_take_l1_and_l2_on_every_kernel_and_table(sequential):
    features = fc.FeatureLayer([fc.NumericColumn("x"), fc.EmbeddingColumn(fc.HashedColumn("s", 8), dimension=2)])
    model = dnn(features, RegressionHead(), hidden_units=[4], l1=0.01, l2=0.02, sequential=sequential)
    tables = _weights(model, "kernel") + _weights(model, "embeddings")
    assert len(tables) == 3  # hidden_0's and the head's kernels, the hashed column's [8, 2] table
    expected = sum(0.01 * np.abs(t).sum() + 0.02 * (t**2).sum() for t in tables)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)


def test_a_linear_models_weights_are_penalized():
    model = linear([fc.HashedColumn("s", 4)], RegressionHead(), l1=0.5)
    table = next(v for v in model.weights if v.name == "embeddings")
    table.assign([[1.0], [-2.0], [0.0], [3.0]])  # a linear model's weights start at zero
    kernel = _weights(model, "kernel")[0]
    # 0.5 * (|1| + |-2| + |0| + |3|) for the table, plus 0.5 * sum(|kernel|) for the head's projection
    assert float(sum(model.losses)) == pytest.approx(0.5 * 6 + 0.5 * np.abs(kernel).sum(), rel=1e-5)


def test_an_estimator_rebuilt_from_its_model_dir_keeps_the_penalty(tmp_path):
    data = {"x": np.arange(8, dtype="float32"), "y": np.arange(8, dtype="float32")}
    params = {"hidden_units": [3], "l2": 0.1}
    trained = Estimator([fc.NumericColumn("x")], "regression", label="y", model_params=params, model_dir=tmp_path)
    trained.train(data, batch_size=4, verbose=0)
    reopened = Estimator([fc.NumericColumn("x")], "regression", label="y", model_params=params, model_dir=tmp_path)
    assert float(sum(reopened.model.losses)) == pytest.approx(float(sum(trained.model.losses)), rel=1e-6)
    assert float(sum(trained.model.losses)) > 0


def test_builders_refuse_negative_penalties():
    with pytest.raises(ValueError, match=r"Estimator\(model_params\): `l1` must be a non-negative number. Received: "):
        Estimator([fc.NumericColumn("x")], "regression", label="y", model_params={"l1": -0.1})
    with pytest.raises(ValueError, match=r"tfkit.models.wide_and_deep: `l2` must be a non-negative number"):
        wide_and_deep(
            [fc.NumericColumn("x"), fc.NumericColumn("z")], RegressionHead(), ["x"], hidden_units=[2], l2="a lot"
        )


def test_a_builder_penalty_leaves_the_callers_head_alone_and_is_given_once():
    head = RegressionHead()
    model = dnn([fc.NumericColumn("x")], head, hidden_units=[2], l2=0.1)
    assert head.regularizer is None and find_head(model).regularizer.get_config()["l2"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"give a weight penalty once: the head has its own `regularizer` \(L2\)"):
        dnn([fc.NumericColumn("x")], RegressionHead(regularizer=keras.regularizers.L2(0.1)), l1=0.1)
