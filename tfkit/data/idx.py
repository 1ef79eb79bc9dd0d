"""IDX files (the format MNIST ships in) read into NumPy arrays, and MNIST's splits read from a local folder.

The format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code, the number of dimensions, one
big-endian uint32 size per dimension, then the values, big-endian, in row-major order. Files may be gzipped.
"""

from __future__ import annotations

import math
import os
import zlib

import numpy as np

# The data directory when neither TFKIT_DATA nor a config says otherwise. It lives here, not in tfkit.config,
# because tfkit.config imports tfkit.data: this way both read one constant and no import cycle forms.
DEFAULT_DATA_DIR = os.path.join("..", "shared", "data")

# IDX type codes; the values are big-endian on disk.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_FIX = "Download or copy the file again"

MNIST_SPLITS = ("train", "validation", "test")
# The classic TensorFlow tutorial split: the last 5,000 training images validate (early stopping, tuning), so
# the 10,000 test images stay unseen until the end.
_MNIST_VALIDATION_SIZE = 5000
_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _gunzip(raw: bytes, path: str) -> tuple:
    """`(data, complete)`: every gzip member of `raw`, decompressed. A stream cut short yields what it holds, so
    that the header check can say how much is missing."""
    parts, complete = [], True
    while raw[:2] == _GZIP_MAGIC:
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16: expect a gzip header and trailer
        try:
            parts.append(stream.decompress(raw))
        except zlib.error as error:
            raise ValueError(
                f"tfkit.data.read_idx: `path` must be a readable gzip or IDX file. Received: path={path!r}, whose "
                f"gzip stream is damaged ({error}). {_FIX}."
            ) from None
        if not stream.eof:
            complete = False
            break
        raw = stream.unused_data
    return b"".join(parts), complete


def _describe(data: bytes) -> str:
    shown = " ".join(f"{byte:02x}" for byte in data[:8]) or "nothing (the file is empty)"
    return f"{shown} ({data[:8]!r})" if data[:8] else shown


def read_idx(path) -> np.ndarray:
    """Reads an IDX file, gzipped or not, into an array of its shape and dtype (in native byte order).

    Gzip is recognised by its magic bytes (1f 8b), not by the file name. Type codes 0x08 (uint8), 0x09 (int8),
    0x0B (int16), 0x0C (int32), 0x0D (float32) and 0x0E (float64) are read; the array is a fresh, writable copy.

    Args:
        path: the file, e.g. `".../mnist/train-images-idx3-ubyte.gz"`.

    Returns:
        A `np.ndarray` of the shape the header gives, e.g. `(60000, 28, 28)` uint8 for MNIST's training images.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is not IDX (wrong magic number or type code), is truncated, or has bytes past the
            data its header describes; the message names the file.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx2-ubyte")
    >>> with open(path, "wb") as file:  # uint8 (08), 2 dimensions: 2 x 3, then the six values
    ...     _ = file.write(bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]))
    >>> read_idx(path)
    array([[1, 2, 3],
           [4, 5, 6]], dtype=uint8)
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"tfkit.data.read_idx: `path` must be an existing IDX file. Received: path={path!r}, which does not "
            "exist. Check the path (MNIST's files are named like `train-images-idx3-ubyte.gz`)."
        ) from None
    gzipped = raw[:2] == _GZIP_MAGIC
    data, complete = _gunzip(raw, path) if gzipped else (raw, True)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES:
        codes = ", ".join(f"{code:02x}" for code in _IDX_DTYPES)
        raise ValueError(
            f"tfkit.data.read_idx: `path` must be an IDX file. Received: path={path!r}, which is not an IDX file: "
            f"its first bytes{' (uncompressed)' if gzipped else ''} are {_describe(data)}, where an IDX file "
            f"starts with 00 00, a type code ({codes}) and the number of dimensions. Point `path` at an IDX file "
            "such as MNIST's `train-images-idx3-ubyte.gz`."
        )
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise ValueError(
            f"tfkit.data.read_idx: `path` must be a complete IDX file. Received: path={path!r}, which holds "
            f"{len(data)} bytes, fewer than its header of {ndim} dimensions takes ({offset}): the file is "
            f"truncated. {_FIX}."
        )
    shape = tuple(int(size) for size in np.frombuffer(data, ">u4", count=ndim, offset=4))
    promised = math.prod(shape) * dtype.itemsize  # Python ints: no overflow for huge shapes
    held = len(data) - offset
    if held != promised:
        what = (
            "the file is truncated"
            if held < promised
            else f"{held - promised} bytes follow the data (two files joined, or a damaged header)"
        )
        raise ValueError(
            f"tfkit.data.read_idx: `path` must be a complete IDX file. Received: path={path!r}, which holds "
            f"{held} bytes of data, the header ({dtype.name}, shape {shape}) promises {promised}: {what}. {_FIX}."
        )
    if not complete:
        # The data is all there but the gzip trailer (its CRC) is not: the file was cut, and nothing checks it.
        raise ValueError(
            f"tfkit.data.read_idx: `path` must be a complete gzip file. Received: path={path!r}, whose gzip stream "
            f"ends before its end marker and checksum: the file is truncated. {_FIX}."
        )
    # astype copies into native byte order, so the result is writable and owns its memory.
    return np.frombuffer(data, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(directory: str, name: str) -> str:
    """`name` or `name.gz` in `directory`, the uncompressed one first (it reads faster)."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"tfkit.data.load_mnist: `directory` must hold MNIST's {name}(.gz). Received: directory={directory!r}, "
        f"which has neither {name!r} nor {name + '.gz'!r}. Copy the four MNIST files there, set TFKIT_DATA to "
        "the folder that holds `mnist/`, or pass `directory`."
    )


