"""Evaluation a person can read: metrics, curves, calibration and thresholds, with PNG plots.

Everything here works on plain arrays of labels and model outputs (NumPy in, Python numbers and lists
out), so it applies to any model's predictions, and each report is JSON-serializable as it is. The metrics are
scikit-learn's; this module settles their degenerate cases (one class only: 0, not NaN or an error) and their
report format.

>>> import numpy as np
>>> report = binary_report(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9]))
>>> report["auc"], report["confusion_matrix"]  # 3 of the 4 (negative, positive) pairs are ordered right
(0.75, [[1, 1], [1, 1]])
"""

from __future__ import annotations

import os

import numpy as np
from sklearn import metrics

THRESHOLD_TARGETS = ("precision", "recall", "f1")


def _check_binary(labels, probabilities) -> tuple:
    labels, probabilities = np.asarray(labels).ravel(), np.asarray(probabilities, dtype=np.float64).ravel()
    if labels.shape != probabilities.shape:
        raise ValueError(
            f"tfkit.evaluation: `labels` and `probabilities` must have one value per example. "
            f"Received: {labels.shape[0]} labels and {probabilities.shape[0]} probabilities."
        )
    if not labels.size:
        raise ValueError("tfkit.evaluation: `labels` must hold at least one example. Received: 0 examples.")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"tfkit.evaluation: `labels` must be 0 or 1. Received values: {np.unique(labels)[:10]}.")
    if probabilities.min() < 0 or probabilities.max() > 1:
        raise ValueError("tfkit.evaluation: `probabilities` must lie in [0, 1]; pass probabilities, not logits.")
    return labels.astype(np.int64), probabilities


def _check_class_ids(labels, class_ids, num_classes: int, name: str) -> tuple:
    labels, class_ids = np.asarray(labels).ravel(), np.asarray(class_ids).ravel()
    if labels.shape != class_ids.shape or not labels.size:
        raise ValueError(
            f"tfkit.evaluation: `labels` and `{name}` must have one value per example, at least one. "
            f"Received: {labels.shape[0]} labels and {class_ids.shape[0]} {name}."
        )
    classes = np.arange(num_classes)
    for argument, ids in (("labels", labels), (name, class_ids)):
        # scikit-learn would silently drop examples whose id is not one of the classes.
        if not np.isin(ids, classes).all():
            raise ValueError(
                f"tfkit.evaluation: `{argument}` must be class ids in [0, {num_classes}). "
                f"Received values: {np.unique(ids[~np.isin(ids, classes)])[:10]}. Check `num_classes`."
            )
    return labels.astype(np.int64), class_ids.astype(np.int64)


def curves(labels, probabilities) -> dict:
    """ROC and precision-recall curves at every distinct score, highest threshold first.

    Returns `{"thresholds", "tpr", "fpr", "precision", "recall"}` as arrays, one entry per threshold; a
    prediction is positive when `probability >= threshold`. Rates of a class that has no example are 0.

    >>> curves([0, 1, 1], [0.2, 0.9, 0.2])["precision"]  # at 0.9: 1 of 1; at 0.2: 2 of 3
    array([1.        , 0.66666667])
    """
    labels, probabilities = _check_binary(labels, probabilities)
    _, false_positives, _, true_positives, thresholds = metrics.confusion_matrix_at_thresholds(labels, probabilities)
    positives, negatives = true_positives[-1], false_positives[-1]
    # max(..., 1): with one class only, the other class's rate is 0 rather than scikit-learn's NaN.
    return {
        "thresholds": thresholds,
        "tpr": true_positives / max(positives, 1),
        "fpr": false_positives / max(negatives, 1),
        "precision": true_positives / (true_positives + false_positives),
        "recall": true_positives / max(positives, 1),
    }


def roc_auc(labels, probabilities) -> float:
    """Area under the ROC curve (`sklearn.metrics.roc_auc_score`).

    0.0 when `labels` hold one class only (no pair of a negative and a positive to order), as Keras's `AUC`
    metric reports, where scikit-learn raises.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]), roc_auc([1, 1], [0.1, 0.6])
    (0.75, 0.0)
    """
    labels, probabilities = _check_binary(labels, probabilities)
    if labels.min() == labels.max():
        return 0.0
    return float(metrics.roc_auc_score(labels, probabilities))


def pr_auc(labels, probabilities) -> float:
    """Area under the precision-recall curve, as average precision (`sklearn.metrics.average_precision_score`).

    0.0 when `labels` hold no positive (no recall to gain), where scikit-learn also warns.

    >>> pr_auc([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])  # recall 1/2 at precision 1, then 1/2 more at 2/3
    0.8333333333333333
    """
    labels, probabilities = _check_binary(labels, probabilities)
    if not labels.any():
        return 0.0
    return float(metrics.average_precision_score(labels, probabilities))


