"""The `tfkit` command: `tfkit train CONFIG.toml`, `tfkit --version`."""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    from tfkit import __version__

    parser = argparse.ArgumentParser(prog="tfkit", description="Train and ship tabular models from a TOML config.")
    parser.add_argument("--version", action="version", version=f"tfkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        help="train, evaluate on the test split and export, as the config says",
        description="Train the config's model (Keras progress bar), evaluate it on the test split, and export a "
        "SavedModel to [export] dir. Prints the metrics and the export path.",
    )
    train.add_argument("config", help="path of the TOML pipeline config")
    train.add_argument("--data-dir", help="data directory (overrides TFKIT_DATA and [data] dir)")
    train.add_argument("--model-dir", help="model directory (overrides [training] model_dir)")
    train.add_argument("--epochs", type=int, help="epochs (overrides [training] epochs)")
    train.add_argument("--export-dir", help="export base folder (overrides [export] dir)")
    return parser


def _apply_overrides(config, args):
    import dataclasses

    training = dict(config.training)
    if args.model_dir:
        training["model_dir"] = args.model_dir
    if args.epochs:
        training["epochs"] = args.epochs
    return dataclasses.replace(
        config,
        training=training,
        data_dir=args.data_dir or config.data_dir,
        export_dir=args.export_dir or config.export_dir,
    )


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from tfkit import pipeline
    from tfkit.config import load_config

    try:
        config = _apply_overrides(load_config(args.config), args)
        result = pipeline.train(config)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as error:
        print(f"tfkit: error: {error}", file=sys.stderr)
        return 2
    for split in ("eval", "test"):
        metrics = result[f"{split}_metrics"]
        if metrics:
            print(f"{split}: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))
    if result["export_path"]:
        print(f"exported: {result['export_path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
