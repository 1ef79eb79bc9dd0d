"""How an Estimator compiles its model: the optimizer from a name or an instance, the XLA and mixed-precision policy.

Every choice is checked when the Estimator is constructed (`check_optimizer`, `check_jit_compile`,
`check_steps_per_execution`, `check_mixed_precision`), so a misspelled optimizer fails before any data is read.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math

import keras
import tensorflow as tf

from feature_columns.integration import is_count, is_number, preprocessed_spec, walk_layers
from tfkit.heads.sampled import SampledHead
from tfkit.optimizers import NAMES as TFKIT_OPTIMIZERS

logger = logging.getLogger(__name__)

# `Estimator`'s own defaults: Adam at Keras's rate for `fit`'s batch of 32, scaled to the batch (`batch_learning_rate`).
DEFAULT_OPTIMIZER = "adam"
DEFAULT_LEARNING_RATE = 0.001
REFERENCE_BATCH_SIZE = 32
JIT_COMPILE_CHOICES = (True, False, "auto")
# Keras's mixed dtype policies: float32 variables, 16-bit computations (float16 wants a GPU; bfloat16 runs anywhere).
MIXED_PRECISION = ("mixed_float16", "mixed_bfloat16")


def _optimizer_classes() -> dict:
    """`{lower-case name: class}` of the optimizers a name and a learning rate make: Keras's and tfkit's."""
    classes = {
        name: value
        for name in dir(keras.optimizers)
        if isinstance(value := getattr(keras.optimizers, name), type)
        and issubclass(value, keras.optimizers.Optimizer)
        and value is not keras.optimizers.Optimizer
        # LossScaleOptimizer and MultiOptimizer wrap other optimizers: they cannot be made from a name.
        and "learning_rate" in inspect.signature(value).parameters
    }
    classes.update(TFKIT_OPTIMIZERS)
    return {name.lower(): value for name, value in classes.items()}


OPTIMIZERS = _optimizer_classes()


def check_optimizer(where: str, optimizer, learning_rate, *, arguments=("optimizer", "learning_rate")) -> None:
    """Raises unless `optimizer` is a Keras optimizer instance (whose rate is its own: `learning_rate` must be
    None) or a name `OPTIMIZERS` knows, in any case, with `learning_rate` a finite number >= 0 or None.

    `arguments` names the two in the messages (e.g. a wide-and-deep estimator's `dnn_optimizer`).

    >>> check_optimizer("Estimator", "adamm", None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Estimator: `optimizer` must be ... or the name of one (any case): ['adadelta', ..., 'sgd']. \
Received: optimizer='adamm' (of type str).
    """
    name, rate = arguments
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError(
                f"{where}: `{rate}` must be None when `{name}` is an optimizer instance, which has its own rate. "
                f"Received: {rate}={learning_rate!r} and {name}={type(optimizer).__name__}(learning_rate="
                f"{float(optimizer.learning_rate):g}). Set the rate on the instance, or pass the optimizer's name."
            )
        return
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        raise ValueError(
            f"{where}: `{name}` must be a Keras optimizer instance or the name of one (any case): "
            f"{sorted(OPTIMIZERS)}. Received: {name}={optimizer!r} (of type {type(optimizer).__name__})."
        )
    if learning_rate is not None and not (is_number(learning_rate) and 0 <= learning_rate < math.inf):
        raise ValueError(
            f"{where}: `{rate}` must be a finite number >= 0, or None for the default. Received: "
            f"{rate}={learning_rate!r} (of type {type(learning_rate).__name__})."
        )


def default_learning_rate(name: str) -> float:
    """The learning rate Keras gives the optimizer `name` when none is set.

    >>> default_learning_rate("SGD"), default_learning_rate("Adagrad")
    (0.01, 0.001)
    """
    return inspect.signature(OPTIMIZERS[name.lower()]).parameters["learning_rate"].default


def batch_learning_rate(batch_size: int) -> float:
    """The default rate for batches of `batch_size`: `DEFAULT_LEARNING_RATE * sqrt(batch_size / 32)`.

    Keras pairs Adam's 0.001 with `fit`'s batches of 32; tfkit's are larger (512 by default) and so fewer per
    epoch, and at 0.001 they learn too slowly: a bag-of-words text model on 8,000 reviews stayed near chance for
    three epochs. Square-root scaling of the rate with the batch is the rule for adaptive optimizers (Malladi et
    al., 2022, "On the SDEs and Scaling Rules for Adaptive Gradient Algorithms").

    >>> batch_learning_rate(32), batch_learning_rate(512)  # 0.001 * sqrt(512 / 32) = 0.001 * 4
    (0.001, 0.004)
    """
    return DEFAULT_LEARNING_RATE * math.sqrt(batch_size / REFERENCE_BATCH_SIZE)


def make_optimizer(optimizer, learning_rate) -> keras.optimizers.Optimizer:
    """The optimizer `check_optimizer` accepted: an instance as given, else the named one at `learning_rate`
    (`DEFAULT_LEARNING_RATE` when None, until `Estimator.train` sets `batch_learning_rate`).

    >>> make_optimizer("RMSProp", 0.1).__class__.__name__
    'RMSprop'
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer
    rate = DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate
    return OPTIMIZERS[optimizer.lower()](learning_rate=rate)


def check_jit_compile(where: str, jit_compile) -> None:
    if not isinstance(jit_compile, bool) and not (isinstance(jit_compile, str) and jit_compile == "auto"):
        raise ValueError(
            f"{where}: `jit_compile` must be True, False or 'auto' (XLA where it pays; see `tfkit.Estimator`). "
            f"Received: jit_compile={jit_compile!r} (of type {type(jit_compile).__name__})."
        )


def check_steps_per_execution(where: str, steps_per_execution) -> None:
    if not is_count(steps_per_execution):
        raise ValueError(
            f"{where}: `steps_per_execution` must be a positive integer (training steps per call into TensorFlow). "
            f"Received: steps_per_execution={steps_per_execution!r} (of type {type(steps_per_execution).__name__})."
        )


def check_mixed_precision(where: str, mixed_precision) -> None:
    """Raises unless `mixed_precision` is None (float32 throughout) or one of `MIXED_PRECISION`.

    >>> check_mixed_precision("Estimator", "bfloat16")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Estimator: `mixed_precision` must be None or one of ('mixed_float16', 'mixed_bfloat16'). ...
    """
    if mixed_precision is not None and mixed_precision not in MIXED_PRECISION:
        raise ValueError(
            f"{where}: `mixed_precision` must be None or one of {MIXED_PRECISION}. Received: mixed_precision="
            f"{mixed_precision!r} (of type {type(mixed_precision).__name__}). 'mixed_float16' is for GPUs; "
            "'mixed_bfloat16' runs on CPUs and recent GPUs and TPUs."
        )


@contextlib.contextmanager
def precision(mixed_precision: str | None):
    """Layers made inside compute in `mixed_precision` (their variables stay float32); None leaves Keras's policy.

    The policy is Keras's global one, set for the block only, so that only the model built inside it is mixed.
    Heads are made before it (float32: logits, losses and exported outputs stay float32).
    """
    if mixed_precision is None:
        yield
        return
    if mixed_precision == "mixed_float16" and not tf.config.list_logical_devices("GPU"):
        logger.warning("Estimator: mixed_precision='mixed_float16' on a CPU is slow; 'mixed_bfloat16' is not.")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(mixed_precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def use_xla(jit_compile, columns, core: keras.Model, head) -> bool:
    """`jit_compile`, or with `"auto"` whether XLA pays for this model (see `tfkit.Estimator`'s `jit_compile`)."""
    if jit_compile != "auto":
        return jit_compile
    fixed_widths = all(None not in shape for shape, _ in preprocessed_spec(columns).values())
    layers = walk_layers(core)
    # e.g. a head's label lookup (used in tf.data, never in the step) is a layer Keras will not compile.
    compilable = all(layer.supports_jit for layer in layers)
    # Random numbers are slow in XLA on the CPU: with dropout the taxi-fare model trained 5x slower compiled.
    random = any(hasattr(layer, "seed_generator") for layer in layers)
    return fixed_widths and compilable and not random and head.xla_compatible


def compile_core(core: keras.Model, head, columns, *, optimizer, learning_rate, steps_per_execution, jit_compile):
    """Compiles the core (a `tfkit.models.HeadModel`, whose loss and metrics are the head's) to train."""
    optimizer = make_optimizer(optimizer, learning_rate)
    if type(optimizer) is keras.optimizers.Adam and isinstance(head, SampledHead):
        # Not switched silently: LazyAdam trains embedding-like tables differently (rows move only when used).
        logger.warning(
            "Estimator: Keras's Adam updates every row of the %s's output weights on every step, so sampled "
            "training costs almost as much as the full softmax (bench/RESULTS.md: 6x faster at 1,000,000 "
            "classes, against 232x with LazyAdam). Pass optimizer='lazy_adam' to update only the sampled rows.",
            type(head).__name__,
        )
    core.compile(
        optimizer=optimizer,
        steps_per_execution=steps_per_execution,
        jit_compile=use_xla(jit_compile, columns, core, head),
    )
