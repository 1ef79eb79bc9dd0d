"""The image family on real MNIST pixels: `ImageColumn` (scaled, flattened pixels) and `BinarizedColumn` (the lit
pixels' positions as ids), alone and under `EmbeddingColumn` / `IndicatorColumn`, through save and reload, and
into `tfkit.models.cnn`."""

import gzip
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import feature_columns as fc
from feature_columns.integration import raw_features, to_feature_arrays
from feature_columns.testing import check_column

MNIST_IMAGES = pathlib.Path("/work/shared/data/mnist/train-images-idx3-ubyte.gz")
ROWS = 4


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """The first `ROWS` MNIST training images, uint8 `[ROWS, 28, 28]`, read from the IDX file itself."""
    if not MNIST_IMAGES.exists():
        pytest.skip(f"MNIST is not at {MNIST_IMAGES}")
    with gzip.open(MNIST_IMAGES) as file:
        data = file.read(16 + ROWS * 28 * 28)
    # The IDX header: magic 0x00000803 (unsigned bytes, 3 dimensions), then n, rows, cols, all big-endian.
    magic, count, rows, cols = np.frombuffer(data, ">u4", count=4)
    assert (magic, rows, cols) == (0x803, 28, 28) and count == 60_000
    return np.frombuffer(data, np.uint8, offset=16).reshape(ROWS, 28, 28)


