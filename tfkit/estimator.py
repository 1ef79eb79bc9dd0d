"""`Estimator`: train / evaluate / predict / export over a Keras model, with a `model_dir` that remembers.

`model_dir` holds `estimator.json` (the model's definition and adapted feature state, written before the
first epoch), `model.weights.h5` (the weights after the last finished `train`), `backup/` (Keras
`BackupAndRestore`: the state after each epoch, so a killed `train` resumes where it stopped),
`logs/` (TensorBoard) and `eval/metrics.json` (the last evaluation). Creating an Estimator on a
`model_dir` that holds a trained model restores it; one holding a different model is an error.
"""

from __future__ import annotations

import json
import logging
import os

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

import feature_columns as fc
from feature_columns.integration import (
    RawFeature,
    check_columns,
    is_count,
    padding_value,
    preprocessed_spec,
    to_feature_arrays,
    walk_layers,
)
from tfkit import data as tfdata
from tfkit import evaluation
from tfkit import heads as tfheads
from tfkit import optimizers as tfoptimizers
from tfkit.export import export_saved_model
from tfkit.files import write_atomically, write_json
from tfkit.heads.sampled import SampledHead
from tfkit.models import BUILDERS, split
from tfkit.warm_start import warm_start, warm_start_settings

logger = logging.getLogger(__name__)

SPEC_FILE = "estimator.json"
WEIGHTS_FILE = "model.weights.h5"
# Epochs without a better validation loss before training stops (and the best weights come back).
DEFAULT_EARLY_STOPPING_PATIENCE = 3


