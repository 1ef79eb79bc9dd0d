"""`RunConfig`: `tf.estimator.RunConfig`'s arguments, mapped to tfkit's run settings, so old estimator code passes
`config=RunConfig(...)` to `tfkit.Estimator` and every canned estimator after changing its imports.

What each argument becomes:

- `model_dir`: the Estimator's `model_dir`. Given to both the Estimator and the RunConfig, the two must agree (as in
  tf.estimator).
- `tf_random_seed`: the Estimator's `seed` (weight initialisation and shuffling).
- `save_checkpoints_steps`: the Estimator's `save_checkpoints_steps` (a checkpoint every this many steps, and
  after each epoch). tf.estimator's default, a checkpoint every 600 seconds, has no tfkit equivalent: without
  `save_checkpoints_steps` tfkit checkpoints after each epoch.
- `keep_checkpoint_max`: tfkit keeps one checkpoint, the latest, so only 1 maps.
- `train_distribute`: the Estimator's `strategy` (a `tf.distribute.Strategy`, or a name
  `tfkit.distribute.resolve_strategy` knows). `eval_distribute`: the same strategy, or None: tfkit evaluates
  under the strategy it trains under, so a different one is a `ValueError`.
- Every other argument (`save_summary_steps`, `save_checkpoints_secs`, `session_config`,
  `keep_checkpoint_every_n_hours`, `log_step_count_steps`, `device_fn`, `protocol`, `experimental_distribute`,
  `experimental_max_worker_delay_secs`, `session_creation_timeout_secs`, `checkpoint_save_graph_def`) has no
  effect in tfkit: given a value, it is a `ValueError` that says what tfkit does instead, never ignored. Left
  out (None), tfkit's behaviour applies.

`TF_CONFIG` is read by the `"multi_worker"` strategy (`tfkit.distribute`), not by RunConfig.

>>> config = RunConfig(model_dir="runs/m", tf_random_seed=7, save_checkpoints_steps=100)
>>> config.estimator_arguments()
{'model_dir': 'runs/m', 'seed': 7, 'save_checkpoints_steps': 100, 'strategy': None}
>>> config.replace(tf_random_seed=8).tf_random_seed
8
"""

from __future__ import annotations

import dataclasses
import functools
import os

from feature_columns.integration import is_count

# The RunConfig arguments that tfkit has no use for, and what it does instead.
WITHOUT_EFFECT = {
    "save_summary_steps": "TensorBoard logs (model_dir/logs) are written after each epoch",
    "save_checkpoints_secs": "Checkpoints are written after each epoch, or every `save_checkpoints_steps` steps",
    "session_config": "TensorFlow 2 has no sessions: set threads with `tf.config.threading` before training",
    "keep_checkpoint_every_n_hours": "One checkpoint is kept, the latest",
    "log_step_count_steps": "The progress bar reports every step; `train(verbose=0)` turns it off",
    "device_fn": "Operations are placed as TensorFlow 2 places them",
    "protocol": "A multi-worker strategy's workers talk gRPC, as `TF_CONFIG` describes them",
    "experimental_distribute": "Pass the strategy as `train_distribute` (the Estimator's `strategy`)",
    "experimental_max_worker_delay_secs": "A multi-worker strategy's workers train in lockstep",
    "session_creation_timeout_secs": "TensorFlow 2 has no sessions",
    "checkpoint_save_graph_def": "Checkpoints hold weights only; `estimator.json` describes the model",
}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """`tf.estimator.RunConfig`, same argument names and order, for `config=` of an Estimator (see the module).

    Args:
        model_dir: where the Estimator keeps its model (its `model_dir`).
        tf_random_seed: an integer in [0, 2**32): the Estimator's `seed`.
        save_checkpoints_steps: also checkpoint every this many training steps (needs a `model_dir`).
        keep_checkpoint_max: None, or 1: tfkit keeps the latest checkpoint only.
        train_distribute: the Estimator's `strategy`; eval_distribute: None or the same strategy.
        save_summary_steps, save_checkpoints_secs, session_config, keep_checkpoint_every_n_hours,
            log_step_count_steps, device_fn, protocol, experimental_distribute, experimental_max_worker_delay_secs,
            session_creation_timeout_secs, checkpoint_save_graph_def: None; they have no effect in tfkit.

    Example:

    >>> RunConfig(save_summary_steps=100)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: RunConfig: `save_summary_steps` has no effect in tfkit. Received: save_summary_steps=100. ...
    """

    model_dir: object = None
    tf_random_seed: int | None = None
    save_summary_steps: int | None = None
    save_checkpoints_steps: int | None = None
    save_checkpoints_secs: int | None = None
    session_config: object = None
    keep_checkpoint_max: int | None = None
    keep_checkpoint_every_n_hours: int | None = None
    log_step_count_steps: int | None = None
    train_distribute: object = None
    device_fn: object = None
    protocol: str | None = None
    eval_distribute: object = None
    experimental_distribute: object = None
    experimental_max_worker_delay_secs: int | None = None
    session_creation_timeout_secs: int | None = None
    checkpoint_save_graph_def: bool | None = None

    def __post_init__(self):
        where = "RunConfig"
        # Imported here: tfkit.estimator imports this module, so a module-level import would be circular.
        from tfkit.distribute import check_strategy
        from tfkit.estimator.model_dir import check_path

        object.__setattr__(self, "model_dir", check_path(where, self.model_dir))
        check_strategy(where, self.train_distribute, "train_distribute")
        if self.eval_distribute is not None and self.eval_distribute != self.train_distribute:
            raise ValueError(
                f"{where}: `eval_distribute` must be None or `train_distribute` itself: tfkit evaluates under the "
                f"strategy it trains under. Received: eval_distribute={self.eval_distribute!r} and train_distribute="
                f"{self.train_distribute!r}. Remove `eval_distribute`."
            )
        for name, instead in WITHOUT_EFFECT.items():
            value = getattr(self, name)
            if value is not None:
                raise ValueError(
                    f"{where}: `{name}` has no effect in tfkit. Received: {name}={value!r}. {instead}. Remove it."
                )
        seed = self.tf_random_seed
        if seed is not None and not (is_count(seed, minimum=0) and seed < 2**32):
            raise ValueError(
                f"{where}: `tf_random_seed` must be an integer in [0, 2**32) or None. Received: tf_random_seed="
                f"{seed!r} (of type {type(seed).__name__})."
            )
        steps = self.save_checkpoints_steps
        if steps is not None and not is_count(steps):
            raise ValueError(
                f"{where}: `save_checkpoints_steps` must be a positive integer or None. Received: "
                f"save_checkpoints_steps={steps!r} (of type {type(steps).__name__})."
            )
        if self.keep_checkpoint_max not in (None, 1):
            raise ValueError(
                f"{where}: `keep_checkpoint_max` must be 1 or None: tfkit keeps one checkpoint, the latest (and the "
                f"trained weights in model.weights.h5). Received: keep_checkpoint_max={self.keep_checkpoint_max!r}. "
                "Remove it."
            )

    def replace(self, **changes) -> RunConfig:
        """A copy with `changes` applied (and checked), as `tf.estimator.RunConfig.replace`."""
        return dataclasses.replace(self, **changes)

    def estimator_arguments(self) -> dict:
        """The `Estimator` arguments this config sets (None: not set)."""
        return {
            "model_dir": self.model_dir,
            "seed": self.tf_random_seed,
            "save_checkpoints_steps": self.save_checkpoints_steps,
            "strategy": self.train_distribute,
        }


