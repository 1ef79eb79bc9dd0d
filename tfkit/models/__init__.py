"""Model builders, each `(features, head, ...)` -> a Keras model from raw features to the head's outputs."""

from tfkit.models.assembly import assemble, find_head, split
from tfkit.models.cnn import cnn
from tfkit.models.dnn import dnn
from tfkit.models.head_model import HeadModel
from tfkit.models.linear import linear, linear_columns
from tfkit.models.params import BUILDERS, builder_arguments, check_params
from tfkit.models.wide_and_deep import wide_and_deep, wide_and_deep_optimizer

__all__ = [
    "BUILDERS",
    "HeadModel",
    "assemble",
    "builder_arguments",
    "check_params",
    "cnn",
    "dnn",
    "find_head",
    "linear",
    "linear_columns",
    "split",
    "wide_and_deep",
    "wide_and_deep_optimizer",
]
