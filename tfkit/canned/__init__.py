"""Canned estimators under `tf.estimator`'s names, arguments and defaults, and `train_and_evaluate`.

Each is a `tfkit.Estimator` subclass with the matching head and builder: code written for
`tf.estimator.DNNClassifier(feature_columns=..., hidden_units=...)` keeps its arguments, and trains with the
optimizer and learning rate `tf.estimator` chose. Differences: labels are read from the column named `label`
(default `"label"`); `config` is a `tfkit.RunConfig` (tf.estimator's arguments; those without effect in tfkit
are refused; its `train_distribute` is the strategy) or a dict of tfkit's run settings (`seed`,
`steps_per_execution`, `jit_compile`, `save_checkpoints_steps`, `strategy`, `mixed_precision`); a named
optimizer's rate can be set with `learning_rate`
(`linear_learning_rate` and `dnn_learning_rate` for wide and deep) instead of passing an optimizer instance.

>>> import pandas as pd
>>> from feature_columns import NumericColumn
>>> from tfkit import Estimator
>>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "label": [0, 0, 1, 1]})
>>> classifier = DNNClassifier(hidden_units=[4], feature_columns=[NumericColumn("x")], config={"seed": 0})
>>> isinstance(classifier, Estimator)
True
>>> sorted(classifier.train(frame, epochs=1, verbose=0).evaluate(frame))[:4]
['accuracy', 'auc', 'auc_precision_recall', 'average_loss']
"""

from tfkit.canned.dnn import DNNClassifier, DNNRegressor
from tfkit.canned.dnn_linear_combined import DNNLinearCombinedClassifier, DNNLinearCombinedRegressor
from tfkit.canned.linear import LinearClassifier, LinearRegressor
from tfkit.canned.training import EvalSpec, TrainSpec, train_and_evaluate

__all__ = [
    "DNNClassifier",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedRegressor",
    "DNNRegressor",
    "EvalSpec",
    "LinearClassifier",
    "LinearRegressor",
    "TrainSpec",
    "train_and_evaluate",
]
