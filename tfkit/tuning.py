"""Hyperparameter search over a pipeline config (`tfkit tune CONFIG.toml`) or an Estimator factory, on KerasTuner.

Each trial trains its own Estimator in `<model_dir>/tuning/trial_<id>/model/` and is scored on the eval split by
the objective's metric. KerasTuner keeps the search's state in `<model_dir>/tuning/`, so the same search run again
on the same model_dir resumes: finished trials stay, and an interrupted one runs again (from its last epoch
checkpoint). Then the best settings are trained afresh in `model_dir` and exported, as `tfkit train` does;
`tuning/trials.csv` (a row per trial) and `tuning/objective.png` (the objective by trial) show the search.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
from collections.abc import Callable

import keras_tuner
import numpy as np
import pandas as pd

from tfkit import pipeline
from tfkit.config import SCHEMA, PipelineConfig, build_columns, load_config, model_keys
from tfkit.data import CsvFiles
from tfkit.estimator import Estimator
from tfkit.estimator.model_dir import OWN_ENTRIES, check_export_base
from tfkit.files import write_json
from tfkit.search_space import TUNE_OPTIONS, check_options, declare, decode, parse_space, parse_tune
from tfkit.tuning_files import IDENTITY, TUNING_DIR, check_model_dir, check_search, write_report

TRIAL_MODEL_DIR = "model"  # in tuning/trial_<id>/, beside KerasTuner's own trial.json
TRAINED_FILE = "trained.json"  # in a trial's folder once its model has trained: a resumed trial is not trained twice


@dataclasses.dataclass(frozen=True)
class _Job:
    """What a search trains: `build(settings, model_dir)` gives the Estimator and its `train` arguments."""

    build: Callable
    train: object
    eval: object
    test: object
    epochs: int
    seed: int | None
    export_dir: str | None
    export: Callable  # (estimator) -> the export's path


class _Stop(keras_tuner.errors.FatalError):
    """Ends the search on an error every trial would meet (the config's, the data's): `tune` raises its cause."""


class _Tuner(keras_tuner.engine.base_tuner.BaseTuner):
    """KerasTuner's search loop over Estimators: one model_dir per trial, scored by `evaluate` on the eval split."""

    def __init__(self, oracle, job: _Job, space: dict, callbacks, verbose, model_dir: str):
        self.job, self.space, self.callbacks, self.verbose = job, space, list(callbacks), verbose
        super().__init__(oracle, directory=model_dir, project_name=TUNING_DIR)

    def run_trial(self, trial, *args, **kwargs):
        values = trial.hyperparameters.values
        folder = self.get_trial_dir(trial.trial_id)
        model_dir = os.path.join(folder, TRIAL_MODEL_DIR)
        epochs, start = None, 0
        if "tuner/epochs" in values:  # Hyperband: go on from the model of the trial this one continues
            epochs, start = values["tuner/epochs"] - values["tuner/initial_epoch"], values["tuner/initial_epoch"]
            previous = values.get("tuner/trial_id")
            if previous and not os.path.exists(model_dir):
                shutil.copytree(os.path.join(self.get_trial_dir(previous), TRIAL_MODEL_DIR), model_dir)
        try:
            return self._run(decode(self.space, values), folder, model_dir, epochs, start)
        except (ValueError, TypeError, OSError) as error:
            raise _Stop(str(error)) from error

    def _run(self, settings: dict, folder: str, model_dir: str, epochs: int | None, start: int) -> dict:
        estimator, fit = self.job.build(settings, model_dir)
        trained = os.path.join(folder, TRAINED_FILE)
        if not os.path.exists(trained):
            fit = {**fit, "epochs": epochs or fit["epochs"], "callbacks": self.callbacks, "verbose": self.verbose}
            estimator.train(self.job.train, validation_data=self.job.eval, **fit)
            history = estimator.history
            best = int(np.argmin(history["val_loss"])) + 1 if history.get("val_loss") else len(history.get("loss", []))
            write_json(trained, {"epochs": start + best})
        with open(trained) as file:
            best_epochs = json.load(file)["epochs"]
        metrics = estimator.evaluate(self.job.eval, batch_size=fit["batch_size"], name="eval")
        objective = self.oracle.objective.name
        if objective not in metrics:
            raise ValueError(
                f"tfkit.tune: `objective` must be a metric of the eval split, one of {sorted(metrics)}. Received: "
                f"objective={objective!r}. Fix [tune] objective (or the `objective` argument)."
            )
        return {**metrics, "epochs": best_epochs}

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        write_report(self.oracle, self.space, self.project_dir)


