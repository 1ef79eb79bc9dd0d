"""TFDS builders for the data sets tfkit's examples use, prepared from local files: nothing is downloaded.

Importing this package registers them with tensorflow-datasets, so that `tfds.load(name, data_dir=...)` (and
`tfkit.data.tfds_dataset(name, ...)`) reads them offline; the first load prepares the dataset into `data_dir`
(TFDS's default: `~/tensorflow_datasets`) from the source folder in the data directory (the `TFKIT_DATA`
environment variable, else `../shared/data`), or from a builder's `source_dir`.

- `taxifare`: `taxifare/taxi-{train,valid,test}.csv` as splits `train`, `validation`, `test`.
- `mnist_idx`: `mnist/*-idx*-ubyte.gz` as `tfkit.data.load_mnist`'s splits and features. TFDS's catalogue
  `mnist` keeps its name and meaning (downloaded; `image` of shape (28, 28, 1)).

TFDS's catalogue datasets are read the same way wherever TFDS can download them.

>>> import tensorflow_datasets as tfds
>>> sorted(BUILDERS), tfds.builder_cls("taxifare") is Taxifare
(['mnist_idx', 'taxifare'], True)
"""

from tfkit.datasets.mnist import MnistIdx
from tfkit.datasets.taxifare import Taxifare

# tfkit's local builders by their TFDS name.
BUILDERS = {builder.name: builder for builder in (MnistIdx, Taxifare)}

__all__ = ["BUILDERS", "MnistIdx", "Taxifare"]
