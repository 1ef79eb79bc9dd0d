"""tfkit.distribute: strategies by name, TF_CONFIG, and training on two replicas (two logical CPU devices).

The mirrored runs happen in one subprocess (tests/tfkit/distribute_parity.py): TensorFlow splits the CPU into
logical devices only before it starts.
"""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import tensorflow as tf

import tfkit
from feature_columns import NumericColumn
from tfkit import distribute

PARITY = os.path.join(os.path.dirname(__file__), "distribute_parity.py")


def _estimator(**changes):
    return tfkit.Estimator([NumericColumn("x")], "regression", label="y", **changes)


def test_unknown_strategy_name_is_refused():
    with pytest.raises(ValueError, match=r"^Estimator: `strategy` must be None, one of \['auto', 'one_device', "
                       r"'mirrored', 'multi_worker'\] or a tf.distribute.Strategy. Received: strategy='mirror' "
                       r"\(of type str\).$"):  # fmt: skip
        _estimator(strategy="mirror")


def test_multi_worker_without_tf_config_is_refused(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match=r"^Estimator: `strategy='multi_worker'` needs the environment variable "
                       r"`TF_CONFIG`.*Received: TF_CONFIG not set\. Set it on every worker"):  # fmt: skip
        _estimator(strategy="multi_worker")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{cluster", "it is not JSON"),
        ('{"cluster": {"worker": "127.0.0.1:2222"}, "task": {"type": "worker", "index": 0}}', "lists of 'host:port'"),
        ('{"cluster": {"ps": ["127.0.0.1:2222"]}, "task": {"type": "ps", "index": 0}}', "lists of 'host:port'"),
        ('{"cluster": {"worker": ["127.0.0.1:2222"]}}', "`task` is missing"),
        ('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "worker", "index": 1}}', "an index into"),
    ],
)
def test_malformed_tf_config_is_refused(monkeypatch, text, problem):
    monkeypatch.setenv("TF_CONFIG", text)
    with pytest.raises(ValueError, match=r"^Estimator: the environment variable `TF_CONFIG` must be JSON like "
                       rf"\{{.*\}} \(.*{problem}.*\)\. Received: TF_CONFIG="):  # fmt: skip
        _estimator(strategy="multi_worker")


def test_local_tf_config_describes_each_worker():
    text = distribute.local_tf_config([2222, 2223, 2224], 2)
    assert json.loads(text) == {
        "cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223", "127.0.0.1:2224"]},
        "task": {"type": "worker", "index": 2},
    }
    assert distribute.parse_tf_config("test", text)["task"]["index"] == 2


def test_one_device_and_default_strategies_record_themselves(tmp_path):
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 8, "y": [1.0, 3.0, 5.0, 7.0] * 8})
    estimator = _estimator(strategy="one_device", model_dir=tmp_path / "m").train(frame, batch_size=8, verbose=0)
    assert isinstance(estimator.strategy, tf.distribute.OneDeviceStrategy)
    record = json.loads((tmp_path / "m" / "distribution.json").read_text())
    assert record == {"strategy": "OneDeviceStrategy", "replicas": 1, "workers": 1}
    # An instance is taken as it is; "auto" on a machine without two GPUs is the default strategy.
    assert _estimator(strategy=estimator.strategy).strategy is estimator.strategy
    assert _estimator(strategy="auto").strategy is tf.distribute.get_strategy()


def test_run_config_train_distribute_is_the_strategy():
    config = tfkit.RunConfig(train_distribute="one_device")
    assert isinstance(_estimator(config=config).strategy, tf.distribute.OneDeviceStrategy)
    with pytest.raises(ValueError, match=r"`strategy` and `config.train_distribute` must agree"):
        _estimator(config=config, strategy="mirrored")