def trial_config(config: PipelineConfig, settings: dict, model_dir: str | None) -> PipelineConfig:
    """`config` with a trial's `settings` (`{"model.dropout": 0.1, "columns.trip_embedding.dimension": 4}`) and
    its model in `model_dir`. Columns are built again from their tables, so columns referring to a changed one
    change with it.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp(), "pipeline.toml")
    >>> _ = path.write_text(
    ...     '[data]\\ntrain = "a.csv"\\nlabel = "y"\\n[columns.h]\\ntype = "identity"\\nnum_buckets = 24\\n'
    ...     '[columns.e]\\ntype = "embedding"\\ncategorical_column = "h"\\n[model]\\nfeatures = ["e"]\\n'
    ... )
    >>> trial = trial_config(load_config(path), {"columns.e.dimension": 3, "model.dropout": 0.2}, "runs/t0")
    >>> trial.columns["e"].dimension, trial.model_params, trial.training
    (3, {'dropout': 0.2}, {'model_dir': 'runs/t0'})
    """
    model, training = dict(config.model_params), dict(config.training)
    tables = {name: dict(table) for name, table in config.column_tables.items()}
    for name, value in settings.items():
        section, key = name.split(".", 1)
        if section == "columns":
            column, key = key.split(".", 1)
            tables[column][key] = value
        else:
            (model if section == "model" else training)[key] = value
    changed = any(name.startswith("columns.") for name in settings)
    columns = build_columns(config.path, tables) if changed else config.columns
    return dataclasses.replace(
        config, columns=columns, model_params=model, training={**training, "model_dir": model_dir}
    )


def _config_job(config: PipelineConfig) -> _Job:
    def build(settings: dict, model_dir: str):
        trial = trial_config(config, settings, model_dir)
        fit = {key: trial.training.get(key, default) for key, default in _FIT_DEFAULTS.items()}
        return pipeline.make_estimator(trial), fit

    return _Job(
        build=build,
        train=config.data_source("train"),
        eval=config.data_source("eval"),
        test=config.data_source("test"),
        epochs=config.training.get("epochs", 1),
        seed=config.training.get("seed"),
        export_dir=config.export_dir,
        export=lambda estimator: pipeline.export(config, estimator),
    )


# [training] keys a trial's `Estimator.train` reads, with their defaults.
_FIT_DEFAULTS = {"epochs": 1, "batch_size": 512, "early_stopping_patience": "auto"}


def _factory_job(factory, train_data, eval_data, test_data, epochs, batch_size, seed, export_dir) -> _Job:
    def build(settings: dict, model_dir: str):
        estimator = factory(settings, model_dir)
        if not isinstance(estimator, Estimator):
            raise TypeError(
                "tfkit.tune: the factory must return a tfkit Estimator (built with the given model_dir). Received: "
                f"{type(estimator).__name__}. Return e.g. `tfkit.DNNRegressor(..., model_dir=model_dir)`."
            )
        fit = {"epochs": settings.get("epochs", epochs), "batch_size": settings.get("batch_size", batch_size)}
        return estimator, {**fit, "early_stopping_patience": "auto"}

    export = lambda estimator: estimator.export_saved_model(export_dir)  # noqa: E731
    return _Job(build, train_data, eval_data, test_data, epochs, seed, export_dir, export)


