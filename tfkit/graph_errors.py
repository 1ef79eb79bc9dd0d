"""What a model's own check said when it refused its input inside the graph, as one line a user can act on.

Feature columns check raw values inside the exported graph (`tf.debugging.Assert`: an id out of its range, a
missing value without a default, ...). TensorFlow reports such a failure as a long `InvalidArgumentError`:
"Graph execution error:", the node, a stack, and only then the column's message. Servers and predictors show
the message alone (`rejection_message`).
"""

from __future__ import annotations

import re

import tensorflow as tf  # noqa: F401  (used by the doctest below)

# Where TF's message names the graph function or the op, around the text that matters.
_GRAPH_DETAILS = re.compile(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:[^\]]*\]$")


def _unescape(text: str) -> str:
    """TF prints string tensors C-escaped (`\\'` for a quote, octal bytes beyond ASCII): the text as written."""
    try:
        return text.encode("latin-1").decode("unicode_escape").encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def rejection_message(error: Exception) -> str:
    """The first line of the check that failed inside a model, without TensorFlow's node names and stacks.

    A column's check in the graph (`tf.debugging.Assert`) fails with "Graph execution error:", the node, a stack
    and then "assertion failed: [<message>] [Received:] [<values>]"; this gives "<message> Received: [<values>]".
    Other errors (a tf.Example the parser refuses, ...) give their first line of text.

    >>> @tf.function
    ... def positive(x):
    ...     tf.debugging.Assert(tf.reduce_all(x > 0), ["feature 'x' must be positive.", "Received:", x])
    ...     return x
    >>> try:
    ...     positive(tf.constant([3, -2]))
    ... except tf.errors.InvalidArgumentError as error:
    ...     print(rejection_message(error))
    feature 'x' must be positive. Received: [3 -2]
    """
    text = str(error)
    if "assertion failed: " in text:
        line = text.split("assertion failed: ", 1)[1].splitlines()[0].strip()
        if line.startswith("[") and line.endswith("]"):  # each datum of the Assert in brackets
            first, *data = line[1:-1].split("] [")
            line = " ".join([first, *(datum if datum.endswith(":") else f"[{datum}]" for datum in data)])
        return _unescape(line)
    skipped = ("Graph execution error:", "<stack traces unavailable>", "Detected at node")
    lines = [line for line in text.splitlines() if line.strip() and not line[0].isspace()]
    lines = [line for line in lines if not line.startswith(skipped)]
    return _GRAPH_DETAILS.sub("", lines[0]).strip() if lines else type(error).__name__
