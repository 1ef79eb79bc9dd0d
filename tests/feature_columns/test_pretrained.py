"""Pretrained embedding tables: every source format, re-mapping by token, freezing, reloading, bad input."""

import logging
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import feature_columns as fc
from feature_columns import legacy
from feature_columns.testing import check_column
from tfkit.export import export_saved_model
from tfkit.heads import RegressionHead
from tfkit.models import dnn

rng = np.random.default_rng(11)


def table_of(layer: fc.FeatureLayer, column) -> np.ndarray:
    return keras.ops.convert_to_numpy(layer.encoder.embeddings[column.name].embeddings)


def write_lines(path, lines) -> str:
    path.write_text("".join(f"{line}\n" for line in lines))
    return str(path)


# -- the course's transfer: a day x hour embedding trained on one city, frozen in another ---------------------


def traffic(rows: int, city_shift: float, seed: int) -> tuple:
    """Synthetic traffic volume by day of week and hour of day: rush hours on weekdays, plus a city effect."""
    r = np.random.default_rng(seed)
    day, hour = r.integers(0, 7, rows), r.integers(0, 24, rows)
    rush = ((hour == 8) | (hour == 17)) & (day < 5)
    temperature = r.normal(15, 8, rows).astype("float32")
    volume = 1.0 + 2.0 * rush + 0.5 * (day >= 5) + city_shift * temperature / 10 + r.normal(0, 0.1, rows)
    return {"day": day, "hour": hour, "temperature": temperature}, volume.astype("float32")


def day_hour_embedding(**kwargs) -> fc.EmbeddingColumn:
    day, hour = fc.IdentityColumn("day", num_buckets=7), fc.IdentityColumn("hour", num_buckets=24)
    return fc.EmbeddingColumn(fc.CrossedColumn((day, hour), num_bins=168, name="day_hr"), dimension=4, **kwargs)


