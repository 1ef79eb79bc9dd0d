import json
import os

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import tfkit
from feature_columns import HashedColumn, IndicatorColumn, NumericColumn, VocabularyColumn
from tfkit.estimator import report
from tfkit.models import split


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n).astype("float32")
    city = rng.choice(["a", "b"], n)
    # the class is the third of [-1, 1] x falls in; y is linear in x and the city
    return pd.DataFrame(
        {
            "x": x,
            "city": city,
            "size": np.digitize(x, [-1 / 3, 1 / 3]),
            "rich": np.where(x + (city == "a") > 0.5, "yes", "no"),
            "y": 3 * x + np.where(city == "a", 1.0, -1.0),
        }
    )


CITY = VocabularyColumn("city", ["a", "b"])


def test_dnn_classifier_learns_int_labels_of_three_classes():
    frame = _frame()
    estimator = tfkit.DNNClassifier(
        [16], [NumericColumn("x")], n_classes=3, label="size", optimizer="Adam", learning_rate=0.01, config={"seed": 0}
    )
    metrics = estimator.train(frame, epochs=30, batch_size=32, verbose=0).evaluate(frame)
    assert metrics["accuracy"] > 0.9
    assert {"loss", "average_loss"} <= set(metrics)


def test_a_multiclass_evaluation_reports_the_confusion_matrix_of_its_predictions(tmp_path):
    frame = _frame()
    estimator = tfkit.DNNClassifier([16], [NumericColumn("x")], n_classes=3, label="size", model_dir=str(tmp_path),
                                    optimizer="Adam", learning_rate=0.01, config={"seed": 0})  # fmt: skip
    metrics = estimator.train(frame, epochs=5, batch_size=32, verbose=0).evaluate(frame)
    report = json.loads((tmp_path / "eval" / "report.json").read_text())["report"]
    predicted = estimator.predict_batch(frame)["class_ids"].ravel()
    expected = np.zeros((3, 3), int)
    np.add.at(expected, (frame["size"].to_numpy(), predicted), 1)  # matrix[true][predicted], counted here
    assert report["confusion_matrix"] == expected.tolist()
    assert report["accuracy"] == pytest.approx(metrics["accuracy"], abs=1e-6)
    assert (tmp_path / "eval" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_linear_classifier_learns_string_labels_through_the_vocabulary(tmp_path):
    frame = _frame()
    estimator = tfkit.LinearClassifier(
        [NumericColumn("x"), CITY], model_dir=str(tmp_path), label_vocabulary=["no", "yes"], label="rich"
    )
    metrics = estimator.train(frame, epochs=30, batch_size=32, verbose=0).evaluate(frame)
    names = {"loss", "average_loss", "accuracy", "auc", "auc_precision_recall", "precision", "recall"}
    assert names | {"prediction/mean", "label/mean"} <= set(metrics)
    assert metrics["accuracy"] > 0.9 and metrics["auc"] > 0.95
    assert metrics["label/mean"] == pytest.approx((frame["rich"] == "yes").mean())
    assert [row["classes"].decode() for row in estimator.predict(frame.head(3))] == frame["rich"].head(3).tolist()


@pytest.mark.parametrize(
    "make",
    [
        lambda: tfkit.LinearRegressor([NumericColumn("x"), CITY], label="y", learning_rate=0.5),
        lambda: tfkit.DNNLinearCombinedRegressor(
            linear_feature_columns=[CITY],
            dnn_feature_columns=[NumericColumn("x")],
            dnn_hidden_units=[8],
            label="y",
            linear_learning_rate=0.05,
            dnn_optimizer="Adam",
        ),
    ],
)
def test_regressors_report_rmse_and_mae(make):
    frame = _frame()
    metrics = make().train(frame, epochs=40, batch_size=32, verbose=0).evaluate(frame)
    # predicting the mean would give an RMSE of std(y), about 2
    assert metrics["rmse"] < 0.6 * frame["y"].std()
    assert {"mae", "prediction/mean", "label/mean", "average_loss"} <= set(metrics)


def test_train_and_evaluate_trains_then_reports_the_eval_spec_metrics():
    frame = _frame()
    estimator = tfkit.DNNClassifier([8], [NumericColumn("x")], n_classes=3, label="size")
    metrics, exports = tfkit.train_and_evaluate(
        estimator, tfkit.TrainSpec(frame, epochs=2), tfkit.EvalSpec(frame.head(100))
    )
    assert exports == [] and "accuracy" in metrics
    assert len(estimator.history["val_loss"]) == 2


def test_n_classes_too_small_for_the_labels_is_a_clear_error_that_writes_nothing(tmp_path):
    estimator = tfkit.DNNClassifier([8], [NumericColumn("x")], model_dir=str(tmp_path), n_classes=2, label="size")
    with pytest.raises(ValueError, match=r"labels in column 'size' do not fit the head.*Check `n_classes`"):
        estimator.train(_frame(), verbose=0)
    assert os.listdir(tmp_path) == []


def test_a_failed_train_leaves_a_trained_model_dir_as_it_was(tmp_path):
    frame = _frame()
    tfkit.DNNClassifier([8], [NumericColumn("x")], model_dir=str(tmp_path), n_classes=3, label="size").train(
        frame, verbose=0
    )
    before = {name: (tmp_path / name).read_bytes() for name in ("estimator.json", "model.weights.h5")}
    again = tfkit.DNNClassifier([8], [NumericColumn("x")], model_dir=str(tmp_path), n_classes=3, label="size")
    bad = frame.assign(size=frame["size"] + 5)
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        again.train(bad, verbose=0)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_label_vocabulary_must_match_n_classes():
    with pytest.raises(ValueError, match=r"`label_vocabulary` must hold `n_classes` = 2 labels.*n_classes=3"):
        tfkit.DNNClassifier([8], [NumericColumn("x")], label_vocabulary=["s", "m", "l"])


def test_a_label_outside_the_vocabulary_is_refused_before_anything_is_written(tmp_path):
    frame = _frame()
    frame.loc[7, "rich"] = "maybe"  # neither "no" nor "yes"
    model_dir = tmp_path / "model"
    estimator = tfkit.LinearClassifier([NumericColumn("x")], label_vocabulary=["no", "yes"], label="rich",
                                       model_dir=str(model_dir))
    with pytest.raises(ValueError, match=r"labels in column 'rich' do not fit the head.*label_vocabulary.*'maybe'"):
        estimator.train(frame, verbose=0)
    assert not model_dir.exists()


def test_training_without_a_label_is_a_clear_error():
    frame = _frame().drop(columns="size")
    with pytest.raises(ValueError, match=r"the label column 'size' is missing"):
        tfkit.DNNClassifier([8], [NumericColumn("x")], n_classes=3, label="size").train(frame, verbose=0)
    features_only = tf.data.Dataset.from_tensor_slices({"x": frame["x"].to_numpy()}).batch(8)
    with pytest.raises(ValueError, match=r"must yield `\(features, label\)` pairs"):
        tfkit.DNNClassifier([8], [NumericColumn("x")], n_classes=3, label="size").train(features_only, verbose=0)


def test_combined_estimators_refuse_a_column_on_both_sides():
    with pytest.raises(ValueError, match=r"a column must feed one side only.*\['x'\]"):
        tfkit.DNNLinearCombinedClassifier(
            linear_feature_columns=[NumericColumn("x"), HashedColumn("h", 8)], dnn_feature_columns=[NumericColumn("x")]
        )


def test_config_takes_only_estimator_options():
    with pytest.raises(ValueError, match=r"`config` must be a dict with keys among"):
        tfkit.LinearClassifier([NumericColumn("x")], config={"keep_checkpoint_max": 5})


def test_the_regressor_report_is_written_to_model_dir(tmp_path):
    frame = _frame()
    estimator = tfkit.DNNRegressor([8], [NumericColumn("x"), IndicatorColumn(CITY)], model_dir=str(tmp_path), label="y")
    metrics = estimator.train(frame, epochs=2, verbose=0).evaluate(frame)
    report = json.loads((tmp_path / "eval" / "report.json").read_text())["report"]
    assert report["rmse"] == pytest.approx(metrics["rmse"], rel=1e-4)
    assert (tmp_path / "eval" / "residuals.png").exists()


def test_a_report_beyond_its_example_cap_comes_from_a_sample_of_paired_labels_and_outputs(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "REPORT_MAX_EXAMPLES", 100)
    frame = _frame()  # y = 3x + 1 (city a) or 3x - 1 (city b): a linear model fits it exactly
    estimator = tfkit.LinearRegressor(
        [NumericColumn("x"), IndicatorColumn(CITY)], model_dir=str(tmp_path), label="y", optimizer="Adam",
        learning_rate=0.1, config={"seed": 0},
    )  # fmt: skip
    metrics = estimator.train(frame, epochs=30, batch_size=32, verbose=0).evaluate(frame, batch_size=64)
    written = json.loads((tmp_path / "eval" / "report.json").read_text())
    # each of the 400 examples kept with probability 100 / 400: Binomial(400, 0.25), mean 100, sd 8.7
    assert written["examples"] == 400 and 60 <= written["report_examples"] <= 140
    # a label paired with another example's output would miss by about sqrt(2 var(y)) = 2.8 (var(y) = 9 / 3 + 1)
    assert metrics["rmse"] < 0.05 and written["report"]["rmse"] < 0.05


def test_canned_estimators_pass_warm_start_from_through(tmp_path):
    frame = _frame()
    first = tfkit.DNNClassifier([8], [NumericColumn("x")], model_dir=str(tmp_path / "a"), n_classes=3, label="size")
    first.train(frame, epochs=3, verbose=0)
    second = tfkit.DNNClassifier(
        [8], [NumericColumn("x")], n_classes=3, label="size", warm_start_from=str(tmp_path / "a"), learning_rate=1e-12,
    )  # fmt: skip
    second.train(frame, steps=1, verbose=0)  # a step that changes nothing: the warm-started weights show
    np.testing.assert_allclose(second.predict_batch(frame)["logits"], first.predict_batch(frame)["logits"], rtol=1e-5)


def test_the_tf_estimator_arguments_reach_the_model(tmp_path):
    frame = _frame().assign(w=1.0)
    estimator = tfkit.DNNClassifier(
        [8, 4], [NumericColumn("x")], weight_column="w", optimizer="sgd", activation_fn="tanh", dropout=0.3,
        batch_norm=True, label="size", n_classes=3, config={"seed": 0, "save_checkpoints_steps": 5},
        model_dir=str(tmp_path),
    )  # fmt: skip
    estimator.train(frame, epochs=1, verbose=0)
    _, core = split(estimator.model)
    layers = {layer.name: layer for layer in core.body.layers}
    assert estimator.head.weight_column == "w" and estimator.save_checkpoints_steps == 5
    assert isinstance(core.optimizer, keras.optimizers.SGD)
    assert [layers[f"hidden_{i}"].activation.__name__ for i in (0, 1)] == ["tanh", "tanh"]
    assert layers["dropout_0"].rate == 0.3 and "batch_norm_1" in layers

    combined = tfkit.DNNLinearCombinedRegressor(
        linear_feature_columns=[CITY], dnn_feature_columns=[NumericColumn("x")], dnn_hidden_units=[4],
        dnn_activation_fn="sigmoid", dnn_dropout=0.2, linear_optimizer="ftrl", dnn_optimizer="adagrad", label="y",
    )  # fmt: skip
    combined.train(frame, epochs=1, verbose=0)
    _, core = split(combined.model)
    optimizers = [type(optimizer).__name__ for optimizer in core.optimizer.optimizers]
    assert optimizers == ["Ftrl", "Adagrad"]
