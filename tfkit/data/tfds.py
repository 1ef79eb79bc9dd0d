"""tensorflow-datasets (TFDS) as a tfkit data source: a split as arrays the Estimator reads, or as batches.

`tfds_dataset(name, split)` prepares the dataset into TFDS's `data_dir` when it is not there yet and reads one
split in file order. tfkit's own builders (`tfkit.datasets`: `taxifare`, `mnist_idx`) prepare from the local
data directory, without network; TFDS's catalogue datasets (`tfds.list_builders()`) work the same way wherever
TFDS can download them, and anywhere once they are prepared in `data_dir`.

TFDS and tfkit's builders are imported on first use, so `import tfkit.data` neither pays for TFDS nor adds
names to its global registry.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from feature_columns.integration import is_count

# Rows decoded per step when a split is gathered into arrays.
_BLOCK_ROWS = 8192
_WHERE = "tfkit.data.tfds_dataset"


def _tfds():
    """`tensorflow_datasets`, with tfkit's builders registered."""
    import tensorflow_datasets as tfds

    import tfkit.datasets  # noqa: F401  (defining the builders registers them)

    return tfds


def _local_builders() -> dict:
    from tfkit.datasets import BUILDERS

    return BUILDERS


def tfds_dataset(
    name: str,
    split: str,
    *,
    data_dir=None,
    as_supervised: bool = False,
    batch_size: int | None = None,
    download: bool = True,
    source_dir=None,
):
    """Reads one split of a TFDS dataset, in file order, as what `tfkit.Estimator` reads.

    Without `batch_size`, the whole split comes back as a dict of NumPy arrays, one per feature (text as `str`),
    as `tfkit.data.load_mnist` returns them: pass it to `Estimator.train` / `evaluate` / `predict` like any
    dict of arrays, and the Estimator checks it against the columns, shuffles and batches it itself (the fast
    path; see `tfkit.data.preprocessed_batches`). With `batch_size`, a `tf.data.Dataset` of batches streams the
    split instead (memory does not grow with its size), in file order: shuffle it yourself if it trains.

    Args:
        name: the TFDS name, e.g. `"taxifare"`, `"mnist_idx"` (tfkit's builders, see `tfkit.datasets`) or a
            catalogue name such as `"mnist"`; `"name/config:version"` works as in `tfds.load`.
        split: the split, with TFDS's slicing, e.g. `"train"`, `"test[:1000]"`, `"train[:90%]"`.
        data_dir: where TFDS keeps prepared datasets. Defaults to TFDS's (`~/tensorflow_datasets`, or the
            `TFDS_DATA_DIR` environment variable).
        as_supervised: split off the label named by the dataset's supervised keys: `(features, labels)` instead
            of one dict. The features are all the other features, still a dict, as feature columns read them.
        batch_size: rows per batch for a streamed `tf.data.Dataset`; None for arrays.
        download: prepare the dataset when `data_dir` lacks it: tfkit's builders from the data directory (no
            network), catalogue datasets by downloading. With False, a dataset not prepared is an error.
        source_dir: for tfkit's builders, the folder of source files to prepare from, in place of the data
            directory's `taxifare/` or `mnist/` (the `TFKIT_DATA` environment variable, else `../shared/data`).

    Returns:
        A dict of arrays; `(features, labels)` with `as_supervised`; with `batch_size`, a `tf.data.Dataset` of
        such batches.

    Raises:
        ValueError: `name` is not a TFDS dataset, or `as_supervised` for a dataset without one label feature.
        FileNotFoundError: the dataset is not prepared in `data_dir` and `download` is False, or tfkit's
            builder finds no source files.
        ConnectionError: a catalogue dataset could not be downloaded.

    >>> import os, tempfile
    >>> from tfkit.datasets.taxifare import COLUMNS, FILES
    >>> source = tempfile.mkdtemp()  # a one-ride stand-in for the data directory's taxifare/
    >>> for file in FILES.values():
    ...     _ = open(os.path.join(source, file), "w").write(",".join(COLUMNS) + "\\n8.5,1,-74,40.7,-73.9,40.8,14,4\\n")
    >>> rides = tfds_dataset("taxifare", "train", data_dir=tempfile.mkdtemp(), source_dir=source)
    Downloading and preparing dataset ...
    Dataset taxifare downloaded and prepared to ... Subsequent calls will reuse this data.
    >>> rides["fare_amount"], rides["hourofday"]
    (array([8.5]), array([14]))
    """
    if not isinstance(name, str) or not name:
        raise TypeError(
            f"{_WHERE}: `name` must be a TFDS dataset name, a non-empty str such as 'taxifare'. Received: "
            f"name={name!r} (of type {type(name).__name__})."
        )
    if batch_size is not None and not is_count(batch_size):
        raise ValueError(
            f"{_WHERE}: `batch_size` must be a positive integer, or None for arrays. "
            f"Received: batch_size={batch_size!r}."
        )
    tfds = _tfds()
    builder = _builder(tfds, name, data_dir, source_dir)
    if not builder.is_prepared():
        if not download:
            raise FileNotFoundError(
                f"{_WHERE}: dataset {name!r} must be prepared in `data_dir` when download=False. Received: "
                f"data_dir={data_dir!r}, which lacks {builder.data_dir!r}. {_how_to_prepare(name)}"
            )
        _prepare(builder, name)
    label = _supervised_label(builder, name) if as_supervised else None
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    if batch_size is None:
        return _arrays(tfds, dataset, label, name, split)
    dataset = dataset.batch(batch_size)
    if label is not None:
        dataset = dataset.map(lambda example: _split_label(example, label), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _how_to_prepare(name: str) -> str:
    local = sorted(_local_builders())
    return (
        f"Prepare it with `tfkit.data.tfds_dataset({name!r}, ..., download=True)` or `tfds.builder({name!r}, "
        f"data_dir=...).download_and_prepare()`: tfkit's builders {local} read the data directory (TFKIT_DATA, "
        "else ../shared/data) without network; catalogue datasets download, which needs network access."
    )


def _builder(tfds, name: str, data_dir, source_dir):
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError:
        # TFDS's own message lists its whole catalogue: hundreds of names, burying the fix.
        raise ValueError(
            f"{_WHERE}: `name` must be a dataset registered with TFDS or prepared in `data_dir`. Received: "
            f"name={name!r}, data_dir={data_dir!r}. tfkit's builders, prepared from local files: "
            f"{sorted(_local_builders())} (e.g. 'mnist_idx' for MNIST's IDX files); TFDS's catalogue "
            "(`tfds.list_builders()`) downloads each dataset on first use, which needs network access. Check the "
            "spelling, or prepare the dataset into `data_dir` where the network reaches it."
        ) from None
    if source_dir is not None:
        if type(builder) not in _local_builders().values():
            raise ValueError(
                f"{_WHERE}: `source_dir` is for tfkit's builders {sorted(_local_builders())}, which prepare from "
                f"local files. Received: source_dir={source_dir!r} for {name!r}. Remove it."
            )
        builder.source_dir = source_dir
    return builder


def _prepare(builder, name: str) -> None:
    if type(builder) in _local_builders().values():
        builder.download_and_prepare()  # its errors already name the source folder and the fix
        return
    try:
        builder.download_and_prepare()
    except OSError as error:  # requests' ConnectionError is one; missing source files of a download too
        raise ConnectionError(
            f"{_WHERE}: could not download {name!r} into data_dir={builder.data_dir!r} ({error}). TFDS's catalogue "
            "datasets download on first use: prepare it where the network reaches its source (`tfds.builder(name, "
            "data_dir=...).download_and_prepare()`) and copy that data_dir here, or use tfkit's builders "
            f"{sorted(_local_builders())}, which read local files."
        ) from error


def _supervised_label(builder, name: str) -> str:
    keys = builder.info.supervised_keys
    label = keys[1] if keys and len(keys) >= 2 else None
    if not isinstance(label, str) or label not in builder.info.features:
        raise ValueError(
            f"{_WHERE}: `as_supervised=True` needs a dataset whose supervised keys name one label feature. "
            f"Received: name={name!r}, whose supervised_keys={keys!r}. Pass as_supervised=False and name the label "
            "feature as the Estimator's `label`."
        )
    return label


def _split_label(example: dict, label: str) -> tuple:
    return {key: value for key, value in example.items() if key != label}, example[label]


def _text(values):
    """TFDS gives text as bytes objects; feature columns read `str` (NumPy would spell bytes "b'...'")."""
    if isinstance(values, np.ndarray) and values.dtype == object and values.size and isinstance(values.flat[0], bytes):
        return np.char.decode(values.astype(np.bytes_), "utf-8")
    return values


def _arrays(tfds, dataset, label, name: str, split: str):
    blocks = list(tfds.as_numpy(dataset.batch(_BLOCK_ROWS)))
    if not blocks:
        raise ValueError(
            f"{_WHERE}: `split` must hold at least one example. Received: split={split!r} of {name!r}, which is "
            "empty. Check the split's slicing."
        )
    arrays = tf.nest.map_structure(lambda *parts: _text(np.concatenate(parts)), *blocks)
    return arrays if label is None else _split_label(arrays, label)
