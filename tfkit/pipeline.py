"""The config-driven job behind `tfkit train`: train, evaluate on the test split, export."""

from __future__ import annotations

from tfkit.config import PipelineConfig
from tfkit.estimator import Estimator

_ESTIMATOR_OPTIONS = ("model_dir", "learning_rate", "optimizer", "steps_per_execution", "jit_compile", "seed")


def make_estimator(config: PipelineConfig) -> Estimator:
    """The Estimator a config describes."""
    options = {key: config.training[key] for key in _ESTIMATOR_OPTIONS if key in config.training}
    return Estimator(
        [config.columns[name] for name in config.features],
        config.head,
        label=config.label,
        model=config.model,
        model_params=config.model_params,
        **options,
    )


def train(config: PipelineConfig, *, verbose="auto") -> dict:
    """Trains, evaluates on the test split (if any) and exports (if `[export] dir` is set).

    Returns:
        `{"estimator", "eval_metrics", "test_metrics", "export_path"}` (absent parts are None).
    """
    estimator = make_estimator(config)
    batch_size = config.training.get("batch_size", 512)
    estimator.train(
        config.data_path("train"),
        epochs=config.training.get("epochs", 1),
        batch_size=batch_size,
        validation_data=config.data_path("eval"),
        early_stopping_patience=config.training.get("early_stopping_patience") if config.eval else None,
        verbose=verbose,
    )
    result = {"estimator": estimator, "eval_metrics": None, "test_metrics": None, "export_path": None}
    if config.eval:
        result["eval_metrics"] = estimator.evaluate(config.data_path("eval"), batch_size=batch_size, name="eval")
    if config.test:
        result["test_metrics"] = estimator.evaluate(config.data_path("test"), batch_size=batch_size, name="test")
    if config.export_dir:
        result["export_path"] = estimator.export_saved_model(config.export_dir)
    return result
