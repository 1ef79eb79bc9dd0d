"""MNIST from its local IDX files as the TFDS dataset `mnist_idx`: the arrays of `tfkit.data.load_mnist`.

Not named `mnist`: TFDS's catalogue already has an `mnist` (downloaded, `image` of shape (28, 28, 1), no
validation split), and a second builder of that name would fail to register or shadow it. `mnist_idx` has
`load_mnist`'s features and splits, so both loaders give the same arrays.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from tfkit.data.idx import MNIST_SPLITS, load_mnist
from tfkit.datasets.source import source_folder


class MnistIdx(tfds.core.GeneratorBasedBuilder):
    """MNIST's `train` (first 55,000 training images), `validation` (last 5,000) and `test` (10,000) splits.

    Features: `pixels`, uint8 of shape (28, 28), and `label`, int64 in 0-9, in file order.

    Args:
        source_dir: the folder holding the four IDX files, gzipped or not. Defaults to `mnist/` in the data directory
            (the `TFKIT_DATA` environment variable, else `../shared/data`).
        **kwargs: `tfds.core.DatasetBuilder`'s (`data_dir`, ...).

    >>> MnistIdx.name
    'mnist_idx'
    """

    SOURCE_FOLDER = "mnist"  # in the data directory

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict] = {"1.0.0": "tfkit.data.load_mnist's splits and features, in file order."}

    def __init__(self, *, source_dir=None, **kwargs):
        self.source_dir = source_dir
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="MNIST handwritten digits (LeCun, Cortes and Burges), read from the original IDX files.",
            features=tfds.features.FeaturesDict(
                {
                    # A raw uint8 tensor, not tfds.features.Image: no PNG round trip, and load_mnist's shape.
                    "pixels": tfds.features.Tensor(shape=(28, 28), dtype=np.uint8),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }
            ),
            supervised_keys=("pixels", "label"),
            homepage="http://yann.lecun.com/exdb/mnist/",
            # Examples are written in the order generated, so reading without shuffle_files gives file order.
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download
        # load_mnist names any IDX file missing (gzipped or not), so only the folder is checked here.
        folder = source_folder("mnist_idx", self.source_dir, self.SOURCE_FOLDER, ())
        return {split: self._generate_examples(folder, split) for split in MNIST_SPLITS}

    def _generate_examples(self, folder, split):
        arrays = load_mnist(folder, split)
        for row, (pixels, label) in enumerate(zip(arrays["pixels"], arrays["label"], strict=True)):
            yield row, {"pixels": pixels, "label": label}