def _read_pair(directory: str, images_name: str, labels_name: str) -> tuple:
    images_path, labels_path = _find_idx(directory, images_name), _find_idx(directory, labels_name)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"tfkit.data.load_mnist: {images_path!r} must hold uint8 images of shape (n, rows, columns). "
            f"Received: an array of shape {images.shape} and dtype {images.dtype}. Check that the images and "
            "labels files are not swapped, or copy the file again."
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"tfkit.data.load_mnist: {labels_path!r} must hold one label per image of {images_path!r} "
            f"({len(images)}). Received: labels of shape {labels.shape}. Use the labels file of the same split "
            "(train- or t10k-), or copy the files again."
        )
    return images, labels.astype(np.int64)


def load_mnist(directory=None, split: str = "train") -> dict:
    """Reads one split of MNIST from its four IDX files in a local folder.

    Nothing is downloaded: `keras.datasets.mnist.load_data()` downloads the data at run time (and fails on
    machines without network access); this reads the original files already on disk, gzipped or not:
    `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`.

    Args:
        directory: the folder holding the files. Defaults to `mnist/` in the data directory: the `TFKIT_DATA`
            environment variable, else `../shared/data`.
        split: one of `MNIST_SPLITS`: `"train"`, the first 55,000 training images; `"validation"`, the last
            5,000 training images (for early stopping and tuning, so that the test set stays unseen); `"test"`,
            the 10,000 test (t10k) images.

    Returns:
        `{"pixels": uint8 array (n, 28, 28), "label": int64 array (n,)}`.

    Raises:
        ValueError: an unknown split, or files whose images and labels do not match.
        FileNotFoundError: the folder or one of its files is missing.

    >>> test = load_mnist(split="test")  # from TFKIT_DATA, else ../shared/data
    >>> test["pixels"].shape, test["pixels"].dtype, test["label"][:3].tolist()
    ((10000, 28, 28), dtype('uint8'), [7, 2, 1])
    """
    if split not in MNIST_SPLITS:
        raise ValueError(
            f"tfkit.data.load_mnist: `split` must be one of {list(MNIST_SPLITS)}. Received: split={split!r}. "
            "Use 'validation' for the held-out part of the training images."
        )
    if directory is None:
        directory = os.path.join(os.environ.get("TFKIT_DATA") or DEFAULT_DATA_DIR, "mnist")
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"tfkit.data.load_mnist: `directory` must be an existing folder holding MNIST's IDX files. Received: "
            f"directory={directory!r}, which does not exist. Set TFKIT_DATA to the folder that holds `mnist/`, or "
            "pass `directory`."
        )
    images, labels = _read_pair(directory, *_MNIST_FILES["test" if split == "test" else "train"])
    if split != "test":
        if len(images) <= _MNIST_VALIDATION_SIZE:
            raise ValueError(
                f"tfkit.data.load_mnist: the training files in {directory!r} must hold more than "
                f"{_MNIST_VALIDATION_SIZE} images, the last {_MNIST_VALIDATION_SIZE} of which validate. Received: "
                f"{len(images)} images. Copy the full training files (60,000 images) there."
            )
        part = slice(None, -_MNIST_VALIDATION_SIZE) if split == "train" else slice(-_MNIST_VALIDATION_SIZE, None)
        # Copies, so that a split does not keep all 60,000 images alive as its view's base.
        images, labels = images[part].copy(), labels[part].copy()
    return {"pixels": images, "label": labels}
