"""tfkit: the tf.estimator experience on TensorFlow 2.21 and Keras 3.

>>> import tfkit
>>> tfkit.__version__
'0.1.0'
"""

from tfkit._versions import check_versions

check_versions()

from tfkit import data, export, heads, models  # noqa: E402
from tfkit.estimator import Estimator  # noqa: E402
from tfkit.heads import RegressionHead  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Estimator", "RegressionHead", "__version__", "data", "export", "heads", "models"]