class Estimator:
    """A model from feature columns and a head, trained and served the `tf.estimator` way.

    Args:
        feature_columns: the dense columns the model reads.
        head: a tfkit head (or `"regression"`).
        label: the label's column name in CSV files and DataFrames.
        model: a builder name from `tfkit.models.BUILDERS` (`"dnn"`).
        model_params: the builder's keyword arguments, e.g. `{"hidden_units": [64, 32]}`.
        model_dir: where checkpoints, logs and metrics go; `None` keeps everything in memory.
        optimizer: a Keras optimizer name, whose rate `learning_rate` sets, or a Keras optimizer instance (e.g.
            `tfkit.models.wide_and_deep_optimizer()`), used by this Estimator alone.
        steps_per_execution: training steps per call into TensorFlow (fewer Python round trips).
        jit_compile: compile the model's steps with XLA. `"auto"` (the default) does where it pays: every layer
            of the model and its head allow it (sampled heads and label vocabularies do not), every preprocessed
            feature has a fixed width (multivalent ids are padded per batch: XLA would compile again for every
            new width), and no layer draws random numbers (dropout: slow in XLA on the CPU, where the taxi-fare
            model with dropout 0.1 trained 5x slower compiled). On the benchmark's model (bench/RESULTS.md) XLA
            trains about 1.2x faster, for a one-time compilation of a second or two.
        seed: seeds weight initialisation and shuffling, for reproducible runs.
        warm_start_from: start from an earlier model instead of random values: the path of an Estimator
            `model_dir`, a tfkit SavedModel or a `.keras` file, or `(path, pattern)` to start only the variables
            whose path matches the regular expression `pattern` (e.g. `"embedding"`). Embedding tables whose
            vocabulary changed are matched by token. Applied once, in the first `train`, unless `model_dir`
            holds a run to resume (see `tfkit.warm_start.warm_start`).
        save_checkpoints_steps: with a `model_dir`, also checkpoint every this many training steps (rounded up
            to whole `steps_per_execution` blocks), not only after each epoch, as `tf.estimator.RunConfig` did. A
            run killed mid-epoch then keeps the weights and optimizer state of its last step checkpoint; Keras's
            `BackupAndRestore`, which writes it, starts that epoch's data again from its first batch.

    Example:

    >>> import pandas as pd, tempfile
    >>> from feature_columns import NumericColumn
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]})
    >>> est = Estimator([NumericColumn("x")], "regression", label="y", model_params={"hidden_units": [4]})
    >>> est = est.train(df, epochs=2, verbose=0)
    >>> sorted(est.evaluate(df))[:4]
    ['average_loss', 'label/mean', 'loss', 'mae']
    """

    def __init__(
        self,
        feature_columns,
        head,
        *,
        label: str,
        model: str = "dnn",
        model_params: dict | None = None,
        model_dir: str | None = None,
        optimizer="adam",
        learning_rate: float = 1e-3,
        steps_per_execution: int = 32,
        jit_compile: bool | str = "auto",
        seed: int | None = None,
        warm_start_from=None,
        save_checkpoints_steps: int | None = None,
    ):
        if model not in BUILDERS:
            raise ValueError(f"Estimator: `model` must be one of {sorted(BUILDERS)}. Received: model={model!r}.")
        if not isinstance(label, str) or not label:
            raise ValueError(f"Estimator: `label` must name the label column. Received: label={label!r}.")
        self.columns = check_columns(feature_columns)
        self.head = tfheads.get(head)
        self.label = label
        self.model_name = model
        self.model_params = dict(model_params or {})
        self.model_dir = os.fspath(model_dir) if model_dir else None
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.steps_per_execution = steps_per_execution
        self.jit_compile = jit_compile
        self.seed = seed
        self.warm_start_from = warm_start_settings(warm_start_from)
        if save_checkpoints_steps is not None and not is_count(save_checkpoints_steps):
            raise ValueError(
                "Estimator: `save_checkpoints_steps` must be a positive integer or None (checkpoints after each "
                f"epoch only). Received: save_checkpoints_steps={save_checkpoints_steps!r}."
            )
        self.save_checkpoints_steps = save_checkpoints_steps
        self.model: keras.Model | None = None
        self.trained = False
        self.history: dict = {}
        self._restore()

    # -- model_dir ---------------------------------------------------------------------------------------

    def _definition(self) -> dict:
        """What makes two models the same: columns, head, builder and its parameters, label."""
        return {
            "feature_columns": [fc.serialize(c) for c in self.columns],
            "head": {"class_name": type(self.head).__name__, "config": _head_config(self.head)},
            "model": self.model_name,
            "model_params": self.model_params,
            "label": self.label,
        }

    def _path(self, *parts: str) -> str:
        return os.path.join(self.model_dir, *parts)

    def _restore(self) -> None:
        if not self.model_dir or not os.path.exists(self._path(SPEC_FILE)):
            return
        with open(self._path(SPEC_FILE)) as file:
            saved = json.load(file)
        if json.loads(json.dumps(self._definition())) != saved["definition"]:
            raise ValueError(
                f"Estimator: model_dir {self.model_dir!r} holds checkpoints of a different model "
                f"(its {SPEC_FILE} differs in columns, head, builder or label). "
                "Use a new model_dir, or delete the old one to start over."
            )
        # The saved feature state, not a new adapt: a resumed run must see exactly the same preprocessing.
        # With trained weights to load, the pretrained embedding sources need not be read (or even exist).
        trained = os.path.exists(self._path(WEIGHTS_FILE))
        self._seed_weights()
        self._build(fc.FeatureLayer(self.columns, state=saved["feature_state"], read_pretrained=not trained))
        if trained:
            _, core = split(self.model)
            core.optimizer.build(core.trainable_variables)  # so its saved slots (Adam's moments) load too
            self.model.load_weights(self._path(WEIGHTS_FILE))
            self.trained = True

    def _save_definition(self) -> None:
        """Written before the first epoch, so a killed run is resumed with the same model, or refused."""
        if self.model_dir:
            preprocessor, _ = split(self.model)
            write_json(self._path(SPEC_FILE), {"definition": self._definition(), "feature_state": preprocessor.state})

    def _save_weights(self) -> None:
        if self.model_dir:
            write_atomically(self._path(WEIGHTS_FILE), self.model.save_weights)

    # -- building ----------------------------------------------------------------------------------------

    def _seed_weights(self) -> None:
        """Seeds what follows, the model's creation: Keras draws an initializer's seed when the layer is made."""
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)

    def _build(self, features: fc.FeatureLayer) -> None:
        if self.seed is not None:
            # The head was made before the seed applied (by the caller, or in __init__): remade from its config,
            # its projection's initial weights come from the seed too.
            self.head = type(self.head).from_config(self.head.get_config())
        self.model = BUILDERS[self.model_name](features, self.head, **self.model_params)
        _, core = split(self.model)
        # The core is a tfkit.models.HeadModel: its loss and metrics are the head's.
        optimizer = self.optimizer
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            optimizer = keras.optimizers.deserialize(
                {"class_name": optimizer, "config": {"learning_rate": self.learning_rate}},
                custom_objects=tfoptimizers.NAMES,
            )
        if type(optimizer) is keras.optimizers.Adam and isinstance(self.head, SampledHead):
            # Not switched silently: LazyAdam trains embedding-like tables differently (rows move only when used).
            logger.warning(
                "Estimator: Keras's Adam updates every row of the %s's output weights on every step, so sampled "
                "training costs almost as much as the full softmax (bench/RESULTS.md: 6x faster at 1,000,000 "
                "classes, against 232x with LazyAdam). Pass optimizer='lazy_adam' to update only the sampled rows.",
                type(self.head).__name__,
            )
        core.compile(
            optimizer=optimizer,
            steps_per_execution=self.steps_per_execution,
            jit_compile=self._use_xla(features, core),
        )

    def _use_xla(self, features: fc.FeatureLayer, core: keras.Model) -> bool:
        if self.jit_compile != "auto":
            return self.jit_compile
        fixed_widths = all(None not in shape for shape, _ in preprocessed_spec(features.columns).values())
        layers = walk_layers(core)
        # e.g. a head's label lookup (used in tf.data, never in the step) is a layer Keras will not compile.
        compilable = all(layer.supports_jit for layer in layers)
        # Random numbers are slow in XLA on the CPU: with dropout the taxi-fare model trained 5x slower compiled.
        random = any(hasattr(layer, "seed_generator") for layer in layers)
        return fixed_widths and compilable and not random and self.head.xla_compatible

    # -- data --------------------------------------------------------------------------------------------

    def _arrays(self, data, where: str, *, need_label: bool) -> tuple:
        """`(features, labels)` arrays from CSV paths, a DataFrame or a dict; checked before anything runs.

        With labels come the head's `weight_column` weights, among the features (`_prepare_example` takes them).
        """
        weight_column = self.head.weight_column if need_label else None
        if isinstance(data, (str, os.PathLike, tfdata.CsvFiles)) or (
            isinstance(data, (list, tuple)) and data and isinstance(data[0], str)
        ):
            return tfdata.read_csv(
                data,
                self.columns,
                label=self.label if need_label else None,
                label_dtype=self.head.label_dtype,
                label_shape=self.head.label_shape,
                weight_column=weight_column,
            )
        if isinstance(data, (pd.DataFrame, dict)):
            features = to_feature_arrays(data, tfdata.weighted_specs(self.columns, weight_column), source=where)
            if weight_column:
                features = tfdata.check_weights(features, weight_column, source=where)
            labels = None
            if need_label:
                if self.label not in data:
                    raise ValueError(
                        f"{where}: the label column {self.label!r} is missing. Received columns: {sorted(data.keys())}."
                    )
                spec = RawFeature(self.label, self.head.label_dtype, shape=self.head.label_shape)
                labels = to_feature_arrays(data, {self.label: spec}, source=where)[self.label]
            return features, labels
        raise TypeError(
            f"{where}: `data` must be CSV path(s), a pandas DataFrame, a dict of arrays, a tf.data.Dataset of "
            f"(features, label) batches, or an input_fn returning one. Received: {type(data).__name__}."
        )

    def _source(self, data, where: str, *, need_label: bool = True):
        """A `tf.data.Dataset` as given, or checked arrays."""
        if callable(data) and not isinstance(data, tf.data.Dataset):
            data = data()
        if isinstance(data, tf.data.Dataset):
            return data
        return self._arrays(data, where, need_label=need_label)

    def _dataset(self, source, batch_size: int, *, shuffle: bool, passes: float = 1) -> tf.data.Dataset:
        """Preprocesses batches in `tf.data` (parallel, prefetched) so the model step never waits for them.

        Arrays are shuffled and batched whole (see `tfkit.data.preprocessed_batches`); while training, the last
        partial batch of each epoch is left out, so that every step has one shape (one XLA compilation). Arrays
        read more than once (`passes`) are preprocessed once and kept in memory up to
        `tfkit.data.CACHE_MAX_BYTES` (see `tfkit.data.cached_batches`).
        """
        preprocessor, _ = split(self.model)
        if not isinstance(source, tf.data.Dataset):
            features, labels = source
            prepare = preprocessor if labels is None else self._prepare_arrays_example
            options = {"batch_size": batch_size, "shuffle": shuffle, "seed": self.seed, "drop_remainder": shuffle}
            cached = tfdata.cached_batches(features, labels, prepare, **options) if passes > 1 else None
            return cached if cached is not None else tfdata.preprocessed_batches(features, labels, prepare, **options)
        if isinstance(source.element_spec, tuple):
            dataset = source.map(self._prepare_example, num_parallel_calls=tf.data.AUTOTUNE)
        else:
            dataset = source.map(preprocessor, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.prefetch(tf.data.AUTOTUNE)

    def _prepare_example(self, features, labels, *weights):
        """Preprocessed features, the head's loss-ready labels (label vocabularies are looked up here, not in the
        model step) and, when the head has a `weight_column`, that feature as Keras sample weights."""
        preprocessor, _ = split(self.model)
        if self.head.weight_column:
            weights = (features[self.head.weight_column],)
        return (preprocessor(features), self.head.prepare_labels(labels), *weights)

    def _listed_labels(self, labels):
        """Labels read from arrays as the head takes them: a padded list per example becomes a `tf.RaggedTensor`."""
        if self.head.label_shape != (None,):
            return labels
        return tf.RaggedTensor.from_tensor(labels, padding=padding_value(self.head.label_dtype))

    def _prepare_arrays_example(self, features, labels, *weights):
        return self._prepare_example(features, self._listed_labels(labels), *weights)

    def _check_labels(self, source, where: str):
        """`source`, once it is known to hold labels the head accepts; checked before anything is written.

        Labels in arrays are checked here, eagerly, so that e.g. `n_classes` too small for the data or a label
        missing from `label_vocabulary` is a clear `ValueError` before anything is written; a dataset's labels
        are checked as the pipeline runs.
        """
        if isinstance(source, tf.data.Dataset):
            if not isinstance(source.element_spec, tuple):
                raise ValueError(
                    f"{where}: `data` must yield `(features, label)` pairs to train on. Received: a dataset of "
                    f"{type(source.element_spec).__name__} elements. Add the label, e.g. `dataset.map(lambda x: "
                    f"(x, x.pop({self.label!r})))`."
                )
            return source
        labels = source[1]
        if labels is not None:
            try:
                self.head.prepare_labels(self._listed_labels(labels))
            except ValueError as error:
                raise ValueError(
                    f"{where}: the labels in column {self.label!r} do not fit the head. {error} Check `n_classes` "
                    "(or `label_vocabulary`) against the data."
                ) from None
        return source

    def _require_model(self, where: str) -> None:
        if not self.trained:
            raise ValueError(
                f"Estimator.{where}: the model has not been trained. Call `train` first, or pass the "
                "`model_dir` of a trained model."
            )

    # -- API ---------------------------------------------------------------------------------------------

    def train(
        self,
        data,
        *,
        epochs: int = 1,
        steps: int | None = None,
        batch_size: int = 512,
        validation_data=None,
        early_stopping_patience: int | str | None = "auto",
        callbacks=(),
        verbose="auto",
    ):
        """Trains; on a first call adapts the feature columns to `data` (one pass) and builds the model.

        Args:
            data: CSV path(s) or glob, a DataFrame, a dict of arrays, a `tf.data.Dataset` of
                `(raw features, label)` batches, or an `input_fn` returning one. Files, DataFrames and arrays
                trained on for more than one pass are preprocessed once and kept in memory, up to
                `tfkit.data.CACHE_MAX_BYTES` (1 GiB); a dataset is preprocessed as it streams.
            epochs: passes over `data`.
            steps: train this many batches instead (the data repeats), like `tf.estimator`'s `steps`.
            validation_data: evaluated after each epoch (same forms as `data`).
            early_stopping_patience: stop after this many epochs without a better validation loss, and keep
                the best weights (needs `validation_data`). `"auto"`: 3 epochs when there is `validation_data`;
                `None`: never stop early.
            callbacks: more Keras callbacks.

        Returns:
            self, so calls chain.
        """
        source = self._check_labels(self._source(data, "Estimator.train"), "Estimator.train")
        validation = (
            self._source(validation_data, "Estimator.train(validation_data)") if validation_data is not None else None
        )
        if early_stopping_patience == "auto":
            early_stopping_patience = None if validation is None else DEFAULT_EARLY_STOPPING_PATIENCE
        elif early_stopping_patience is not None and not is_count(early_stopping_patience, minimum=0):
            raise ValueError(
                "Estimator.train: `early_stopping_patience` must be a number of epochs (>= 0), 'auto' or None. "
                f"Received: early_stopping_patience={early_stopping_patience!r}."
            )
        elif early_stopping_patience is not None and validation is None:
            raise ValueError("Estimator.train: `early_stopping_patience` needs `validation_data` to watch.")
        if self.model is None:
            self._seed_weights()
            features = fc.FeatureLayer(self.columns)
            if features.needs_adapt:
                features.adapt(source if isinstance(source, tf.data.Dataset) else source[0])
            self._build(features)
            self._save_definition()
        resuming = self.trained or (self.model_dir and os.path.exists(self._path("backup")))
        if self.warm_start_from is not None and not resuming:
            warm_start_source, pattern = self.warm_start_from
            warm_start(self.model, warm_start_source, variables=pattern)
        passes = epochs
        if steps is not None and not isinstance(source, tf.data.Dataset):
            passes = steps * batch_size / len(source[1])
        train_ds = self._dataset(source, batch_size, shuffle=True, passes=passes)
        if steps is not None:
            # A finite dataset, not `steps_per_epoch`: Keras would run whole `steps_per_execution` blocks past it.
            train_ds, epochs = train_ds.repeat().take(steps), 1
        fit_callbacks = list(callbacks)
        if self.model_dir:
            fit_callbacks += [
                keras.callbacks.BackupAndRestore(
                    self._path("backup"), save_freq=self.save_checkpoints_steps or "epoch"
                ),
                keras.callbacks.TensorBoard(self._path("logs"), write_graph=False),
            ]
        if early_stopping_patience is not None:
            fit_callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=early_stopping_patience, restore_best_weights=True, verbose=1
                )
            )
        _, core = split(self.model)
        history = core.fit(
            train_ds,
            epochs=epochs,
            validation_data=None
            if validation is None
            else self._dataset(validation, batch_size, shuffle=False, passes=epochs),
            callbacks=fit_callbacks,
            shuffle=False,  # the input pipeline shuffles whole batches itself
            verbose=verbose,
        )
        self.history = history.history
        self.trained = True
        self._save_weights()
        return self

    def evaluate(self, data, *, batch_size: int = 512, name: str = "eval") -> dict:
        """Metrics over all of `data`, under `tf.estimator`'s names, and a report a person can read.

        Returns `loss` and `average_loss` (the mean loss per example), the head's metrics (a binary classifier's
        `accuracy`, `precision`, `recall`, `auc`, `auc_precision_recall`; a regressor's `rmse` and `mae`) and, for
        binary classifiers and regressors, `prediction/mean` and `label/mean`. With a `model_dir`, writes
        `eval/metrics.json`, `eval/report.json` (`tfkit.evaluation`'s report: confusion matrix, calibration,
        residual quantiles...) and its PNG plots to `model_dir/eval/`. The report and plots leave out example
        weights.
        """
        self._require_model("evaluate")
        source = self._source(data, "Estimator.evaluate")
        # Three passes (metrics, labels, predictions): arrays are preprocessed once and replayed from memory.
        dataset = self._dataset(source, batch_size, shuffle=False, passes=3)
        _, core = split(self.model)
        results = core.evaluate(dataset, return_dict=True, verbose=0)
        metrics = {key: float(value) for key, value in results.items()}
        metrics["average_loss"] = metrics["loss"]
        labels = np.concatenate([np.asarray(batch[1]) for batch in dataset.map(lambda x, y, *w: (x, y))])
        logits = core.predict(dataset.map(lambda x, *rest: x), verbose=0)
        report, plots = self._report(labels, logits)
        metrics.update({key: report[key] for key in ("prediction/mean", "label/mean") if key in report})
        if self.model_dir:
            folder = self._path("eval")
            write_json(os.path.join(folder, "metrics.json"), {"name": name, "metrics": metrics})
            write_json(os.path.join(folder, "report.json"), {"name": name, "report": report})
            if plots is not None:
                plots(folder)
        return metrics

    def _report(self, labels, logits) -> tuple:
        """`(report, write_plots or None)` from `tfkit.evaluation` for this head's kind of output."""
        outputs = {key: keras.ops.convert_to_numpy(value) for key, value in self.head.predictions(logits).items()}
        if isinstance(self.head, tfheads.BinaryHead):
            positive = outputs["probabilities"][:, 1]
            report = evaluation.binary_report(labels, positive, threshold=self.head.threshold)
            return report, lambda folder: evaluation.write_binary_plots(labels, positive, folder)
        if isinstance(self.head, tfheads.RegressionHead) and self.head.units == 1:
            predictions = outputs["predictions"]
            report = evaluation.regression_report(labels, predictions)
            return report, lambda folder: evaluation.write_regression_plots(labels, predictions, folder)
        if "class_ids" in outputs and labels.ndim <= 2 and labels.size == len(outputs["class_ids"]):
            report = evaluation.multiclass_report(labels, outputs["class_ids"], self.head.units)
            names = getattr(self.head, "label_vocabulary", None)
            return report, lambda folder: evaluation.write_confusion_matrix_plot(
                report["confusion_matrix"], folder, names
            )
        return {}, None

    def predict_batch(self, data, *, batch_size: int = 512) -> dict:
        """The head's predictions for all of `data`, as arrays: `{"predictions": [n]}` for a regressor."""
        self._require_model("predict")
        source = self._source(data, "Estimator.predict", need_label=False)
        if not isinstance(source, tf.data.Dataset):
            source = (source[0], None)
        _, core = split(self.model)
        logits = core.predict(self._dataset(source, batch_size, shuffle=False), verbose=0)
        return {key: keras.ops.convert_to_numpy(value) for key, value in self.head.predictions(logits).items()}

    def predict(self, data, *, batch_size: int = 512):
        """Yields one dict of predictions per example, as `tf.estimator.Estimator.predict` did."""
        outputs = self.predict_batch(data, batch_size=batch_size)
        for i in range(len(next(iter(outputs.values())))):
            yield {key: value[i] for key, value in outputs.items()}

    def export_saved_model(self, export_dir_base: str, *, version: int | None = None) -> str:
        """Exports for serving (see `tfkit.export.export_saved_model`) and returns the version's path."""
        self._require_model("export_saved_model")
        return export_saved_model(self.model, export_dir_base, version=version)


def _head_config(head) -> dict:
    config = head.get_config()
    config.pop("dtype", None)
    config.pop("trainable", None)
    return config
