"""Fails fast, with the fix, when TensorFlow or Keras is outside the versions tfkit supports (setup.cfg's ranges)."""

from __future__ import annotations

import importlib.metadata
import re

# `[lowest, first excluded)` release, as setup.cfg's install_requires and extras declare them.
REQUIRED = {"tensorflow": ((2, 21), (2, 22)), "keras": ((3, 15, 1), (4,))}
_DISTRIBUTIONS = {"tensorflow": ("tensorflow-cpu", "tensorflow"), "keras": ("keras",)}


def installed_version(package: str) -> str | None:
    for distribution in _DISTRIBUTIONS[package]:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _release(version: str) -> tuple:
    """`(3, 15, 1)` from "3.15.1" or "3.15.1rc0": the leading numbers of a version, for comparison."""
    return tuple(int(number) for number in re.findall(r"^\d+|(?<=\.)\d+", version.split("+")[0]))


def check_versions(installed=installed_version) -> None:
    """Raises ImportError naming the package, the version found and the command that fixes it.

    >>> check_versions(lambda package: {"tensorflow": "2.21.0", "keras": "3.15.1"}[package])
    >>> check_versions(lambda package: {"tensorflow": "2.15.1", "keras": "3.15.1"}[package])
    Traceback (most recent call last):
    ...
    ImportError: tfkit needs tensorflow>=2.21,<2.22, but found tensorflow 2.15.1. Fix: pip install -e ".[cpu]" ...
    """
    for package, (lowest, excluded) in REQUIRED.items():
        found = installed(package)
        if found is None or not lowest <= _release(found) < excluded:
            wanted = f">={'.'.join(map(str, lowest))},<{'.'.join(map(str, excluded))}"
            raise ImportError(
                f"tfkit needs {package}{wanted}, but found {package} {found or 'not installed'}. "
                f'Fix: pip install -e ".[cpu]" (for a GPU: pip install -e ".[gpu]"; never both).'
            )
