"""`DNNLinearCombinedClassifier` and `DNNLinearCombinedRegressor` (wide and deep), as tf.estimator's
`canned/dnn_linear_combined.py`."""

from __future__ import annotations

import math

from tfkit.canned.common import classifier_head, dnn_params, document, options, rate
from tfkit.canned.dnn import OPTIMIZER as DNN_OPTIMIZER
from tfkit.canned.linear import OPTIMIZER as LINEAR_OPTIMIZER
from tfkit.estimator import Estimator
from tfkit.estimator.compile import make_optimizer
from tfkit.heads import RegressionHead
from tfkit.models import linear_columns, wide_and_deep_optimizer

# tensorflow/estimator canned/dnn_linear_combined.py: linear_optimizer='Ftrl' at
# _linear_learning_rate(len(linear_feature_columns)) = min(_LINEAR_LEARNING_RATE = 0.005, 1 / sqrt(number of linear
# columns)); dnn_optimizer='Adagrad' at _DNN_LEARNING_RATE = 0.001 (_dnn_linear_combined_model_fn_v2).
LINEAR_LEARNING_RATE = 0.005
DNN_LEARNING_RATE = 0.001
RATES_DOC = {
    "linear_learning_rate": "the named `linear_optimizer`'s rate; None: tf.estimator's, "
    f"min({LINEAR_LEARNING_RATE}, 1 / sqrt(number of linear feature columns)).",
    "dnn_learning_rate": f"the named `dnn_optimizer`'s rate; None: {DNN_LEARNING_RATE}, tf.estimator's.",
}


def combined_options(where: str, linear_feature_columns, dnn_feature_columns, optimizers, rates, dnn_params) -> dict:
    """A wide-and-deep model's `Estimator` arguments: both sides' columns, the builder's parameters, and one
    optimizer per side, at tf.estimator's rates unless given."""
    wide = linear_columns(linear_feature_columns or ())
    deep = list(dnn_feature_columns or ())
    if not wide or not deep:
        raise ValueError(
            f"{where}: `linear_feature_columns` and `dnn_feature_columns` must both hold columns. Received: "
            f"{len(wide)} linear and {len(deep)} DNN columns. With one side only, use the Linear or DNN estimator."
        )
    shared = sorted({c.name for c in wide} & {c.name for c in deep})
    if shared:
        raise ValueError(
            f"{where}: a column must feed one side only. Received: {shared} in both `linear_feature_columns` and "
            "`dnn_feature_columns`. Give the DNN's copy another `name=`, or wrap it (e.g. in an EmbeddingColumn)."
        )
    (linear_optimizer, dnn_optimizer), (linear_rate, dnn_rate) = optimizers, rates
    linear_default = min(LINEAR_LEARNING_RATE, 1 / math.sqrt(len(wide)))
    optimizer = wide_and_deep_optimizer(
        make_optimizer(linear_optimizer, rate(where, linear_optimizer, linear_rate, linear_default, "linear_")),
        make_optimizer(dnn_optimizer, rate(where, dnn_optimizer, dnn_rate, DNN_LEARNING_RATE, "dnn_")),
    )
    return {
        "feature_columns": wide + deep,
        "model": "wide_and_deep",
        "model_params": {"linear_features": [c.name for c in wide], **dnn_params},
        "optimizer": optimizer,
    }


@document(**RATES_DOC)
class DNNLinearCombinedClassifier(Estimator):
    """Wide and deep classification: a linear model (trained with `linear_optimizer`, Ftrl) plus a DNN (with
    `dnn_optimizer`, Adagrad), added in one logit, as in tf.estimator.

    Example:

    >>> from feature_columns import HashedColumn, NumericColumn
    >>> classifier = DNNLinearCombinedClassifier(
    ...     linear_feature_columns=[HashedColumn("city", num_bins=8)], dnn_feature_columns=[NumericColumn("x")]
    ... )
    >>> [type(optimizer).__name__ for optimizer in classifier.optimizer.optimizers]
    ['Ftrl', 'Adagrad']
    """

    def __init__(
        self,
        model_dir=None,
        linear_feature_columns=None,
        linear_optimizer=LINEAR_OPTIMIZER,
        dnn_feature_columns=None,
        dnn_optimizer=DNN_OPTIMIZER,
        dnn_hidden_units=(64, 32, 16),
        dnn_activation_fn="relu",
        dnn_dropout=None,
        n_classes=2,
        weight_column=None,
        label_vocabulary=None,
        config=None,
        warm_start_from=None,
        batch_norm=False,
        *,
        label="label",
        linear_learning_rate=None,
        dnn_learning_rate=None,
    ):
        where = type(self).__name__
        layers = dnn_params(dnn_hidden_units, dnn_activation_fn, dnn_dropout, batch_norm)
        optimizers = (linear_optimizer, dnn_optimizer)
        rates = (linear_learning_rate, dnn_learning_rate)
        super().__init__(
            head=classifier_head(where, n_classes, label_vocabulary, weight_column),
            **combined_options(where, linear_feature_columns, dnn_feature_columns, optimizers, rates, layers),
            **options(where, label, model_dir, warm_start_from, config),
        )


@document(**RATES_DOC)
class DNNLinearCombinedRegressor(Estimator):
    """Wide and deep regression: a linear model (Ftrl) plus a DNN (Adagrad), as in tf.estimator.

    Example:

    >>> from feature_columns import HashedColumn, NumericColumn
    >>> regressor = DNNLinearCombinedRegressor(
    ...     linear_feature_columns=[HashedColumn("city", num_bins=8)], dnn_feature_columns=[NumericColumn("x")]
    ... )
    >>> regressor.model_params["linear_features"]
    ['city_linear']
    """

    def __init__(
        self,
        model_dir=None,
        linear_feature_columns=None,
        linear_optimizer=LINEAR_OPTIMIZER,
        dnn_feature_columns=None,
        dnn_optimizer=DNN_OPTIMIZER,
        dnn_hidden_units=(64, 32, 16),
        dnn_activation_fn="relu",
        dnn_dropout=None,
        label_dimension=1,
        weight_column=None,
        config=None,
        warm_start_from=None,
        batch_norm=False,
        *,
        label="label",
        linear_learning_rate=None,
        dnn_learning_rate=None,
    ):
        where = type(self).__name__
        layers = dnn_params(dnn_hidden_units, dnn_activation_fn, dnn_dropout, batch_norm)
        optimizers = (linear_optimizer, dnn_optimizer)
        rates = (linear_learning_rate, dnn_learning_rate)
        super().__init__(
            head=RegressionHead(label_dimension, weight_column=weight_column),
            **combined_options(where, linear_feature_columns, dnn_feature_columns, optimizers, rates, layers),
            **options(where, label, model_dir, warm_start_from, config),
        )