def binarized(images: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The 0/1 lit pixels, `[n, 784]`, computed by hand: pixel / 255 > threshold."""
    return (images.reshape(len(images), -1) / 255 > threshold).astype(np.float32)


def embedding_of_binarized(dimension: int = 3) -> fc.EmbeddingColumn:
    return fc.EmbeddingColumn(fc.BinarizedColumn(fc.ImageColumn("pixels")), dimension=dimension, combiner="sum")


def test_image_column_gives_the_pixels_over_255_flattened(images):
    column = fc.ImageColumn("pixels")
    assert (column.shape, column.image_shape, column.output_dim, column.name) == ((28, 28), (28, 28, 1), 784, "pixels")
    output = fc.FeatureLayer([column])({"pixels": images}).numpy()  # uint8 straight from the file
    assert output.dtype == np.float32 and output.shape == (ROWS, 784)
    # Row-major flattening: output[b, 28 * r + c] = images[b, r, c] / 255.
    np.testing.assert_allclose(output, images.reshape(ROWS, 784) / 255, rtol=1e-6)
    # The first image (a 5) has pixel (5, 13) = 18 and reaches 255 somewhere: 18 / 255 = 0.0706, 255 / 255 = 1.
    assert images[0, 5, 13] == 18
    assert output[0, 5 * 28 + 13] == pytest.approx(18 / 255) and output[0].max() == pytest.approx(1.0)


def test_image_column_with_channels_and_its_own_scale():
    column = fc.ImageColumn("rgb", shape=(2, 2, 3), scale=0.5)
    assert column.image_shape == (2, 2, 3) and column.output_dim == 12
    pixels = np.arange(12, dtype=np.int64).reshape(1, 2, 2, 3)
    # Flattened (row, col, channel) in row-major order, each value times 0.5: 0, 0.5, ..., 5.5.
    np.testing.assert_array_equal(fc.FeatureLayer([column])({"rgb": pixels}), [np.arange(12) * 0.5])


def test_to_feature_arrays_converts_uint8_images_to_float32(images):
    column = fc.ImageColumn("pixels")
    features = raw_features([column])
    assert features["pixels"].shape == (28, 28) and features["pixels"].dtype == "float32"
    arrays = to_feature_arrays({"pixels": images}, features)
    assert arrays["pixels"].dtype == np.float32 and arrays["pixels"].shape == (ROWS, 28, 28)
    np.testing.assert_array_equal(arrays["pixels"], images.astype(np.float32))  # 0..255, unscaled: raw features


def test_binarized_ids_are_the_lit_pixels_positions_padded_with_minus_one(images):
    column = fc.BinarizedColumn(fc.ImageColumn("pixels"))
    assert (column.name, column.num_buckets, column.threshold, column.id_width) == ("pixels_binarized", 784, 0.5, None)
    layer = fc.FeatureLayer([fc.IndicatorColumn(column)])
    ids = layer.preprocessor({"pixels": images})["pixels_binarized_indicator"].numpy()
    assert ids.dtype == np.int64 and ids.shape == (ROWS, 784)  # always 784 wide: one shape for every batch
    for row in range(ROWS):
        lit = np.flatnonzero(images[row].ravel() / 255 > 0.5)  # pixels of 128 and up: 128 / 255 = 0.502
        np.testing.assert_array_equal(ids[row], np.concatenate([lit, np.full(784 - len(lit), -1)]))
    # The first image has 111 pixels above 127, the first of them at (5, 17): 5 * 28 + 17 = 157.
    assert (ids[0] >= 0).sum() == 111 and ids[0, 0] == 157
    # The indicator counts each lit position once: the 0/1 binarized image.
    np.testing.assert_array_equal(layer({"pixels": images}), binarized(images))


def test_binarized_threshold_applies_to_the_scaled_value(images):
    # threshold 0 with scale 1/255: every non-zero pixel is lit (166 of them in the first image).
    ids = fc.FeatureLayer([fc.IndicatorColumn(fc.BinarizedColumn(fc.ImageColumn("pixels"), threshold=0))])
    np.testing.assert_array_equal(ids({"pixels": images}), (images.reshape(ROWS, -1) > 0).astype(np.float32))
    assert ids({"pixels": images}).numpy()[0].sum() == 166


def test_binarized_numeric_source_uses_its_value_after_clipping():
    source = fc.NumericColumn("v", shape=(4,), clip=(0.0, 1.0))
    column = fc.BinarizedColumn(source, threshold=0.5, name="v_on")
    layer = fc.FeatureLayer([fc.IndicatorColumn(column)])
    # [2, 0.2, 0.7, -3] clips to [1, 0.2, 0.7, 0]: above 0.5 at positions 0 and 2. [0.5, 0.5, 0.5, 0.5]: none
    # (0.5 is not greater than 0.5).
    values = np.array([[2.0, 0.2, 0.7, -3.0], [0.5, 0.5, 0.5, 0.5]], np.float32)
    ids = layer.preprocessor({"v": values})["v_on_indicator"].numpy()
    np.testing.assert_array_equal(ids, [[0, 2, -1, -1], [-1, -1, -1, -1]])
    np.testing.assert_array_equal(layer({"v": values}), [[1, 0, 1, 0], [0, 0, 0, 0]])


def test_summed_embedding_of_binarized_pixels_is_binarized_times_the_table(images):
    layer = fc.FeatureLayer([embedding_of_binarized(dimension=3)])
    output = layer({"pixels": images}).numpy()
    table = layer.encoder.embeddings["pixels_binarized_embedding"].embeddings.numpy()
    assert table.shape == (784, 3) and output.shape == (ROWS, 3)
    # combiner="sum" adds the rows of the lit pixels, padding (-1) adding nothing: binarized [4, 784] @ [784, 3].
    np.testing.assert_allclose(output, binarized(images) @ table, rtol=1e-5, atol=1e-6)
    # The same as adding the first image's 111 rows one by one.
    np.testing.assert_allclose(output[0], table[np.flatnonzero(images[0].ravel() > 127)].sum(axis=0), rtol=1e-5)


def test_configs_round_trip_through_keras_registry():
    for column in (
        fc.ImageColumn("pixels", shape=(28, 28, 1), scale=0.5, name="image"),
        fc.BinarizedColumn(fc.ImageColumn("pixels"), threshold=0.25),
        fc.BinarizedColumn(fc.NumericColumn("v", shape=(4,), normalization="log")),
        embedding_of_binarized(),
    ):
        config = fc.serialize(column)
        assert fc.from_config(config) == column
        assert keras.saving.get_registered_object(f"feature_columns>{config['class_name']}") is type(column)
    assert fc.ImageColumn("pixels").get_config() == {
        "key": "pixels",
        "shape": [28, 28],
        "scale": 1 / 255,
        "name": "pixels",
    }


@pytest.mark.parametrize(
    "column",
    [
        fc.ImageColumn("pixels"),
        embedding_of_binarized(),
        fc.IndicatorColumn(fc.BinarizedColumn(fc.ImageColumn("pixels"), threshold=0.9)),
        fc.EmbeddingColumn(fc.BinarizedColumn(fc.ImageColumn("pixels")), dimension=2),  # mean of the lit rows
    ],
    ids=lambda column: column.name,
)
def test_columns_pass_the_conformance_checks(column, images, tmp_path):
    # Config round trip, FeatureLayer shape and dtype, ids in [-1, 784), tf.data.map, encoder, .keras reload.
    check_column(column, {"pixels": images}, str(tmp_path))


def test_numeric_source_passes_the_conformance_checks(tmp_path):
    values = np.random.default_rng(0).uniform(-1, 2, (8, 5)).astype(np.float32)
    column = fc.IndicatorColumn(fc.BinarizedColumn(fc.NumericColumn("v", shape=(5,)), threshold=0.0))
    check_column(column, {"v": values}, str(tmp_path))


def test_feature_layer_model_saved_as_keras_gives_the_same_outputs(images, tmp_path):
    layer = fc.FeatureLayer([fc.ImageColumn("pixels"), embedding_of_binarized()])
    raw = layer.raw_inputs()
    model = keras.Model(raw, keras.layers.Dense(2, name="dense")(layer(raw)))
    before = model.predict({"pixels": images}, verbose=0)  # uint8: Keras casts to the float32 Input
    path = tmp_path / "mnist.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict({"pixels": images}, verbose=0), before, rtol=1e-6)
    # The layer's own output: 784 scaled pixels, then binarized @ table (one raw feature read by both columns).
    features = layer({"pixels": images}).numpy()
    table = layer.encoder.embeddings["pixels_binarized_embedding"].embeddings.numpy()
    np.testing.assert_allclose(features[:, :784], images.reshape(ROWS, 784) / 255, rtol=1e-6)
    np.testing.assert_allclose(features[:, 784:], binarized(images) @ table, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: fc.ImageColumn(""), TypeError, "`key` must be a non-empty string"),
        (lambda: fc.ImageColumn("p", shape=(784,)), ValueError, r"`shape` must be \(height, width\).*shape=\(784,\)"),
        (lambda: fc.ImageColumn("p", shape=(2, 2, 1, 1)), ValueError, r"\(height, width, channels\)"),
        (lambda: fc.ImageColumn("p", shape=(28, 0)), ValueError, "`shape` must be a positive integer.*shape=0"),
        (lambda: fc.ImageColumn("p", shape=(28, 2.5)), ValueError, "`shape` must be a positive integer"),
        (lambda: fc.ImageColumn("p", shape="28x28"), TypeError, "`shape` must be a list or tuple"),
        (lambda: fc.ImageColumn("p", scale=0), ValueError, r"`scale` must be a positive number\. Received: scale=0"),
        (lambda: fc.ImageColumn("p", scale=-1.0), ValueError, "`scale` must be a positive number"),
        (lambda: fc.ImageColumn("p", scale="1/255"), ValueError, r"scale='1/255' \(of type str\)"),
        (lambda: fc.ImageColumn("p", scale=True), ValueError, "`scale` must be a positive number"),
        (
            lambda: fc.BinarizedColumn("pixels"),
            TypeError,
            r"`source` must be a dense numeric.*'pixels' \(of type str\)",
        ),
        (lambda: fc.BinarizedColumn(fc.HashedColumn("h", 4)), TypeError, r"\(of type HashedColumn\)"),
        (lambda: fc.BinarizedColumn(embedding_of_binarized()), TypeError, r"\(of type EmbeddingColumn\)"),
        (
            lambda: fc.BinarizedColumn(fc.NumericColumn("v", shape=(3,), normalization="zscore")),
            ValueError,
            "must not learn statistics",
        ),
        (
            lambda: fc.BinarizedColumn(fc.ImageColumn("p"), threshold="0.5"),
            TypeError,
            r"BinarizedColumn\('p'\): `threshold` must be a real number\. Received: threshold='0.5' \(of type str\)",
        ),
        (lambda: fc.BinarizedColumn(fc.ImageColumn("p"), threshold=True), TypeError, "`threshold` must be a real"),
        (lambda: fc.BinarizedColumn(fc.ImageColumn("p"), threshold=float("nan")), TypeError, "`threshold` must be"),
        (  # 784 positions crossed with anything would be a huge, sparse space: not crossable
            lambda: fc.CrossedColumn([fc.BinarizedColumn(fc.ImageColumn("p")), "q"], num_bins=4),
            TypeError,
            r"\(of type BinarizedColumn\)",
        ),
        (
            lambda: fc.EmbeddingColumn(fc.BinarizedColumn(fc.ImageColumn("p")), combiner=None),
            ValueError,
            r"`combiner=None`.*\['p_binarized'\] vary",
        ),
    ],
)
def test_bad_arguments_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()


# The message names the column, the feature, the expected shape and the shape received.
WRONG_SHAPE = r"ImageColumn\('pixels'\): raw feature 'pixels' must hold one image of shape \(28, 28\) per example"


@pytest.mark.parametrize(
    "columns", [[fc.ImageColumn("pixels")], [embedding_of_binarized()]], ids=["image", "binarized"]
)
def test_a_wrong_shaped_array_names_the_feature_and_the_expected_shape(images, columns):
    layer = fc.FeatureLayer(columns)
    with pytest.raises(ValueError, match=WRONG_SHAPE + r".*Received: shape \(4, 28, 27\)"):
        layer({"pixels": images[:, :, :27]})
    with pytest.raises(ValueError, match=WRONG_SHAPE + r".*Received: shape \(4, 784\)"):
        layer({"pixels": images.reshape(ROWS, 784)})  # flattened already: the column flattens itself


def test_a_wrong_shaped_serving_tensor_names_the_feature_and_the_expected_shape(images):
    layer = fc.FeatureLayer([fc.ImageColumn("pixels")])
    raw = layer.raw_inputs()
    model = keras.Model(raw, layer(raw))
    # Keras checks the model's `Input` (28, 28) first; either check names the feature and the expected shape.
    with pytest.raises(ValueError, match=r"'pixels'.*(expected shape=\(None, 28, 28\)|shape \(28, 28\))"):
        model.predict({"pixels": images[:, :, :27]}, verbose=0)
    # A serving function whose signature leaves the dimensions open checks them when it runs.
    serve = tf.function(
        lambda pixels: layer.preprocessor({"pixels": pixels}),
        input_signature=[tf.TensorSpec([None, None, None], tf.float32)],
    )
    np.testing.assert_allclose(serve(tf.constant(images, tf.float32))["pixels"], images.reshape(ROWS, 784) / 255)
    # TensorFlow's message escapes the quotes: \'pixels\'.
    graph_message = WRONG_SHAPE.replace("'", r"\\?'") + r".*Received:\] \[4 28 27\]"
    with pytest.raises(tf.errors.InvalidArgumentError, match=graph_message):
        serve(tf.constant(images[:, :, :27], tf.float32))


def test_a_missing_pixel_is_an_error(images):
    pixels = images.astype(np.float32)
    pixels[1, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"ImageColumn\('pixels'\): raw feature 'pixels' has a missing value"):
        fc.FeatureLayer([fc.ImageColumn("pixels")])({"pixels": pixels})


def test_cnn_on_an_image_column_predicts_ten_classes_from_uint8(images):
    from tfkit.heads import MultiClassHead
    from tfkit.models import cnn

    keras.utils.set_random_seed(0)
    column = fc.ImageColumn("pixels", shape=(28, 28))
    model = cnn([column], MultiClassHead(10), column.image_shape, filters=4, dense_units=8)
    logits = model({"pixels": images})
    assert tuple(logits.shape) == (ROWS, 10)
    probabilities = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), np.ones(ROWS), rtol=1e-5)  # a distribution per image
