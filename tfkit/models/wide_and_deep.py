"""`wide_and_deep`: a linear model and a DNN side by side, added in the head's logits."""

from __future__ import annotations

import keras

import feature_columns as fc
from feature_columns.integration import preprocessed_spec
from tfkit.models.assembly import as_feature_layer, assemble, chain, check_sequential
from tfkit.models.dnn import dnn_layers
from tfkit.models.head_model import HeadModel
from tfkit.models.linear import LINEAR_SUFFIX

WHERE = "tfkit.models.wide_and_deep"


def wide_and_deep(
    features,
    head,
    linear_features,
    hidden_units=(64, 32, 16),
    *,
    activation="relu",
    dropout=None,
    batch_norm=False,
    gradient_clip_norm=None,
    sequential=False,
    name="wide_and_deep",
) -> keras.Model:
    """A wide (linear) and a deep (DNN) model over one feature layer, whose logits add up.

    The body concatenates the linear body's outputs (see `tfkit.models.linear`) and the DNN's last hidden layer;
    the head's projection over that concatenation is the linear model's logits plus the DNN's. Train the two
    sides with their own optimizers through `wide_and_deep_optimizer`.

    Args:
        features: an adapted `FeatureLayer` holding both sides' columns (the wide ones through
            `tfkit.models.linear_columns`), or a list of columns that need no adapting.
        head: a tfkit head.
        linear_features: the names of the columns of the wide side; the other columns feed the DNN.
        hidden_units, activation, dropout, batch_norm: the DNN's, as in `tfkit.models.dnn`.
        gradient_clip_norm: clip the gradients to this global norm while training.
        sequential: must be False: the two sides are branches that meet in the head, which a
            `keras.Sequential` (one chain of layers) cannot express.

    >>> import numpy as np
    >>> from feature_columns import NumericColumn, HashedColumn
    >>> from tfkit.heads import BinaryHead
    >>> from tfkit.models import linear_columns
    >>> columns = linear_columns([HashedColumn("h", num_bins=8)]) + [NumericColumn("x")]
    >>> model = wide_and_deep(columns, BinaryHead(), ["h_linear"], hidden_units=[4])
    >>> model({"x": np.array([1.0, 2.0]), "h": np.array(["a", "b"])}).shape
    TensorShape([2, 1])
    """
    if check_sequential(WHERE, sequential):
        raise ValueError(
            f"{WHERE}: `sequential` must be False: a wide-and-deep model has two branches (the linear and the DNN "
            "side) that meet in the head, and a keras.Sequential is a single chain of layers. Received: "
            "sequential=True. Use the functional form (sequential=False), or `tfkit.models.dnn` or "
            "`tfkit.models.linear` with sequential=True for one side alone."
        )
    features = as_feature_layer(WHERE, features)
    names = [column.name for column in features.columns]
    wanted = [linear_features] if isinstance(linear_features, str) else list(linear_features or ())
    unknown = [feature for feature in wanted if feature not in names]
    if not wanted or unknown or len(wanted) == len(names):
        raise ValueError(
            f"{WHERE}: `linear_features` must name some, not all, of the columns {names}; the others feed the DNN. "
            f"Received: linear_features={linear_features!r}."
        )
    wide = [column for column in features.columns if column.name in wanted]
    deep = [column for column in features.columns if column.name not in wanted]
    inputs = features.preprocessed_inputs()

    def side(columns, side_name):
        # Each side reads only its own preprocessed inputs and has its own encoder (its own variables).
        side_inputs = {key: inputs[key] for key in preprocessed_spec(columns)}
        return side_inputs, fc.FeatureEncoder(columns, features.state, name=f"{side_name}_encoder")

    linear_inputs, linear_encoder = side(wide, "linear")
    dnn_inputs, dnn_encoder = side(deep, "dnn")
    linear_part = chain(linear_inputs, linear_encoder, [], name="linear_body")
    dnn_part = chain(
        dnn_inputs,
        dnn_encoder,
        dnn_layers(hidden_units, activation=activation, dropout=dropout, batch_norm=batch_norm),
        name="dnn_body",
    )
    hidden = keras.layers.Concatenate(name="wide_and_deep")([linear_part(linear_inputs), dnn_part(dnn_inputs)])
    body = keras.Model(inputs, hidden, name=f"{name}_body")
    core = HeadModel(body, head, gradient_clip_norm=gradient_clip_norm, name=f"{name}_core")
    return assemble(features, core, name=name)


def wide_and_deep_optimizer(
    linear_optimizer="ftrl", dnn_optimizer="adam", *, linear_learning_rate=0.05, dnn_learning_rate=0.001
):
    """A `keras.optimizers.MultiOptimizer` training a `wide_and_deep` model's linear weights (the tables of the
    `<column>_linear` columns `linear_columns` makes) with `linear_optimizer` (Ftrl, as `tf.estimator` did) and
    everything else — the DNN and the head's projection — with `dnn_optimizer`.

    >>> type(wide_and_deep_optimizer()).__name__
    'MultiOptimizer'
    """

    def make(identifier, learning_rate):
        if isinstance(identifier, keras.optimizers.Optimizer):
            return identifier
        return keras.optimizers.get({"class_name": identifier, "config": {"learning_rate": learning_rate}})

    optimizers = keras.optimizers.OptimizerMap(
        make(dnn_optimizer, dnn_learning_rate),
        {f".*{LINEAR_SUFFIX}/embeddings": make(linear_optimizer, linear_learning_rate)},
    )
    return keras.optimizers.MultiOptimizer(optimizers)