def apply_run_config(where: str, config, model_dir, seed, save_checkpoints_steps, strategy=None) -> tuple:
    """`(model_dir, seed, save_checkpoints_steps, strategy)`: an Estimator's own arguments with `config`'s merged in.

    A setting given both ways must agree, as tf.estimator required of `model_dir`.

    >>> apply_run_config("Estimator", RunConfig(tf_random_seed=3), "runs/m", None, None)
    ('runs/m', 3, None, None)
    """
    arguments = {"model_dir": model_dir, "seed": seed, "save_checkpoints_steps": save_checkpoints_steps}
    arguments["strategy"] = strategy
    if config is None:
        return tuple(arguments.values())
    if not isinstance(config, RunConfig):
        raise TypeError(
            f"{where}: `config` must be a tfkit.RunConfig or None. Received: config={config!r} (of type "
            f"{type(config).__name__}). Build it with tf.estimator's argument names: "
            "`tfkit.RunConfig(model_dir=..., tf_random_seed=..., save_checkpoints_steps=...)`."
        )
    names = {"model_dir": "model_dir", "seed": "tf_random_seed", "save_checkpoints_steps": "save_checkpoints_steps"}
    names["strategy"] = "train_distribute"
    for name, value in config.estimator_arguments().items():
        given = os.fspath(arguments[name]) if isinstance(arguments[name], os.PathLike) else arguments[name]
        if value is None:
            continue
        if given is not None and given != value:
            raise ValueError(
                f"{where}: `{name}` and `config.{names[name]}` must agree when both are given. Received: "
                f"{name}={given!r} and config.{names[name]}={value!r}. Give it once."
            )
        arguments[name] = value
    return tuple(arguments.values())


def takes_input_fn(method):
    """Lets an Estimator method whose first argument is `data` also be called as tf.estimator's was, with
    `input_fn=` (`estimator.train(input_fn=train_input_fn, steps=1000)`); giving both, or neither, is an error.

    >>> class Example:
    ...     @takes_input_fn
    ...     def train(self, data, *, steps=None):
    ...         return data(), steps
    >>> Example().train(input_fn=lambda: "rows", steps=3)
    ('rows', 3)
    """

    @functools.wraps(method)
    def call(self, data=None, *args, input_fn=None, **kwargs):
        if (data is None) == (input_fn is None):
            raise TypeError(
                f"{type(self).__name__}.{method.__name__}: give the data once, as `data` (or tf.estimator's "
                f"`input_fn=`). Received: data={data!r}, input_fn={input_fn!r}."
            )
        return method(self, data if input_fn is None else input_fn, *args, **kwargs)

    return call
