"""tfkit: the tf.estimator experience on TensorFlow 2.21 and Keras 3.

>>> import tfkit
>>> tfkit.__version__
'0.1.0'
"""

from tfkit._versions import check_versions

check_versions()

from tfkit import data, evaluation, export, heads, layers, models, optimizers  # noqa: E402
from tfkit.canned import (  # noqa: E402
    DNNClassifier,
    DNNLinearCombinedClassifier,
    DNNLinearCombinedRegressor,
    DNNRegressor,
    EvalSpec,
    LinearClassifier,
    LinearRegressor,
    TrainSpec,
    train_and_evaluate,
)
from tfkit.estimator import Estimator  # noqa: E402
from tfkit.heads import (  # noqa: E402
    BinaryHead,
    MultiClassHead,
    MultiLabelHead,
    NCEHead,
    RegressionHead,
    SampledSoftmaxHead,
)

__version__ = "0.1.0"

__all__ = [
    "BinaryHead",
    "DNNClassifier",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedRegressor",
    "DNNRegressor",
    "Estimator",
    "EvalSpec",
    "LinearClassifier",
    "LinearRegressor",
    "MultiClassHead",
    "MultiLabelHead",
    "NCEHead",
    "RegressionHead",
    "SampledSoftmaxHead",
    "TrainSpec",
    "__version__",
    "data",
    "evaluation",
    "export",
    "heads",
    "layers",
    "models",
    "optimizers",
    "train_and_evaluate",
]
