"""Checks of a pipeline config's `[data]` options beyond their keys: `keep`, `max_rows`, a TFDS `source`, MNIST
splits and `split` fractions. `tfkit.config.load_config` runs them; each error names the file and the option.

>>> split_parts("pipeline.toml", {"train": "a.csv", "split": {"test": 0.2, "seed": 7}})
{'test': (7, 0.0, 0.2), 'train': (7, 0.2, 1.0)}
"""

from __future__ import annotations

import os

from tfkit.data import MNIST_SPLITS


def _error(path: str, message: str) -> ValueError:
    return ValueError(f"{path}: {message}")


def check_keep(path: str, keep):
    if keep is not None and not (isinstance(keep, dict) and all(isinstance(v, list) and v for v in keep.values())):
        raise _error(
            path, f'[data] `keep` must map columns to lists of values, e.g. {{c = ["a", "b"]}}. Received: {keep!r}.'
        )
    return keep


def check_max_rows(path: str, max_rows):
    if max_rows is not None and (not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1):
        raise _error(path, f"[data] `max_rows` must be a positive integer. Received: max_rows={max_rows!r}.")
    return max_rows


def check_streaming(path: str, data: dict) -> None:
    """`[data] streaming`: true or false, for CSV files (TFRecord and Parquet files go by the memory budget)."""
    if "streaming" not in data:
        return
    if not isinstance(data["streaming"], bool):
        raise _error(path, f"[data] `streaming` must be true or false. Received: streaming={data['streaming']!r}.")
    if data.get("format", "csv") != "csv" or "source" in data:
        raise _error(path, "[data] `streaming` applies to CSV files, not to MNIST or a TFDS source. Remove it.")
    if "split" in data and data["streaming"]:
        raise _error(path, "[data] `split` draws rows from each whole file, which streaming never holds. Remove one.")
    suffixes = (".tfrecord", ".tfrecords", ".parquet")
    others = [split for split in ("train", "eval", "test") if str(data.get(split, "")).lower().endswith(suffixes)]
    if others:
        raise _error(
            path,
            f"[data] `streaming` applies to CSV files, but {others} name TFRecord or Parquet files, which are read "
            "whole or streamed by the memory budget. Remove it.",
        )


def tfds_name(path: str, data: dict) -> str | None:
    """The TFDS dataset of `[data] source = "tfds:NAME"`; checked for form now, for existence when read."""
    if "source" not in data:
        if "tfds_dir" in data:
            raise _error(path, '[data] `tfds_dir` needs `source = "tfds:NAME"`. Add the source, or remove tfds_dir.')
        return None
    source = data["source"]
    if not isinstance(source, str) or not source.startswith("tfds:") or not source[len("tfds:") :]:
        raise _error(path, f'[data] `source` must be "tfds:NAME", e.g. "tfds:taxifare". Received: source={source!r}.')
    unsupported = sorted({"column_names", "comment", "label_map", "keep", "split", "format"} & set(data))
    if unsupported:
        raise _error(path, f"[data] {unsupported} are options of files, not of a TFDS source. Remove them.")
    return source[len("tfds:") :]


def check_mnist_splits(path: str, data: dict) -> None:
    """MNIST's splits name a folder and a split of `tfkit.data.load_mnist`: checked now, read when trained."""
    unsupported = sorted({"column_names", "comment", "label_map", "keep", "split"} & set(data))
    if unsupported:
        raise _error(path, f"[data] {unsupported} are options of CSV files, not of format = 'mnist'. Remove them.")
    for split in ("train", "eval", "test"):
        if split in data and os.path.basename(str(data[split])) not in MNIST_SPLITS:
            raise _error(
                path,
                f"[data] `{split}` must name a folder of MNIST files and one of its splits {list(MNIST_SPLITS)}, "
                f'e.g. "mnist/train". Received: {split}={data[split]!r}.',
            )


def split_parts(path: str, data: dict) -> dict:
    """`{split: (seed, start, stop)}` from `[data] split`: test first, then eval, the rest trains."""
    if "split" not in data:
        return {}
    split = data["split"]
    fix = "Give e.g. split = {test = 0.2, eval = 0.1, seed = 7}."
    if not isinstance(split, dict) or not set(split) <= {"test", "eval", "seed"} or not {"test", "eval"} & set(split):
        raise _error(path, f"[data] `split` must be a table of `test` and/or `eval` fractions and a `seed`. {fix}")
    given = sorted({"test", "eval"} & set(split) & set(data))
    if given:
        raise _error(path, f"[data] {given} are both files and parts of `split`. Keep one of the two.")
    seed = split.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise _error(path, f"[data] split `seed` must be an integer >= 0. Received: seed={seed!r}.")
    parts, start = {}, 0.0
    for name in ("test", "eval"):
        if name in split:
            fraction = split[name]
            if not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or not 0 < fraction < 1:
                raise _error(
                    path, f"[data] split `{name}` must be a fraction in (0, 1). Received: {name}={fraction!r}."
                )
            parts[name] = (seed, start, start + fraction)
            start += fraction
    if start >= 1:
        raise _error(path, f"[data] `split` leaves no rows to train on: its fractions add up to {start:g}. {fix}")
    parts["train"] = (seed, start, 1.0)
    return parts
