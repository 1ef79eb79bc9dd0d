"""`FeatureLayer`: compiles column specs into Keras layers and owns all feature state."""

from __future__ import annotations

import keras
import pandas as pd

from feature_columns.adapt import ADAPT_BATCH_SIZE, compute_state
from feature_columns.base import from_config, serialize
from feature_columns.encoding import FeatureEncoder
from feature_columns.inputs import to_feature_arrays, to_tensors
from feature_columns.preprocessing import FeaturePreprocessor, resolve_state
from feature_columns.specs import check_columns, preprocessed_spec, raw_features, walk


@keras.saving.register_keras_serializable(package="feature_columns")
class FeatureLayer(keras.layers.Layer):
    """Raw features in, one dense float32 tensor out, for the deep part of a model.

    It is two stages, each a Keras layer: `preprocessor` (scaling, bucketizing, hashing, crossing, vocabulary
    lookups, tokenizing; no trainable weights, so it can run in `tf.data` while training) and `encoder`
    (embedding tables and one-hot encodings). Calling the layer runs both. `adapt` learns every column's
    statistics and vocabularies in one pass. The output concatenates the columns in the order given.

    Args:
        columns: the dense columns (numeric, distance, embedding, shared embedding, indicator), in output order.
        state: statistics from an earlier `adapt` (as `get_config` saves them).
        read_pretrained: read the `pretrained` sources of embedding columns (see `FeatureEncoder`); a reloaded
            layer passes False, its saved weights holding the tables.

    Called with a dict of tensors or arrays (multivalent features padded, or `tf.RaggedTensor`s), or a
    pandas DataFrame, which is converted and checked as `adapt` checks its data.

    Example:

    >>> import pandas as pd
    >>> from feature_columns import NumericColumn, IndicatorColumn, VocabularyColumn
    >>> city = IndicatorColumn(VocabularyColumn("c", ["a"]))
    >>> layer = FeatureLayer([NumericColumn("x", normalization="minmax"), city])
    >>> layer.adapt(pd.DataFrame({"x": [0.0, 4.0], "c": ["a", "b"]}))
    >>> layer(pd.DataFrame({"x": [1.0, 2.0], "c": ["b", "a"]})).numpy().tolist()
    [[0.25, 1.0, 0.0], [0.5, 0.0, 1.0]]
    """

    def __init__(self, columns, state=None, *, read_pretrained: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.columns = check_columns(columns)
        self.raw_features = raw_features(self.columns)
        self.state = resolve_state(self.columns, state)
        self.encoder = FeatureEncoder(self.columns, self.state, read_pretrained=read_pretrained, name="encoder")
        self._preprocessor = None
        if all(column.name in self.state for column in walk(self.columns) if column.keeps_state):
            self._preprocessor = FeaturePreprocessor(self.columns, self.state, name="preprocessor")

    @property
    def needs_adapt(self) -> bool:
        return any(column.needs_adapt for column in self.columns)

    def check_adapted(self, where: str = "FeatureLayer") -> None:
        """Raises, with the fix, if columns that learn from data have not been adapted."""
        if self._preprocessor is None:
            pending = [c.name for c in self.columns if c.needs_adapt]
            raise ValueError(
                f"{where}: columns {pending} learn statistics from data. "
                "Call `FeatureLayer.adapt(training_data)` before using the layer."
            )

    @property
    def preprocessor(self) -> FeaturePreprocessor:
        self.check_adapted()
        return self._preprocessor

    def adapt(self, data, batch_size: int = ADAPT_BATCH_SIZE) -> None:
        """Learns all columns' statistics and vocabularies in one pass over `data`.

        Args:
            data: a `tf.data.Dataset` of feature dicts (or `(features, label)` pairs), a pandas DataFrame, or a
                dict of arrays or lists. A dataset is read without tf.data's default graph rewrites and
                autotuning, which pay off over many epochs, not in one pass, unless its own options
                (`Dataset.with_options`) turn them on.
            batch_size: rows per step: a DataFrame or dict is cut, a dataset of dense batches regrouped to it.
        """
        if self.built or self.encoder.built:
            raise ValueError(
                "FeatureLayer.adapt: the layer is already part of a built model, whose preprocessing would not "
                "change. Adapt a new FeatureLayer before building the model."
            )
        self.state = resolve_state(self.columns, compute_state(self.columns, data, batch_size))
        self._preprocessor = FeaturePreprocessor(self.columns, self.state, name="preprocessor")
        self.encoder.load_pretrained(self.state)  # tables matched to the vocabularies just learned

    def raw_inputs(self) -> dict:
        """One `keras.Input` per raw feature: `[batch]` scalars, or `[batch, n]` (n may vary: multivalent).

        Keys are sorted, the order in which `tf.data` and `tf.nest` hand dicts over.
        """
        return {
            key: keras.Input(shape=spec.shape, dtype=spec.dtype, name=key)
            for key, spec in sorted(self.raw_features.items())
        }

    def preprocessed_inputs(self) -> dict:
        """One `keras.Input` per tensor `preprocessor` returns (see `preprocessed_spec`), keys sorted."""
        return {
            key: keras.Input(shape=shape, dtype=dtype, name=key)
            for key, (shape, dtype) in sorted(preprocessed_spec(self.columns).items())
        }

    @property
    def output_dim(self) -> int:
        return sum(column.output_dim for column in self.columns)

    def build(self, input_shape=None):
        """Nothing to build: both stages create their state when constructed."""

    def __call__(self, features, *args, **kwargs):
        # Keras would turn a DataFrame into one tensor; convert and check it column by column instead.
        if isinstance(features, pd.DataFrame):
            features = to_tensors(to_feature_arrays(features, self.raw_features, source="FeatureLayer"))
        return super().__call__(features, *args, **kwargs)

    def call(self, features):
        return self.encoder(self.preprocessor(features))

    def compute_output_shape(self, input_shape):
        return (next(iter(input_shape.values()))[0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        # The saved weights hold the pretrained tables: a reloaded layer never reads the sources again.
        config.update(columns=[serialize(c) for c in self.columns], state=self.state, read_pretrained=False)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["columns"] = [from_config(c) for c in config["columns"]]
        return cls(**config)