def tune(
    target,
    space: dict | None = None,
    *,
    model_dir=None,
    train_data=None,
    eval_data=None,
    test_data=None,
    epochs: int | None = None,
    batch_size: int | None = None,
    export_dir=None,
    overwrite: bool = False,
    callbacks=(),
    verbose=0,
    **options,
) -> dict:
    """Searches hyperparameters with KerasTuner, then trains the best settings in `model_dir` and exports them.

    Args:
        target: a pipeline config (a `PipelineConfig`, or the path of its TOML file) whose `[tune]` section says
            what to search; or a factory `factory(settings, model_dir)` returning the Estimator of one trial's
            `settings` (`{name: value}`), built in that `model_dir`.
        space: `{name: {"choices": [...]} | {"min", "max", "step", "sampling"}}` (a config's settings by dotted
            path, e.g. `"model.dropout"`; with a config, `"auto"` for an embedding's dimension too); None: the
            config's `[tune.space]`. With a factory, the names `batch_size` and `epochs` also set `train`'s.
        model_dir: where the search (in `tuning/`) and the best model go; with a config, None: its `model_dir`.
        train_data, eval_data, test_data: with a factory, the data (as `Estimator.train` takes it); trials are
            scored on `eval_data`.
        epochs, batch_size: each trial's (and the best's) training; with a config, None: its `[training]`'s.
        export_dir: the export base of the best model; with a config, None: its `[export] dir`.
        overwrite: tune in a model_dir holding files of another job (they stay; tfkit's own are replaced).
        callbacks: Keras callbacks for each trial's training.
        verbose: KerasTuner's and Keras's verbosity (0: silent).
        **options: `[tune]`'s other keys (`algorithm`, `max_trials`, `objective`, `direction`, `max_epochs`,
            `factor`, `seed`, `retrain`: docs/config.md), over the config's.

    Returns:
        `{"best_trial", "best_settings", "best_score", "trials" (one dict per trial, as in trials.csv), "estimator",
        "eval_metrics", "test_metrics", "export_path"}`.

    Example (a 2-trial search of a tiny model):

    >>> import pandas as pd, tempfile
    >>> from feature_columns import NumericColumn
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 8, "y": [1.0, 3.0, 5.0, 7.0] * 8})
    >>> def factory(settings, model_dir):
    ...     return Estimator([NumericColumn("x")], "regression", label="y", model_dir=model_dir,
    ...                      model_params={"hidden_units": [settings["units"]]}, jit_compile=False, seed=1)
    >>> result = tune(factory, {"units": {"choices": [2, 4]}}, model_dir=tempfile.mkdtemp(), train_data=df,
    ...               eval_data=df, batch_size=8, max_trials=2, seed=1)
    >>> len(result["trials"]), result["best_settings"]["units"] in (2, 4)
    (2, True)
    """
    where = "tfkit.tune"
    unknown = sorted(set(options) - set(TUNE_OPTIONS))
    if unknown:
        raise TypeError(f"{where}: unknown option(s) {unknown}. Allowed: {sorted(set(TUNE_OPTIONS) - {'space'})}.")
    if isinstance(target, (str, os.PathLike)):
        target = load_config(target)
    if isinstance(target, PipelineConfig):
        data = {"train_data": train_data, "eval_data": eval_data, "test_data": test_data}
        if any(value is not None for value in data.values()):
            raise TypeError(
                f"{where}: {sorted(k for k, v in data.items() if v is not None)} must not be given with a config, "
                "which names its own data. Change [data], or pass an Estimator factory instead."
            )
        config = _with(target, model_dir, epochs, batch_size, export_dir)
        options = {**{k: v for k, v in config.tune.items() if k != "space"}, **options}
        if space is not None:
            kinds = {"model_keys": model_keys(config.model), "training_keys": SCHEMA["training"]}
            space = parse_tune(config.path, {"space": space}, config.columns, **kinds)["space"]
        space = space or config.tune.get("space")
        if not space:
            raise ValueError(
                f'{config.path}: [tune] needs a `space` to search, e.g. [tune.space] "model.dropout" = {{min = 0.0, '
                'max = 0.3}. Add the [tune] section (docs/config.md, "[tune]").'
            )
        where, model_dir = f"{config.path}: tfkit tune", config.training.get("model_dir")
        if config.eval is None:
            raise ValueError(f'{where}: trials are scored on the eval split, and [data] has none. Add `eval = "..."`.')
        job = _config_job(config)
        overwrite = overwrite or config.training.get("overwrite", False)
    elif callable(target):
        if train_data is None or eval_data is None:
            raise ValueError(f"{where}: a factory needs `train_data` and `eval_data` (trials are scored on it).")
        space = parse_space(f"{where}(space)", space, _no_auto)
        job = _factory_job(target, train_data, eval_data, test_data, epochs or 1, batch_size or 512, None, export_dir)
    else:
        raise TypeError(
            f"{where}: `target` must be a pipeline config (or its path) or an Estimator factory. Received: "
            f"{type(target).__name__}."
        )
    if not model_dir:
        raise ValueError(
            f"{where}: `model_dir` must be set: trials are kept in <model_dir>/{TUNING_DIR}/ so that a search resumes. "
            "Set [training] model_dir (or --model-dir / model_dir=)."
        )
    options = check_options(where, options)
    # Silent means silent: Keras's early stopping and KerasTuner print whatever their verbosity.
    with contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO()):
        return _search(where, job, space, options, os.fspath(model_dir), overwrite, callbacks, verbose)


