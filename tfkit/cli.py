"""The `tfkit` command: `tfkit train|tune|evaluate|predict|export CONFIG.toml`, `tfkit serve --model_base_path DIR`.

It starts fast: `tfkit --help`, `tfkit <command> --help` and `tfkit --version` import no TensorFlow, and commands
import it only once their arguments are parsed. TensorFlow's own log lines are hidden unless `--verbose` follows
the command (`tfkit train config.toml --verbose`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

# TF_CPP_MIN_LOG_LEVEL: 0 shows every C++ log line, 1 hides INFO, 2 hides WARNING as well, 3 hides ERROR as well.
_QUIET_CPP_LOG_LEVEL = "2"


def _parser() -> argparse.ArgumentParser:
    from tfkit import __version__

    parser = argparse.ArgumentParser(
        prog="tfkit",
        description="Train and ship tabular models from a TOML config (its reference: docs/config.md).",
        epilog="TensorFlow's own log lines are hidden; add --verbose after the command to see them, e.g. "
        "`tfkit train config.toml --verbose`.",
    )
    parser.add_argument("--version", action="version", version=f"tfkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        help="train, evaluate on the test split and export, as the config says",
        description="Train the config's model (Keras progress bar), evaluate it on the test split, and export a "
        "SavedModel to [export] dir. Prints the metrics and the export path.",
    )
    _config_arguments(train)
    train.add_argument("--epochs", type=int, help="epochs (overrides [training] epochs)")
    train.add_argument("--max-rows", type=int, help="read only the first rows of each split ([data] max_rows)")
    train.add_argument("--export-dir", help="export base folder (overrides [export] dir)")
    train.add_argument(
        "--strategy",
        choices=["auto", "one_device", "mirrored", "multi_worker"],
        help="where training runs (overrides [training] strategy; multi_worker reads TF_CONFIG)",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="train in a model_dir holding files tfkit did not write ([training] overwrite)",
    )
    tune = commands.add_parser(
        "tune",
        help="search hyperparameters ([tune]), then train and export the best",
        description="Run the config's [tune] search with KerasTuner: each trial trains in "
        "<model_dir>/tuning/trial_<id>/ and is scored on the eval split; the same command run again resumes the "
        "search. Then the best settings are trained in model_dir and exported, as `tfkit train` does. Writes "
        "<model_dir>/tuning/trials.csv (a row per trial) and objective.png (the objective by trial).",
    )
    _config_arguments(tune)
    tune.add_argument("--max-trials", type=int, help="trials in all (overrides [tune] max_trials)")
    tune.add_argument("--epochs", type=int, help="epochs of each trial (overrides [training] epochs)")
    tune.add_argument("--max-rows", type=int, help="read only the first rows of each split ([data] max_rows)")
    tune.add_argument("--export-dir", help="export base folder (overrides [export] dir)")
    tune.add_argument("--overwrite", action="store_true", help="tune in a model_dir holding other files")
    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate the trained model on a split of the data",
        description="Evaluate the model trained in the config's model_dir on a split of [data]. Prints the metrics "
        "(tf.estimator's names) and writes metrics.json, report.json and the PNG plots (ROC, precision-recall, "
        "calibration, confusion matrix; residuals for regressors) to <model_dir>/eval/.",
    )
    _config_arguments(evaluate)
    evaluate.add_argument(
        "--split", choices=("train", "eval", "test"), default="test", help="the [data] split (default: test)"
    )
    predict = commands.add_parser(
        "predict",
        help="predict for the rows of a CSV file, into a CSV file",
        description="Read INPUT (a CSV file, read like the config's data: same column_names, comment) with the "
        "model trained in the config's model_dir, and write its predictions to OUTPUT, one row per input row and "
        "one column per output (probabilities_0, probabilities_1, class_ids, classes...; predictions).",
    )
    _config_arguments(predict)
    predict.add_argument("input", help="CSV file of raw features (a label column, if any, is ignored)")
    predict.add_argument("output", help="CSV file to write")
    export = commands.add_parser(
        "export",
        help="export the trained model as a versioned SavedModel",
        description="Export the model trained in the config's model_dir to <export dir>/<version>/, with a "
        "raw-feature serving signature (see `tfkit serve`). Prints the version's path.",
    )
    _config_arguments(export)
    export.add_argument("--export-dir", help="export base folder (overrides [export] dir)")
    serve = commands.add_parser(
        "serve",
        help="serve an export folder over TF Serving's gRPC and REST APIs",
        description="Serve the highest version under --model_base_path, loading new versions as they are exported, "
        "with TF Serving's flags: gRPC (PredictionService, ModelService) on --port, REST (/v1/models/<name>: status, "
        "metadata, :predict, :classify, :regress) on --rest_api_port. Stop with Ctrl-C or SIGTERM.",
    )
    serve.add_argument("--model_base_path", "--model-base-path", required=True, help="folder of integer versions")
    serve.add_argument("--model_name", "--model-name", help="the <name> in the URLs (default: the folder's name)")
    serve.add_argument("--port", type=int, default=8500, help="gRPC port, as in TF Serving (default: 8500; 0: off)")
    serve.add_argument(
        "--rest_api_port", "--rest-api-port", type=int, default=8501, help="REST port (default: 8501; 0: off)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument(
        "--max_body_bytes", "--max-body-bytes", type=int, help="larger request bodies get 413 (default: 16 MiB)"
    )
    serve.add_argument(
        "--poll_seconds",
        "--poll-seconds",
        "--file_system_poll_wait_seconds",
        type=float,
        help="how often to look for new versions (default: 1)",
    )
    for command in commands.choices.values():
        command.add_argument(
            "--verbose", action="store_true", help="show TensorFlow's own log lines (hidden by default)"
        )
    return parser


def _config_arguments(command) -> None:
    command.add_argument("config", help="path of the TOML pipeline config")
    command.add_argument("--data-dir", help="data directory (overrides TFKIT_DATA and [data] dir)")
    command.add_argument("--model-dir", help="model directory (overrides [training] model_dir)")


def _apply_overrides(config, args):
    import dataclasses

    training = dict(config.training)
    if getattr(args, "overwrite", False):
        training["overwrite"] = True
    if args.model_dir:
        training["model_dir"] = args.model_dir
    if getattr(args, "epochs", None):
        training["epochs"] = args.epochs
    if getattr(args, "strategy", None):
        training["strategy"] = args.strategy
    return dataclasses.replace(
        config,
        max_rows=getattr(args, "max_rows", None) or config.max_rows,
        training=training,
        data_dir=args.data_dir or config.data_dir,
        export_dir=getattr(args, "export_dir", None) or config.export_dir,
    )


def _print_metrics(split: str, metrics: dict) -> None:
    print(f"{split}: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))


def _run(args, config) -> int:
    from tfkit import pipeline

    if args.command == "evaluate":
        _print_metrics(args.split, pipeline.evaluate(config, args.split))
    elif args.command == "predict":
        rows = pipeline.predict(config, args.input, args.output)
        print(f"wrote {rows} predictions to {args.output}")
    elif args.command == "export":
        print(f"exported: {pipeline.export(config)}")
    elif args.command == "tune":
        return _tune(args, config)
    else:
        result = pipeline.train(config)
        for split in ("eval", "test"):
            if result[f"{split}_metrics"]:
                _print_metrics(split, result[f"{split}_metrics"])
        if result["export_path"]:
            print(f"exported: {result['export_path']}")
    return 0


def _tune(args, config) -> int:
    from tfkit.tuning import tune

    try:
        result = tune(config, verbose=1, **({"max_trials": args.max_trials} if args.max_trials else {}))
    except KeyboardInterrupt:
        print(f"tfkit: interrupted; run `tfkit tune {args.config}` again to resume the search.", file=sys.stderr)
        return 130
    print(f"best trial: {result['best_trial']} ({result['best_score']:.4f}), settings: {result['best_settings']}")
    for split in ("eval", "test"):
        if result[f"{split}_metrics"]:
            _print_metrics(split, result[f"{split}_metrics"])
    if result["export_path"]:
        print(f"exported: {result['export_path']}")
    return 0


def _serve(args) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    options = {key: getattr(args, key) for key in ("max_body_bytes", "poll_seconds") if getattr(args, key) is not None}
    # Port 0 turns that API off, as TF Serving's --rest_api_port=0 does (the library's 0 means any free port).
    options.update(port=args.port or None, rest_api_port=args.rest_api_port or None)
    try:
        from tfkit import serve  # without tensorflow-serving-api, an ImportError that says how to install it

        serve.serve(args.model_base_path, model_name=args.model_name, host=args.host, **options)
    except (ValueError, OSError, ImportError) as error:  # a missing base path, a port in use, no TF Serving protos
        print(f"tfkit: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # serve re-raises Ctrl-C once it has shut down gracefully
        return 130
    return 0


def _quiet_tensorflow() -> None:
    """Hides TensorFlow's own log lines and keeps its errors: C++ INFO and WARNING lines (cpu_feature_guard's CPU
    instructions, oneDNN's and XLA's notices, "Ignoring Assert operator", grappler's "Skipping loop optimization")
    and the warnings of the `tensorflow` and `absl` Python loggers. TensorFlow reads TF_CPP_MIN_LOG_LEVEL when it is
    imported, so this runs first; a level the user set is kept."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", _QUIET_CPP_LOG_LEVEL)
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if not args.verbose:
        _quiet_tensorflow()
    if args.command == "serve":
        return _serve(args)
    from tfkit.config import load_config

    try:
        return _run(args, _apply_overrides(load_config(args.config), args))
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as error:
        print(f"tfkit: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
