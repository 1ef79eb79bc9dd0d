"""Puts a feature layer, a body and a head together, and takes the result apart again.

Every builder makes a *core* model from preprocessed inputs to the head's outputs, and wraps it with the
feature layer's preprocessor into the model users see, from raw features. Training feeds the core from a
`tf.data` pipeline that preprocesses in parallel; serving runs the whole model: the same layers either way.
"""

from __future__ import annotations

import keras

from feature_columns import FeatureLayer, FeaturePreprocessor


def as_feature_layer(where: str, features) -> FeatureLayer:
    """A `FeatureLayer` from one, or from a list of columns that need no adapting."""
    if not isinstance(features, FeatureLayer):
        features = FeatureLayer(features)
    features.check_adapted(where)
    return features


def assemble(features: FeatureLayer, core: keras.Model, name: str) -> keras.Model:
    """The raw-feature model: `core(features.preprocessor(raw inputs))`."""
    raw = features.raw_inputs()
    return keras.Model(raw, core(features.preprocessor(raw)), name=name)


def split(model: keras.Model) -> tuple:
    """`(preprocessor, core)` of a model made by `assemble`."""
    preprocessors = [layer for layer in model.layers if isinstance(layer, FeaturePreprocessor)]
    cores = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(preprocessors) != 1 or len(cores) != 1:
        raise ValueError(
            f"tfkit: model {model.name!r} was not made by a tfkit builder (it needs one FeaturePreprocessor and "
            "one core model). Build it with tfkit.models.dnn or another builder."
        )
    return preprocessors[0], cores[0]


def find_head(model: keras.Model):
    """The head layer at the end of a tfkit model."""
    _, core = split(model)
    heads = [layer for layer in core.layers if hasattr(layer, "serving_outputs")]
    if len(heads) != 1:
        raise ValueError(f"tfkit: model {model.name!r} has no single head layer; build it with a tfkit builder.")
    return heads[0]
