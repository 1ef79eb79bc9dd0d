"""Where tfkit's TFDS builders find their source files: the data directory rule that `tfkit.data` follows."""

from __future__ import annotations

import os

from tfkit.data.idx import DEFAULT_DATA_DIR


def source_folder(dataset: str, source_dir, default: str, needed: tuple) -> str:
    """The folder holding `dataset`'s source files, once it and every file in `needed` are found.

    `source_dir` (the builders' `source_dir` argument) wins; otherwise `default` inside the data directory:
    the `TFKIT_DATA` environment variable, else `../shared/data` (relative to the current directory).

    >>> source_folder("taxifare", "/nowhere", "taxifare", ("taxi-train.csv",))
    Traceback (most recent call last):
    ...
    FileNotFoundError: tfkit.datasets.taxifare: `source_dir` must be a folder holding ['taxi-train.csv']. ...
    """
    folder = os.fspath(source_dir or os.path.join(os.environ.get("TFKIT_DATA") or DEFAULT_DATA_DIR, default))
    if not os.path.isdir(folder):
        problem = "does not exist"
    else:
        missing = [name for name in needed if not os.path.exists(os.path.join(folder, name))]
        problem = f"lacks {missing}" if missing else None
    if problem:
        raise FileNotFoundError(
            f"tfkit.datasets.{dataset}: `source_dir` must be a folder holding {list(needed) or 'its files'}. "
            f"Received: source_dir={folder!r}, which {problem}. Set TFKIT_DATA to the folder that holds "
            f"`{default}/`, or pass the folder: `tfkit.data.tfds_dataset({dataset!r}, ..., source_dir=...)` or "
            f"`tfds.load({dataset!r}, builder_kwargs={{'source_dir': ...}})`."
        )
    return folder
