"""tfkit.data.read_idx and load_mnist: the real MNIST files, and crafted IDX files for every error."""

import gzip
import hashlib
import os
import re

import numpy as np
import pytest

from tfkit.data import MNIST_SPLITS, load_mnist, read_idx

DATA_DIR = os.environ.get("TFKIT_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
MNIST_DIR = os.path.join(DATA_DIR, "mnist")
# From ../shared/data/README.md: sha256 of each uncompressed file, and its header's dimensions.
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", (60000, 28, 28)),
    "train-labels-idx1-ubyte.gz": ("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", (60000,)),
    "t10k-images-idx3-ubyte.gz": ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", (10000, 28, 28)),
    "t10k-labels-idx1-ubyte.gz": ("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", (10000,)),
}
FIX = "Download or copy the file again"


@pytest.fixture(scope="module")
def mnist_dir():
    if not os.path.exists(os.path.join(MNIST_DIR, "train-images-idx3-ubyte.gz")):
        pytest.fail(f"MNIST is missing from {MNIST_DIR}; set TFKIT_DATA to the shared data folder")
    return MNIST_DIR


@pytest.fixture(scope="module")
def splits(mnist_dir):
    return {split: load_mnist(mnist_dir, split=split) for split in MNIST_SPLITS}


def idx_bytes(code: int, shape: tuple, data: bytes) -> bytes:
    """An IDX file: 00 00, the type code, the number of dimensions, each size as a big-endian uint32, the data."""
    return bytes([0, 0, code, len(shape)]) + b"".join(size.to_bytes(4, "big") for size in shape) + data


def write(path, content: bytes, *, gzipped: bool = False) -> str:
    path.write_bytes(gzip.compress(content) if gzipped else content)
    return str(path)