def _no_auto(name: str, spec) -> None:
    if spec == "auto":
        raise ValueError(
            f'tfkit.tune(space): {name!r} = "auto" needs a config\'s embedding column. Received: "auto" with a '
            "factory. Give the range itself: dict(zip(('min', 'max'), feature_columns.embedding_dim_search_space("
            "num_buckets)))."
        )


def _with(config: PipelineConfig, model_dir, epochs, batch_size, export_dir) -> PipelineConfig:
    """`config` with `tune`'s arguments, where given, in place of its own settings."""
    given = {"model_dir": model_dir and os.fspath(model_dir), "epochs": epochs, "batch_size": batch_size}
    training = {**config.training, **{key: value for key, value in given.items() if value is not None}}
    return dataclasses.replace(config, training=training, export_dir=export_dir or config.export_dir)


def _search(where, job: _Job, space: dict, options: dict, model_dir: str, overwrite, callbacks, verbose) -> dict:
    check_model_dir(where, model_dir, overwrite)
    if job.export_dir:
        check_export_base(f"{where}: export_dir", model_dir, job.export_dir)
    tuning = os.path.join(model_dir, TUNING_DIR)
    check_search(where, tuning, {**{key: options[key] for key in IDENTITY if key != "space"}, "space": space})
    hp = keras_tuner.HyperParameters()
    declare(hp, space)
    common = {
        "objective": keras_tuner.Objective(options["objective"], options["direction"]),
        "hyperparameters": hp,
        "seed": options["seed"] if options["seed"] is not None else job.seed,
    }
    if options["algorithm"] == "hyperband":
        max_epochs = options["max_epochs"] or job.epochs
        oracle = keras_tuner.oracles.HyperbandOracle(max_epochs=max_epochs, factor=options["factor"], **common)
    else:
        kind = {"random": "RandomSearchOracle", "bayesian": "BayesianOptimizationOracle"}[options["algorithm"]]
        oracle = getattr(keras_tuner.oracles, kind)(max_trials=options["max_trials"], **common)
    tuner = _Tuner(oracle, job, space, callbacks, verbose, model_dir)
    try:
        tuner.search(verbose=verbose)
    except _Stop as stop:
        raise stop.__cause__ from None
    trials = write_report(tuner.oracle, space, tuner.project_dir)
    best = tuner.oracle.get_best_trials(1)
    if not best:
        raise ValueError(f"{where}: no trial completed; their errors are in {os.path.join(tuning, 'trial_*')}.")
    (best,) = best
    settings = decode(space, best.hyperparameters.values)
    with open(os.path.join(tuner.get_trial_dir(best.trial_id), TRAINED_FILE)) as file:
        epochs = json.load(file)["epochs"]
    # Hyperband's best may have trained longer than [training] epochs (its `max_epochs`): as long again.
    longest = best.hyperparameters.values.get("tuner/epochs")
    result = _retrain(job, settings, model_dir, options["retrain"], epochs, longest, verbose)
    write_json(
        os.path.join(tuning, "best.json"), {"trial_id": best.trial_id, "settings": settings, "score": float(best.score)}
    )
    return {
        "best_trial": best.trial_id,
        "best_settings": settings,
        "best_score": float(best.score),
        "trials": trials,
        **result,
    }


