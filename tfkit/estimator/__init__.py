"""The estimator-style facade, one concern per module.

- `estimator`: `Estimator` itself: `train`, `evaluate`, `predict`, `predict_batch`, `export_saved_model`;
- `model_dir`: the on-disk format (definition, feature state, weights, checkpoints) and rebuilding a model from it;
- `inputs`: raw sources (CSV paths, DataFrames, dicts, `tf.data` datasets, input_fns) to checked arrays and
  preprocessed batches;
- `compile`: the optimizer from a name or an instance, the XLA and mixed-precision policy;
- `fitting`: Keras's `fit` with tfkit's callbacks (checkpoints, logs, early stopping; a non-chief worker's kept apart);
- `report`: the evaluation report and plots for the head's kind;
- `warm_start`: start a model from an earlier one (reads model_dirs through `model_dir` only).

>>> from tfkit.estimator import Estimator
>>> Estimator.__name__
'Estimator'
"""

from tfkit.estimator.estimator import Estimator

__all__ = ["Estimator"]
