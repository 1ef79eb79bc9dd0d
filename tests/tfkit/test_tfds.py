"""tensorflow-datasets as a source: tfkit's offline builders (taxifare, mnist_idx) give exactly the rows of the CSV
and IDX loaders, in file order, and tfkit.data.tfds_dataset's errors name the fix.

Each dataset is prepared once per module into a temporary TFDS data_dir; the real files come from the shared data
directory (TFKIT_DATA, else ../shared/data). TFDS writes about 3,000 examples a second here, so MNIST's training
split is cut to its first 10,000 images when prepared (`max_examples_per_split`): the test and validation splits,
which are compared, stay whole.
"""

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest
import tensorflow_datasets as tfds

import tfkit.datasets
from feature_columns import EmbeddingColumn, IdentityColumn, NumericColumn
from tfkit import Estimator
from tfkit.config import load_config
from tfkit.data import MNIST_SPLITS, load_mnist, tfds_dataset
from tfkit.estimator.inputs import Inputs
from tfkit.pipeline import make_estimator

DATA_DIR = os.environ.get("TFKIT_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
TAXI_CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "taxifare", "config.toml")
TAXI_CSV = {"train": "taxi-train.csv", "validation": "taxi-valid.csv"}


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tensorflow_datasets"))


@pytest.fixture(scope="module")
def taxi_train(tfds_dir, taxi_dir):
    # The first read prepares all three splits from the CSVs (download=True is the default).
    return tfds_dataset("taxifare", "train", data_dir=tfds_dir, source_dir=taxi_dir)


