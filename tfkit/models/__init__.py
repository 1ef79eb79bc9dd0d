"""Model builders, each `(features, head, ...)` -> a Keras model from raw features to the head's outputs."""

from tfkit.models.assembly import assemble, find_head, split
from tfkit.models.dnn import dnn

BUILDERS = {"dnn": dnn}

__all__ = ["BUILDERS", "assemble", "dnn", "find_head", "split"]
