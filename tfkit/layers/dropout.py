"""`dropout(rate)`: Keras's `Dropout`, with `rate` checked to be the probability of DROPPING a unit."""

from __future__ import annotations

import keras

from feature_columns.integration import is_number


def check_rate(where: str, rate, argument: str = "rate") -> float:
    """`rate` as a float in [0, 1); the message explains tf.compat.v1's keep_prob, the usual confusion."""
    if not is_number(rate) or not 0.0 <= rate < 1.0:
        raise ValueError(
            f"{where}: `{argument}` must be the probability of dropping a unit, in [0, 1). "
            f"Received: {argument}={rate!r}. If you meant a keep probability p (tf.compat.v1.nn.dropout's "
            "keep_prob), pass 1 - p."
        )
    return float(rate)


def dropout(rate: float, **kwargs) -> keras.layers.Dropout:
    """A `keras.layers.Dropout` that zeroes each unit with probability `rate` while training.

    >>> dropout(0.25).rate
    0.25
    >>> dropout(0.9).rate  # drops 90% of the units: keep_prob=0.1 in tf.compat.v1 terms
    0.9
    """
    return keras.layers.Dropout(check_rate("tfkit.layers.dropout", rate), **kwargs)
