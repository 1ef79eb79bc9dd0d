"""Wide and deep on UCI Adult (census income): `python examples/census/run.py [DATA_DIR] [MODEL_DIR]`.

The same model as `config.toml`, written in Python with tf.estimator's names.
"""

from __future__ import annotations

import os
import sys

import feature_columns as fc
import tfkit
from tfkit.data import CsvFiles

COLUMN_NAMES = (
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation", "relationship",
    "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country", "income",
)  # fmt: skip
NUMERIC = ("age", "education_num", "capital_gain", "capital_loss", "hours_per_week")


def columns() -> tuple:
    """`(linear_feature_columns, dnn_feature_columns)`: vocabulary, hashed, crossed, bucketized, embedding."""
    education = fc.VocabularyColumn("education", max_tokens=20)
    marital = fc.VocabularyColumn("marital_status", max_tokens=10)
    relationship = fc.VocabularyColumn("relationship", max_tokens=10)
    workclass = fc.VocabularyColumn("workclass", max_tokens=10)
    occupation = fc.HashedColumn("occupation", num_bins=100)
    country = fc.HashedColumn("native_country", num_bins=100)
    age_buckets = fc.BucketizedColumn("age", bin_boundaries=[18, 25, 30, 35, 40, 45, 50, 55, 60, 65])
    wide = [
        education, marital, relationship, workclass, occupation, country, age_buckets,
        fc.CrossedColumn([education, occupation], num_bins=1000),
        fc.CrossedColumn([age_buckets, education, occupation], num_bins=1000),
    ]  # fmt: skip
    deep = [
        *(fc.NumericColumn(key, normalization="zscore") for key in NUMERIC),
        *(fc.IndicatorColumn(column) for column in (workclass, education, marital, relationship)),
        fc.EmbeddingColumn(occupation, dimension=8),
        fc.EmbeddingColumn(country, dimension=8),
    ]
    return wide, deep


def files(data_dir: str) -> tuple:
    """`(train, test)` readers; adult.test's first line is a comment and its labels end with a period."""
    census = os.path.join(data_dir, "census")
    train = CsvFiles(os.path.join(census, "adult.data"), column_names=COLUMN_NAMES)
    test = CsvFiles(
        os.path.join(census, "adult.test"),
        column_names=COLUMN_NAMES,
        comment="|",
        label_map={"<=50K.": "<=50K", ">50K.": ">50K"},
    )
    return train, test


def classifier(model_dir=None, seed: int = 0):
    wide, deep = columns()
    return tfkit.DNNLinearCombinedClassifier(
        model_dir=model_dir,
        linear_feature_columns=wide,
        dnn_feature_columns=deep,
        dnn_hidden_units=[64, 32],
        # As config.toml (and README.md's figures): Adam for the DNN where tf.estimator's default is Adagrad at
        # 0.001, and Ftrl at 0.05 for the linear side where tf.estimator's is min(0.005, 1 / sqrt(9 columns)).
        linear_optimizer="Ftrl",
        linear_learning_rate=0.05,
        dnn_optimizer="Adam",
        dnn_learning_rate=0.001,
        label_vocabulary=["<=50K", ">50K"],
        label="income",
        config={"seed": seed},
    )


def main(data_dir: str = os.path.join("..", "shared", "data"), model_dir=None, epochs: int = 5) -> dict:
    train, test = files(data_dir)
    estimator = classifier(model_dir).train(train, epochs=epochs, batch_size=256)
    return estimator.evaluate(test, name="test")


if __name__ == "__main__":
    print(main(*sys.argv[1:]))
