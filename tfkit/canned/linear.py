"""`LinearClassifier` and `LinearRegressor`, as tf.estimator's `canned/linear.py`."""

from __future__ import annotations

from tfkit.canned.common import classifier_head, document, optimizer_options, options
from tfkit.estimator import Estimator
from tfkit.heads import RegressionHead
from tfkit.models import linear_columns

# tensorflow/estimator canned/linear.py: LinearClassifierV2 and LinearRegressorV2 default to optimizer='Ftrl', and
# _linear_model_fn_v2 gives a name learning_rate=_LEARNING_RATE = 0.2. (Its min(0.2, 1 / sqrt(number of columns))
# rule, _get_default_optimizer_v2, applies to optimizer=None only.)
OPTIMIZER = "Ftrl"
LEARNING_RATE = 0.2
RATE_DOC = (
    f"the named optimizer's learning rate; None: {LEARNING_RATE}, tf.estimator's. Must be None with an optimizer "
    "instance."
)


@document(learning_rate=RATE_DOC)
class LinearClassifier(Estimator):
    """A linear classifier: one weight per categorical id (looked up, never one-hot) and per numeric value;
    Ftrl as in tf.estimator.

    Example:

    >>> from feature_columns import HashedColumn
    >>> [column.name for column in LinearClassifier([HashedColumn("city", num_bins=8)]).columns]
    ['city_linear']
    """

    def __init__(
        self,
        feature_columns,
        model_dir=None,
        n_classes=2,
        weight_column=None,
        label_vocabulary=None,
        optimizer=OPTIMIZER,
        config=None,
        warm_start_from=None,
        *,
        label="label",
        learning_rate=None,
    ):
        where = type(self).__name__
        super().__init__(
            linear_columns(feature_columns),
            classifier_head(where, n_classes, label_vocabulary, weight_column),
            model="linear",
            **optimizer_options(where, optimizer, learning_rate, LEARNING_RATE),
            **options(where, label, model_dir, warm_start_from, config),
        )


@document(learning_rate=RATE_DOC)
class LinearRegressor(Estimator):
    """A linear regressor; Ftrl as in tf.estimator.

    Example:

    >>> from feature_columns import NumericColumn
    >>> LinearRegressor([NumericColumn("x")], label="y").label
    'y'
    """

    def __init__(
        self,
        feature_columns,
        model_dir=None,
        label_dimension=1,
        weight_column=None,
        optimizer=OPTIMIZER,
        config=None,
        warm_start_from=None,
        *,
        label="label",
        learning_rate=None,
    ):
        where = type(self).__name__
        super().__init__(
            linear_columns(feature_columns),
            RegressionHead(label_dimension, weight_column=weight_column),
            model="linear",
            **optimizer_options(where, optimizer, learning_rate, LEARNING_RATE),
            **options(where, label, model_dir, warm_start_from, config),
        )
