"""`mixed_precision`: a bfloat16 body on the CPU, its head, losses and exported outputs in float32."""

import keras
import numpy as np
import pandas as pd
import pytest

import tfkit
from feature_columns import EmbeddingColumn, NumericColumn, VocabularyColumn
from feature_columns.integration import walk_layers
from tfkit.export import load


def _rides(rows=512, seed=0):
    rng = np.random.default_rng(seed)
    borough = np.array(["manhattan", "brooklyn", "queens"])[rng.integers(0, 3, rows)]
    distance = rng.uniform(0, 5, rows).astype("float32")
    fare = 2.5 + 3 * distance + (borough == "manhattan") * 4.0
    return pd.DataFrame({"distance": distance, "borough": borough, "fare": fare.astype("float32")})


@pytest.fixture(scope="module")
def trained():
    columns = [NumericColumn("distance"), EmbeddingColumn(VocabularyColumn("borough", max_tokens=5), 2)]
    estimator = tfkit.Estimator(
        columns, "regression", label="fare", model_params={"hidden_units": [16]}, seed=3,
        mixed_precision="mixed_bfloat16", learning_rate=0.02, jit_compile=False,
    )  # fmt: skip
    return estimator.train(_rides(), epochs=8, batch_size=64, verbose=0)


def test_the_body_computes_in_bfloat16_and_the_head_in_float32(trained):
    policies = {layer.name: layer.dtype_policy.name for layer in walk_layers(trained._core)}
    assert policies["hidden_0"] == "mixed_bfloat16"
    assert trained.head.dtype_policy.name == "float32" and trained.head.projection.dtype_policy.name == "float32"
    assert all(variable.dtype == "float32" for variable in trained.model.weights)  # variables stay float32
    assert keras.config.dtype_policy().name == "float32"  # the policy applied to the build only


def test_outputs_are_float32_and_the_export_agrees(trained, tmp_path):
    rows = _rides(100, seed=1)
    in_memory = trained.predict_batch(rows)["predictions"]
    assert in_memory.dtype == np.float32
    exported = load(trained.export_saved_model(str(tmp_path / "export")))(rows.drop(columns="fare"))["predictions"]
    assert exported.dtype == np.float32
    # The same bfloat16 kernels in and out of the SavedModel (jit_compile=False: XLA's compiled predict rounds
    # bfloat16 differently, up to 0.7% here): equal up to float32 rounding of fares of about 10.
    np.testing.assert_allclose(exported.reshape(-1), in_memory.reshape(-1), atol=1e-3)
    # bfloat16 keeps 8 bits of mantissa, yet training works: predicting the mean fare would give an RMSE of about
    # 4.7 (sqrt(3**2 * 5**2 / 12 + 4**2 * (1/3) * (2/3))).
    assert trained.evaluate(_rides(256, seed=2))["rmse"] < 2.5


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match=r"^Estimator: `mixed_precision` must be None or one of \('mixed_float16', "
                       r"'mixed_bfloat16'\)\. Received: mixed_precision='float16' \(of type str\)\."):  # fmt: skip
        tfkit.Estimator([NumericColumn("x")], "regression", label="y", mixed_precision="float16")