def calibration(labels, probabilities, num_buckets: int = 10) -> dict:
    """Mean prediction vs observed positive rate in equal-width probability buckets (empty buckets left out).

    Bucket `k` holds `k / num_buckets <= p < (k + 1) / num_buckets` (the last one takes 1.0), so a probability on
    an edge counts above it, as a prediction does at `p >= threshold`. `sklearn.calibration.calibration_curve`
    is not used: its bins are `(lo, hi]` (0.3 and 0.5 land a bucket lower) and it reports no bucket counts.

    >>> calibration([0, 1, 1], [0.1, 0.2, 0.25], num_buckets=5)["count"]  # 0.1 in [0, 0.2); 0.2, 0.25 above
    [1, 2]
    """
    labels, probabilities = _check_binary(labels, probabilities)
    bucket = np.minimum((probabilities * num_buckets).astype(np.int64), num_buckets - 1)
    used = np.unique(bucket)
    return {
        "bucket_lower": (used / num_buckets).tolist(),
        "mean_prediction": [float(probabilities[bucket == b].mean()) for b in used],
        "observed_rate": [float(labels[bucket == b].mean()) for b in used],
        "count": [int((bucket == b).sum()) for b in used],
    }


def confusion_matrix(labels, predictions, num_classes: int) -> list:
    """`matrix[true][predicted]` counts, as nested lists (`sklearn.metrics.confusion_matrix`).

    >>> confusion_matrix([0, 1, 1], [0, 0, 1], 3)
    [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    """
    labels, predictions = _check_class_ids(labels, predictions, num_classes, "predictions")
    return metrics.confusion_matrix(labels, predictions, labels=np.arange(num_classes)).tolist()


def choose_threshold(labels, probabilities, target: str = "f1", value: float | None = None) -> float:
    """The decision threshold that meets a target on these examples.

    - `target="precision"`: the lowest threshold whose precision is at least `value` (most recall at that
      precision);
    - `target="recall"`: the highest threshold whose recall is at least `value` (most precision at that
      recall);
    - `target="f1"`: the threshold with the best F1 (`value` unused).

    >>> choose_threshold([0, 1, 1, 0, 1], [0.2, 0.9, 0.7, 0.6, 0.3], target="recall", value=0.6)
    0.7
    """
    if target not in THRESHOLD_TARGETS:
        raise ValueError(f"choose_threshold: `target` must be one of {THRESHOLD_TARGETS}. Received: target={target!r}.")
    c = curves(labels, probabilities)
    if target == "f1":
        f1 = 2 * c["precision"] * c["recall"] / np.maximum(c["precision"] + c["recall"], 1e-12)
        return float(c["thresholds"][np.argmax(f1)])
    if value is None or not 0 <= value <= 1:
        raise ValueError(
            f"choose_threshold: `value` must be in [0, 1] for target={target!r}. Received: value={value!r}."
        )
    meets = np.flatnonzero(c[target] >= value)
    if not meets.size:
        raise ValueError(
            f"choose_threshold: no threshold reaches {target} >= {value} on these examples "
            f"(best: {c[target].max():.4f}). Lower `value`."
        )
    # Thresholds fall along the curve: the last index meeting precision is the lowest such threshold,
    # the first index meeting recall is the highest.
    return float(c["thresholds"][meets[-1] if target == "precision" else meets[0]])