@pytest.fixture(scope="module")
def mnist_prepared(tfds_dir):
    builder = tfds.builder("mnist_idx", data_dir=tfds_dir, source_dir=os.path.join(DATA_DIR, "mnist"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(max_examples_per_split=10_000))
    return tfds_dir


def test_taxifare_holds_the_csv_rows_in_file_order_with_the_csv_dtypes(taxi_train, taxi_dir, tfds_dir):
    for split, file in TAXI_CSV.items():
        arrays = taxi_train if split == "train" else tfds_dataset("taxifare", split, data_dir=tfds_dir)
        frame = pd.read_csv(os.path.join(taxi_dir, file))
        assert list(arrays) == sorted(frame.columns)
        for column in frame.columns:
            expected = frame[column].to_numpy()
            assert arrays[column].dtype == expected.dtype, column
            # Exact, NaN included (taxi-valid.csv has rides without coordinates): float64 is stored as bytes.
            np.testing.assert_array_equal(arrays[column], expected, err_msg=f"{split} {column}")


def _taxi_estimator():
    """The taxi example's Estimator, without a model_dir (tests write nowhere but tmp_path)."""
    config = load_config(TAXI_CONFIG)
    return make_estimator(dataclasses.replace(config, training={**config.training, "model_dir": None}))


def test_tfds_load_reads_taxifare_in_file_order(taxi_train, taxi_dir, tfds_dir):
    # TFDS itself, once tfkit.datasets is imported: the last 1,000 rides, in the CSV's order.
    rides = tfds.load("taxifare", split="train[-1000:]", data_dir=tfds_dir, shuffle_files=False)
    fares = np.concatenate([batch["fare_amount"] for batch in tfds.as_numpy(rides.batch(512))])
    expected = pd.read_csv(os.path.join(taxi_dir, "taxi-train.csv"))["fare_amount"].to_numpy()[-1000:]
    np.testing.assert_array_equal(fares, expected)


def test_the_taxi_pipeline_reads_the_same_rows_from_tfds_as_from_the_csv(taxi_train, taxi_dir):
    estimator = _taxi_estimator()
    inputs = Inputs(estimator.columns, estimator.head, estimator.label)
    csv_features, csv_labels = inputs.read(os.path.join(taxi_dir, "taxi-train.csv"), "csv")
    tfds_features, tfds_labels = inputs.read(taxi_train, "tfds")
    np.testing.assert_array_equal(tfds_labels, csv_labels)
    assert sorted(tfds_features) == sorted(csv_features)
    for key, values in csv_features.items():
        assert tfds_features[key].dtype == values.dtype, key
        np.testing.assert_array_equal(tfds_features[key], values, err_msg=key)


def test_an_estimator_trains_and_evaluates_on_a_tfds_split(tfds_dir, taxi_train):
    # A small model: that a dict from tfds_dataset trains is the point, not the taxi model's quality.
    columns = [
        NumericColumn("passenger_count", normalization="zscore"),
        EmbeddingColumn(IdentityColumn("hourofday", 24), 2),
    ]
    estimator = Estimator(columns, "regression", label="fare_amount", model_params={"hidden_units": [8]}, seed=0)
    rides = tfds_dataset("taxifare", "train[:1024]", data_dir=tfds_dir)
    estimator.train(rides, epochs=1, batch_size=256, verbose=0)
    assert np.isfinite(estimator.evaluate(rides, batch_size=256)["loss"])


def test_as_supervised_splits_off_the_fare_and_batches_stream_in_order(taxi_train, tfds_dir):
    features, fares = tfds_dataset("taxifare", "train[:10]", data_dir=tfds_dir, as_supervised=True)
    np.testing.assert_array_equal(fares, taxi_train["fare_amount"][:10])
    assert "fare_amount" not in features and len(features) == 7

    batches = list(tfds_dataset("taxifare", "train[:10]", data_dir=tfds_dir, as_supervised=True, batch_size=4))
    assert [len(labels) for _, labels in batches] == [4, 4, 2]  # 10 rides in batches of 4
    np.testing.assert_array_equal(np.concatenate([labels for _, labels in batches]), fares)
    hours = np.concatenate([batch["hourofday"] for batch, _ in batches])
    np.testing.assert_array_equal(hours, taxi_train["hourofday"][:10])


@pytest.mark.parametrize("split", ["test", "validation"])
def test_mnist_idx_equals_load_mnist(mnist_prepared, split):
    # download=False: reading must not prepare again (the fixture cut the training split; see the module doc).
    arrays = tfds_dataset("mnist_idx", split, data_dir=mnist_prepared, download=False)
    expected = load_mnist(os.path.join(DATA_DIR, "mnist"), split=split)
    assert sorted(arrays) == ["label", "pixels"]
    for key in ("pixels", "label"):
        assert arrays[key].dtype == expected[key].dtype and arrays[key].shape == expected[key].shape, key
        np.testing.assert_array_equal(arrays[key], expected[key], err_msg=key)


def test_mnist_idx_has_load_mnist_splits_and_supervised_pixels(mnist_prepared):
    builder = tfds.builder("mnist_idx", data_dir=mnist_prepared)
    assert sorted(builder.info.splits) == sorted(MNIST_SPLITS)
    features, labels = tfds_dataset("mnist_idx", "test[:3]", data_dir=mnist_prepared, as_supervised=True)
    assert list(features) == ["pixels"] and labels.tolist() == [7, 2, 1]  # the first t10k labels


def test_the_local_builders_are_registered_under_their_own_names():
    assert sorted(tfkit.datasets.BUILDERS) == ["mnist_idx", "taxifare"]
    assert tfds.builder_cls("taxifare") is tfkit.datasets.Taxifare
    # The catalogue's MNIST keeps its name and meaning.
    assert tfds.builder_cls("mnist") is not tfkit.datasets.MnistIdx


def test_an_unregistered_name_lists_the_local_builders(tmp_path):
    with pytest.raises(ValueError, match=r"`name` must be a dataset registered.*name='taxi_fares'") as error:
        tfds_dataset("taxi_fares", "train", data_dir=str(tmp_path))
    assert "['mnist_idx', 'taxifare']" in str(error.value) and "network" in str(error.value)


def test_a_dataset_missing_from_data_dir_says_how_to_prepare_it(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"'taxifare' must be prepared in `data_dir` when download=False"
    ) as error:
        tfds_dataset("taxifare", "train", data_dir=str(tmp_path), download=False)
    assert "download=True" in str(error.value) and "download_and_prepare()" in str(error.value)
    assert not os.listdir(tmp_path)  # nothing was written


def test_a_local_builder_without_its_source_files_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"`source_dir` must be a folder .* which does not exist.*TFKIT_DATA"):
        tfds_dataset("taxifare", "train", data_dir=str(tmp_path / "tfds"), source_dir=str(tmp_path / "missing"))


