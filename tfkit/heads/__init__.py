"""Heads: a model's output projection, loss, metrics and prediction outputs."""

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

_HEADS = {
    head.__name__: head
    for head in (BinaryHead, MultiClassHead, MultiLabelHead, NCEHead, RegressionHead, SampledSoftmaxHead)
}
# Heads that need no arguments can be named.
_NAMES = {"regression": RegressionHead, "binary": BinaryHead}


def get(identifier) -> Head:
    """A head from an instance, a name (`"regression"`, `"binary"`) or a `{"class_name", "config"}` dict.

    >>> get({"class_name": "MultiClassHead", "config": {"num_classes": 3}}).num_classes
    3
    """
    if isinstance(identifier, Head):
        return identifier
    if isinstance(identifier, str) and identifier in _NAMES:
        return _NAMES[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _HEADS:
        return _HEADS[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(
        f"tfkit.heads.get: `identifier` must be a head, one of {sorted(_NAMES)}, or a dict with a `class_name` in "
        f"{sorted(_HEADS)} and its `config`. Received: identifier={identifier!r}."
    )
