"""Puts a feature layer, a body and a head together, and takes the result apart again.

Every builder makes a *core* model from preprocessed inputs to the head's outputs, and wraps it with the
feature layer's preprocessor into the model users see, from raw features. Training feeds the core from a
`tf.data` pipeline that preprocesses in parallel; serving runs the whole model: the same layers either way.

A chain builder (`linear`, `dnn`, `cnn`) makes either form of the same layers. The functional form (the default)
is `keras.Model(raw, core(preprocessor(raw)))`. The Sequential form is `keras.Sequential([preprocessor, core])`
whose core is a `HeadModel` around a `keras.Sequential([encoder, *layers])` body: the core stays a `HeadModel`
in both forms, because Keras's own `train_step` (a Sequential's too) would compute the full logits and a compiled
loss, where the head's loss must be used (see `HeadModel`). Composing a Sequential body into a `HeadModel` keeps
one training step, instead of a Sequential subclass repeating it. Either form is trained the same way, `core.fit`
on preprocessed batches (see `split`), as `tfkit.Estimator` does.
"""

from __future__ import annotations

import keras

from feature_columns import FeatureLayer, FeaturePreprocessor
from tfkit.layers.regularization import check_strength, regularize
from tfkit.models.head_model import HeadModel, check_gradient_clip_norm


def as_feature_layer(where: str, features) -> FeatureLayer:
    """A `FeatureLayer` from one, or from a list of columns that need no adapting."""
    if not isinstance(features, FeatureLayer):
        features = FeatureLayer(features)
    features.check_adapted(where)
    return features


def check_bool(where: str, argument: str, value) -> bool:
    """`value`, once it is known to be True or False (never a truthy stand-in such as 1 or "yes")."""
    if not isinstance(value, bool):
        raise ValueError(
            f"{where}: `{argument}` must be True or False. Received: {argument}={value!r} (of type "
            f"{type(value).__name__})."
        )
    return value


def check_activation(where: str, activation) -> None:
    """Raises unless Keras knows `activation` (a name such as "relu", a callable, or None for linear)."""
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(
            f"{where}: `activation` must be a Keras activation name (e.g. 'relu', 'tanh', 'gelu') or a callable. "
            f"Received: activation={activation!r}."
        ) from None


def check_common(where: str, *, gradient_clip_norm=None, l1=0.0, l2=0.0, sequential=False, name="model") -> None:
    """Checks the arguments every builder takes: `gradient_clip_norm`, `l1`, `l2`, `sequential` and `name`."""
    check_gradient_clip_norm(where, gradient_clip_norm)
    check_strength(where, "l1", l1)
    check_strength(where, "l2", l2)
    if not isinstance(sequential, bool):
        raise ValueError(
            f"{where}: `sequential` must be True or False. Received: sequential={sequential!r} "
            f"(of type {type(sequential).__name__}). Pass True for a keras.Sequential model, False for a functional "
            "one."
        )
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: `name` must be a non-empty string. Received: name={name!r}.")


def chain(inputs: dict, encoder, layers, *, sequential: bool = False, name: str) -> keras.Model:
    """A body applying `layers` in turn to `encoder(inputs)`: a `keras.Sequential([encoder, *layers])`, or a
    functional model from the preprocessed `inputs` (which the Sequential form does not need)."""
    if sequential:
        return keras.Sequential([encoder, *layers], name=name)
    hidden = encoder(inputs)
    for layer in layers:
        hidden = layer(hidden)
    return keras.Model(inputs, hidden, name=name)


def assemble(features: FeatureLayer, core: keras.Model, name: str, *, sequential: bool = False) -> keras.Model:
    """The raw-feature model: `core(features.preprocessor(raw inputs))`, functional or `keras.Sequential`."""
    if not sequential:
        raw = features.raw_inputs()
        return keras.Model(raw, core(features.preprocessor(raw)), name=name)
    # A Sequential of dict inputs gets no graph to build its layers from, so the core is built here, as the
    # functional form's graph builds it: its weights must exist before the first batch (checkpoints load into them).
    core(features.preprocessed_inputs())
    model = keras.Sequential([features.preprocessor, core], name=name)
    model.build({key: tensor.shape for key, tensor in features.raw_inputs().items()})
    return model


def make_core(body: keras.Model, head, *, gradient_clip_norm, l1: float, l2: float, name: str) -> HeadModel:
    """`HeadModel(body, head)`, with the penalties `l1` and `l2` on every kernel and embedding table, the head's
    projection included (a linear model's tables alone could shrink while the projection grew).

    The penalized head is a copy: the caller's head object (an Estimator's, recorded in its model_dir) is not
    changed. No penalty when both are 0: an all-zero one would still cost a pass over every table each step.
    """
    if l1 or l2:
        if head.regularizer is not None:
            raise ValueError(
                f"tfkit.models: give a weight penalty once: the head has its own `regularizer` "
                f"({type(head.regularizer).__name__}) and the builder got l1={l1}, l2={l2}. Remove one of them."
            )
        head = type(head).from_config(head.get_config())
    core = HeadModel(body, head, gradient_clip_norm=gradient_clip_norm, name=name)
    if l1 or l2:
        regularize(core, keras.regularizers.L1L2(l1=l1, l2=l2), embeddings=True)
    return core


def assemble_chain(
    where: str, features: FeatureLayer, layers, head, *, sequential: bool, gradient_clip_norm, l1, l2, name: str
) -> keras.Model:
    """A chain builder's model, `head(layers(encoder(preprocessor(raw))))`, in the form `sequential` chooses."""
    check_common(where, gradient_clip_norm=gradient_clip_norm, l1=l1, l2=l2, sequential=sequential, name=name)
    body = chain(features.preprocessed_inputs(), features.encoder, layers, sequential=sequential, name=f"{name}_body")
    core = make_core(body, head, gradient_clip_norm=gradient_clip_norm, l1=l1, l2=l2, name=f"{name}_core")
    return assemble(features, core, name, sequential=sequential)


def split(model: keras.Model) -> tuple:
    """`(preprocessor, core)` of a model made by `assemble`."""
    preprocessors = [layer for layer in model.layers if isinstance(layer, FeaturePreprocessor)]
    cores = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(preprocessors) != 1 or len(cores) != 1:
        raise ValueError(
            f"tfkit: model {model.name!r} was not made by a tfkit builder (it needs one FeaturePreprocessor and "
            "one core model). Build it with tfkit.models.dnn or another builder."
        )
    return preprocessors[0], cores[0]


def find_head(model: keras.Model):
    """The head layer at the end of a tfkit model."""
    _, core = split(model)
    heads = [layer for layer in core.layers if hasattr(layer, "serving_outputs")]
    if len(heads) != 1:
        raise ValueError(f"tfkit: model {model.name!r} has no single head layer; build it with a tfkit builder.")
    return heads[0]