def fake_mnist(folder, prefix: str, images: int, labels: int, image_shape=(2, 2)) -> None:
    """Tiny MNIST-named files: `images` uint8 images of `image_shape`, `labels` labels."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = bytes(i % 256 for i in range(images * int(np.prod(image_shape))))
    write(folder / f"{prefix}-images-idx3-ubyte", idx_bytes(0x08, (images, *image_shape), pixels))
    write(folder / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(0x08, (labels,), bytes(i % 10 for i in range(labels))))


# The real data.


@pytest.mark.parametrize("name", sorted(MNIST_FILES))
def test_read_idx_returns_the_published_files_data(mnist_dir, name):
    sha256, shape = MNIST_FILES[name]
    with open(os.path.join(mnist_dir, name), "rb") as file:
        uncompressed = gzip.decompress(file.read())
    assert hashlib.sha256(uncompressed).hexdigest() == sha256
    array = read_idx(os.path.join(mnist_dir, name))
    # Header: 4 bytes (00 00 08 ndim) + 4 per dimension: 16 for images, 8 for labels.
    expected = np.frombuffer(uncompressed, np.uint8, offset=4 + 4 * len(shape)).reshape(shape)
    assert array.dtype == np.uint8 and array.shape == shape
    np.testing.assert_array_equal(array, expected)


def test_the_splits_have_the_classic_sizes_and_known_values(splits):
    sizes = {"train": 55000, "validation": 5000, "test": 10000}
    for split, data in splits.items():
        assert set(data) == {"pixels", "label"}
        assert data["pixels"].shape == (sizes[split], 28, 28), split
        assert data["pixels"].dtype == np.uint8 and data["pixels"].max() == 255, split
        assert data["label"].shape == (sizes[split],) and data["label"].dtype == np.int64, split
        assert sorted(np.unique(data["label"]).tolist()) == list(range(10)), split
    # The first training image is a 5 and the first test image a 7 (LeCun's files, and every tutorial since).
    assert splits["train"]["label"][0] == 5
    assert splits["test"]["label"][0] == 7


def test_train_and_validation_are_the_whole_training_file_in_order(mnist_dir, splits):
    images = read_idx(os.path.join(mnist_dir, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz"))
    np.testing.assert_array_equal(np.concatenate([splits["train"]["pixels"], splits["validation"]["pixels"]]), images)
    np.testing.assert_array_equal(np.concatenate([splits["train"]["label"], splits["validation"]["label"]]), labels)


# Crafted files: every type, gzip detected by content.


def test_int16_round_trip_big_endian_to_native(tmp_path):
    # 1 = 00 01, -2 = ff fe, 300 = 01 2c (big-endian two's complement); shape 1 x 3.
    path = write(tmp_path / "values.idx", idx_bytes(0x0B, (1, 3), bytes.fromhex("0001fffe012c")))
    array = read_idx(path)
    assert array.dtype == np.int16 and array.dtype.isnative
    assert array.tolist() == [[1, -2, 300]]


def test_float32_round_trip(tmp_path):
    # 1.5 = 3fc00000, -2.0 = c0000000 (IEEE 754 single precision, big-endian); one dimension of 2.
    path = write(tmp_path / "values", idx_bytes(0x0D, (2,), bytes.fromhex("3fc00000c0000000")))
    array = read_idx(path)
    assert array.dtype == np.float32 and array.dtype.isnative
    assert array.tolist() == [1.5, -2.0]


@pytest.mark.parametrize(
    ("code", "dtype"), [(0x08, "u1"), (0x09, "i1"), (0x0B, "i2"), (0x0C, "i4"), (0x0D, "f4"), (0x0E, "f8")]
)
def test_every_type_round_trips_gzipped_or_not(tmp_path, code, dtype):
    values = np.arange(-3, 9).reshape(2, 3, 2).astype(dtype)  # uint8 wraps -3..-1 to 253..255, as it should
    content = idx_bytes(code, values.shape, values.astype(values.dtype.newbyteorder(">")).tobytes())
    # Gzip is recognised by its magic bytes: a gzipped file without `.gz` and a raw one named `.gz` both read.
    for path in (write(tmp_path / "gzipped", content, gzipped=True), write(tmp_path / "raw.gz", content)):
        array = read_idx(path)
        assert array.dtype == values.dtype and array.dtype.isnative
        np.testing.assert_array_equal(array, values)
        array[0, 0, 0] = 1  # a writable copy, not a view of the file's bytes


# Errors: each names the file and says how to fix it.


@pytest.mark.parametrize(
    ("content", "first_bytes"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "89 50 4e 47 0d 0a 1a 0a"),
        (b"label,pixel0,pixel1\n5,0,0\n", "6c 61 62 65 6c 2c 70 69"),
        (idx_bytes(0x07, (2,), b"\x00\x01"), "00 00 07 01 00 00 00 02"),  # 07 is no IDX type
        (b"", "nothing (the file is empty)"),
    ],
)
def test_a_file_that_is_not_idx_says_so(tmp_path, content, first_bytes):
    path = write(tmp_path / "digits-idx1-ubyte", content)
    with pytest.raises(ValueError, match="not an IDX file") as error:
        read_idx(path)
    message = str(error.value)
    assert repr(path) in message and first_bytes in message
    assert "Point `path` at an IDX file" in message


def test_a_gzipped_file_that_is_not_idx_shows_its_uncompressed_bytes(tmp_path):
    path = write(tmp_path / "table.csv.gz", b"label,pixel0\n5,0\n", gzipped=True)
    with pytest.raises(ValueError, match=r"not an IDX file: its first bytes \(uncompressed\) are 6c 61 62 65"):
        read_idx(path)


def test_a_truncated_gzipped_idx_says_how_much_is_missing(tmp_path, mnist_dir):
    with open(os.path.join(mnist_dir, "t10k-labels-idx1-ubyte.gz"), "rb") as file:
        cut = file.read()[:-100]
    path = write(tmp_path / "t10k-labels-idx1-ubyte.gz", cut)
    with pytest.raises(ValueError) as error:
        read_idx(path)
    message = str(error.value)
    held = re.search(r"holds (\d+) bytes of data, the header \(uint8, shape \(10000,\)\) promises 10000", message)
    assert held and int(held.group(1)) < 10000, message
    assert repr(path) in message and "the file is truncated" in message and FIX in message


def test_a_truncated_raw_idx_gives_the_exact_counts(tmp_path):
    # 10 x 10 uint8 promises 100 bytes; 30 are cut, so 70 remain.
    path = write(tmp_path / "cut-idx2-ubyte", idx_bytes(0x08, (10, 10), bytes(70)))
    expected = f"{path!r}, which holds 70 bytes of data, the header (uint8, shape (10, 10)) promises 100: the file is "
    with pytest.raises(ValueError, match=re.escape(expected + f"truncated. {FIX}.")):
        read_idx(path)


def test_a_truncated_header_is_reported(tmp_path):
    # Three dimensions need a 4 + 3 * 4 = 16-byte header; the file stops after 10.
    path = write(tmp_path / "header-idx3-ubyte", bytes([0, 0, 0x08, 3, 0, 0, 0, 1, 0, 0]))
    with pytest.raises(ValueError, match=r"holds 10 bytes, fewer than its header of 3 dimensions takes \(16\)"):
        read_idx(path)


def test_extra_bytes_after_the_data_are_an_error(tmp_path):
    # int32 2 x 2 promises 2 * 2 * 4 = 16 bytes; 19 follow the header.
    path = write(tmp_path / "long-idx2-int", idx_bytes(0x0C, (2, 2), bytes(19)))
    with pytest.raises(ValueError) as error:
        read_idx(path)
    message = str(error.value)
    assert repr(path) in message and "holds 19 bytes of data, the header (int32, shape (2, 2)) promises 16" in message
    assert "3 bytes follow the data" in message and FIX in message


def test_a_missing_file_is_named(tmp_path):
    path = str(tmp_path / "train-images-idx3-ubyte.gz")
    with pytest.raises(FileNotFoundError, match=re.escape(f"Received: path={path!r}, which does not exist")):
        read_idx(path)


def test_an_unknown_split_lists_the_allowed_ones(mnist_dir):
    expected = "`split` must be one of ['train', 'validation', 'test']. Received: split='dev'"
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_mnist(mnist_dir, split="dev")


def test_a_missing_directory_says_to_set_tfkit_data_or_pass_directory(tmp_path):
    folder = str(tmp_path / "nowhere" / "mnist")
    with pytest.raises(FileNotFoundError) as error:
        load_mnist(folder, split="test")
    message = str(error.value)
    assert f"directory={folder!r}, which does not exist" in message
    assert "Set TFKIT_DATA" in message and "pass `directory`" in message


def test_a_missing_file_is_named_with_the_fix(tmp_path):
    fake_mnist(tmp_path, "t10k", images=3, labels=3)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError) as error:
        load_mnist(tmp_path, split="test")
    message = str(error.value)
    assert "'t10k-labels-idx1-ubyte' nor 't10k-labels-idx1-ubyte.gz'" in message and str(tmp_path) in message
    assert "set TFKIT_DATA" in message and "pass `directory`" in message


def test_images_and_labels_of_different_counts(tmp_path):
    fake_mnist(tmp_path, "t10k", images=3, labels=2)
    expected = r"must hold one label per image of .*t10k-images-idx3-ubyte' \(3\)\. Received: labels of shape \(2,\)"
    with pytest.raises(ValueError, match=expected):
        load_mnist(tmp_path, split="test")


def test_images_must_be_three_dimensional(tmp_path):
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(0x08, (3, 4), bytes(12)))  # 3 rows of 4: no image axis
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(0x08, (3,), bytes(3)))
    expected = "must hold uint8 images of shape (n, rows, columns). Received: an array of shape (3, 4)"
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte' " + re.escape(expected)):
        load_mnist(tmp_path, split="test")


def test_too_few_training_images_to_hold_out_a_validation_split(tmp_path):
    fake_mnist(tmp_path, "train", images=3, labels=3)
    with pytest.raises(ValueError, match=r"must hold more than 5000 images.*Received: 3 images"):
        load_mnist(tmp_path, split="validation")


def test_the_default_directory_is_tfkit_data_else_the_shared_data_folder(tmp_path, monkeypatch):
    fake_mnist(tmp_path / "elsewhere" / "mnist", "t10k", images=3, labels=3)
    monkeypatch.setenv("TFKIT_DATA", str(tmp_path / "elsewhere"))
    assert load_mnist(split="test")["pixels"].shape == (3, 2, 2)
    # Unset: ../shared/data/mnist from the current directory (the project root, next to shared/).
    fake_mnist(tmp_path / "shared" / "data" / "mnist", "t10k", images=4, labels=4)
    (tmp_path / "project").mkdir()
    monkeypatch.delenv("TFKIT_DATA")
    monkeypatch.chdir(tmp_path / "project")
    data = load_mnist(split="test")
    assert data["pixels"].shape == (4, 2, 2) and data["label"].tolist() == [0, 1, 2, 3]


def test_a_gzipped_idx_missing_only_its_checksum_is_truncated(tmp_path):
    # A gzip stream ends with 8 bytes (CRC-32 and size): without them the data may be whole, but nothing checks it.
    content = gzip.compress(idx_bytes(0x08, (3,), b"\x01\x02\x03"))
    path = write(tmp_path / "labels-idx1-ubyte.gz", content[:-8])
    with pytest.raises(ValueError, match=re.escape(f"path={path!r}, whose gzip stream ends before its end marker")):
        read_idx(path)


def test_a_damaged_gzip_stream_is_named(tmp_path):
    path = write(tmp_path / "images.gz", b"\x1f\x8b\x08\x00" + bytes(range(40)))
    with pytest.raises(ValueError, match=re.escape(f"path={path!r}, whose gzip stream is damaged")) as error:
        read_idx(path)
    assert FIX in str(error.value)
