"""`DNNClassifier` and `DNNRegressor`, as tf.estimator's `canned/dnn.py`."""

from __future__ import annotations

from tfkit.canned.common import classifier_head, dnn_params, document, optimizer_options, options
from tfkit.estimator import Estimator
from tfkit.estimator.compile import default_learning_rate
from tfkit.heads import RegressionHead

# tensorflow/estimator canned/dnn.py: DNNClassifierV2 and DNNRegressorV2 (`tf.estimator.DNN*` in TF 2) default to
# optimizer='Adagrad', and dnn_model_fn_v2 calls optimizers.get_optimizer_instance_v2(optimizer) without a rate, so
# a name gets Keras's default rate for that optimizer (Adagrad: 0.001). dnn.py's _LEARNING_RATE = 0.05 is the rate
# of the v1 estimators only (tf.compat.v1.estimator), through _dnn_model_fn.
OPTIMIZER = "Adagrad"
RATE_DOC = (
    "the named optimizer's learning rate; None: the rate tf.estimator gave it, Keras's default for that optimizer "
    "(Adagrad: 0.001). Must be None with an optimizer instance, which has its own."
)


@document(learning_rate=RATE_DOC)
class DNNClassifier(Estimator):
    """A DNN classifier: a `BinaryHead` for 2 classes, else a `MultiClassHead`; Adagrad as in tf.estimator.

    Example:

    >>> from feature_columns import NumericColumn
    >>> DNNClassifier([8], [NumericColumn("x")], n_classes=3).head.units
    3
    """

    def __init__(
        self,
        hidden_units,
        feature_columns,
        model_dir=None,
        n_classes=2,
        weight_column=None,
        label_vocabulary=None,
        optimizer=OPTIMIZER,
        activation_fn="relu",
        dropout=None,
        config=None,
        warm_start_from=None,
        batch_norm=False,
        *,
        label="label",
        learning_rate=None,
    ):
        where = type(self).__name__
        super().__init__(
            feature_columns,
            classifier_head(where, n_classes, label_vocabulary, weight_column),
            model="dnn",
            model_params=dnn_params(hidden_units, activation_fn, dropout, batch_norm),
            **optimizer_options(where, optimizer, learning_rate, default_learning_rate),
            **options(where, label, model_dir, warm_start_from, config),
        )


@document(learning_rate=RATE_DOC)
class DNNRegressor(Estimator):
    """A DNN regressor: a `RegressionHead` (mean squared error); Adagrad as in tf.estimator.

    Example:

    >>> from feature_columns import NumericColumn
    >>> type(DNNRegressor([8], [NumericColumn("x")]).head).__name__
    'RegressionHead'
    """

    def __init__(
        self,
        hidden_units,
        feature_columns,
        model_dir=None,
        label_dimension=1,
        weight_column=None,
        optimizer=OPTIMIZER,
        activation_fn="relu",
        dropout=None,
        config=None,
        warm_start_from=None,
        batch_norm=False,
        *,
        label="label",
        learning_rate=None,
    ):
        where = type(self).__name__
        super().__init__(
            feature_columns,
            RegressionHead(label_dimension, weight_column=weight_column),
            model="dnn",
            model_params=dnn_params(hidden_units, activation_fn, dropout, batch_norm),
            **optimizer_options(where, optimizer, learning_rate, default_learning_rate),
            **options(where, label, model_dir, warm_start_from, config),
        )
