"""The private Keras API feature_columns.keras_internals wraps: this fails loudly when a Keras release changes it."""

import keras

from feature_columns.integration import walk_layers


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
