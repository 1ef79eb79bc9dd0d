"""Model builders and HeadModel: structure, training with the head's loss, clipping, weights, save/load."""

import keras
import numpy as np
import pytest

import feature_columns as fc
from tfkit.data import cache_rows
from tfkit.heads import MultiClassHead, RegressionHead, SampledSoftmaxHead
from tfkit.models import HeadModel, dnn, find_head, split


def _features():
    layer = fc.FeatureLayer(
        [fc.NumericColumn("x", normalization="zscore"), fc.EmbeddingColumn(fc.HashedColumn("s", 8))]
    )
    layer.adapt({"x": np.arange(10.0), "s": np.array(list("abcdefghij"))})
    return layer


def _head_model(head, width=3, **kwargs):
    """A HeadModel whose body passes its inputs through: the head sees the inputs as hidden activations."""
    inputs = keras.Input((width,))
    return HeadModel(keras.Model(inputs, inputs), head, **kwargs)


def test_raw_model_equals_core_on_preprocessed_inputs():
    model = dnn(_features(), RegressionHead(), hidden_units=[8, 4])
    preprocessor, core = split(model)
    raw = {"x": np.array([1.0, 5.0]), "s": np.array(["a", "z"])}
    np.testing.assert_allclose(model(raw), core(preprocessor(raw)), rtol=1e-6)
    assert isinstance(core, HeadModel) and find_head(model) is core.head


def test_hidden_layers_batch_norm_and_dropout():
    model = dnn(_features(), RegressionHead(), hidden_units=[8, 4], dropout=0.25, batch_norm=True)
    _, core = split(model)
    names = [layer.name for layer in core.body.layers]
    assert names.count("hidden_0") == 1 and "batch_norm_1" in names
    assert core.body.get_layer("dropout_0").rate == 0.25  # the probability of dropping a unit


def test_dropout_outside_unit_interval_mentions_keep_probability():
    with pytest.raises(ValueError, match=r"tfkit.models.dnn: `dropout` must be .* in \[0, 1\).*keep_prob"):
        dnn(_features(), RegressionHead(), dropout=1.0)


def test_hidden_units_must_be_positive_integers():
    with pytest.raises(ValueError, match="hidden_units"):
        dnn(_features(), RegressionHead(), hidden_units=[])


def test_unadapted_columns_are_rejected_with_the_fix():
    with pytest.raises(ValueError, match=r"tfkit.models.dnn: columns \[.x.\] .* Call `FeatureLayer.adapt"):
        dnn([fc.NumericColumn("x", normalization="zscore")], RegressionHead())


class _CountingHead(SampledSoftmaxHead):
    """Counts the times the full logits are computed (at tracing, which is when graph code runs Python)."""

    full_logits = 0

    def call(self, hidden):
        _CountingHead.full_logits += 1
        return super().call(hidden)


def test_training_a_sampled_head_never_computes_the_full_logits():
    model = _head_model(_CountingHead(1000, 10), width=4)
    model.compile(optimizer="sgd")
    x, y = np.ones((64, 4), "float32"), np.arange(64)
    before = _CountingHead.full_logits
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert _CountingHead.full_logits == before
    model.evaluate(x, y, verbose=0)
    assert _CountingHead.full_logits > before  # evaluation does use them


def test_fit_minimizes_the_head_loss_and_evaluate_reports_it_with_the_metrics():
    model = _head_model(MultiClassHead(3, top_k=2))
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 256)
    x = np.eye(3, dtype="float32")[y] + 0.1 * rng.normal(size=(256, 3)).astype("float32")
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    history = model.fit(x, y, batch_size=32, epochs=5, verbose=0).history
    after = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(history) == ["loss"] and sorted(after) == ["accuracy", "loss", "top_2_accuracy"]
    assert after["loss"] < before["loss"] / 2 and after["accuracy"] > 0.95
    assert after["loss"] == pytest.approx(float(model.head.compute_loss(x, y)), rel=1e-5)


def test_gradients_are_clipped_to_the_global_norm():
    changes = {}
    for clip in (None, 1e-3):
        keras.utils.set_random_seed(0)
        model = _head_model(RegressionHead(), gradient_clip_norm=clip)
        model.compile(optimizer=keras.optimizers.SGD(1.0))
        model.build((None, 3))
        before = [w.numpy() for w in model.trainable_weights]
        model.fit(np.ones((8, 3), "float32"), np.full(8, 100.0, "float32"), batch_size=8, verbose=0)
        changes[clip] = np.sqrt(
            sum(((w.numpy() - b) ** 2).sum() for w, b in zip(model.trainable_weights, before, strict=True))
        )
    # SGD with rate 1 moves the weights by the gradient: its global norm is large, unless clipped to 1e-3
    assert changes[None] > 1.0 and changes[1e-3] == pytest.approx(1e-3, rel=1e-3)


