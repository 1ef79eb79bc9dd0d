"""The taxi-fare CSVs (`taxi-train.csv`, `taxi-valid.csv`, `taxi-test.csv`) as the TFDS dataset `taxifare`.

Prepared from local files, never downloaded: `tfds.load("taxifare", data_dir=...)` works offline once
`tfkit.datasets` is imported (which registers the builder).
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import pandas as pd
import tensorflow_datasets as tfds

from tfkit.datasets.source import source_folder

# The CSV's columns and the dtypes pandas reads them as, in file order.
COLUMNS = {
    "fare_amount": np.float64,
    "passenger_count": np.int64,
    "pickup_longitude": np.float64,
    "pickup_latitude": np.float64,
    "dropoff_longitude": np.float64,
    "dropoff_latitude": np.float64,
    "hourofday": np.int64,
    "dayofweek": np.int64,
}
LABEL = "fare_amount"
FILES = {"train": "taxi-train.csv", "validation": "taxi-valid.csv", "test": "taxi-test.csv"}


def _feature(dtype):
    if dtype is np.float64:
        # tf.Example keeps floats as float32; stored as bytes, a float64 keeps every digit the CSV has.
        return tfds.features.Tensor(shape=(), dtype=np.float64, encoding=tfds.features.Encoding.BYTES)
    return tfds.features.Scalar(dtype=dtype)


class Taxifare(tfds.core.GeneratorBasedBuilder):
    """NYC taxi rides and their fares, read from the course's three CSV files, rows in file order.

    Args:
        source_dir: the folder holding the CSV files. Defaults to `taxifare/` in the data directory (the
            `TFKIT_DATA` environment variable, else `../shared/data`).
        **kwargs: `tfds.core.DatasetBuilder`'s (`data_dir`, ...).

    >>> Taxifare.name, Taxifare.VERSION
    ('taxifare', Version('1.0.0'))
    """

    SOURCE_FOLDER = "taxifare"  # in the data directory

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict] = {"1.0.0": "The three CSV files, rows in file order; float64 stored exactly."}

    def __init__(self, *, source_dir=None, **kwargs):
        self.source_dir = source_dir
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="NYC taxi rides (the Google Cloud ML course's taxi-fare lab data): fare and trip features.",
            features=tfds.features.FeaturesDict({key: _feature(dtype) for key, dtype in COLUMNS.items()}),
            supervised_keys=({key: key for key in COLUMNS if key != LABEL}, LABEL),
            # Examples are written in the order generated, so reading without shuffle_files gives file order.
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download
        folder = source_folder("taxifare", self.source_dir, self.SOURCE_FOLDER, tuple(FILES.values()))
        return {split: self._generate_examples(os.path.join(folder, name)) for split, name in FILES.items()}

    def _generate_examples(self, path):
        # pandas' default parser, as tfkit.data.read_csv uses: the same bits as reading the CSV directly.
        frame = pd.read_csv(path, skipinitialspace=True)
        if list(frame.columns) != list(COLUMNS):
            raise ValueError(
                f"tfkit.datasets.taxifare: {path!r} must have the columns {list(COLUMNS)}. Received: "
                f"{list(frame.columns)}. Point `source_dir` at the course's taxi-fare CSV files."
            )
        columns = {key: frame[key].to_numpy(dtype=dtype) for key, dtype in COLUMNS.items()}
        for row in range(len(frame)):
            yield row, {key: values[row] for key, values in columns.items()}
