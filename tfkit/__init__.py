"""tfkit: the tf.estimator experience on TensorFlow 2.21 and Keras 3.

The public names are imported on first use (PEP 562), so `import tfkit` (and `tfkit --help`) does not import
TensorFlow; `from tfkit import Estimator` and `tfkit.heads` import what they need then.

>>> import tfkit
>>> tfkit.__version__
'0.1.0'
>>> tfkit.Estimator.__module__
'tfkit.estimator.estimator'
"""

import importlib

from tfkit._versions import check_versions

check_versions()

__version__ = "0.1.0"

# Where each public name lives: a submodule (None) or the module that defines it.
_PUBLIC = {
    "BinaryHead": "tfkit.heads",
    "DNNClassifier": "tfkit.canned",
    "DNNLinearCombinedClassifier": "tfkit.canned",
    "DNNLinearCombinedRegressor": "tfkit.canned",
    "DNNRegressor": "tfkit.canned",
    "Estimator": "tfkit.estimator",
    "EvalSpec": "tfkit.canned",
    "LinearClassifier": "tfkit.canned",
    "LinearRegressor": "tfkit.canned",
    "MultiClassHead": "tfkit.heads",
    "MultiLabelHead": "tfkit.heads",
    "NCEHead": "tfkit.heads",
    "RegressionHead": "tfkit.heads",
    "RunConfig": "tfkit.run_config",
    "SampledSoftmaxHead": "tfkit.heads",
    "TrainSpec": "tfkit.canned",
    "data": None,
    "evaluation": None,
    "export": None,
    "heads": None,
    "layers": None,
    "models": None,
    "optimizers": None,
    "train_and_evaluate": "tfkit.canned",
    "tune": "tfkit.tuning",
}

__all__ = sorted([*_PUBLIC, "__version__"])


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _PUBLIC[name] is None:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later lookups find it without calling __getattr__
    return value


def __dir__() -> list:
    return sorted({*globals(), *__all__})
