"""tfkit.optimizers.LazyAdam: Adam on the rows a sparse gradient touches, Adam itself on dense gradients."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
from tfkit import Estimator
from tfkit.heads import SampledSoftmaxHead
from tfkit.models import HeadModel, split
from tfkit.optimizers import LazyAdam


def _rows(values, rows, num_rows, dim=1):
    """A sparse gradient, as a gather's gradient reaches the optimizer."""
    return tf.IndexedSlices(
        tf.constant(values, "float32"), tf.constant(rows, "int64"), tf.constant([num_rows, dim], "int64")
    )


def test_two_steps_by_hand_move_only_the_touched_rows():
    # epsilon (1e-7, the default) is left out of the arithmetic: it changes the steps by less than rtol
    table = keras.Variable(np.ones((3, 1), "float32"))
    optimizer = LazyAdam(learning_rate=0.1)
    optimizer.apply([_rows([[2.0]], [1], 3)], [table])
    # step 1, row 1, gradient 2: m = 0.1 * 2 = 0.2, v = 0.001 * 4 = 0.004,
    # alpha = 0.1 * sqrt(1 - 0.999) / (1 - 0.9) = 0.0316228, step = alpha * 0.2 / sqrt(0.004) = 0.1
    np.testing.assert_allclose(table.numpy()[:, 0], [1.0, 0.9, 1.0], rtol=1e-5)
    optimizer.apply([_rows([[-1.0]], [0], 3)], [table])
    # step 2, row 0 only, gradient -1: m = -0.1, v = 0.001,
    # alpha = 0.1 * sqrt(1 - 0.999**2) / (1 - 0.9**2) = 0.1 * 0.0447102 / 0.19 = 0.0235317,
    # step = 0.0235317 * -0.1 / sqrt(0.001) = -0.0744133. Row 1 is not touched: it stays at 0.9, where Adam
    # would decay its moments (m = 0.18, v = 0.003996) and move it by 0.0235317 * 0.18 / 0.0632139 = 0.0670063.
    np.testing.assert_allclose(table.numpy()[:, 0], [1.0744133, 0.9, 1.0], rtol=1e-5)

    adam_table = keras.Variable(np.ones((3, 1), "float32"))
    adam = keras.optimizers.Adam(learning_rate=0.1)
    adam.apply([tf.constant([[0.0], [2.0], [0.0]])], [adam_table])
    adam.apply([tf.constant([[-1.0], [0.0], [0.0]])], [adam_table])
    np.testing.assert_allclose(adam_table.numpy()[:, 0], [1.0744133, 0.9 - 0.0670063, 1.0], rtol=1e-5)


def test_a_row_touched_every_step_follows_the_constant_gradient_at_the_learning_rate():
    table = keras.Variable(np.zeros((2, 1), "float32"))
    optimizer = LazyAdam(learning_rate=0.1, epsilon=0.0)
    for _ in range(2):
        optimizer.apply([_rows([[2.0]], [0], 2)], [table])
    # Adam's bias-corrected step for a constant gradient g is lr * g / |g| = 0.1 every step:
    # step 2: m = 0.2 + 0.1 * (2 - 0.2) = 0.38, v = 0.004 + 0.001 * (4 - 0.004) = 0.007996,
    # 0.0235317 * 0.38 / sqrt(0.007996) = 0.1
    np.testing.assert_allclose(table.numpy()[:, 0], [-0.2, 0.0], rtol=1e-5)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_rows_touched_every_step_get_exactly_adams_values(amsgrad):
    rng = np.random.default_rng(0)
    initial = rng.normal(size=(4, 3)).astype("float32")
    lazy_table, adam_table = keras.Variable(initial), keras.Variable(initial)
    lazy, adam = LazyAdam(0.1, amsgrad=amsgrad), keras.optimizers.Adam(0.1, amsgrad=amsgrad)
    for _ in range(4):
        # every row, row 1 twice: a label that is also a sampled class
        gradient = _rows(rng.normal(size=(5, 3)), [0, 1, 2, 3, 1], 4, 3)
        lazy.apply([gradient], [lazy_table])
        # Adam gets the gradient dense (repeats summed), the gradient's mathematical value; Keras's Adam fed the
        # IndexedSlices itself squares the repeated slices before summing them.
        adam.apply([tf.convert_to_tensor(gradient)], [adam_table])
    np.testing.assert_array_equal(lazy_table.numpy(), adam_table.numpy())
    for lazy_slot, adam_slot in zip(lazy.variables, adam.variables, strict=True):
        np.testing.assert_array_equal(lazy_slot.numpy(), adam_slot.numpy())


def test_dense_gradients_are_trained_exactly_as_by_adam():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.1
    weights = []
    for optimizer in (keras.optimizers.Adam(0.05), LazyAdam(0.05)):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for adam_weight, lazy_weight in zip(*weights, strict=True):
        np.testing.assert_array_equal(lazy_weight, adam_weight)


def test_config_round_trips():
    optimizer = LazyAdam(learning_rate=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-6, amsgrad=True)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is LazyAdam
    assert restored.get_config() == optimizer.get_config()


def _sampled_model(num_classes=1000, num_sampled=10):
    inputs = keras.Input((4,))
    head = SampledSoftmaxHead(num_classes, num_sampled, seed=1)
    model = HeadModel(keras.Model(inputs, keras.layers.Dense(4)(inputs)), head)
    model.compile(optimizer=LazyAdam(0.01))
    return model


def test_a_sampled_step_updates_only_the_gathered_rows():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 4)).astype("float32"), np.array([3, 3, 7, 500])
    model = _sampled_model()
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    table = model.head.projection.embeddings
    before = table.numpy()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    changed = np.flatnonzero(np.any(table.numpy() != before, axis=1))
    # a step gathers the 3 distinct labels and at most 10 sampled classes; Adam would also move every row
    # touched in the two earlier steps
    assert 3 <= len(changed) <= 13 and {3, 7, 500} <= set(changed.tolist())


def test_a_keras_file_of_a_model_compiled_with_it_reloads_it(tmp_path):
    inputs = keras.Input((1,), dtype="int32")
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(keras.layers.Embedding(10, 2)(inputs))))
    model.compile(optimizer=LazyAdam(0.01, beta_1=0.8), loss="mse")
    model.fit(np.array([[1], [2]]), np.array([1.0, 2.0]), verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert type(reloaded.optimizer) is LazyAdam
    assert reloaded.optimizer.get_config() == model.optimizer.get_config()
    # its moments were saved and loaded with it
    for saved, loaded in zip(model.optimizer.variables, reloaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(loaded.numpy(), saved.numpy())


def test_an_estimator_takes_it_by_name():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]})
    estimator = Estimator(
        [fc.NumericColumn("x")], "regression", label="y", optimizer="lazy_adam", learning_rate=0.02, seed=0
    )
    estimator.train(frame, verbose=0)
    optimizer = split(estimator.model)[1].optimizer
    assert type(optimizer) is LazyAdam and optimizer.get_config()["learning_rate"] == pytest.approx(0.02)
