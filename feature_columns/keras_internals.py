"""The one place feature_columns and tfkit reach into Keras's private API, because Keras 3 has no public form.

Keras 3.15 has no public recursive walk over a layer's sublayers (`Model.layers` lists direct children only,
and layers held in a dict or list attribute, as `FeatureEncoder`'s tables are, are not layers of a Model).
`tests/feature_columns/test_keras_internals.py` fails loudly when a new Keras version changes this.
"""

from __future__ import annotations


def walk_layers(layer) -> list:
    """`layer` and every layer inside it, nested models and layers held by custom layers included.

    >>> import keras
    >>> model = keras.Sequential([keras.layers.Dense(2, name="d")])
    >>> [sub.name for sub in walk_layers(model)][1:]
    ['d']
    """
    return list(layer._flatten_layers(include_self=True, recursive=True))
