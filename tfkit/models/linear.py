"""`linear`: a linear model that looks up one weight per id instead of multiplying one-hot matrices."""

from __future__ import annotations

import keras

import feature_columns as fc
from feature_columns.integration import is_dense
from tfkit.models.assembly import as_feature_layer, assemble_chain

WHERE = "tfkit.models.linear"
# Names the tables of a linear model's weights, which `wide_and_deep_optimizer` finds by it.
LINEAR_SUFFIX = "_linear"


def linear_columns(columns) -> list:
    """The columns of a linear model: each categorical column becomes a 1-wide, zero-initialised embedding whose
    ids' weights are summed (`combiner="sum"`), named `<column>_linear`; dense columns stay as they are.

    >>> [c.name for c in linear_columns([fc.NumericColumn("x"), fc.HashedColumn("h", num_bins=8)])]
    ['x', 'h_linear']
    """
    return [
        column
        if is_dense(column)
        else fc.EmbeddingColumn(
            column, dimension=1, combiner="sum", initializer="zeros", name=f"{column.name}{LINEAR_SUFFIX}"
        )
        for column in columns
    ]


def linear(features, head, *, gradient_clip_norm=None, l1=0.0, l2=0.0, sequential=False, name="linear") -> keras.Model:
    """A linear model from raw features to the head's outputs.

    Each categorical column contributes the sum of its ids' weights (a lookup, never a one-hot matrix), each
    numeric column its value; the head's projection weighs and adds them, so `logits = sum_i w_i x_i + b`.

    Args:
        features: an adapted `FeatureLayer` over `linear_columns(...)`, or a list of columns that need no
            adapting (categorical columns are passed through `linear_columns`).
        head: a tfkit head, e.g. `BinaryHead()`.
        gradient_clip_norm: clip the gradients to this global norm while training.
        l1, l2: weight penalties added to the training loss, `l1 * sum(|w|) + l2 * sum(w ** 2)` over every
            kernel and embedding table (a linear model's weights are tables); 0 for none. See `tfkit.layers`.
        sequential: build a `keras.Sequential([preprocessor, core])` whose core's body is
            `keras.Sequential([encoder])`, instead of functional models; same outputs (see
            `tfkit.models.assemble`).

    >>> import numpy as np
    >>> from feature_columns import NumericColumn, HashedColumn
    >>> from tfkit.heads import BinaryHead
    >>> model = linear([NumericColumn("x"), HashedColumn("h", num_bins=8)], BinaryHead())
    >>> model({"x": np.array([1.0, 2.0]), "h": np.array(["a", "b"])}).shape
    TensorShape([2, 1])
    """
    if not isinstance(features, fc.FeatureLayer):
        features = linear_columns(features)
    features = as_feature_layer(WHERE, features)
    return assemble_chain(
        WHERE, features, [], head, sequential=sequential, gradient_clip_norm=gradient_clip_norm, l1=l1, l2=l2, name=name
    )
