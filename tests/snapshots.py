"""Test support: what a folder holds, to show that a refused run changed nothing."""

import hashlib
import pathlib


def tree_hashes(folder) -> dict:
    """`{relative path: sha256}` of every file under `folder`, and `{relative path: None}` of every folder."""
    root = pathlib.Path(folder)
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        for path in root.rglob("*")
    }
