"""Layers and layer wrappers: weight penalties (`l1`, `l2`, `elastic_net`) and `dropout` by drop probability."""

from tfkit.layers.dropout import dropout
from tfkit.layers.regularization import elastic_net, l1, l2, regularize

__all__ = ["dropout", "elastic_net", "l1", "l2", "regularize"]
