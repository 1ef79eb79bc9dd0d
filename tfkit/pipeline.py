"""The config-driven jobs behind `tfkit train`, `evaluate`, `predict` and `export`."""

from __future__ import annotations

import pandas as pd

from tfkit.config import PipelineConfig
from tfkit.data import CsvFiles, Stream
from tfkit.estimator import Estimator
from tfkit.estimator.compile import check_optimizer, make_optimizer
from tfkit.estimator.inputs import Inputs
from tfkit.estimator.model_dir import check_export_base
from tfkit.models import linear_columns, wide_and_deep_optimizer

_ESTIMATOR_OPTIONS = (
    "model_dir",
    "learning_rate",
    "optimizer",
    "steps_per_execution",
    "jit_compile",
    "seed",
    "save_checkpoints_steps",
    "strategy",
    "mixed_precision",
)
# A wide_and_deep model's optimizers, each side its own, where the config names none: Ftrl on the linear side,
# Adam (the Estimator's own default) on the DNN side, at these rates.
WIDE_AND_DEEP_OPTIMIZERS = {"linear": ("ftrl", 0.05), "dnn": ("adam", 0.001)}


def make_estimator(config: PipelineConfig) -> Estimator:
    """The Estimator a config describes."""
    options = {key: config.training[key] for key in _ESTIMATOR_OPTIONS if key in config.training}
    columns = [config.columns[name] for name in config.features]
    params = dict(config.model_params)
    if config.model == "linear":
        columns = linear_columns(columns)
    if config.model == "wide_and_deep":
        # As tfkit.DNNLinearCombinedClassifier: categorical wide columns, each side its own optimizer.
        wide = linear_columns([config.columns[name] for name in config.linear_features])
        columns = wide + columns
        params["linear_features"] = [column.name for column in wide]
        options["optimizer"] = wide_and_deep_optimizer(
            *(_side_optimizer(config, params, side) for side in ("linear", "dnn"))
        )
    return Estimator(columns, config.head, label=config.label, model=config.model, model_params=params, **options)


def _side_optimizer(config: PipelineConfig, params: dict, side: str):
    """The optimizer of one side of a wide_and_deep model: `[model] <side>_optimizer` at `<side>_learning_rate`."""
    default_name, default_rate = WIDE_AND_DEEP_OPTIMIZERS[side]
    name, rate = params.pop(f"{side}_optimizer", default_name), params.pop(f"{side}_learning_rate", default_rate)
    check_optimizer(f"{config.path}: [model]", name, rate, arguments=(f"{side}_optimizer", f"{side}_learning_rate"))
    return make_optimizer(name, rate)


def train(config: PipelineConfig, *, verbose="auto") -> dict:
    """Trains, evaluates on the test split (if any) and exports (if `[export] dir` is set).

    Everything the run uses is checked before training starts, and a refusal leaves model_dir and export dir as
    they were: the model_dir (see `tfkit.Estimator`; `[training] overwrite = true` trains in one holding files
    tfkit did not write), the export dir (not the model_dir or a folder above it), and every split: `train`
    and `eval` are read by `Estimator.train` before it builds anything, `test` is read and checked here first
    (files, columns, labels), and those arrays are evaluated after training (files too large for memory stream:
    their glob is resolved now, their rows checked as they are read).

    Returns:
        `{"estimator", "eval_metrics", "test_metrics", "export_path"}` (absent parts are None).
    """
    estimator = make_estimator(config)
    if config.export_dir:
        check_export_base(f"{config.path}: [export] dir", estimator.model_dir, config.export_dir)
    test = None
    if config.test:  # read and checked once, now; evaluated after training from the same arrays
        where = f"{config.path}: [data] test"
        inputs = Inputs(estimator.columns, estimator.head, estimator.label)
        test = inputs.check_labels(inputs.read(config.data_source("test"), where), where)
        if not isinstance(test, Stream):  # arrays: evaluated from memory; a stream is read again then
            test = {**test[0], config.label: test[1]}
    batch_size = config.training.get("batch_size", 512)
    estimator.train(
        config.data_source("train"),
        epochs=config.training.get("epochs", 1),
        batch_size=batch_size,
        validation_data=config.data_source("eval"),
        early_stopping_patience=config.training.get("early_stopping_patience", "auto"),
        verbose=verbose,
        overwrite=config.training.get("overwrite", False),
    )
    result = {"estimator": estimator, "eval_metrics": None, "test_metrics": None, "export_path": None}
    if config.eval:
        result["eval_metrics"] = estimator.evaluate(config.data_source("eval"), batch_size=batch_size, name="eval")
    if test is not None:
        result["test_metrics"] = estimator.evaluate(test, batch_size=batch_size, name="test")
    if config.export_dir:
        result["export_path"] = export(config, estimator)
    return result


def _trained(config: PipelineConfig) -> Estimator:
    estimator = make_estimator(config)
    if not estimator.trained:
        raise ValueError(
            f"tfkit: `model_dir` {config.training.get('model_dir')!r} holds no trained model. Run `tfkit train "
            f"{config.path}` first, or pass --model-dir of a trained model."
        )
    return estimator


def evaluate(config: PipelineConfig, split: str = "test") -> dict:
    """Evaluates the model trained in `model_dir` on `split` (`"train"`, `"eval"` or `"test"`); with the
    report and plots written to `model_dir/eval/`."""
    source = config.data_source(split)
    if source is None:
        raise ValueError(f'{config.path}: [data] has no `{split}` split to evaluate on. Add `{split} = "..."`.')
    return _trained(config).evaluate(source, batch_size=config.training.get("batch_size", 512), name=split)


def predict(config: PipelineConfig, input_path: str, output_path: str) -> int:
    """Writes the predictions for the rows of the CSV file `input_path` to the CSV file `output_path`: the
    head's outputs, one column each (`probabilities_0`... for vectors). Returns the number of rows."""
    source = CsvFiles(input_path, **config.csv_options) if config.csv_options else input_path
    outputs = _trained(config).predict_batch(source, batch_size=config.training.get("batch_size", 512))
    table = {}
    for key, values in outputs.items():
        if values.ndim == 1:
            table[key] = [v.decode() if isinstance(v, bytes) else v for v in values.tolist()]
        else:
            table.update({f"{key}_{i}": values[:, i] for i in range(values.shape[1])})
    frame = pd.DataFrame(table)
    frame.to_csv(output_path, index=False)
    return len(frame)


def export(config: PipelineConfig, estimator: Estimator | None = None) -> str:
    """Exports `estimator` (default: the model trained in `model_dir`) to `[export] dir`, with the
    `[export] signatures`; returns the version's path."""
    if not config.export_dir:
        raise ValueError(f"{config.path}: [export] needs `dir`, or pass --export-dir.")
    estimator = estimator or _trained(config)
    return estimator.export_saved_model(config.export_dir, column_signatures=config.export_signatures or None)