def test_source_dir_is_refused_for_a_catalogue_dataset(tmp_path):
    with pytest.raises(ValueError, match=r"`source_dir` is for tfkit's builders"):
        tfds_dataset("mnist", "test", data_dir=str(tmp_path), source_dir=str(tmp_path))


@pytest.mark.parametrize("batch_size", [0, 2.5, True])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer"):
        tfds_dataset("taxifare", "train", batch_size=batch_size)


class TinyReviews(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Three reviews with text: a dataset TFDS does not know by name, only from its prepared files."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        features = tfds.features.FeaturesDict({"text": tfds.features.Text(), "stars": np.int64})
        return tfds.core.DatasetInfo(builder=self, features=features, disable_shuffling=True)

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        yield from enumerate(
            [{"text": "good", "stars": 5}, {"text": "bad", "stars": 1}, {"text": "très bien", "stars": 4}]
        )


def test_a_prepared_dataset_is_read_by_name_with_text_as_str(tmp_path):
    # As a catalogue dataset prepared elsewhere and copied into data_dir: no builder code is registered for it.
    TinyReviews(data_dir=str(tmp_path)).download_and_prepare()
    reviews = tfds_dataset("tiny_reviews", "train", data_dir=str(tmp_path), download=False)
    assert reviews["text"].tolist() == ["good", "bad", "très bien"] and reviews["text"].dtype.kind == "U"
    assert reviews["stars"].tolist() == [5, 1, 4]
    with pytest.raises(ValueError, match=r"`as_supervised=True` needs a dataset whose supervised keys"):
        tfds_dataset("tiny_reviews", "train", data_dir=str(tmp_path), as_supervised=True)


def test_a_config_with_a_tfds_source_reads_the_csv_rows_in_order(taxi_train, taxi_dir, tfds_dir, tmp_path):
    # The taxi example's config with its [data] files replaced by `source = "tfds:taxifare"` and TFDS splits.
    with open(TAXI_CONFIG) as file:
        example = file.read()
    data = example[example.index("[data]") : example.index("\n\n", example.index("[data]"))]
    tfds_data = (
        f'[data]\nsource = "tfds:taxifare"\ntfds_dir = "{tfds_dir}"\ntrain = "train"\neval = "validation"\n'
        'test = "test"\nlabel = "fare_amount"'
    )
    path = tmp_path / "tfds.toml"
    path.write_text(example.replace(data, tfds_data))
    environ = {"TFKIT_DATA": os.path.dirname(taxi_dir)}
    from_tfds, from_csv = load_config(str(path), environ=environ), load_config(TAXI_CONFIG, environ=environ)
    estimator = _taxi_estimator()
    inputs = Inputs(estimator.columns, estimator.head, estimator.label)
    for split in ("train", "eval"):
        tfds_features, tfds_labels = inputs.read(from_tfds.data_source(split), "tfds")
        csv_features, csv_labels = inputs.read(from_csv.data_source(split), "csv")
        np.testing.assert_array_equal(tfds_labels, csv_labels)
        for key, values in csv_features.items():
            np.testing.assert_array_equal(tfds_features[key], values, err_msg=key)
    assert len(dataclasses.replace(from_tfds, max_rows=5).data_source("test")["fare_amount"]) == 5


@pytest.mark.parametrize(
    "data, message",
    [
        ('source = "taxifare"', r'`source` must be "tfds:NAME"'),
        ('source = "tfds:taxifare"\ncomment = "#"', r"\['comment'\] are options of files, not of a TFDS source"),
        ('tfds_dir = "/tmp"', r"`tfds_dir` needs `source"),
    ],
)
def test_a_bad_tfds_source_is_named_with_the_fix(tmp_path, data, message):
    path = tmp_path / "bad.toml"
    path.write_text(
        f'[data]\n{data}\ntrain = "train"\nlabel = "y"\n[columns.x]\ntype = "numeric"\n[model]\nfeatures = ["x"]\n'
    )
    with pytest.raises(ValueError, match=message):
        load_config(str(path))