def test_sample_weights_of_zero_leave_the_model_unchanged():
    model = _head_model(RegressionHead())
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.build((None, 3))
    before = [w.numpy() for w in model.trainable_weights]
    model.fit(np.ones((8, 3), "float32"), np.ones(8, "float32"), sample_weight=np.zeros(8), verbose=0)
    for weight, old in zip(model.trainable_weights, before, strict=True):
        np.testing.assert_array_equal(weight.numpy(), old)


@pytest.mark.parametrize("argument", ["loss", "metrics"])
def test_compile_refuses_a_loss_or_metrics_of_its_own(argument):
    model = _head_model(RegressionHead())
    with pytest.raises(ValueError, match=rf"HeadModel.compile: `{argument}` must be None: the head defines"):
        model.compile(**{argument: "mse" if argument == "loss" else ["mae"]})


def test_head_must_be_a_tfkit_head():
    inputs = keras.Input((3,))
    with pytest.raises(TypeError, match=r"HeadModel: `head` must be a tfkit head. Received: head of type Dense"):
        HeadModel(keras.Model(inputs, inputs), keras.layers.Dense(1))


def test_a_built_model_round_trips_through_a_keras_file(tmp_path):
    head = MultiClassHead(label_vocabulary=["lo", "mid", "hi"])
    model = dnn(_features(), head, hidden_units=[4], gradient_clip_norm=2.0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    raw = {"x": np.array([1.0, 5.0]), "s": np.array(["a", "z"])}
    np.testing.assert_array_equal(model(raw), reloaded(raw))
    _, core = split(reloaded)
    assert core.gradient_clip_norm == 2.0 and find_head(reloaded).label_vocabulary == ("lo", "mid", "hi")


def test_a_reloaded_head_model_keeps_its_optimizer_and_resumes_from_its_state(tmp_path):
    model = _head_model(MultiClassHead(3))
    model.compile(optimizer=keras.optimizers.Adam(0.01), steps_per_execution=2)
    x, y = np.random.default_rng(0).normal(size=(8, 3)).astype("float32"), np.arange(8) % 3
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # 8 rows / 4 = 2 steps
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded.optimizer, keras.optimizers.Adam)
    assert reloaded.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    assert int(reloaded.optimizer.iterations.numpy()) == 2
    for saved, loaded in zip(model.optimizer.variables, reloaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy())  # Adam's moments too
    assert reloaded.steps_per_execution == 2


def _summing_model():
    """Two inputs of any width, each summed over its row, then Dense(1): a regression HeadModel, seeded."""
    keras.utils.set_random_seed(0)
    inputs = {key: keras.Input((None,), name=key) for key in ("a", "b")}
    sums = [keras.layers.Lambda(lambda t: keras.ops.sum(t, axis=1, keepdims=True))(inputs[key]) for key in "ab"]
    model = HeadModel(keras.Model(inputs, keras.layers.Concatenate()(sums)), RegressionHead())
    model.compile(optimizer="sgd", jit_compile=True, steps_per_execution=2)
    return model


def test_packed_batches_train_as_the_batches_they_pack_whatever_the_packing():
    rng = np.random.default_rng(0)
    widths = [(2, 1), (1, 2)]  # the same packed width (3) cut two ways: the step must not keep the first cut
    data = [
        ({"a": rng.normal(size=(64, wa)), "b": rng.normal(size=(64, wb))}, rng.normal(size=64)) for wa, wb in widths
    ]
    packed, plain = _summing_model(), _summing_model()
    for features, labels in data:
        cached = cache_rows(features, labels, lambda f, y: (f, y))
        options = {"batch_size": 16, "shuffle": True, "seed": 1, "drop_remainder": True}
        with packed.packed_inputs(cached.packing):
            packed.fit(cached.batches(unpacked=False, **options), epochs=2, shuffle=False, verbose=0)
        plain.fit(cached.batches(**options), epochs=2, shuffle=False, verbose=0)
        for got, want in zip(packed.get_weights(), plain.get_weights(), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6)
    assert packed._packing is None  # outside the context, batches are taken as they come
