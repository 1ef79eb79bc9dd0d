"""Every `Estimator` argument is checked when the Estimator is constructed, before any data is read."""

import keras
import numpy as np
import pandas as pd
import pytest

import feature_columns as fc
import tfkit
from tfkit import Estimator

COLUMNS = [fc.NumericColumn("x")]
VALID = {"label": "y", "model_params": {"hidden_units": [4]}}


@pytest.mark.parametrize(
    ("argument", "value", "error", "message"),
    [
        ("feature_columns", [], ValueError, r"Estimator\(feature_columns\): .*at least one column"),
        ("feature_columns", [fc.HashedColumn("h", 8)], TypeError, r"Estimator\(feature_columns\): .*'h'.* gives ids"),
        ("head", "regresion", ValueError, r"Estimator\(head\): .*Received: identifier='regresion'"),
        ("label", "", ValueError, r"`label` must name the label column .* Received: label=''"),
        ("model", "dnnn", ValueError, r"`model` must be one of \['cnn', 'dnn', 'linear', 'wide_and_deep'\]"),
        (
            "model_params",
            {"hiden_units": [4]},
            ValueError,
            r"`model_params` must hold arguments of tfkit.models.dnn: \[.*'hidden_units'.*\]\. Received unknown "
            r"key\(s\) \['hiden_units'\]",
        ),
        ("model_params", {"hidden_units": [4], "dropout": 1.5}, ValueError, r"dropout"),
        ("model_dir", 3, TypeError, r"`model_dir` must be a folder path .* Received: model_dir=3 \(of type int\)"),
        ("model_dir", "", TypeError, r"`model_dir` must be a folder path"),
        (
            "optimizer",
            "adamm",
            ValueError,
            r"`optimizer` must be a Keras optimizer instance or the name of one \(any case\): \['adadelta', .*'adam', "
            r".*'lazy_adam', .*'sgd'\]\. Received: optimizer='adamm' \(of type str\)",
        ),
        ("optimizer", None, ValueError, r"Received: optimizer=None \(of type NoneType\)"),
        ("learning_rate", -0.1, ValueError, r"`learning_rate` must be a finite number >= 0.*learning_rate=-0.1"),
        ("learning_rate", "fast", ValueError, r"learning_rate='fast' \(of type str\)"),
        ("steps_per_execution", "many", ValueError, r"`steps_per_execution` must be a positive integer.*'many'"),
        ("steps_per_execution", 0, ValueError, r"steps_per_execution=0 \(of type int\)"),
        ("jit_compile", "yes", ValueError, r"`jit_compile` must be True, False or 'auto'.* jit_compile='yes'"),
        ("jit_compile", 1, ValueError, r"jit_compile=1 \(of type int\)"),
        ("seed", "s", ValueError, r"`seed` must be an integer in \[0, 2\*\*32\) or None. Received: seed='s'"),
        ("seed", True, ValueError, r"seed=True \(of type bool\)"),
        ("seed", -1, ValueError, r"seed=-1"),
        ("warm_start_from", 5, TypeError, r"`warm_start_from` must be the path of an earlier model_dir"),
        ("warm_start_from", ("runs/old", "(["), ValueError, r"`variables` must be a regular expression"),
        ("save_checkpoints_steps", 0, ValueError, r"`save_checkpoints_steps` must be a positive integer"),
    ],
)
def test_a_mistaken_argument_fails_at_construction_naming_it(argument, value, error, message):
    arguments = {"feature_columns": COLUMNS, "head": "regression", **VALID, argument: value}
    with pytest.raises(error, match=message):
        Estimator(**arguments)


def test_checkpoints_every_few_steps_need_a_model_dir(tmp_path):
    with pytest.raises(ValueError, match=r"`save_checkpoints_steps` must be a positive integer with a `model_dir`"):
        Estimator(COLUMNS, "regression", save_checkpoints_steps=10, **VALID)
    assert Estimator(COLUMNS, "regression", save_checkpoints_steps=10, model_dir=tmp_path, **VALID).model_dir == str(
        tmp_path
    )


def test_an_optimizer_instance_keeps_its_own_rate():
    with pytest.raises(ValueError, match=r"`learning_rate` must be None when `optimizer` is an optimizer instance.*"
                       r"Received: learning_rate=0.1 and optimizer=SGD\(learning_rate=0.01\)"):  # fmt: skip
        Estimator(COLUMNS, "regression", optimizer=keras.optimizers.SGD(), learning_rate=0.1, **VALID)


def test_canned_estimators_name_themselves_in_errors():
    with pytest.raises(ValueError, match=r"^DNNRegressor: `steps_per_execution` must be a positive integer"):
        tfkit.DNNRegressor([4], COLUMNS, config={"steps_per_execution": "many"})
    with pytest.raises(ValueError, match=r"^DNNLinearCombinedRegressor: `dnn_optimizer` must be .*'adagrad'"):
        tfkit.DNNLinearCombinedRegressor(
            linear_feature_columns=[fc.HashedColumn("h", 8)], dnn_feature_columns=COLUMNS, dnn_optimizer="adagard"
        )


def test_a_definition_the_model_dir_cannot_record_fails_at_construction(tmp_path):
    params = {"hidden_units": [4], "activation": keras.activations.relu}
    with pytest.raises(ValueError, match=r"with a `model_dir`, `model_params` must hold JSON values.*'relu'"):
        Estimator(COLUMNS, "regression", label="y", model_params=params, model_dir=tmp_path)
    assert Estimator(COLUMNS, "regression", label="y", model_params=params).model_params == params  # in memory


def test_the_default_learning_rate_follows_the_batch_size():
    # No rate given: 0.001 * sqrt(batch_size / 32), so batches of 128 train as an explicit 0.001 * sqrt(4) = 0.002.
    frame = pd.DataFrame({"x": np.linspace(-1, 1, 128), "y": np.linspace(0, 3, 128)})

    def weights(**rate):
        estimator = Estimator(COLUMNS, "regression", optimizer="sgd", seed=3, **VALID, **rate)
        estimator.train(frame, batch_size=128, epochs=2, verbose=0)
        return np.concatenate([w.ravel() for w in estimator.model.get_weights()])

    default = weights()
    np.testing.assert_allclose(default, weights(learning_rate=0.002), rtol=1e-6)
    assert np.abs(default - weights(learning_rate=0.001)).max() > 1e-4
