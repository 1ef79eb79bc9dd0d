"""Heads: a model's output projection, loss, metrics and prediction outputs."""

import keras

from tfkit.heads.base import PREDICTION_KEYS, Head
from tfkit.heads.binary import BinaryHead
from tfkit.heads.multiclass import MultiClassHead
from tfkit.heads.multilabel import MultiLabelHead
from tfkit.heads.regression import RegressionHead
from tfkit.heads.sampled import NCEHead, OutputEmbedding, SampledSoftmaxHead

__all__ = [
    "PREDICTION_KEYS",
    "BinaryHead",
    "Head",
    "MultiClassHead",
    "MultiLabelHead",
    "NCEHead",
    "OutputEmbedding",
    "RegressionHead",
    "SampledSoftmaxHead",
    "get",
]

# Heads that need no arguments can be named.
_NAMES = {"regression": RegressionHead, "binary": BinaryHead}


def _registered_head(class_name):
    """The head class Keras's serialization registry holds under `class_name`: a tfkit head's own name
    (`"BinaryHead"`), or the registered name of any head, `"package>Name"`; None if there is none."""
    if not isinstance(class_name, str):
        return None
    found = keras.saving.get_registered_object(class_name if ">" in class_name else f"tfkit>{class_name}")
    return found if isinstance(found, type) and issubclass(found, Head) else None


def get(identifier) -> Head:
    """A head from an instance, a name (`"regression"`, `"binary"`) or a `{"class_name", "config"}` dict.

    `class_name` is a tfkit head's class name, or the name a head of your own is registered under with
    `keras.saving.register_keras_serializable` (`"package>Name"`).

    >>> get({"class_name": "MultiClassHead", "config": {"num_classes": 3}}).num_classes
    3
    """
    if isinstance(identifier, Head):
        return identifier
    if isinstance(identifier, str) and identifier in _NAMES:
        return _NAMES[identifier]()
    if isinstance(identifier, dict) and (head := _registered_head(identifier.get("class_name"))) is not None:
        return head.from_config(identifier.get("config", {}))
    raise ValueError(
        f"tfkit.heads.get: `identifier` must be a head, one of {sorted(_NAMES)}, or a dict with the `class_name` of "
        "a head registered with keras.saving.register_keras_serializable (tfkit's: BinaryHead, MultiClassHead, "
        f"MultiLabelHead, NCEHead, RegressionHead, SampledSoftmaxHead) and its `config`. Received: "
        f"identifier={identifier!r}."
    )
