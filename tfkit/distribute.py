"""Training on several devices and machines through `tf.distribute`: which strategy, how data reaches it.

The one place in tfkit that knows about strategies (nothing else branches on their type):

- `resolve_strategy`: `None` / `"auto"`, `"one_device"`, `"mirrored"`, `"multi_worker"` or a
  `tf.distribute.Strategy` to the strategy an Estimator builds and trains its model under;
- `parse_tf_config` and `local_tf_config`: the `TF_CONFIG` a `"multi_worker"` run reads, checked, and one made for
  workers on this machine (tests, trying a cluster out);
- `check_batch_size`, `steps_per_execution`, `sharded`, `is_chief`, `writes_to`, `describe`: the arithmetic and the
  per-worker rules every strategy shares.

Two logical CPU devices stand in for two GPUs where none is visible: `"mirrored"` mirrors over all GPUs, else over
all logical CPUs (`tf.config.set_logical_device_configuration`, set before TensorFlow starts).

>>> resolve_strategy("Estimator", None).num_replicas_in_sync  # one CPU, no GPU: the default strategy
1
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import tempfile

import tensorflow as tf

from tfkit.data.streaming import Stream, shard

logger = logging.getLogger(__name__)

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")
TF_CONFIG = "TF_CONFIG"
# Task types of a Keras multi-worker cluster: `chief` (optional; else worker 0 leads) and `worker`.
TASK_TYPES = ("chief", "worker")


def _tf_config_error(where: str, text: str, problem: str) -> ValueError:
    return ValueError(
        f"{where}: the environment variable `{TF_CONFIG}` must be JSON like {local_tf_config([12345, 12346], 0)} "
        f"({problem}). Received: {TF_CONFIG}={text!r}. Build it with `tfkit.distribute.local_tf_config` for "
        "workers on this machine."
    )


def parse_tf_config(where: str, text: str | None) -> dict:
    """`TF_CONFIG` (its text) as a dict, once it is known to describe this task of a multi-worker cluster.

    >>> parse_tf_config("Estimator", local_tf_config([2222, 2223], 1))["task"]
    {'type': 'worker', 'index': 1}
    >>> parse_tf_config("Estimator", '{"cluster": {"worker": ["localhost:2222"]}}')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Estimator: the environment variable `TF_CONFIG` must be JSON like ... (`task` is missing). ...
    """
    if not text:
        raise ValueError(
            f"{where}: `strategy='multi_worker'` needs the environment variable `{TF_CONFIG}`, which describes the "
            f"cluster and this task. Received: {TF_CONFIG} not set. Set it on every worker, e.g. "
            f"{TF_CONFIG}='{local_tf_config([12345, 12346], 0)}' (`tfkit.distribute.local_tf_config`)."
        )
    try:
        config = json.loads(text)
    except ValueError as error:
        raise _tf_config_error(where, text, f"it is not JSON: {error}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise _tf_config_error(where, text, "`cluster` must map task types to lists of 'host:port'")
    cluster = config["cluster"]
    for task_type, addresses in cluster.items():
        valid = isinstance(addresses, list) and addresses
        if task_type not in TASK_TYPES or not valid or not all(_is_address(address) for address in addresses):
            raise _tf_config_error(
                where, text, f"`cluster` must map {list(TASK_TYPES)} to non-empty lists of 'host:port'"
            )
    if "worker" not in cluster:
        raise _tf_config_error(where, text, "`cluster` must list the `worker` tasks")
    task = config.get("task")
    if not isinstance(task, dict):
        raise _tf_config_error(where, text, "`task` is missing")
    index = task.get("index")
    if task.get("type") not in cluster or not (isinstance(index, int) and 0 <= index < len(cluster[task["type"]])):
        raise _tf_config_error(where, text, "`task` must name a task type of `cluster` and an index into its list")
    return config


def _is_address(address) -> bool:
    host, _, port = address.rpartition(":") if isinstance(address, str) else ("", "", "")
    return bool(host) and port.isdigit()


def local_tf_config(ports, index: int, *, host: str = "127.0.0.1") -> str:
    """The `TF_CONFIG` text of worker `index` among workers on this machine, one per port (worker 0 is the chief).

    >>> local_tf_config([2222, 2223], 0)
    '{"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, "task": {"type": "worker", "index": 0}}'
    """
    config = {"cluster": {"worker": [f"{host}:{port}" for port in ports]}, "task": {"type": "worker", "index": index}}
    return json.dumps(config)


@functools.cache
def _mirrored() -> tf.distribute.MirroredStrategy:
    """`MirroredStrategy` over every GPU, else every logical CPU: one per process, shared by the Estimators that
    ask for `"mirrored"`. A second instance's collective ops would reuse the first's keys and fail ("Shape mismatch
    in the collective instance 101 ... different input shapes at different members of the collective op")."""
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.MirroredStrategy([device.name for device in gpus or tf.config.list_logical_devices("CPU")])


def check_strategy(where: str, strategy, argument: str = "strategy") -> None:
    """Raises unless `strategy` is None, one of `STRATEGIES` or a `tf.distribute.Strategy` that Keras 3 trains
    under (nothing is made)."""
    if isinstance(strategy, tf.distribute.experimental.ParameterServerStrategy):
        raise ValueError(
            f"{where}: `{argument}` must be a strategy Keras 3 trains under; it does not support "
            f"ParameterServerStrategy (keras-team/keras#18624). Received: {argument}={strategy!r}. Use "
            "'multi_worker' (MultiWorkerMirroredStrategy) for several machines."
        )
    if strategy is not None and not isinstance(strategy, tf.distribute.Strategy) and strategy not in STRATEGIES:
        raise ValueError(
            f"{where}: `{argument}` must be None, one of {list(STRATEGIES)} or a tf.distribute.Strategy. Received: "
            f"{argument}={strategy!r} (of type {type(strategy).__name__})."
        )


def resolve_strategy(where: str, strategy) -> tf.distribute.Strategy:
    """The `tf.distribute.Strategy` that `strategy` names, made now (its settings checked first).

    - `None` or `"auto"`: `MirroredStrategy` over all GPUs when there are two or more, else the default strategy
      (one device, no copies);
    - `"one_device"`: `OneDeviceStrategy` on the first GPU, else the CPU;
    - `"mirrored"`: `MirroredStrategy` over all GPUs, else all logical CPUs (one replica per device);
    - `"multi_worker"`: `MultiWorkerMirroredStrategy` over the cluster of the `TF_CONFIG` environment variable
      (checked: `parse_tf_config`); make it before anything else runs in TensorFlow;
    - a `tf.distribute.Strategy` instance: as it is.

    >>> resolve_strategy("Estimator", "mirroring")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Estimator: `strategy` must be None, one of ['auto', 'one_device', 'mirrored', 'multi_worker'] or a \
tf.distribute.Strategy. Received: strategy='mirroring' (of type str).
    """
    check_strategy(where, strategy)
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy == "multi_worker":
        parse_tf_config(where, os.environ.get(TF_CONFIG))
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if strategy == "mirrored" or (strategy in (None, "auto") and len(gpus) >= 2):
        return _mirrored()
    if strategy == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    return tf.distribute.get_strategy()


def describe(strategy: tf.distribute.Strategy) -> dict:
    """What `model_dir/distribution.json` records and the log says of a run's strategy.

    >>> describe(tf.distribute.get_strategy())
    {'strategy': '_DefaultDistributionStrategy', 'replicas': 1, 'workers': 1}
    """
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec() if resolver is not None else None
    workers = sum(spec.num_tasks(kind) for kind in TASK_TYPES if kind in spec.jobs) if spec else 1
    return {"strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync, "workers": workers}


def check_batch_size(where: str, batch_size: int, strategy: tf.distribute.Strategy) -> None:
    """Raises unless the GLOBAL `batch_size` splits evenly among the strategy's replicas.

    >>> check_batch_size("Estimator.train", 512, tf.distribute.get_strategy())
    """
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        lower, upper = batch_size // replicas * replicas, (batch_size // replicas + 1) * replicas
        raise ValueError(
            f"{where}: `batch_size` (the global batch, split among the replicas) must be a multiple of the "
            f"{replicas} replicas of {type(strategy).__name__}. Received: batch_size={batch_size}. Use "
            f"{lower or upper} or {upper}."
        )


def steps_per_execution(strategy: tf.distribute.Strategy, requested: int) -> int:
    """The training steps per call into TensorFlow that `strategy` runs: `requested` on one replica, 1 on more.

    Keras 3.15's multi-step loop fails under `MirroredStrategy` (keras-team/keras#19246: "You must feed a value for
    placeholder tensor ... while/cond"), so several replicas run one step per call; the cost is in `tfkit.Estimator`.
    """
    if strategy.num_replicas_in_sync == 1 or requested == 1:
        return requested
    logger.info(
        "tfkit: %d replicas run one training step per call into TensorFlow, not steps_per_execution=%d "
        "(keras-team/keras#19246).",
        strategy.num_replicas_in_sync,
        requested,
    )
    return 1


def check_jit_compile(where: str, strategy: tf.distribute.Strategy, jit_compile) -> bool | str:
    """`jit_compile` as `strategy` allows it: XLA compiles one device's step, and Keras compiles the step of every
    replica at once ("Trying to access resource .../replica_1 located in device CPU:1 from device CPU:0"), so
    several replicas train without XLA (`"auto"` becomes False; True is an error)."""
    if strategy.num_replicas_in_sync == 1 or jit_compile is False:
        return jit_compile
    if jit_compile is True:
        raise ValueError(
            f"{where}: `jit_compile` must be False or 'auto' with {strategy.num_replicas_in_sync} replicas: Keras "
            "compiles every replica's step into one XLA program, which cannot reach the other devices' variables. "
            "Received: jit_compile=True. Pass jit_compile='auto', or train on one device."
        )
    return False


def worker_source(strategy: tf.distribute.Strategy, source):
    """This worker's share of `source` (from `Inputs.read`): on a multi-worker cluster a `Stream` of files keeps
    every `workers`-th file (`tfkit.data.shard`), so each file is read by one worker; anything else as it is
    (`sharded` tells `tf.data` how to split it)."""
    workers = describe(strategy)["workers"]
    if workers == 1 or not isinstance(source, Stream):
        return source
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec()
    # Workers are numbered chief first (when there is one), then the `worker` tasks in order.
    chiefs = spec.num_tasks("chief") if "chief" in spec.jobs else 0
    index = resolver.task_id if resolver.task_type == "chief" else chiefs + resolver.task_id
    return shard(source, workers, index)


def sharded(dataset: tf.data.Dataset, source) -> tf.data.Dataset:
    """`dataset`, made from `source`, told how each worker of a multi-worker run takes its share: a `Stream` is one
    worker's files already (`worker_source`); arrays by data (every worker reads them and keeps its share of each
    global batch); a dataset of the user's by file where it reads files, else by data (tf.data's `AUTO`). One
    machine's replicas split each global batch whatever this says."""
    options = tf.data.Options()
    policy = tf.data.experimental.AutoShardPolicy
    if isinstance(source, Stream):
        options.experimental_distribute.auto_shard_policy = policy.OFF
    else:
        by_file = isinstance(source, tf.data.Dataset)
        options.experimental_distribute.auto_shard_policy = policy.AUTO if by_file else policy.DATA
    return dataset.with_options(options)


def step_logs(logs: dict) -> dict:
    """A training or evaluation step's `logs` as Keras 3.15 can reduce them across the workers of a cluster.

    Keras averages a step's per-replica logs there with `strategy.reduce("MEAN", value, axis=0)`, which fails on
    scalars ("Invalid reduction dimension 0 for input with 0 dimensions"): under a multi-worker strategy each value
    gets a leading axis of 1, averaged away across the workers; elsewhere they stay as they are.
    """
    if describe(tf.distribute.get_strategy())["workers"] == 1:
        return logs
    return {key: tf.expand_dims(value, 0) for key, value in logs.items()}


def replica_gradients(gradients: list) -> list:
    """`gradients` as `tf.distribute` can sum them across replicas: sparse ones (`tf.IndexedSlices`) whose row
    count is known only when the step runs become dense on several replicas.

    TensorFlow 2.21's collective all-reduce fails when such a gradient has a different number of rows on each
    replica ("Shape mismatch in the collective instance ... expected shape [144] but another member in the group
    expected shape [961]"): a sampled head's output weights, whose rows depend on each replica's labels. Sparse
    gradients of a fixed row count (embedding lookups of a fixed batch) stay sparse.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return gradients
    return [
        tf.convert_to_tensor(gradient)
        if isinstance(gradient, tf.IndexedSlices) and gradient.values.shape[0] is None
        else gradient
        for gradient in gradients
    ]


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this task writes a run's files: always on one machine; the chief (or worker 0) of a cluster."""
    return strategy.extended.should_checkpoint


@contextlib.contextmanager
def writes_to(strategy: tf.distribute.Strategy, path: str | None):
    """Yields `path` on the chief; on another worker a temporary folder, removed on exit.

    Every worker of a multi-worker run saves what the chief saves (saving reads variables, which may need all the
    workers), but only the chief's files are kept.
    """
    if path is None or is_chief(strategy):
        yield path
        return
    folder = tempfile.mkdtemp(prefix="tfkit-worker-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