def binary_report(labels, probabilities, *, threshold: float = 0.5, num_buckets: int = 10) -> dict:
    """Metrics, confusion matrix (`[[tn, fp], [fn, tp]]`), curves' AUCs and calibration of a binary classifier.

    Precision, recall and F1 are 0 where undefined (nothing predicted positive, no positive label).
    """
    labels, probabilities = _check_binary(labels, probabilities)
    predicted = (probabilities >= threshold).astype(np.int64)
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        labels, predicted, average="binary", zero_division=0.0
    )
    return {
        "threshold": threshold,
        "accuracy": float(metrics.accuracy_score(labels, predicted)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "auc": roc_auc(labels, probabilities),
        "auc_precision_recall": pr_auc(labels, probabilities),
        "prediction/mean": float(probabilities.mean()),
        "label/mean": float(labels.mean()),
        "prediction_bias": float(probabilities.mean() - labels.mean()),
        "confusion_matrix": confusion_matrix(labels, predicted, 2),
        "calibration": calibration(labels, probabilities, num_buckets),
    }


def multiclass_report(labels, class_ids, num_classes: int) -> dict:
    """Accuracy, the confusion matrix and each class's precision and recall (`None` where undefined).

    >>> multiclass_report([0, 1, 2, 2], [0, 2, 2, 2], 3)["precision"]  # class 1 is never predicted
    [1.0, None, 0.6666666666666666]
    """
    labels, class_ids = _check_class_ids(labels, class_ids, num_classes, "class_ids")
    precision, recall, _, _ = metrics.precision_recall_fscore_support(
        labels, class_ids, labels=np.arange(num_classes), zero_division=np.nan
    )
    return {
        "accuracy": float(metrics.accuracy_score(labels, class_ids)),
        "confusion_matrix": confusion_matrix(labels, class_ids, num_classes),
        "precision": [None if np.isnan(share) else float(share) for share in precision],
        "recall": [None if np.isnan(share) else float(share) for share in recall],
    }


def regression_report(labels, predictions) -> dict:
    """RMSE, MAE, bias and residual quantiles of a regressor."""
    labels = np.asarray(labels, dtype=np.float64).ravel()
    residuals = np.asarray(predictions, dtype=np.float64).ravel() - labels
    return {
        "rmse": float(np.sqrt(np.mean(residuals**2))),
        "mae": float(np.mean(np.abs(residuals))),
        "prediction/mean": float(np.mean(labels + residuals)),
        "label/mean": float(labels.mean()),
        "prediction_bias": float(residuals.mean()),
        "residual_quantiles": dict(
            zip(("p05", "p25", "p50", "p75", "p95"), np.quantile(residuals, [0.05, 0.25, 0.5, 0.75, 0.95]), strict=True)
        ),
    }


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed), imported only when plotting."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _save_figure(figure, folder: str, name: str) -> str:
    """Writes `figure` as `folder/name` (the folder made if need be), closes it and returns the path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    _pyplot().close(figure)
    return path


def write_binary_plots(labels, probabilities, folder: str) -> list:
    """ROC, precision-recall, calibration and confusion-matrix PNGs in `folder`; returns their paths."""
    plt = _pyplot()
    report, c = binary_report(labels, probabilities), curves(labels, probabilities)
    paths = []

    def save(figure, name):
        paths.append(_save_figure(figure, folder, name))

    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    axes.plot(np.r_[0, c["fpr"]], np.r_[0, c["tpr"]], label=f"AUC {report['auc']:.3f}")
    axes.plot([0, 1], [0, 1], "--", color="grey")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    axes.legend()
    save(figure, "roc.png")

    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    axes.plot(c["recall"], c["precision"], label=f"AUC-PR {report['auc_precision_recall']:.3f}")
    axes.set(xlabel="recall", ylabel="precision", title="Precision-recall", ylim=(0, 1.02))
    axes.legend()
    save(figure, "precision_recall.png")

    cal = report["calibration"]
    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    axes.plot(cal["mean_prediction"], cal["observed_rate"], "o-", label="model")
    axes.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    axes.set(xlabel="mean prediction", ylabel="observed positive rate", title="Calibration")
    axes.legend()
    save(figure, "calibration.png")

    paths.append(write_confusion_matrix_plot(report["confusion_matrix"], folder))
    return paths


def write_confusion_matrix_plot(matrix, folder: str, class_names=None) -> str:
    """`matrix[true][predicted]` as `confusion_matrix.png` in `folder`, counts in the cells; returns its path."""
    matrix = np.asarray(matrix)
    classes = len(matrix)
    names = [str(name) for name in class_names] if class_names is not None else [str(i) for i in range(classes)]
    side = min(12.0, 3.0 + 0.5 * classes)
    figure, axes = _pyplot().subplots(figsize=(side, side))
    axes.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        axes.text(col, row, str(count), ha="center", va="center")
    axes.set(xticks=range(classes), yticks=range(classes), xticklabels=names, yticklabels=names,
             xlabel="predicted", ylabel="true", title="Confusion matrix")  # fmt: skip
    return _save_figure(figure, folder, "confusion_matrix.png")


def write_regression_plots(labels, predictions, folder: str) -> list:
    """Residuals against predictions and a residual histogram as PNGs in `folder`; returns their paths."""
    labels = np.asarray(labels, dtype=np.float64).ravel()
    predictions = np.asarray(predictions, dtype=np.float64).ravel()
    residuals = predictions - labels
    figure, (left, right) = _pyplot().subplots(1, 2, figsize=(9, 4))
    left.scatter(predictions, residuals, s=2, alpha=0.3)
    left.axhline(0, color="grey", linestyle="--")
    left.set(xlabel="prediction", ylabel="prediction - label", title="Residuals")
    right.hist(residuals, bins=100)
    right.set(xlabel="prediction - label", ylabel="examples", title="Residual distribution")
    return [_save_figure(figure, folder, "residuals.png")]