def _retrain(job: _Job, settings: dict, model_dir: str, retrain: str, epochs: int, longest, verbose) -> dict:
    """Trains the best `settings` afresh in `model_dir` (replacing an earlier search's best), then evaluates and
    exports it. `retrain="train+eval"` trains on both splits for the best trial's `epochs`, without early stopping."""
    for entry in OWN_ENTRIES:
        path = os.path.join(model_dir, entry)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    estimator, fit = job.build(settings, model_dir)
    fit = {**fit, "epochs": max(fit["epochs"], longest or 0), "verbose": verbose, "overwrite": True}
    if retrain == "train":
        estimator.train(job.train, validation_data=job.eval, **fit)
    else:
        estimator.train(together(job.train, job.eval), **{**fit, "epochs": epochs, "early_stopping_patience": None})
    batch_size = fit["batch_size"]
    return {
        "estimator": estimator,
        "eval_metrics": estimator.evaluate(job.eval, batch_size=batch_size) if retrain == "train" else None,
        "test_metrics": None if job.test is None else estimator.evaluate(job.test, batch_size=batch_size, name="test"),
        "export_path": job.export(estimator) if job.export_dir else None,
    }


def together(train, eval_data):
    """One source of both splits, for `retrain="train+eval"`: CSV files (or parts of one file), DataFrames or arrays.

    >>> together("a.csv", "b.csv")
    ['a.csv', 'b.csv']
    >>> together(CsvFiles("a.csv", part=(7, 0.2, 1.0)), CsvFiles("a.csv", part=(7, 0.1, 0.2))).part  # eval, then train
    (7, 0.1, 1.0)
    """
    if isinstance(train, pd.DataFrame) and isinstance(eval_data, pd.DataFrame):
        return pd.concat([train, eval_data], ignore_index=True)
    if isinstance(train, dict) and isinstance(eval_data, dict):
        return {key: np.concatenate([np.asarray(train[key]), np.asarray(eval_data[key])]) for key in train}
    files = [isinstance(source, CsvFiles) and source.part for source in (train, eval_data)]
    if all(files) and train.paths == eval_data.paths and eval_data.part[2] == train.part[1]:
        return dataclasses.replace(train, part=(train.part[0], eval_data.part[1], train.part[2]))
    if not any(files) and all(isinstance(s, (str, os.PathLike, CsvFiles)) for s in (train, eval_data)):
        paths = [p for s in (train, eval_data) for p in _paths(s.paths if isinstance(s, CsvFiles) else s)]
        return dataclasses.replace(train, paths=paths) if isinstance(train, CsvFiles) else paths
    raise ValueError(
        "tfkit.tune: `retrain` = 'train+eval' must have train and eval data of one kind: CSV files, parts of one "
        f"file's split, DataFrames or dicts of arrays. Received: {type(train).__name__} and "
        f"{type(eval_data).__name__}. Use retrain = 'train', or give both splits as files."
    )


def _paths(paths) -> list:
    return [os.fspath(path) for path in paths] if isinstance(paths, (list, tuple)) else [os.fspath(paths)]