@pytest.fixture(scope="module")
def mirrored(taxi_dir, tmp_path_factory):
    """What distribute_parity.py found: single-device and mirrored runs of the same models, and the refusals."""
    work = tmp_path_factory.mktemp("mirrored")
    result = subprocess.run(
        [sys.executable, PARITY, os.path.join(taxi_dir, "taxi-train.csv"), str(work)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"distribute_parity.py failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("model", "tolerance"), [("taxi", 1e-3), ("weighted", 1e-3), ("sampled", 0.1)])
def test_mirrored_training_matches_one_device(mirrored, model, tolerance):
    one, two = mirrored[f"{model}-None"], mirrored[f"{model}-mirrored"]
    # Same batches, seed and global batch: the replicas' losses, averaged over the global batch, are the same
    # numbers up to float32 summation order and XLA (one device compiles its steps; the replicas cannot): seen,
    # at most 3e-5 relative for the taxi model, 2e-6 for the weighted head, whose last batch of one example
    # splits 1 and 0 between the replicas. The bound leaves room for other CPUs.
    # The sampled softmax's loss is an estimate over the negatives drawn, and the replicas' seeded candidate
    # samplers do not always draw one device's: in this process, 1.4% and 5% apart in epochs 1 and 2 (run first
    # after the taxi model on two replicas, they drew the same, 2e-7 apart).
    assert two["losses"] == pytest.approx(one["losses"], rel=tolerance)
    # tfkit's default 32 steps per execution on one device; one per execution on two replicas (keras#19246).
    assert (one["steps_per_execution"], two["steps_per_execution"]) == (32, 1)
    assert two["distribution"] == {"strategy": "MirroredStrategy", "replicas": 2, "workers": 1}
    # The mirrored model's export takes raw strings and predicts what the in-memory model does.
    assert two["export_gap"] < 1e-4


def test_mirrored_refuses_what_it_cannot_run_before_training(mirrored):
    refusals = mirrored["refusals"]
    assert refusals["batch"] == (
        "Estimator.train: `batch_size` (the global batch, split among the replicas) must be a multiple of the 2 "
        "replicas of MirroredStrategy. Received: batch_size=255. Use 254 or 256."
    )
    assert not refusals["refused_dir_exists"]  # refused before anything was written
    assert refusals["jit_compile"].startswith("Estimator: `jit_compile` must be False or 'auto' with 2 replicas")


def test_gpu_paths_skip_without_a_gpu():
    if not tf.config.list_physical_devices("GPU"):
        pytest.skip("no GPU visible: bench/gpu_check.py runs mirrored + mixed_float16 on a GPU machine")
    assert distribute.resolve_strategy("test", "one_device").extended.worker_devices[0].endswith("GPU:0")


CONFIG = """
[data]
dir = "{data}"
train = "rides.csv"
label = "fare"

[columns.x]
type = "numeric"

[model]
features = ["x"]
hidden_units = [4]

[training]
model_dir = "{model_dir}"
batch_size = 8
strategy = "{strategy}"
"""


def test_config_and_command_line_choose_the_strategy(tmp_path, capsys):
    from tfkit.cli import main

    (tmp_path / "rides.csv").write_text("x,fare\n" + "".join(f"{i},{2 * i}\n" for i in range(32)))
    path = tmp_path / "pipeline.toml"
    path.write_text(CONFIG.format(data=tmp_path, model_dir=tmp_path / "model", strategy="mirroring"))
    assert main(["train", str(path)]) == 2
    assert (
        "`strategy` must be None, one of ['auto', 'one_device', 'mirrored', 'multi_worker']" in capsys.readouterr().err
    )
    assert not (tmp_path / "model").exists()  # refused before anything was written
    assert main(["train", str(path), "--strategy", "one_device"]) == 0
    record = json.loads((tmp_path / "model" / "distribution.json").read_text())
    assert record == {"strategy": "OneDeviceStrategy", "replicas": 1, "workers": 1}


class _ClusterStrategy:
    """What `tfkit.distribute` reads of a multi-worker strategy, for a cluster of a chief and two workers."""

    num_replicas_in_sync = 3

    def __init__(self, task_type, task_id):
        spec = tf.train.ClusterSpec({"chief": ["localhost:1"], "worker": ["localhost:2", "localhost:3"]})
        self.cluster_resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            spec, task_type=task_type, task_id=task_id
        )


def test_each_worker_streams_its_own_files(tmp_path):
    for i in range(6):
        (tmp_path / f"part-{i}.csv").write_text(f"x,y\n{i},{2 * i}\n")
    stream = tfkit.data.Stream.of(tfkit.data.CsvFiles(str(tmp_path / "part-*.csv")), [NumericColumn("x")], label=None)
    # 3 workers, chief first: the chief reads parts 0 and 3, worker 0 parts 1 and 4, worker 1 parts 2 and 5
    shares = {
        (kind, index): [
            os.path.basename(f) for f in distribute.worker_source(_ClusterStrategy(kind, index), stream).files
        ]
        for kind, index in [("chief", 0), ("worker", 0), ("worker", 1)]
    }
    assert shares == {
        ("chief", 0): ["part-0.csv", "part-3.csv"],
        ("worker", 0): ["part-1.csv", "part-4.csv"],
        ("worker", 1): ["part-2.csv", "part-5.csv"],
    }
    one_machine = distribute.worker_source(tf.distribute.get_strategy(), stream)
    assert one_machine is stream  # one worker reads every file
    policy = distribute.sharded(tf.data.Dataset.range(2), stream).options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.OFF  # already one worker's files: not split again
