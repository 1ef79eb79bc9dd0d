"""`l1`, `l2`, `elastic_net`: a weight penalty on every kernel (and optionally embedding) of a model or layer.

The regularizer is set where Keras keeps it — a layer's `kernel_regularizer` / `embeddings_regularizer` and
its variables' `regularizer` — so the penalty joins the model's `losses` while training, and the layers'
configs (hence `.keras` files) record it. A head's output weights count as a kernel (a sampled head's as an
embedding: penalizing all of its rows every step would cost what sampling saves).
"""

from __future__ import annotations

import keras

from feature_columns.integration import is_number, walk_layers

# (layer attribute naming the regularizer, attribute naming the variable it applies to)
KERNELS = ("kernel_regularizer", "kernel")
EMBEDDINGS = ("embeddings_regularizer", "embeddings")


def check_strength(where: str, name: str, value) -> float:
    """`value` as a float, once it is known to be a non-negative number (a penalty's strength)."""
    if not is_number(value) or value < 0:
        raise ValueError(f"{where}: `{name}` must be a non-negative number. Received: {name}={value!r}.")
    return float(value)


def regularize(target, regularizer, *, embeddings: bool = False):
    """Sets `regularizer` on every kernel of `target` (and its sublayers), and on embeddings if asked.

    Args:
        target: a Keras model or layer, built or not.
        regularizer: a Keras regularizer (or identifier, e.g. `"l2"`), or None to remove penalties.
        embeddings: also regularize embedding tables (`keras.layers.Embedding`, a sampled head's output).

    Returns:
        `target`, so calls chain.
    """
    if not isinstance(target, keras.layers.Layer):
        raise TypeError(
            f"tfkit.layers: `target` must be a Keras model or layer. Received: target of type {type(target).__name__}."
        )
    regularizer = keras.regularizers.get(regularizer)
    kinds = (KERNELS, EMBEDDINGS) if embeddings else (KERNELS,)
    found = 0
    # Keras's own recursive walk over sublayers (nested models, layers inside custom layers such as heads).
    for layer in walk_layers(target):
        for regularizer_attribute, variable_attribute in kinds:
            if not hasattr(layer, regularizer_attribute):
                continue
            setattr(layer, regularizer_attribute, regularizer)
            if layer.built:
                getattr(layer, variable_attribute).regularizer = regularizer
            found += 1
    if not found:
        raise ValueError(
            f"tfkit.layers: {target.name!r} has no kernel{' or embedding' if embeddings else ''} to regularize."
        )
    return target


def l1(target, rate: float = 0.01, *, embeddings: bool = False):
    """Adds `rate * sum(|w|)` for every kernel `w` of `target` to its training loss.

    >>> import keras
    >>> layer = l1(keras.layers.Dense(2), 0.5)
    >>> layer.build((None, 1)); _ = layer.kernel.assign([[1.0, -2.0]])
    >>> float(sum(layer.losses))  # 0.5 * (|1| + |-2|)
    1.5
    """
    return regularize(
        target, keras.regularizers.L1(check_strength("tfkit.layers.l1", "rate", rate)), embeddings=embeddings
    )


def l2(target, rate: float = 0.01, *, embeddings: bool = False):
    """Adds `rate * sum(w ** 2)` for every kernel `w` of `target` to its training loss.

    >>> import keras
    >>> layer = l2(keras.layers.Dense(2), 0.5)
    >>> layer.build((None, 1)); _ = layer.kernel.assign([[1.0, -2.0]])
    >>> float(sum(layer.losses))  # 0.5 * (1 + 4)
    2.5
    """
    return regularize(
        target, keras.regularizers.L2(check_strength("tfkit.layers.l2", "rate", rate)), embeddings=embeddings
    )


def elastic_net(target, l1: float = 0.01, l2: float = 0.01, *, embeddings: bool = False):
    """Adds `l1 * sum(|w|) + l2 * sum(w ** 2)` for every kernel `w` of `target` to its training loss.

    >>> import keras
    >>> layer = elastic_net(keras.layers.Dense(2), l1=0.5, l2=0.25)
    >>> layer.build((None, 1)); _ = layer.kernel.assign([[1.0, -2.0]])
    >>> float(sum(layer.losses))  # 0.5 * 3 + 0.25 * 5
    2.75
    """
    strengths = {
        name: check_strength("tfkit.layers.elastic_net", name, value) for name, value in (("l1", l1), ("l2", l2))
    }
    return regularize(target, keras.regularizers.L1L2(**strengths), embeddings=embeddings)
