"""The reference for the sentiment model: scikit-learn TF-IDF + logistic regression on the same split.

The rows come from the example's config through tfkit's own reader (same `keep`, same seeded `split`), so both
models see the same reviews. The baseline picks its regularization strength `C` by 5-fold cross-validation on
its training rows and scores the test part once. It is trained twice: on the DNN's own training rows (70% of the
reviews: the DNN stops early on the next 10%, where the baseline cross-validates instead), and on the train and
validation parts together (80%: more rows than the DNN learns from). Two vocabularies are measured: words (the
textbook TF-IDF + logistic regression) and words plus word pairs (the stronger one an expert would try next).

Usage: python examples/sentiment/baseline.py [CONFIG]   (defaults to the config.toml beside this file)
"""

import os
import sys

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import accuracy_score, roc_auc_score

from tfkit.config import load_config
from tfkit.data import read_csv

HERE = os.path.dirname(os.path.abspath(__file__))


def reviews(config, split: str) -> tuple:
    """`(texts, 1 for the head's positive label)` of one split, read as the Estimator reads it."""
    column = config.columns["review"]
    features, labels = read_csv(config.data_source(split), [column], label=config.label, label_dtype="string")
    positive = config.head["config"]["label_vocabulary"][1]
    return features[column.key].astype(str), (labels.astype(str) == positive).astype(int)


def baseline(config, ngram_range=(1, 1), splits=("train",)) -> dict:
    """`{"accuracy", "auc"}` on the test split of TF-IDF + logistic regression over `ngram_range` tokens, trained on
    the rows of `splits`."""
    parts = [reviews(config, split) for split in splits]
    texts, labels = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    test_texts, test_labels = reviews(config, "test")
    vectorizer = TfidfVectorizer(ngram_range=ngram_range, sublinear_tf=True)
    model = LogisticRegressionCV(Cs=10, cv=5, max_iter=3000, l1_ratios=(0,), scoring="accuracy")
    model.fit(vectorizer.fit_transform(texts), labels)
    scores = model.predict_proba(vectorizer.transform(test_texts))[:, 1]
    return {"accuracy": accuracy_score(test_labels, scores > 0.5), "auc": roc_auc_score(test_labels, scores)}


def main(config_path: str) -> None:
    config = load_config(config_path)
    for splits in (("train",), ("train", "eval")):
        for name, ngram_range in (("words", (1, 1)), ("words and word pairs", (1, 2))):
            metrics = baseline(config, ngram_range, splits)
            print(
                f"TF-IDF ({name}) + logistic regression on {' + '.join(splits)}: accuracy {metrics['accuracy']:.4f}, "
                f"AUC {metrics['auc']:.4f}"
            )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "config.toml"))
