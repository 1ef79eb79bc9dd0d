"""Fails fast, with the fix, when TensorFlow or Keras is not the version tfkit is built and tested on."""

from __future__ import annotations

import importlib.metadata

REQUIRED = {"tensorflow": "2.21", "keras": "3.15"}
_DISTRIBUTIONS = {"tensorflow": ("tensorflow-cpu", "tensorflow"), "keras": ("keras",)}


def installed_version(package: str) -> str | None:
    for distribution in _DISTRIBUTIONS[package]:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def check_versions(installed=installed_version) -> None:
    """Raises ImportError naming the package, the version found and the command that fixes it.

    >>> check_versions(lambda package: {"tensorflow": "2.21.0", "keras": "3.15.1"}[package])
    >>> check_versions(lambda package: {"tensorflow": "2.15.1", "keras": "3.15.1"}[package])
    Traceback (most recent call last):
    ...
    ImportError: tfkit needs tensorflow 2.21.x, but found tensorflow 2.15.1. Fix: pip install -e ".[cpu]" ...
    """
    for package, wanted in REQUIRED.items():
        found = installed(package)
        if found is None or not (found == wanted or found.startswith(wanted + ".")):
            raise ImportError(
                f"tfkit needs {package} {wanted}.x, but found {package} {found or 'not installed'}. "
                f'Fix: pip install -e ".[cpu]" (for a GPU: pip install -e ".[gpu]"; never both).'
            )
