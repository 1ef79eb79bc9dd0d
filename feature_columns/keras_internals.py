"""The one place feature_columns and tfkit reach into Keras's private API, because Keras 3 has no public form.

Keras 3.15 has no public way to tokenize text as a `TextVectorization` does (it only counts or looks up the tokens),
no public recursive walk over a layer's sublayers (`Model.layers` lists direct children only,
and layers held in a dict or list attribute, as `FeatureEncoder`'s tables are, are not layers of a Model), and
no public access to an optimizer's per-variable state (`LazyAdam` updates Adam's moments row by row).
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


def adam_slots(optimizer, variable) -> tuple:
    """`(first moment, second moment, max second moment or None)` of `variable` in a Keras `Adam`: the state a
    sparse-aware Adam (`tfkit.optimizers.LazyAdam`) updates row by row. Keras keeps them in private lists.

    >>> import keras
    >>> table = keras.Variable([[1.0], [2.0]])
    >>> adam = keras.optimizers.Adam()
    >>> adam.build([table])
    >>> [None if slot is None else tuple(slot.shape) for slot in adam_slots(adam, table)]
    [(2, 1), (2, 1), None]
    """
    index = optimizer._get_variable_index(variable)
    hats = optimizer._velocity_hats if optimizer.amsgrad else None
    return optimizer._momentums[index], optimizer._velocities[index], None if hats is None else hats[index]


def text_tokens(layer, texts):
    """The tokens `layer` (a `keras.layers.TextVectorization`) makes of `texts`: standardized, split and
    n-grammed, a `tf.RaggedTensor` of one row per text when it splits. What its vocabulary counts.

    >>> import keras
    >>> layer = keras.layers.TextVectorization(ngrams=2)
    >>> text_tokens(layer, ["Good film!"]).to_list()
    [[b'good', b'film', b'good film']]
    """
    return layer._preprocess(texts)
