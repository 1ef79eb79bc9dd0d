"""What counts as a count and as a number in arguments, for feature_columns and tfkit alike.

Python counts `True` as the integer 1: a flag passed where a size belongs must be refused, not read as 1.
"""

from __future__ import annotations


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
