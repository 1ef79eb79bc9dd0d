"""`check_params`: a builder's keyword arguments, checked before any data is read (an Estimator's `model_params`)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from tfkit.models.assembly import check_common
from tfkit.models.cnn import check_cnn_args, cnn
from tfkit.models.dnn import check_dnn_layers, dnn
from tfkit.models.linear import linear
from tfkit.models.wide_and_deep import check_wide_and_deep_args, wide_and_deep

BUILDERS = {"cnn": cnn, "dnn": dnn, "linear": linear, "wide_and_deep": wide_and_deep}
# The arguments only a builder's own checks know what to make of; the rest are common to every builder.
_COMMON = ("gradient_clip_norm", "l1", "l2", "sequential", "name")
_OWN_CHECKS = {
    "cnn": lambda where, args: check_cnn_args(where, **args),
    "dnn": lambda where, args: check_dnn_layers(where, **args),
    "linear": lambda where, args: None,
    "wide_and_deep": lambda where, args: check_wide_and_deep_args(where, **args),
}


def builder_arguments(model: str) -> dict:
    """`{argument: default}` of a builder's own arguments (all but `features` and `head`); `inspect.Parameter.empty`
    marks the required ones.

    >>> sorted(builder_arguments("linear"))
    ['gradient_clip_norm', 'l1', 'l2', 'name', 'sequential']
    """
    parameters = list(inspect.signature(BUILDERS[model]).parameters.values())[2:]
    return {parameter.name: parameter.default for parameter in parameters}


def check_params(where: str, model: str, params) -> dict:
    """`params` as a dict, once they are known to be arguments `BUILDERS[model]` takes, with valid values.

    Everything a builder can check without the data is checked here: unknown or missing keys, and values
    (`hidden_units`, `dropout`, `activation`, `image_shape`...). What needs the adapted columns (that
    `linear_features` names columns, that `image_shape` holds the features' values) is checked when the model is
    built.

    >>> check_params("Estimator", "dnn", {"hidden_units": [8, 4]})
    {'hidden_units': [8, 4]}
    >>> check_params("Estimator", "dnn", None)  # the builder's defaults
    {}
    >>> check_params("Estimator", "dnn", {"hiden_units": [8]})
    Traceback (most recent call last):
    ...
    ValueError: Estimator: `model_params` must hold arguments of tfkit.models.dnn: ['activation', 'batch_norm', \
'dropout', 'gradient_clip_norm', 'hidden_units', 'l1', 'l2', 'name', 'sequential']. Received unknown key(s) \
['hiden_units'] in model_params={'hiden_units': [8]}.
    """
    if model not in BUILDERS:
        raise ValueError(
            f"{where}: `model` must be one of {sorted(BUILDERS)}. Received: model={model!r} (of type "
            f"{type(model).__name__})."
        )
    params = {} if params is None else params
    if not isinstance(params, Mapping) or not all(isinstance(key, str) for key in params):
        raise TypeError(
            f"{where}: `model_params` must be a dict of tfkit.models.{model}'s keyword arguments, e.g. "
            f"{{'hidden_units': [64, 32]}}. Received: model_params={params!r} (of type {type(params).__name__})."
        )
    params = dict(params)
    arguments = builder_arguments(model)
    unknown = sorted(set(params) - set(arguments))
    if unknown:
        raise ValueError(
            f"{where}: `model_params` must hold arguments of tfkit.models.{model}: {sorted(arguments)}. Received "
            f"unknown key(s) {unknown} in model_params={params!r}."
        )
    missing = [name for name, default in arguments.items() if default is inspect.Parameter.empty and name not in params]
    if missing:
        raise ValueError(
            f"{where}: `model_params` must give tfkit.models.{model}'s required argument(s) {missing}. Received: "
            f"model_params={params!r}."
        )
    check_common(f"{where}(model_params)", **{key: params[key] for key in _COMMON if key in params})
    # The builder's own defaults stand in for what `params` leaves out, as they will when the model is built.
    given = {**{k: v for k, v in arguments.items() if v is not inspect.Parameter.empty}, **params}
    _OWN_CHECKS[model](f"{where}(model_params)", {key: value for key, value in given.items() if key not in _COMMON})
    return params
