"""A training run killed with SIGKILL resumes from its last checkpoint when the same command runs again."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pandas as pd
import pytest

import feature_columns as fc
import tfkit

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    import keras, numpy as np, pandas as pd
    import feature_columns as fc
    from tfkit import Estimator
    from tfkit.models import split

    model_dir, kill_at_epoch = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.uniform(-1, 1, 640), "s": rng.choice(["a", "b"], 640)})
    frame["y"] = 2 * frame.x + (frame.s == "a")

    class KillAtEpoch(keras.callbacks.Callback):
        # Runs at the start of an epoch, after the previous epoch's checkpoint was written.
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == kill_at_epoch:
                os.kill(os.getpid(), signal.SIGKILL)

    columns = [fc.NumericColumn("x", normalization="zscore"), fc.EmbeddingColumn(fc.HashedColumn("s", 8), dimension=2)]
    estimator = Estimator(columns, "regression", label="y", model_dir=model_dir, seed=0,
                          model_params={"hidden_units": [16]}, steps_per_execution=1, learning_rate=0.05)
    estimator.train(frame, epochs=8, batch_size=64, callbacks=[KillAtEpoch()], verbose=0)
    _, core = split(estimator.model)
    print(json.dumps({"epochs_run": len(estimator.history["loss"]),
                      "iterations": int(core.optimizer.iterations.numpy()),
                      "rmse": estimator.evaluate(frame)["rmse"]}))
    """
)


def _run(script, model_dir, kill_at_epoch):
    return subprocess.run(
        [sys.executable, str(script), str(model_dir), str(kill_at_epoch)], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_sigkill_mid_training_then_rerun_resumes(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)

    killed = _run(script, tmp_path / "resumed", kill_at_epoch=4)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert os.path.exists(tmp_path / "resumed" / "backup")  # epoch 4's checkpoint survived the kill

    resumed = _run(script, tmp_path / "resumed", kill_at_epoch=-1)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    # 640 rows / 64 = 10 steps an epoch: the rerun trained only epochs 5 to 8, and the optimizer's step
    # counter continued from the checkpoint's 40 to 80, so its state (Adam's moments too) was restored.
    assert result["epochs_run"] == 4
    assert result["iterations"] == 80
    assert not os.path.exists(tmp_path / "resumed" / "backup")  # a finished run cleans its checkpoint up

    straight = _run(script, tmp_path / "straight", kill_at_epoch=-1)
    reference = json.loads(straight.stdout.strip().splitlines()[-1])
    assert reference["epochs_run"] == 8 and reference["iterations"] == 80
    # y = 2x + [s == "a"] is exactly learnable (label std 1.2). The resumed run reshuffles its remaining
    # epochs differently, so both runs must converge, to within 0.1 of each other.
    assert reference["rmse"] < 0.2 and result["rmse"] < 0.2, (reference, result)
    assert result["rmse"] == pytest.approx(reference["rmse"], abs=0.1)


def test_wide_and_deep_with_a_pretrained_matrix_restores_after_the_file_is_deleted(tmp_path):
    # The model_dir must restore from its own files alone: the trained weights hold the embedding table, so the
    # pretrained source is neither needed nor read once it has been trained.
    matrix = tmp_path / "cities.npy"
    np.save(matrix, np.arange(6, dtype="float32").reshape(3, 2))  # rows: the OOV id, then "a" and "b"
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": rng.uniform(-1, 1, 64), "city": rng.choice(["a", "b"], 64), "day": rng.choice(["mon", "sun"], 64)}
    )
    frame["y"] = frame.x + (frame.city == "a")

    def regressor():
        city = fc.VocabularyColumn("city", ["a", "b"])
        return tfkit.DNNLinearCombinedRegressor(
            model_dir=str(tmp_path / "model"),
            linear_feature_columns=[fc.VocabularyColumn("day", ["mon", "sun"])],
            dnn_feature_columns=[
                fc.NumericColumn("x"),
                fc.EmbeddingColumn(city, dimension=2, pretrained=fc.PretrainedMatrix(str(matrix))),
            ],
            dnn_hidden_units=[4],
            label="y",
            config={"seed": 0},
        )

    trained = regressor().train(frame, epochs=2, batch_size=16, verbose=0)
    expected = trained.predict_batch(frame)["predictions"]
    matrix.unlink()
    restored = regressor()
    assert restored.trained
    np.testing.assert_allclose(restored.predict_batch(frame)["predictions"], expected, rtol=1e-6)


@keras.saving.register_keras_serializable(package="test_resume")
class _OwnRegressionHead(tfkit.RegressionHead):
    """A user's own head, registered with Keras under its own package."""


def test_a_model_dir_rebuilds_a_head_registered_under_its_own_package(tmp_path):
    frame = pd.DataFrame({"x": np.linspace(-1.0, 1.0, 64), "y": np.linspace(-2.0, 2.0, 64)})
    options = {"label": "y", "model_dir": str(tmp_path), "model_params": {"hidden_units": [4]}, "seed": 0}
    trained = tfkit.Estimator([fc.NumericColumn("x")], _OwnRegressionHead(), **options).train(frame, verbose=0)
    with open(tmp_path / "estimator.json") as file:
        assert json.load(file)["definition"]["head"]["class_name"] == "test_resume>_OwnRegressionHead"
    restored = tfkit.Estimator([fc.NumericColumn("x")], _OwnRegressionHead(), **options)
    assert restored.trained and type(restored.head) is _OwnRegressionHead
    np.testing.assert_allclose(
        restored.predict_batch(frame)["predictions"], trained.predict_batch(frame)["predictions"], rtol=1e-6
    )
