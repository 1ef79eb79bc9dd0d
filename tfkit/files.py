"""Atomic file writes: readers (a resumed run, a model server) never see half a file."""

from __future__ import annotations

import json
import os
import tempfile


def write_atomically(path: str, write) -> None:
    """Calls `write(temporary_path)` in `path`'s folder, then renames the result to `path`."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=folder)
    os.close(handle)
    try:
        write(staging)
        os.replace(staging, path)
    except BaseException:
        if os.path.exists(staging):
            os.remove(staging)
        raise


def write_json(path: str, payload: dict) -> None:
    """Writes `payload` as indented, key-sorted JSON, atomically."""

    def write(staging):
        with open(staging, "w") as file:
            json.dump(payload, file, indent=2, sort_keys=True)

    write_atomically(path, write)