def regression_model(layer: fc.FeatureLayer) -> keras.Model:
    inputs = layer.raw_inputs()
    hidden = keras.layers.Dense(8, activation="relu")(layer(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model


def every_day_hour() -> dict:
    day, hour = np.meshgrid(np.arange(7), np.arange(24), indexing="ij")
    return {"day": day.ravel(), "hour": hour.ravel(), "temperature": np.zeros(168, "float32")}


def test_a_day_hour_embedding_trained_in_london_is_transferred_frozen_to_frankfurt(tmp_path):
    london_column = day_hour_embedding()
    london_layer = fc.FeatureLayer([london_column])
    london = regression_model(london_layer)
    features, volume = traffic(4000, city_shift=0.0, seed=1)
    initial = table_of(london_layer, london_column)
    london.fit({k: features[k] for k in ("day", "hour")}, volume, epochs=3, batch_size=64, verbose=0)
    london_table = table_of(london_layer, london_column)
    assert not np.array_equal(london_table, initial)  # London trained its table
    london.save(tmp_path / "london.keras")

    source = fc.PretrainedModel(str(tmp_path / "london.keras"), column="day_hr_embedding")
    frozen = day_hour_embedding(trainable=False, pretrained=source)
    frankfurt_layer = fc.FeatureLayer([frozen, fc.NumericColumn("temperature")])
    np.testing.assert_array_equal(table_of(frankfurt_layer, frozen), london_table)
    frankfurt = regression_model(frankfurt_layer)
    hidden_before = keras.ops.convert_to_numpy(frankfurt.layers[-2].kernel).copy()
    features, volume = traffic(2000, city_shift=1.0, seed=2)
    frankfurt.fit(features, volume, epochs=3, batch_size=64, verbose=0)

    assert not np.array_equal(keras.ops.convert_to_numpy(frankfurt.layers[-2].kernel), hidden_before)  # it trained
    assert table_of(frankfurt_layer, frozen).tobytes() == london_table.tobytes()  # but not the frozen table
    grid = every_day_hour()
    np.testing.assert_array_equal(
        frankfurt_layer(grid).numpy()[:, :4], london_layer({k: grid[k] for k in ("day", "hour")}).numpy()
    )

    # Saved with the model: reloading reads the weights, never the (now deleted) London model.
    frankfurt.save(tmp_path / "frankfurt.keras")
    os.remove(tmp_path / "london.keras")
    reloaded = keras.saving.load_model(tmp_path / "frankfurt.keras")
    np.testing.assert_allclose(reloaded.predict(grid, verbose=0), frankfurt.predict(grid, verbose=0), rtol=1e-6)


# -- tf.estimator's checkpoints -----------------------------------------------------------------------------

DAY_HOURS = [f"{day}-{hour:02d}" for day in ("mon", "tue", "sat") for hour in (7, 8, 17)]
TF_TENSOR = "dnn/input_from_feature_columns/input_layer/day_hr_embedding/embedding_weights"


def write_tf_estimator_checkpoint(folder, tokens, *, steps=(1000,), **saver_options) -> np.ndarray:
    """A tf.feature_column embedding of a vocabulary list with 3 OOV buckets, saved under tf.estimator's names
    with a `tf.compat.v1` Saver (given `saver_options`); returns tf's own lookups of `tokens`."""
    with tf.Graph().as_default():
        feature = tf.compat.v1.placeholder(tf.string, [None, 1])
        column = tf.feature_column.embedding_column(
            tf.feature_column.categorical_column_with_vocabulary_list("day_hr", DAY_HOURS, num_oov_buckets=3), 4
        )
        with tf.compat.v1.variable_scope("dnn"), tf.compat.v1.variable_scope("input_from_feature_columns"):
            output = tf.compat.v1.feature_column.input_layer({"day_hr": feature}, [column])
        saver = tf.compat.v1.train.Saver(**saver_options)
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
            for step in steps:
                saver.save(session, os.path.join(folder, "model.ckpt"), global_step=step)
            return session.run(output, {feature: np.array(tokens)[:, None]})


def test_a_tf_estimator_checkpoint_gives_every_token_its_old_vector_oov_buckets_included(tmp_path):
    unknown = [f"fri-{hour:02d}" for hour in range(24)] + ["Mon-07", "holiday"]  # ("" pads in tf)
    tokens = DAY_HOURS + unknown
    expected = write_tf_estimator_checkpoint(str(tmp_path), tokens)
    assert tf.train.list_variables(str(tmp_path)) == [(TF_TENSOR, [len(DAY_HOURS) + 3, 4])]
    # The unknown values hash into all three OOV buckets, so every OOV row is compared.
    assert len(np.unique(expected[len(DAY_HOURS) :], axis=0)) == 3

    day_hr = legacy.categorical_column_with_vocabulary_list("day_hr", DAY_HOURS, num_oov_buckets=3)
    for path in (str(tmp_path / "*ckpt-1000*"), str(tmp_path), str(tmp_path / "model.ckpt-1000")):
        column = legacy.embedding_column(day_hr, 4, ckpt_to_load_from=path, tensor_name_in_ckpt=TF_TENSOR)
        assert column.pretrained == fc.PretrainedCheckpoint(path, TF_TENSOR, oov_position="last")
        layer = fc.FeatureLayer([column])
        np.testing.assert_array_equal(layer({"day_hr": np.array(tokens)}).numpy(), expected)


def test_a_tf1_v1_single_file_checkpoint_is_read_by_prefix_directory_glob_or_its_meta_file(tmp_path):
    # Saver(write_version=V1) writes one table file, `model.ckpt-1000`, and `model.ckpt-1000.meta`; no `.index`.
    tokens = [*DAY_HOURS, "fri-08", "holiday", "sun-17"]
    v1 = tf.compat.v1.train.SaverDef.V1
    expected = write_tf_estimator_checkpoint(str(tmp_path), tokens, write_version=v1)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.ckpt-1000", "model.ckpt-1000.meta"]
    day_hr = legacy.categorical_column_with_vocabulary_list("day_hr", DAY_HOURS, num_oov_buckets=3)

    def lookups(path):
        column = legacy.embedding_column(day_hr, 4, ckpt_to_load_from=path, tensor_name_in_ckpt=TF_TENSOR)
        return fc.FeatureLayer([column])({"day_hr": np.array(tokens)}).numpy()

    paths = ("*ckpt-1000*", "", "model.ckpt-1000", "model.ckpt-1000.meta")
    for path in paths:
        np.testing.assert_array_equal(lookups(str(tmp_path / path)), expected, err_msg=path)
    os.remove(tmp_path / "checkpoint")  # without it, a directory's checkpoint is found among its files
    np.testing.assert_array_equal(lookups(str(tmp_path)), expected)

    # A sharded V1 checkpoint is the files `model.ckpt-1000-00000-of-00001`, ..., read by their pattern.
    sharded = tmp_path / "sharded"
    sharded.mkdir()
    expected = write_tf_estimator_checkpoint(str(sharded), tokens, write_version=v1, sharded=True)
    for path in ("*ckpt-1000*", ""):
        np.testing.assert_array_equal(lookups(str(sharded / path)), expected, err_msg=path)


def test_a_file_that_is_no_checkpoint_is_not_taken_for_a_v1_checkpoint(tmp_path):
    (tmp_path / "model.ckpt-1000").write_text("not a checkpoint table\n")
    day_hr = legacy.categorical_column_with_vocabulary_list("day_hr", DAY_HOURS, num_oov_buckets=3)
    path = str(tmp_path / "model.ckpt-1000")
    column = legacy.embedding_column(day_hr, 4, ckpt_to_load_from=path, tensor_name_in_ckpt=TF_TENSOR)
    layer_error(
        column,
        r"EmbeddingColumn\('day_hr_embedding'\): `path` of PretrainedCheckpoint.*must name exactly one checkpoint "
        r"\(a `<prefix>.index` file and its data, or a TF1 V1 checkpoint file\).*which names 0",
    )


def test_legacy_embedding_column_needs_both_checkpoint_arguments_and_keeps_trainable(tmp_path):
    day_hr = legacy.categorical_column_with_vocabulary_list("day_hr", DAY_HOURS, num_oov_buckets=3)
    with pytest.raises(ValueError, match=r"embedding_column\('day_hr'\).*must be given together"):
        legacy.embedding_column(day_hr, 4, ckpt_to_load_from=str(tmp_path))
    column = legacy.embedding_column(
        day_hr, 4, ckpt_to_load_from=str(tmp_path), tensor_name_in_ckpt=TF_TENSOR, trainable=False
    )
    assert column.trainable is False
    hashed = legacy.categorical_column_with_hash_bucket("city", 10)
    plain = legacy.embedding_column(hashed, 4, ckpt_to_load_from="old", tensor_name_in_ckpt="emb")
    assert plain.pretrained == fc.PretrainedCheckpoint("old", "emb")  # hashed ids are tf's: rows in order


def test_a_partitioned_tf1_table_is_read_whole(tmp_path):
    # tf.estimator could partition input layer variables; its Saver wrote them under one name, in slices.
    name = "dnn/input_from_feature_columns/input_layer/zone_embedding/embedding_weights"
    with tf.Graph().as_default():
        scope, variable_name = name.rsplit("/", 1)
        with tf.compat.v1.variable_scope(scope):
            parts = tf.compat.v1.get_variable(
                variable_name, shape=[7, 3], partitioner=tf.compat.v1.fixed_size_partitioner(2)
            )
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            expected = session.run(tf.concat(list(parts), 0))
            tf.compat.v1.train.Saver().save(session, str(tmp_path / "model.ckpt"), global_step=1)
    column = legacy.embedding_column(
        legacy.categorical_column_with_identity("zone", 7), 3, ckpt_to_load_from=str(tmp_path), tensor_name_in_ckpt=name
    )
    np.testing.assert_array_equal(table_of(fc.FeatureLayer([column]), column), expected)


# -- TF2 checkpoints, SavedModels, matrix files --------------------------------------------------------------


def test_a_tf2_object_checkpoint_by_directory_with_or_without_the_value_suffix(tmp_path):
    matrix = rng.normal(size=(5, 3)).astype("float32")
    tf.train.Checkpoint(embedding=tf.Variable(matrix)).save(str(tmp_path / "ckpt"))
    ids = fc.IdentityColumn("zone", num_buckets=5)
    for name in ("embedding", "embedding/.ATTRIBUTES/VARIABLE_VALUE"):
        column = fc.EmbeddingColumn(ids, dimension=3, pretrained=fc.PretrainedCheckpoint(str(tmp_path), name))
        np.testing.assert_array_equal(table_of(fc.FeatureLayer([column]), column), matrix)


def test_a_checkpoint_matched_by_a_given_vocabulary(tmp_path, caplog):
    # Rows: 1 OOV row first (a Keras table), then "b", "a", "z".
    matrix = np.arange(8, dtype="float32").reshape(4, 2)
    tf.train.Checkpoint(table=tf.Variable(matrix)).save(str(tmp_path / "ckpt"))
    source = fc.PretrainedCheckpoint(str(tmp_path), "table", vocabulary=["b", "a", "z"], num_oov_indices=1)
    column = fc.EmbeddingColumn(fc.VocabularyColumn("v", ["a", "b", "c"]), dimension=2, pretrained=source)
    with caplog.at_level(logging.INFO, logger="feature_columns.remap"):
        table = table_of(fc.FeatureLayer([column]), column)
    np.testing.assert_array_equal(table[:3], matrix[[0, 2, 1]])  # OOV, "a", "b"
    assert "3 matched, 1 new (freshly initialised), 1 dropped" in caplog.text  # "c" is new, "z" dropped


def test_a_tfkit_saved_model_table_by_column_name(tmp_path):
    ids = fc.IdentityColumn("zone", num_buckets=6)
    source_column = fc.EmbeddingColumn(ids, dimension=3, name="zone_vectors")
    layer = fc.FeatureLayer([source_column])
    inputs = layer.raw_inputs()
    keras.Model(inputs, layer(inputs)).export(str(tmp_path / "export"), verbose=False)
    column = fc.EmbeddingColumn(
        ids, dimension=3, pretrained=fc.PretrainedModel(str(tmp_path / "export"), "zone_vectors")
    )
    np.testing.assert_array_equal(table_of(fc.FeatureLayer([column]), column), table_of(layer, source_column))

    other = fc.EmbeddingColumn(
        fc.IdentityColumn("zone", num_buckets=7), dimension=3, pretrained=column.pretrained, name="zone7"
    )
    with pytest.raises(ValueError, match=r"EmbeddingColumn\('zone7'\).*export.*shape \(num_buckets, dimension\)"):
        fc.FeatureLayer([other])


def export_tfkit_model(folder, column, data=None) -> tuple:
    """Exports a tfkit DNN over `column` (adapted to `data`, if given); returns the export's path and the table."""
    layer = fc.FeatureLayer([column])
    if data is not None:
        layer.adapt(data)
    return export_saved_model(dnn(layer, RegressionHead(), hidden_units=[2]), str(folder)), table_of(layer, column)


def test_a_tfkit_saved_model_matches_its_learned_vocabulary_to_shuffled_missing_and_new_tokens(tmp_path, caplog):
    learned = fc.VocabularyColumn("tag", max_tokens=4)  # 1 OOV id, then the 3 most frequent tokens
    tags = {"tag": np.array(["a", "c", "c", "a", "c", "d"])}
    path, old = export_tfkit_model(tmp_path, fc.EmbeddingColumn(learned, dimension=2, name="tags"), tags)
    # The export's rows: OOV, "c" (3 times), "a" (twice), "d"; it records that adapted vocabulary.
    source = fc.PretrainedModel(path, column="tags")
    target = fc.VocabularyColumn("tag", ["d", "x", "a"])
    column = fc.EmbeddingColumn(target, dimension=2, pretrained=source, initializer="zeros")
    with caplog.at_level(logging.INFO, logger="feature_columns.remap"):
        table = table_of(fc.FeatureLayer([column]), column)
    np.testing.assert_array_equal(table[[0, 1, 3]], old[[0, 3, 2]])  # target OOV, "d", "a" <- source rows 0, 3, 2
    np.testing.assert_array_equal(table[2], [0.0, 0.0])  # "x" is new: the column's initializer
    assert "3 matched, 1 new (freshly initialised), 1 dropped" in caplog.text  # "c" dropped


def test_a_saved_model_without_recorded_columns_is_copied_in_order_and_shape_checked(tmp_path):
    tags = fc.VocabularyColumn("tag", ["a", "b", "c"])
    path, old = export_tfkit_model(tmp_path, fc.EmbeddingColumn(tags, dimension=2, name="tags"))
    reversed_tags = fc.VocabularyColumn("tag", ["c", "b", "a"])
    column = fc.EmbeddingColumn(reversed_tags, dimension=2, pretrained=fc.PretrainedModel(path, "tags"))
    np.testing.assert_array_equal(table_of(fc.FeatureLayer([column]), column), old[[0, 3, 2, 1]])  # OOV, c, b, a

    os.remove(os.path.join(path, "assets.extra", "feature_columns.json"))  # as tfkit exported before recording it
    np.testing.assert_array_equal(table_of(fc.FeatureLayer([column]), column), old)  # in order: rows are ids
    more = fc.VocabularyColumn("tag", ["a", "b", "c", "d"])  # 1 OOV row + 4 tokens = 5 rows; the export has 4
    layer_error(
        fc.EmbeddingColumn(more, dimension=2, pretrained=column.pretrained),
        r"EmbeddingColumn\('tag_embedding'\): the table of PretrainedModel\('.*', column='tags'\) must have shape "
        r"\(num_buckets, dimension\) = \(5, 2\)\. Received: shape \(4, 2\)",
    )


def test_a_npy_matrix_with_a_vocabulary_file_shuffled_missing_and_new_tokens(tmp_path, caplog):
    # The source: a Keras-style table with 2 OOV rows, then "sat", "mon", "sun", "tue".
    matrix = rng.normal(size=(6, 3)).astype("float32")
    np.save(tmp_path / "table.npy", matrix)
    vocabulary = write_lines(tmp_path / "vocab.txt", ["sat", "mon", "sun", "tue"])
    source = fc.PretrainedMatrix(str(tmp_path / "table.npy"), vocabulary=vocabulary, num_oov_indices=2)
    days = fc.VocabularyColumn("day", ["mon", "tue", "wed", "sun"], num_oov_indices=2)
    column = fc.EmbeddingColumn(days, dimension=3, pretrained=source, initializer="zeros")
    with caplog.at_level(logging.INFO, logger="feature_columns.remap"):
        layer = fc.FeatureLayer([column])
    table = table_of(layer, column)
    np.testing.assert_array_equal(table[[0, 1, 2, 3, 5]], matrix[[0, 1, 3, 5, 4]])  # OOV 0, OOV 1, mon, tue, sun
    np.testing.assert_array_equal(table[4], np.zeros(3))  # "wed" is new: the column's initializer
    assert "EmbeddingColumn('day_embedding')" in caplog.text
    assert "5 matched, 1 new (freshly initialised), 1 dropped" in caplog.text  # "sat" dropped
    ids = layer.preprocessor({"day": np.array(["sun", "wed"])})["day_embedding"].numpy().ravel()
    np.testing.assert_array_equal(layer({"day": np.array(["sun", "wed"])}).numpy(), table[ids])


def test_tf_feature_column_layout_of_the_columns_own_vocabulary_in_a_npy(tmp_path):
    # tf.feature_column's order for vocabulary ["x", "y"] with 2 OOV buckets: x, y, OOV 0, OOV 1.
    matrix = np.arange(8, dtype="float32").reshape(4, 2)
    np.save(tmp_path / "table.npy", matrix)
    source = fc.PretrainedMatrix(str(tmp_path / "table.npy"), oov_position="last")
    column = fc.EmbeddingColumn(fc.VocabularyColumn("v", ["x", "y"], num_oov_indices=2), 2, pretrained=source)
    np.testing.assert_array_equal(table_of(fc.FeatureLayer([column]), column), matrix[[2, 3, 0, 1]])


def test_glove_and_word2vec_text_match_tokens_even_with_spaces_and_integer_vocabularies(tmp_path, caplog):
    glove = write_lines(tmp_path / "glove.txt", ["the 0.5 0.5", "new york 1.0 2.0", "paris 3.0 4.0", "", "x 9 9"])
    cities = fc.VocabularyColumn("city", ["paris", "new york", "rome"])
    column = fc.EmbeddingColumn(cities, dimension=2, pretrained=fc.PretrainedMatrix(glove), initializer="ones")
    with caplog.at_level(logging.INFO, logger="feature_columns.remap"):
        table = table_of(fc.FeatureLayer([column]), column)
    np.testing.assert_array_equal(table, [[1, 1], [3, 4], [1, 2], [1, 1]])  # OOV and "rome" are new
    assert "2 matched, 2 new (freshly initialised), 2 dropped" in caplog.text  # "the" and "x" unread

    word2vec = write_lines(tmp_path / "w2v.txt", ["2 3", "10 1 2 3", "30 4 5 6"])
    zones = fc.VocabularyColumn("zone", [30, 10], dtype="int64", num_oov_indices=0)
    column = fc.EmbeddingColumn(zones, dimension=3, pretrained=fc.PretrainedMatrix(word2vec))
    np.testing.assert_array_equal(table_of(fc.FeatureLayer([column]), column), [[4, 5, 6], [1, 2, 3]])


def write_word2vec_binary(path, vectors: dict, *, header: str | None = None, newlines: bool = True) -> str:
    """Writes `vectors` as word2vec's C tool does: the line `<tokens> <dimension>` (or `header`), then per token
    its UTF-8 bytes, a space, its float32 values (little-endian) and, if `newlines`, a newline."""
    dimension = len(next(iter(vectors.values())))
    data = f"{header or f'{len(vectors)} {dimension}'}\n".encode()
    for token, vector in vectors.items():
        data += token.encode() + b" " + np.asarray(vector, "<f4").tobytes() + (b"\n" if newlines else b"")
    path.write_bytes(data)
    return str(path)


def test_binary_word2vec_matches_tokens_found_by_extension_or_format(tmp_path, caplog):
    vectors = {"paris": [1.0, 2.0], "zürich": [3.5, -4.0], "the": [9.0, 9.0]}
    cities = fc.VocabularyColumn("city", ["zürich", "paris", "rome"])
    sources = [
        fc.PretrainedMatrix(write_word2vec_binary(tmp_path / "vectors.bin", vectors)),
        fc.PretrainedMatrix(
            write_word2vec_binary(tmp_path / "vectors.w2v", vectors, newlines=False), format="word2vec_binary"
        ),
    ]
    for source in sources:
        column = fc.EmbeddingColumn(cities, dimension=2, pretrained=source, initializer="ones")
        assert fc.from_config(fc.serialize(column)) == column
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="feature_columns.remap"):
            table = table_of(fc.FeatureLayer([column]), column)
        np.testing.assert_array_equal(table, [[1, 1], [3.5, -4], [1, 2], [1, 1]])  # OOV and "rome" are new
        assert "2 matched, 2 new (freshly initialised), 1 dropped" in caplog.text  # "the" unread


def test_bad_binary_word2vec_files_name_the_column_and_the_file(tmp_path):
    vectors = {"paris": [1.0, 2.0], "rome": [3.0, 4.0]}
    cities = fc.VocabularyColumn("city", ["paris", "rome"])

    def error(path: str, match: str):
        source = fc.PretrainedMatrix(path)
        layer_error(
            fc.EmbeddingColumn(cities, dimension=2, pretrained=source), rf"EmbeddingColumn\('city_embedding'\): {match}"
        )

    truncated = tmp_path / "truncated.bin"
    write_word2vec_binary(truncated, vectors)
    truncated.write_bytes(truncated.read_bytes()[:-5])  # rome's last float32 (4 bytes) and newline are cut off
    error(
        str(truncated),
        r"PretrainedMatrix\('.*truncated.bin'\) must hold the 2 tokens, each with 2 float32 values, that its header "
        r"announces\. Received: a file that ends after 1 of them\. The file is truncated or its header is wrong",
    )
    # Header dimension 3: "paris" takes 12 bytes (its 8, "\n", "rom"), then "e" lacks 12 more (9 are left).
    error(write_word2vec_binary(tmp_path / "wide.bin", vectors, header="2 3"), r".*wide.bin.*ends after 1 of them")
    # Header count 1: after "paris", "\n" + "rome " + 8 bytes + "\n" = 15 bytes remain.
    error(
        write_word2vec_binary(tmp_path / "fewer.bin", vectors, header="1 2"),
        r"PretrainedMatrix\('.*fewer.bin'\) must hold the 1 tokens.*Received: 15 more bytes after them",
    )
    error(
        write_lines(tmp_path / "text.bin", ["paris 1 2"]),
        r"PretrainedMatrix\('.*text.bin'\) must be a binary word2vec file, starting with the line "
        r"'<tokens> <dimension>'\. Received: a file starting b'paris 1 2\\n'.*`format=\"text\"`",
    )
    with pytest.raises(ValueError, match=r"PretrainedMatrix: `format` must be one of \('npy', 'text', 'word2vec_bi"):
        fc.PretrainedMatrix("vectors.bin", format="bin")


def test_a_keras_model_remaps_a_changed_and_a_learned_vocabulary(tmp_path, caplog):
    old = fc.EmbeddingColumn(fc.VocabularyColumn("tag", ["a", "b", "c", "d"]), dimension=2, name="tags")
    old_layer = fc.FeatureLayer([old])
    inputs = old_layer.raw_inputs()
    keras.Model(inputs, old_layer(inputs)).save(tmp_path / "old.keras")
    old_table = table_of(old_layer, old)  # rows: OOV, a, b, c, d

    source = fc.PretrainedModel(str(tmp_path / "old.keras"), column="tags")
    learned = fc.VocabularyColumn("tag", max_tokens=5, num_oov_indices=2)
    column = fc.EmbeddingColumn(learned, dimension=2, pretrained=source, initializer="zeros")
    layer = fc.FeatureLayer([column])
    with caplog.at_level(logging.INFO, logger="feature_columns.remap"):
        layer.adapt({"tag": np.array(["d", "d", "d", "b", "b", "x"])})  # vocabulary: d, b, x
    table = table_of(layer, column)
    np.testing.assert_array_equal(table[[2, 3]], old_table[[4, 2]])  # d, b
    np.testing.assert_array_equal(table[[0, 1, 4]], np.zeros((3, 2)))  # 2 OOV rows (the old had 1), x
    assert "2 matched, 3 new (freshly initialised), 3 dropped" in caplog.text


def test_a_learned_vocabulary_waits_for_adapt_before_the_table_is_used(tmp_path):
    vectors = write_lines(tmp_path / "v.txt", ["a 1 2"])
    column = fc.EmbeddingColumn(
        fc.VocabularyColumn("tag", max_tokens=3), dimension=2, pretrained=fc.PretrainedMatrix(vectors)
    )
    layer = fc.FeatureLayer([column])
    with pytest.raises(ValueError, match=r"pretrained tables.*'tag_embedding'.*Adapt the FeatureLayer"):
        keras.Model(layer.preprocessed_inputs(), layer.encoder(layer.preprocessed_inputs()))
    layer.adapt({"tag": np.array(["a", "b"])})
    np.testing.assert_array_equal(layer({"tag": np.array(["a"])}).numpy(), [[1, 2]])


def test_trainable_true_fine_tunes_the_loaded_table(tmp_path):
    matrix = rng.normal(size=(4, 2)).astype("float32")
    np.save(tmp_path / "t.npy", matrix)
    column = fc.EmbeddingColumn(
        fc.IdentityColumn("k", num_buckets=4), dimension=2, pretrained=fc.PretrainedMatrix(str(tmp_path / "t.npy"))
    )
    layer = fc.FeatureLayer([column])
    np.testing.assert_array_equal(table_of(layer, column), matrix)
    inputs = layer.raw_inputs()
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit({"k": np.arange(4)}, np.arange(4, dtype="float32"), epochs=2, verbose=0)
    assert not np.allclose(table_of(layer, column), matrix)


def test_pretrained_columns_round_trip_and_pass_the_column_harness(tmp_path):
    np.save(tmp_path / "t.npy", rng.normal(size=(3, 2)).astype("float32"))
    references = [
        fc.PretrainedCheckpoint("ckpt/*-1000*", "emb", vocabulary=["a", "b"], num_oov_indices=1, oov_position="last"),
        fc.PretrainedModel("model.keras", column="tag_embedding"),
        fc.PretrainedMatrix(str(tmp_path / "t.npy"), vocabulary=("b", "a"), num_oov_indices=1),
    ]
    tags = fc.VocabularyColumn("tag", ["a", "b"])
    for reference in references:
        column = fc.EmbeddingColumn(tags, dimension=2, pretrained=reference)
        assert fc.from_config(fc.serialize(column)) == column
    check_column(fc.EmbeddingColumn(tags, dimension=2, pretrained=references[2]), {"tag": ["a", "b", "c"]}, tmp_path)


# -- bad input: each error names the column and the source ---------------------------------------------------


def layer_error(column, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fc.FeatureLayer([column])


def test_checkpoint_globs_that_match_no_checkpoint_or_several(tmp_path):
    write_tf_estimator_checkpoint(str(tmp_path), ["mon-07"], steps=(1000, 2000))
    day_hr = legacy.categorical_column_with_vocabulary_list("day_hr", DAY_HOURS, num_oov_buckets=3)
    for pattern, count in (("*ckpt-999*", 0), ("*ckpt*", 2)):
        path = str(tmp_path / pattern)
        column = legacy.embedding_column(day_hr, 4, ckpt_to_load_from=path, tensor_name_in_ckpt=TF_TENSOR)
        layer_error(
            column,
            rf"EmbeddingColumn\('day_hr_embedding'\): `path` of PretrainedCheckpoint\('{re.escape(path)}'.*"
            rf"must name exactly one checkpoint.*which names {count}.*ckpt-1000",
        )
    missing = legacy.embedding_column(
        day_hr, 4, ckpt_to_load_from=str(tmp_path / "nope.ckpt"), tensor_name_in_ckpt=TF_TENSOR
    )
    layer_error(missing, r"'day_hr_embedding'.*nope.ckpt.*names 0: \[\]\. Check the path")


def test_an_unknown_tensor_name_lists_the_checkpoints_tables(tmp_path):
    write_tf_estimator_checkpoint(str(tmp_path), ["mon-07"])
    day_hr = legacy.categorical_column_with_vocabulary_list("day_hr", DAY_HOURS, num_oov_buckets=3)
    column = legacy.embedding_column(
        day_hr, 4, ckpt_to_load_from=str(tmp_path), tensor_name_in_ckpt="dnn/day_hr_embedding/weights"
    )
    layer_error(
        column,
        r"EmbeddingColumn\('day_hr_embedding'\): `tensor_name` must name a tensor of the checkpoint.*"
        r"Received: tensor_name='dnn/day_hr_embedding/weights'.*input_layer/day_hr_embedding/embedding_weights",
    )


def test_wrong_shapes_explain_how_rows_are_counted(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((4, 3), "float32"))
    source = fc.PretrainedMatrix(str(tmp_path / "t.npy"))
    days = fc.VocabularyColumn("day", ["mon", "tue", "wed", "thu"])  # 1 OOV row + 4 values = 5 rows
    layer_error(
        fc.EmbeddingColumn(days, dimension=3, pretrained=source),
        r"EmbeddingColumn\('day_embedding'\): the table of PretrainedMatrix\('.*t.npy'\) must have shape "
        r"\(num_buckets, dimension\) = \(5, 3\)\. Received: shape \(4, 3\)\. 'day' has num_buckets=5 rows: 1 OOV "
        r"row\(s\) first \(num_oov_indices\), then 4 vocabulary rows\. There is no mask row",
    )
    layer_error(
        fc.EmbeddingColumn(days, dimension=2, pretrained=source),
        r"EmbeddingColumn\('day_embedding'\): the table of PretrainedMatrix\('.*t.npy'\) must be 2-D with 2 values "
        r"per row.*Received: shape \(4, 3\)",
    )


def test_a_vocabulary_file_whose_length_does_not_match_the_matrix(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((4, 2), "float32"))
    vocabulary = write_lines(tmp_path / "vocab.txt", ["a", "b", "c"])
    source = fc.PretrainedMatrix(str(tmp_path / "t.npy"), vocabulary=vocabulary)
    layer_error(
        fc.EmbeddingColumn(fc.VocabularyColumn("tag", ["a"]), dimension=2, pretrained=source),
        r"EmbeddingColumn\('tag_embedding'\): the vocabulary of PretrainedMatrix\('.*t.npy'\) must name one row "
        r"of its table per line. Received: 3 rows named \(0 OOV rows and 3 tokens\) for a table of 4 rows",
    )


def test_other_bad_references(tmp_path):
    with pytest.raises(ValueError, match=r"PretrainedMatrix: `vocabulary`.*apply to `.npy` files"):
        fc.PretrainedMatrix("glove.txt", vocabulary=["a"])
    with pytest.raises(ValueError, match=r"`oov_position` must be one of \('first', 'last'\)"):
        fc.PretrainedCheckpoint("ckpt", "emb", oov_position="end")
    with pytest.raises(TypeError, match=r"EmbeddingColumn\('k'\): `pretrained` must be a PretrainedCheckpoint"):
        fc.EmbeddingColumn(fc.IdentityColumn("k", 3), pretrained="ckpt")

    text = write_lines(tmp_path / "v.txt", ["a 1 2"])
    ids = fc.IdentityColumn("k", num_buckets=3)
    layer_error(
        fc.EmbeddingColumn(ids, dimension=2, pretrained=fc.PretrainedMatrix(text)),
        r"EmbeddingColumn\('k_embedding'\): the text file of PretrainedMatrix.*IdentityColumn without a vocabulary",
    )
    layer_error(
        fc.EmbeddingColumn(ids, dimension=2, pretrained=fc.PretrainedMatrix(str(tmp_path / "none.npy"))),
        r"EmbeddingColumn\('k_embedding'\): `path` of PretrainedMatrix\('.*none.npy'\) must be an existing file",
    )
    bad = write_lines(tmp_path / "bad.txt", ["a 1 2", "b 1"])
    tags = fc.VocabularyColumn("tag", ["a", "b"])
    layer_error(
        fc.EmbeddingColumn(tags, dimension=2, pretrained=fc.PretrainedMatrix(bad)),
        r"EmbeddingColumn\('tag_embedding'\): each line of PretrainedMatrix\('.*bad.txt'\) must hold a token and 2 "
        r"floats. Received: line 2 holds 2 fields",
    )

    layer = fc.FeatureLayer([fc.EmbeddingColumn(tags, dimension=2)])
    inputs = layer.raw_inputs()
    keras.Model(inputs, layer(inputs)).save(tmp_path / "m.keras")
    layer_error(
        fc.EmbeddingColumn(tags, dimension=2, pretrained=fc.PretrainedModel(str(tmp_path / "m.keras"), "tags")),
        r"EmbeddingColumn\('tag_embedding'\): `column` of PretrainedModel\('.*m.keras', column='tags'\) must name "
        r"an embedding column of the model.*\['tag_embedding'\]",
    )
    layer_error(
        fc.EmbeddingColumn(tags, dimension=2, pretrained=fc.PretrainedModel(str(tmp_path), "tag_embedding")),
        r"EmbeddingColumn\('tag_embedding'\): `path` of PretrainedModel.*must be an existing `.keras` file or "
        r"SavedModel folder",
    )
