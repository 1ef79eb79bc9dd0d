"""Argument checks: what counts as a count and as a number (for feature_columns and tfkit alike), and the checks
column specs run in `__post_init__`.

Python counts `True` as the integer 1: a flag passed where a size belongs must be refused, not read as 1.
"""

from __future__ import annotations

from typing import Any


def is_count(value, minimum: int = 1) -> bool:
    """Whether `value` is an `int` (not a bool) of at least `minimum`.

    >>> is_count(3), is_count(True), is_count(0), is_count(0, minimum=0), is_count(2.0)
    (True, False, False, True, False)
    """
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def is_number(value) -> bool:
    """Whether `value` is an `int` or a `float`, not a bool.

    >>> is_number(0.5), is_number(2), is_number(True), is_number("1")
    (True, True, False, False)
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_positive_int(where: str, arg: str, value: Any) -> None:
    if not is_count(value):
        raise ValueError(
            f"{where}: `{arg}` must be a positive integer. Received: {arg}={value!r} (of type {type(value).__name__})."
        )


def check_key(where: str, key: Any) -> None:
    if not isinstance(key, str) or not key:
        raise TypeError(
            f"{where}: `key` must be a non-empty string naming a raw feature. "
            f"Received: key={key!r} (of type {type(key).__name__})."
        )


def check_choice(where: str, arg: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{where}: `{arg}` must be one of {choices}. Received: {arg}={value!r}.")


def check_bool(where: str, arg: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(
            f"{where}: `{arg}` must be True or False. Received: {arg}={value!r} (of type {type(value).__name__})."
        )


def as_tuple(where: str, arg: str, value: Any) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(
            f"{where}: `{arg}` must be a list or tuple. Received: {arg}={value!r} (of type {type(value).__name__})."
        )
    return tuple(value)


def freeze(spec: Any, **fields: Any) -> None:
    """Sets derived or normalized fields on a frozen dataclass during `__post_init__`."""
    for field, value in fields.items():
        object.__setattr__(spec, field, value)
