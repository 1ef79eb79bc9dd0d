"""`Estimator`: train / evaluate / predict / export over a Keras model, with a `model_dir` that remembers."""

from __future__ import annotations

import logging
import os

import keras
import numpy as np

import feature_columns as fc
from feature_columns.integration import check_columns, is_count
from tfkit import distribute
from tfkit import heads as tfheads
from tfkit.estimator import compile as compiling
from tfkit.estimator import fitting
from tfkit.estimator import model_dir as model_dirs
from tfkit.estimator.inputs import Inputs, adapt_data, rows
from tfkit.estimator.report import report
from tfkit.estimator.report import sample as report_sample
from tfkit.estimator.warm_start import warm_start, warm_start_settings
from tfkit.export import export_saved_model
from tfkit.files import write_json
from tfkit.models import BUILDERS, check_params, split
from tfkit.run_config import apply_run_config, takes_input_fn

logger = logging.getLogger(__name__)


class Estimator:
    """A model from feature columns and a head, trained and served the `tf.estimator` way.

    Every argument is checked here, before any data is read.

    Args:
        feature_columns: the dense columns the model reads.
        head: a tfkit head, or a name `tfkit.heads.get` knows (`"regression"`, `"binary"`).
        label: the label's column name in CSV files and DataFrames.
        model: a builder name from `tfkit.models.BUILDERS`: `"cnn"`, `"dnn"`, `"linear"` or `"wide_and_deep"`.
        model_params: the builder's keyword arguments, e.g. `{"hidden_units": [64, 32]}`.
        model_dir: where the definition, weights, checkpoints, logs and metrics go (see
            `tfkit.estimator.model_dir`); `None` keeps everything in memory. Creating an Estimator on a
            `model_dir` that holds a trained model restores it; one holding a different model is an error that
            names what differs, and so is a model_dir inside an export (a SavedModel or its export base). A
            model_dir holding files tfkit did not write is trained in only with `train(..., overwrite=True)`.
        optimizer: a Keras optimizer instance (e.g. `tfkit.models.wide_and_deep_optimizer()`), used by this
            Estimator alone, or the name of one, any case (`"adam"`, `"Adagrad"`, `"lazy_adam"`: see
            `tfkit.estimator.compile.OPTIMIZERS`), made with `learning_rate`.
        learning_rate: the named optimizer's rate; None gives `0.001 * sqrt(batch_size / 32)` for `train`'s
            batch size (0.004 at 512: see `tfkit.estimator.compile.batch_learning_rate`). An optimizer instance
            has its own rate, so `learning_rate` must then be None. Under a `strategy`, `batch_size` is the GLOBAL
            batch, split evenly among the replicas, and the loss is averaged over it: 2 replicas at
            `batch_size=512` take the steps one device takes at 512 (each replica computing 256 examples), at the
            same rate. To keep 512 examples per replica on 4 replicas, pass `batch_size=2048`: the default rate
            becomes 0.008 (square-root scaling); a rate of your own, scale it yourself.
        steps_per_execution: training steps per call into TensorFlow (fewer Python round trips). On several
            replicas, one step per call (Keras 3.15's loop of several fails under `MirroredStrategy`,
            keras-team/keras#19246), without XLA (see `tfkit.distribute.check_jit_compile`). Measured by
            bench/gpu_check.py on the benchmark's taxi model (200,000 rides, batch 512) on this 2-core machine, two
            runs (it is shared and noisy): one device at 32 steps per call with XLA, 36k and 68k examples/s; one
            step per call without XLA, 72k and 49k; mirrored over 2 logical CPUs, 18k and 28k. The two replicas
            share the same two cores, so their per-step synchronisation is the cost, not the steps per call.
        jit_compile: True, False or `"auto"`: compile the model's steps with XLA. `"auto"` (the default) does where
            it pays: every layer of the model and its head allow it (sampled heads and label vocabularies do not),
            every preprocessed feature has a fixed width (multivalent ids are padded per batch: XLA would compile
            again for every new width), and no layer draws random numbers (dropout: slow in XLA on the CPU, where
            the taxi-fare model with dropout 0.1 trained 5x slower compiled). On the benchmark's model
            (bench/RESULTS.md) XLA trains about 1.2x faster, for a one-time compilation of a second or two.
        seed: an integer in [0, 2**32) that seeds weight initialisation and shuffling, for reproducible runs; or
            None.
        warm_start_from: start from an earlier model instead of random values: the path of an Estimator
            `model_dir`, a tfkit SavedModel or a `.keras` file, or `(path, pattern)` to start only the variables
            whose path matches the regular expression `pattern` (e.g. `"embedding"`). Embedding tables whose
            vocabulary changed are matched by token. Applied once, in the first `train`, unless `model_dir`
            holds a run to resume (see `tfkit.estimator.warm_start.warm_start`).
        save_checkpoints_steps: with a `model_dir`, also checkpoint every this many training steps (rounded up
            to whole `steps_per_execution` blocks), not only after each epoch, as `tf.estimator.RunConfig` did. A
            run killed mid-epoch then keeps the weights and optimizer state of its last step checkpoint; Keras's
            `BackupAndRestore`, which writes it, starts that epoch's data again from its first batch.
        config: a `tfkit.RunConfig` (tf.estimator's argument names): its `model_dir`, `tf_random_seed` (`seed`),
            `save_checkpoints_steps` and `train_distribute` (`strategy`) apply, and must agree with those given
            here as well; or None.
        strategy: where training runs (`tfkit.distribute.resolve_strategy`): None or `"auto"` (every GPU when
            there are two or more, else one device), `"one_device"`, `"mirrored"` (every GPU, else every logical
            CPU), `"multi_worker"` (the cluster of `TF_CONFIG`: only the chief keeps checkpoints, logs, evaluation
            files and exports; a killed worker, restarted with the others, resumes from the last checkpoint) or a
            `tf.distribute.Strategy`. Preprocessing runs in `tf.data` under every strategy. The strategy and its
            replica count are logged and recorded in `model_dir/distribution.json`.
        mixed_precision: None, `"mixed_float16"` (GPUs) or `"mixed_bfloat16"`: the model body computes in 16 bits
            with float32 variables; the head's logits, losses and exported outputs stay float32.

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
        model_dir: str | os.PathLike | None = None,
        optimizer=compiling.DEFAULT_OPTIMIZER,
        learning_rate: float | None = None,
        steps_per_execution: int = 32,
        jit_compile: bool | str = "auto",
        seed: int | None = None,
        warm_start_from=None,
        save_checkpoints_steps: int | None = None,
        config=None,
        strategy=None,
        mixed_precision: str | None = None,
    ):
        where = type(self).__name__
        run_settings = apply_run_config(where, config, model_dir, seed, save_checkpoints_steps, strategy)
        model_dir, seed, save_checkpoints_steps, strategy = run_settings  # config's, merged
        try:
            self.columns = check_columns(feature_columns)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{where}(feature_columns): {error}") from None
        try:
            self.head = tfheads.get(head)
        except ValueError as error:
            raise ValueError(f"{where}(head): {error}") from None
        if not isinstance(label, str) or not label:
            raise ValueError(
                f"{where}: `label` must name the label column (a non-empty str). Received: label={label!r} (of type "
                f"{type(label).__name__})."
            )
        self.label = label
        self.model_params = check_params(where, model, model_params)
        self.model_name = model
        self.model_dir = model_dirs.check_path(where, model_dir)
        if self.model_dir:
            model_dirs.check_location(where, self.model_dir)
        compiling.check_optimizer(where, optimizer, learning_rate)
        self.optimizer, self.learning_rate = optimizer, learning_rate
        compiling.check_steps_per_execution(where, steps_per_execution)
        self.steps_per_execution = steps_per_execution
        compiling.check_jit_compile(where, jit_compile)
        if seed is not None and not (is_count(seed, minimum=0) and seed < 2**32):
            raise ValueError(
                f"{where}: `seed` must be an integer in [0, 2**32) or None. Received: seed={seed!r} (of type "
                f"{type(seed).__name__})."
            )
        self.seed = seed
        self.warm_start_from = warm_start_settings(where, warm_start_from)
        if save_checkpoints_steps is not None and not (is_count(save_checkpoints_steps) and self.model_dir):
            raise ValueError(
                f"{where}: `save_checkpoints_steps` must be a positive integer with a `model_dir` to write the "
                f"checkpoints to, or None (checkpoints after each epoch only). Received: save_checkpoints_steps="
                f"{save_checkpoints_steps!r} (of type {type(save_checkpoints_steps).__name__}) and "
                f"model_dir={self.model_dir!r}."
            )
        self.save_checkpoints_steps = save_checkpoints_steps
        compiling.check_mixed_precision(where, mixed_precision)
        self.mixed_precision = mixed_precision
        self.strategy = distribute.resolve_strategy(where, strategy)  # last: "multi_worker" starts a server
        self.jit_compile = distribute.check_jit_compile(where, self.strategy, jit_compile)
        self.model: keras.Model | None = None
        self.trained = False
        self.history: dict = {}
        self._preprocessor = self._core = None
        self._restore()

    # -- the model ---------------------------------------------------------------------------------------

    @property
    def _inputs(self) -> Inputs:
        return Inputs(self.columns, self.head, self.label)

    def _path(self, *parts: str) -> str:
        return os.path.join(self.model_dir, *parts)

    def _definition(self) -> dict:
        where = type(self).__name__
        return model_dirs.definition(where, self.columns, self.head, self.model_name, self.model_params, self.label)

    def _seed(self) -> None:
        """Seeds what follows, the model's creation: Keras draws an initializer's seed when the layer is made."""
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)

    def _build(self, features: fc.FeatureLayer) -> None:
        """Builds the model over `features`, keeps its `(preprocessor, core)` and compiles the core to train."""
        if self.seed is not None:
            # The head was made before the seed applied (by the caller, or in __init__): remade from its config,
            # its projection's initial weights come from the seed too.
            self.head = type(self.head).from_config(self.head.get_config())
        # Variables, optimizer and metrics are made under the strategy; layers (not the head) in mixed precision.
        with self.strategy.scope(), compiling.precision(self.mixed_precision):
            self.model = BUILDERS[self.model_name](features, self.head, **self.model_params)
            self._preprocessor, self._core = split(self.model)
            compiling.compile_core(
                self._core,
                self.head,
                features.columns,
                optimizer=self.optimizer,
                learning_rate=self.learning_rate,
                steps_per_execution=distribute.steps_per_execution(self.strategy, self.steps_per_execution),
                jit_compile=self.jit_compile,
            )

    def _restore(self) -> None:
        """Rebuilds the model a `model_dir` holds, with its saved feature state (not a new adapt: a resumed run must
        see exactly the same preprocessing) and its trained weights, if any."""
        if not self.model_dir:
            return
        definition = self._definition()  # now: a definition the model_dir cannot record fails here, not in train
        saved = model_dirs.read(self.model_dir)
        if saved is None:
            return
        saved.check_definition(type(self).__name__, definition)
        self._seed()
        with self.strategy.scope():  # its embedding tables are the strategy's variables
            features = saved.feature_layer()
        self._build(features)
        if saved.trained:
            with self.strategy.scope():  # its slots are the strategy's variables too
                self._core.optimizer.build(self._core.trainable_variables)  # so its saved slots (Adam's moments) load
            saved.load_weights(self.model)
            self.trained = True

    def _build_from(self, source, write_dir: str | None) -> None:
        """A first `train`: adapts the columns to `source` (one pass), builds the model and writes its definition
        to `write_dir` (before the first epoch, so a killed run is resumed with the same model, or refused)."""
        self._seed()
        with self.strategy.scope():  # its embedding tables are the strategy's variables
            features = fc.FeatureLayer(self.columns)
        if features.needs_adapt:
            features.adapt(adapt_data(source))
        self._build(features)
        if write_dir:
            model_dirs.write_definition(write_dir, self._definition(), self._preprocessor.state)

    def _require_trained(self, where: str) -> None:
        if not self.trained:
            raise ValueError(
                f"{type(self).__name__}.{where}: the model has not been trained. Call `train` first, or pass the "
                "`model_dir` of a trained model."
            )

    # -- API ---------------------------------------------------------------------------------------------

    @takes_input_fn
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
        overwrite: bool = False,
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
            verbose: Keras's `verbose`; its progress bar counts the steps that ran, not whole
                `steps_per_execution` blocks, where the number of batches is known.
            overwrite: train in a `model_dir` that holds files tfkit did not write (and no `estimator.json`), e.g.
                another model's `model.weights.h5`; tfkit's own files (`estimator.json`, `model.weights.h5`,
                `backup/`, `logs/`, `eval/`) replace any of the same name, other files stay. Without it, such a
                model_dir is refused before anything is read or written.

        Returns:
            self, so calls chain.

        A column's check failing as a `tf.data` input streams (e.g. an id out of range) is a ValueError with the
        check's message, and the checkpoints written before it stay in `model_dir`.
        """
        where = f"{type(self).__name__}.train"
        if not isinstance(overwrite, bool):
            raise TypeError(f"{where}: `overwrite` must be True or False. Received: overwrite={overwrite!r}.")
        if self.model is None and self.model_dir:
            model_dirs.check_foreign(where, self.model_dir, overwrite)
        distribute.check_batch_size(where, batch_size, self.strategy)
        source = self._inputs.check_labels(self._inputs.read(data, where), where)
        validation = None
        if validation_data is not None:
            check = f"{where}(validation_data)"
            validation = self._inputs.check_labels(self._inputs.read(validation_data, check), check)
        patience = fitting.early_stopping_patience(where, early_stopping_patience, validation)
        logger.info(
            "%s: training with %s (%d replicas, %d workers).", where, *distribute.describe(self.strategy).values()
        )
        backup = self.model_dir and self._path(model_dirs.BACKUP_DIR)
        # On a non-chief worker, `write_dir` is a temporary folder, removed with all it holds.
        with fitting.column_checks(where, backup), distribute.writes_to(self.strategy, self.model_dir) as write_dir:
            self._fit(source, validation, epochs, steps, batch_size, patience, [*callbacks], verbose, write_dir)
            self.trained = True
            if write_dir:
                model_dirs.write_weights(write_dir, self.model)
        return self

    def _fit(self, source, validation, epochs, steps, batch_size, patience, callbacks, verbose, write_dir) -> None:
        """`train` once its arguments are checked: builds the model on a first call, then runs Keras's `fit`."""
        if self.model is None:
            self._build_from(source, write_dir)
        if write_dir:  # after the definition: a first one clears the model_dir of another model's files
            model_dirs.write_distribution(write_dir, distribute.describe(self.strategy))
        resuming = self.trained or (self.model_dir and os.path.exists(self._path(model_dirs.BACKUP_DIR)))
        if self.warm_start_from is not None and not resuming:
            warm_start_source, pattern = self.warm_start_from
            warm_start(self.model, warm_start_source, variables=pattern)
        source = distribute.worker_source(self.strategy, source)  # after adapt, which reads all of it on every worker
        passes = epochs if steps is None or rows(source) is None else steps * batch_size / rows(source)
        train_ds, packing = self._inputs.training_batches(
            source, self._preprocessor, batch_size, seed=self.seed, passes=passes
        )
        train_ds = distribute.sharded(train_ds, source)
        if self.learning_rate is None and not isinstance(self.optimizer, keras.optimizers.Optimizer):
            self._core.optimizer.learning_rate = compiling.batch_learning_rate(batch_size)  # batch_size is checked
        if steps is not None:
            # A finite dataset, not `steps_per_epoch`: Keras would run whole `steps_per_execution` blocks past it.
            train_ds, epochs = train_ds.repeat().take(steps), 1
        if validation is not None:
            validation = self._inputs.batches(validation, self._preprocessor, batch_size, shuffle=False, passes=epochs)
        callbacks += fitting.callbacks(write_dir, self.model_dir, self.save_checkpoints_steps, patience)
        with self._core.packed_inputs(packing):
            self.history = fitting.fit(
                self._core, train_ds, validation, epochs=epochs, callbacks=callbacks, verbose=verbose
            )

    @takes_input_fn
    def evaluate(self, data, *, batch_size: int = 512, name: str = "eval") -> dict:
        """Metrics over all of `data`, under `tf.estimator`'s names, and a report a person can read.

        Returns `loss` and `average_loss` (the mean loss per example), the head's metrics (a binary classifier's
        `accuracy`, `precision`, `recall`, `auc`, `auc_precision_recall`; a regressor's `rmse` and `mae`) and, for
        binary classifiers and regressors, `prediction/mean` and `label/mean`. With a `model_dir`, writes
        `eval/metrics.json`, `eval/report.json` (`tfkit.evaluation`'s report: confusion matrix, calibration,
        residual quantiles...) and its PNG plots to `model_dir/eval/`. The report and plots leave out example
        weights; beyond a million examples (`report.REPORT_MAX_EXAMPLES`) they come from a uniform sample of about
        a million, so that evaluating data of any size holds a bounded number of outputs (`report.json` states
        `examples` and `report_examples`).
        """
        self._require_trained("evaluate")
        where = f"{type(self).__name__}.evaluate"
        source = self._inputs.read(data, where)
        # Three passes (metrics, labels, predictions): arrays are preprocessed once and replayed from memory.
        dataset = self._inputs.batches(source, self._preprocessor, batch_size, shuffle=False, passes=3)
        with fitting.column_checks(where):
            results = self._core.evaluate(dataset, return_dict=True, verbose=0)
            examples = self._core.examples_seen
            reported = report_sample(dataset, examples, batch_size)
            labels = np.concatenate([np.asarray(batch[1]) for batch in reported.map(lambda x, y, *w: (x, y))])
            logits = self._core.predict(reported.map(lambda x, *rest: x), verbose=0)
        metrics = {key: float(value) for key, value in results.items()}
        metrics["average_loss"] = metrics["loss"]
        values, plots = report(self.head, labels, logits)
        metrics.update({key: values[key] for key in ("prediction/mean", "label/mean") if key in values})
        with distribute.writes_to(self.strategy, self.model_dir) as write_dir:  # the chief's model_dir is kept
            if write_dir:
                folder = os.path.join(write_dir, model_dirs.EVAL_DIR)
                write_json(os.path.join(folder, "metrics.json"), {"name": name, "metrics": metrics})
                write_json(
                    os.path.join(folder, "report.json"),
                    {"name": name, "examples": examples, "report_examples": len(labels), "report": values},
                )
                if plots is not None:
                    plots(folder)
        return metrics

    @takes_input_fn
    def predict_batch(self, data, *, batch_size: int = 512) -> dict:
        """The head's predictions for all of `data`, as arrays: `{"predictions": [n]}` for a regressor."""
        self._require_trained("predict")
        where = f"{type(self).__name__}.predict"
        source = self._inputs.read(data, where, need_label=False)
        with fitting.column_checks(where):
            logits = self._core.predict(
                self._inputs.batches(source, self._preprocessor, batch_size, shuffle=False), verbose=0
            )
        return {key: keras.ops.convert_to_numpy(value) for key, value in self.head.predictions(logits).items()}

    @takes_input_fn
    def predict(self, data, *, batch_size: int = 512):
        """Yields one dict of predictions per example, as `tf.estimator.Estimator.predict` did."""
        outputs = self.predict_batch(data, batch_size=batch_size)
        for i in range(len(next(iter(outputs.values())))):
            yield {key: value[i] for key, value in outputs.items()}

    def export_saved_model(
        self, export_dir_base: str, serving_input_receiver_fn=None, *, version=None, column_signatures=None
    ) -> str:
        """Exports for serving (see `tfkit.export.export_saved_model`, `serving_input_receiver_fn` as in tf.estimator)
        and returns the version's path.

        `column_signatures` (`{signature name: dense column name}`) adds signatures returning a column's dense
        output, e.g. `{"embedding": "item_embedding"}` for the item vectors. `export_dir_base` must not be the
        `model_dir` or a folder above it (a model_dir inside an export is refused); `model_dir/export` is fine.
        Under a multi-worker strategy only the chief's export is kept: another worker's goes to a temporary folder,
        removed before this returns its (then gone) path.
        """
        self._require_trained("export_saved_model")
        model_dirs.check_export_base(f"{type(self).__name__}.export_saved_model", self.model_dir, export_dir_base)
        signatures = {"version": version, "column_signatures": column_signatures}
        with distribute.writes_to(self.strategy, export_dir_base) as base:
            return export_saved_model(self.model, base, serving_input_receiver_fn, **signatures)
