"""Raw data to what an Estimator trains on: checked arrays or a file `Stream`, then preprocessed `tf.data` batches.

`Inputs.read` takes files (CSV, TFRecord, Parquet: paths, globs or `tfkit.data` file sources), DataFrames, dicts of
arrays, `tf.data` datasets and input_fns; arrays are checked against the columns (and the labels against the head)
before anything runs or is written, files too large for memory stream (`tfkit.data.streaming`). `Inputs.batches` maps
the feature layer's preprocessing (and the head's label preparation) over the batches in `tf.data`, parallel and
prefetched, so the model step never waits for them.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import tensorflow as tf

from feature_columns.integration import RawFeature, padding_value, to_feature_arrays
from tfkit import data as tfdata
from tfkit.data.streaming import Stream, file_source, streams


@dataclasses.dataclass(frozen=True)
class Inputs:
    """How an Estimator reads data: its feature `columns`, its `head` (label dtype, shape, weights), its `label`.

    >>> import pandas as pd
    >>> from feature_columns import NumericColumn
    >>> from tfkit.heads import RegressionHead
    >>> inputs = Inputs((NumericColumn("x"),), RegressionHead(), "y")
    >>> features, labels = inputs.read(pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}), "example")
    >>> labels.tolist()
    [3.0, 4.0]
    """

    columns: tuple
    head: object
    label: str

    def read(self, data, where: str, *, need_label: bool = True):
        """A `tf.data.Dataset` as given (an input_fn is called for it), a `Stream` of files too large for memory
        (see `tfkit.data.streaming.streams`), or checked `(features, labels)` arrays.

        Without `need_label`, labels are None. With them come the head's `weight_column` weights, among the
        features (`batches` passes them to Keras as sample weights).
        """
        if callable(data) and not isinstance(data, tf.data.Dataset):
            data = data()
        if isinstance(data, (tf.data.Dataset, Stream)):  # a Stream: from an earlier `read` (e.g. a config's test)
            return data
        weight_column = self.head.weight_column if need_label else None
        source = file_source(data)
        if source is not None:
            label = RawFeature(self.label, self.head.label_dtype, shape=self.head.label_shape) if need_label else None
            stream = Stream.of(source, self.columns, label=label, weight_column=weight_column)
            if streams(source, stream.files):
                return stream
            if not isinstance(source, tfdata.CsvFiles):
                return stream.arrays()
            return tfdata.read_csv(
                source,
                self.columns,
                label=self.label if need_label else None,
                label_dtype=self.head.label_dtype,
                label_shape=self.head.label_shape,
                weight_column=weight_column,
            )
        if isinstance(data, (pd.DataFrame, dict)):
            features = to_feature_arrays(data, tfdata.weighted_specs(self.columns, weight_column), source=where)
            if weight_column:
                features = tfdata.check_weights(features, weight_column, source=where)
            if not need_label:
                return features, None
            if self.label not in data:
                raise ValueError(
                    f"{where}: the label column {self.label!r} is missing. Received columns: {sorted(data.keys())}."
                )
            spec = RawFeature(self.label, self.head.label_dtype, shape=self.head.label_shape)
            return features, tfdata.label_array(data[self.label], spec, source=where)
        raise TypeError(
            f"{where}: `data` must be CSV path(s), a pandas DataFrame, a dict of arrays, a tf.data.Dataset of "
            f"(features, label) batches, or an input_fn returning one. Received: {type(data).__name__}."
        )

    def check_labels(self, source, where: str):
        """`source` (from `read`), once it is known to hold labels the head accepts.

        Labels in arrays are checked here, eagerly, so that e.g. `n_classes` too small for the data or a label
        missing from `label_vocabulary` is a clear `ValueError` before anything is written; a dataset's labels
        are checked as the pipeline runs.
        """
        if isinstance(source, Stream):  # checked block by block as it streams
            return source
        if isinstance(source, tf.data.Dataset):
            if not isinstance(source.element_spec, tuple):
                raise ValueError(
                    f"{where}: `data` must yield `(features, label)` pairs to train on. Received: a dataset of "
                    f"{type(source.element_spec).__name__} elements. Add the label, e.g. `dataset.map(lambda x: "
                    f"(x, x.pop({self.label!r})))`."
                )
            return source
        try:
            self.head.prepare_labels(self._listed(source[1]))
        except ValueError as error:
            raise ValueError(
                f"{where}: the labels in column {self.label!r} do not fit the head. {error} Check `n_classes` "
                "(or `label_vocabulary`) against the data."
            ) from None
        return source

    def batches(self, source, preprocessor, batch_size: int, *, shuffle: bool, seed=None, passes: float = 1):
        """`source` (from `read`) as preprocessed batches: `(features, labels[, weights])`, or features alone.

        Arrays are shuffled and batched whole (see `tfkit.data.preprocessed_batches`); while training (`shuffle`),
        the last partial batch of each epoch is left out, so that every step has one shape (one XLA compilation).
        Arrays read more than once (`passes`) are preprocessed once and kept in memory up to
        `tfkit.data.CACHE_MAX_BYTES` (see `tfkit.data.cache_rows`). A `Stream` is preprocessed a block at a
        time (see `tfkit.data.streaming.Stream.batches`), in the same order as the same rows in memory.
        """
        return self._batches(source, preprocessor, batch_size, shuffle=shuffle, seed=seed, passes=passes)[0]

    def training_batches(self, source, preprocessor, batch_size: int, *, seed=None, passes: float = 1):
        """`(dataset, packing)`: `batches` to train on, shuffled, and the `tfkit.data.Packing` of the rows when they
        are cached, which then come packed for the training step to unpack (see `HeadModel.packed_inputs`); None
        for batches as `batches` gives them."""
        return self._batches(source, preprocessor, batch_size, shuffle=True, seed=seed, passes=passes, packed=True)

    def _batches(self, source, preprocessor, batch_size: int, *, shuffle: bool, seed, passes: float, packed=False):
        # The preprocessing branches on Python values only: traced as written, without autograph's conversion of
        # every column's code (0.09 s of each trace's 0.23 s on the benchmark's columns).
        if isinstance(source, tf.data.Dataset):
            labelled = isinstance(source.element_spec, tuple)
            prepare = (lambda *example: self._prepare(preprocessor, *example)) if labelled else preprocessor
            prepare = tf.autograph.experimental.do_not_convert(prepare)
            return source.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE), None
        labels = source.label if isinstance(source, Stream) else source[1]
        if labels is None:
            prepare = preprocessor
        else:

            def prepare(features, labels, *weights):
                return self._prepare(preprocessor, features, self._listed(labels), *weights)

        prepare = tf.autograph.experimental.do_not_convert(prepare)
        options = {"batch_size": batch_size, "shuffle": shuffle, "seed": seed, "drop_remainder": shuffle}
        if isinstance(source, Stream):
            return source.batches(prepare, **options), None
        features = source[0]
        cached = tfdata.cache_rows(features, labels, prepare, seed=seed) if passes > 1 else None
        if cached is None:
            return tfdata.preprocessed_batches(features, labels, prepare, **options), None
        return cached.batches(unpacked=not packed, **options), cached.packing if packed else None

    def _prepare(self, preprocessor, features, labels, *weights):
        """Preprocessed features, the head's loss-ready labels (label vocabularies are looked up here, not in the
        model step) and, when the head has a `weight_column`, that feature as Keras sample weights."""
        if self.head.weight_column:
            weights = (features[self.head.weight_column],)
        return (preprocessor(features), self.head.prepare_labels(labels), *weights)

    def _listed(self, labels):
        """Labels read from arrays as the head takes them: a padded list per example becomes a `tf.RaggedTensor`."""
        if self.head.label_shape != (None,):
            return labels
        return tf.RaggedTensor.from_tensor(labels, padding=padding_value(self.head.label_dtype))


def rows(source) -> int | None:
    """The number of examples in arrays from `Inputs.read`; None for a dataset or a stream (not known before it
    runs)."""
    return None if isinstance(source, (tf.data.Dataset, Stream)) else len(source[1])


def adapt_data(source):
    """What `FeatureLayer.adapt` reads of `source` (from `Inputs.read`): a dataset as it is, a stream's feature
    blocks (one pass, in file order), the feature arrays."""
    if isinstance(source, tf.data.Dataset):
        return source
    return source.features() if isinstance(source, Stream) else source[0]
