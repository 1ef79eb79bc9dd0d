"""Classification heads through tfkit.Estimator: string labels, weight columns, full-softmax evaluation."""

import logging

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import feature_columns as fc
from tfkit import Estimator
from tfkit.data import read_csv
from tfkit.heads import BinaryHead, MultiClassHead, MultiLabelHead, SampledSoftmaxHead

COLUMNS = [fc.NumericColumn("x")]


def _frame(rows=256, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, rows)
    return pd.DataFrame({"x": x, "size": np.where(x < -0.3, "small", np.where(x < 0.3, "medium", "large"))})


def _estimator(head, label="size"):
    return Estimator(COLUMNS, head, label=label, model_params={"hidden_units": [16]}, learning_rate=0.05, seed=0)


@pytest.mark.parametrize(
    "head",
    [
        lambda: MultiClassHead(label_vocabulary=["small", "medium", "large"]),
        lambda: SampledSoftmaxHead(label_vocabulary=["small", "medium", "large"], num_sampled=2, sampler="uniform"),
    ],
)
def test_string_labels_train_evaluate_and_predict(head):
    frame = _frame()
    estimator = _estimator(head()).train(frame, epochs=20, batch_size=32, verbose=0)
    metrics = estimator.evaluate(frame)
    assert metrics["accuracy"] > 0.9  # three intervals of x: learnable
    rows = list(estimator.predict(frame.head(20)))
    assert [row["classes"].decode() for row in rows] == frame["size"].head(20).tolist()
    assert sorted(rows[0]) == ["class_ids", "classes", "logits", "probabilities"]


def test_an_unknown_string_label_is_named_before_training_or_as_a_dataset_streams():
    frame = _frame()
    frame.loc[3, "size"] = "huge"
    head = MultiClassHead(label_vocabulary=["small", "medium", "large"])
    # A DataFrame's labels are all known up front: refused before the model is built.
    with pytest.raises(ValueError, match=r"labels in column 'size' do not fit the head.*label_vocabulary.*huge"):
        _estimator(head).train(frame, verbose=0)
    # A dataset's labels are only seen as it streams: the step that meets one stops training, with the check's words.
    dataset = tf.data.Dataset.from_tensor_slices(({"x": frame["x"].to_numpy("float32")}, frame["size"])).batch(32)
    with pytest.raises(ValueError, match=r"every label must be in `label_vocabulary`.*huge"):
        _estimator(head).train(dataset, verbose=0)


def test_the_weight_column_weights_the_evaluation_loss():
    frame = _frame(64)
    labels = (frame["x"] > 0).astype("float32").to_numpy()
    weights = np.where(frame["x"] > 0.5, 0.0, 2.0).astype("float32")

    def dataset():
        features = {"x": frame["x"].to_numpy("float32"), "w": weights}
        return tf.data.Dataset.from_tensor_slices((features, labels)).batch(16)

    estimator = _estimator(BinaryHead(weight_column="w"), label="y").train(dataset, epochs=2, verbose=0)
    logits = estimator.predict_batch(dataset)["logits"]
    # the loss by hand: mean over examples of weight * sigmoid cross-entropy (softplus(z) - y z)
    expected = np.mean(weights * (np.logaddexp(0.0, logits) - labels * logits))
    assert estimator.evaluate(dataset)["loss"] == pytest.approx(expected, rel=1e-4)


def _topics_frame(rows=512, seed=0):
    """Each row's topics, a list: "sport" when a > 0, "tech" when b > 0, both, or none."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1, 1, rows), rng.uniform(-1, 1, rows)
    topics = [[name for name, on in (("sport", i > 0), ("tech", j > 0)) if on] for i, j in zip(a, b, strict=True)]
    return pd.DataFrame({"a": a, "b": b, "topics": topics})


def test_a_multilabel_head_trains_on_lists_of_class_names_in_a_dataframe():
    frame = _topics_frame()
    head = MultiLabelHead(label_vocabulary=["news", "sport", "tech"])
    estimator = Estimator([fc.NumericColumn("a"), fc.NumericColumn("b")], head, label="topics",
                          model_params={"hidden_units": [16]}, learning_rate=0.05, seed=0)
    estimator.train(frame, epochs=20, batch_size=32, verbose=0)
    metrics = estimator.evaluate(_topics_frame(seed=1))
    # Two sign tests and a class that never occurs: each cell is learnable, so accuracy over the 3 x 512 cells
    # nears 1 (a constant guess would score 2/3 at best: "news" right, half of "sport" and "tech").
    assert metrics["accuracy"] > 0.95
    predicted = estimator.predict_batch(pd.DataFrame({"a": [0.8, -0.8], "b": [-0.8, 0.8]}))["predictions"]
    assert predicted.tolist() == [[0, 1, 0], [0, 0, 1]]


def test_a_multilabel_class_outside_the_vocabulary_is_named_before_training():
    frame = _topics_frame()
    frame.at[5, "topics"] = ["sport", "weather"]
    estimator = Estimator([fc.NumericColumn("a")], MultiLabelHead(label_vocabulary=["news", "sport", "tech"]),
                          label="topics")
    with pytest.raises(ValueError, match=r"labels in column 'topics' do not fit the head.*'weather'"):
        estimator.train(frame, verbose=0)


def test_a_sampled_head_with_keras_adam_points_to_lazy_adam(caplog):
    frame = _frame()
    vocabulary = ["small", "medium", "large"]
    with caplog.at_level(logging.WARNING, logger="tfkit.estimator"):
        _estimator(SampledSoftmaxHead(label_vocabulary=vocabulary, num_sampled=2)).train(frame, verbose=0)
    assert "optimizer='lazy_adam'" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tfkit.estimator"):
        head = SampledSoftmaxHead(label_vocabulary=vocabulary, num_sampled=2)
        Estimator(COLUMNS, head, label="size", optimizer="lazy_adam").train(frame, verbose=0)
    assert "lazy_adam" not in caplog.text


def test_a_multilabel_head_reads_one_class_per_csv_cell(tmp_path):
    frame = _topics_frame()
    frame["topic"] = [row[0] if row else "news" for row in frame["topics"]]  # a CSV cell holds one class
    path = str(tmp_path / "topics.csv")
    frame.drop(columns="topics").to_csv(path, index=False)
    columns = [fc.NumericColumn("a"), fc.NumericColumn("b")]
    _, labels = read_csv(path, columns, label="topic", label_dtype="string", label_shape=(None,))
    assert labels.shape == (512, 1) and labels[:, 0].tolist() == frame["topic"].tolist()  # lists of one class
    head = MultiLabelHead(label_vocabulary=["news", "sport", "tech"])
    estimator = Estimator(columns, head, label="topic", model_params={"hidden_units": [16]}, learning_rate=0.05,
                          seed=0)  # fmt: skip
    # "sport" when a > 0, else "tech" when b > 0, else "news": learnable cell by cell
    assert estimator.train(path, epochs=20, batch_size=32, verbose=0).evaluate(path)["accuracy"] > 0.9
