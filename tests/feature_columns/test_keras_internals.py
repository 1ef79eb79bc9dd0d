"""The private Keras API feature_columns.keras_internals wraps: this fails loudly when a Keras release changes it."""

import keras
import numpy as np

from feature_columns.integration import adam_slots, walk_layers
from feature_columns.keras_internals import text_tokens


class _Holder(keras.layers.Layer):
    """Keeps its sublayers in a dict, as FeatureEncoder keeps its embedding tables: Model.layers never lists them."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tables = {"t": keras.layers.Embedding(3, 2, name="table")}

    def call(self, ids):
        return self.tables["t"](ids)


def test_walk_layers_reaches_layers_in_nested_models_and_inside_custom_layers():
    inputs = keras.Input((1,), dtype="int64")
    inner = keras.Model(inputs, _Holder(name="holder")(inputs), name="inner")
    outer = keras.Sequential([inner, keras.layers.Flatten(name="flat")], name="outer")
    names = [layer.name for layer in walk_layers(outer)]
    assert names[0] == "outer"  # the layer itself first
    assert {"inner", "holder", "table", "flat"} <= set(names)
    assert len(names) == len(set(names))  # each layer once


def test_adam_slots_are_the_moments_adam_updates():
    table = keras.Variable([[1.0], [1.0]])
    adam = keras.optimizers.Adam(learning_rate=0.1, amsgrad=True)
    adam.apply([keras.ops.convert_to_tensor([[2.0], [0.0]])], [table])
    m, v, v_hat = adam_slots(adam, table)
    # One step from zero: m = (1 - beta_1) g = 0.1 * 2 = 0.2, v = (1 - beta_2) g^2 = 0.001 * 4 = 0.004.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(m)[:, 0], [0.2, 0.0], rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(v)[:, 0], [0.004, 0.0], rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(v_hat)[:, 0], [0.004, 0.0], rtol=1e-5)
    plain = keras.optimizers.Adam()
    plain.build([table])
    assert adam_slots(plain, table)[2] is None  # no amsgrad: no max second moment


def test_text_tokens_are_the_tokens_text_vectorization_looks_up():
    texts = ["Good film!", "A good, GOOD film", ""]
    layer = keras.layers.TextVectorization(ngrams=2)
    layer.adapt(texts)
    tokens = text_tokens(layer, texts)
    assert tokens.to_list()[0] == [b"good", b"film", b"good film"]
    vocabulary = layer.get_vocabulary()
    # what the layer itself gives: each token's id, padding 0
    ids = [[vocabulary.index(t.decode()) for t in row] for row in tokens.to_list()]
    width = max(len(row) for row in ids)  # "a good good film" and its 3 pairs: 7
    np.testing.assert_array_equal(layer(texts).numpy(), [row + [0] * (width - len(row)) for row in ids])
