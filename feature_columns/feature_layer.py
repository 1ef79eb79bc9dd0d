"""`FeatureLayer`: compiles column specs into Keras layers and owns all feature state."""

from __future__ import annotations

import keras

from feature_columns import columns as fc
from feature_columns.adapt import compute_state
from feature_columns.encoding import FeatureEncoder
from feature_columns.preprocessing import FeaturePreprocessor
from feature_columns.specs import check_columns, raw_features


@keras.saving.register_keras_serializable(package="feature_columns")
class FeatureLayer(keras.layers.Layer):
    """Raw features in, one dense float32 tensor out, for the deep part of a model.

    It is two stages, each a Keras layer: `preprocessor` (scaling, bucketizing, hashing, crossing; no
    trainable weights, so it can run in `tf.data` while training) and `encoder` (embedding tables and
    one-hot encodings). Calling the layer runs both. `adapt` learns every column's statistics in one pass.

    Args:
        columns: the dense columns (numeric, distance, embedding, indicator), in output order.
        state: statistics from an earlier `adapt` (as `get_config` saves them).

    Example:

    >>> import pandas as pd
    >>> from feature_columns import NumericColumn
    >>> layer = FeatureLayer([NumericColumn("x", normalization="minmax")])
    >>> layer.adapt(pd.DataFrame({"x": [0.0, 4.0]}))
    >>> layer({"x": pd.Series([1.0, 2.0]).to_numpy()}).numpy().ravel().tolist()
    [0.25, 0.5]
    """

    def __init__(self, columns, state=None, **kwargs):
        super().__init__(**kwargs)
        self.columns = check_columns(columns)
        self.raw_features = raw_features(self.columns)
        self.state = dict(state or {})
        self.encoder = FeatureEncoder(self.columns, name="encoder")
        self._preprocessor = None
        if self.state or not self.needs_adapt:
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

    def adapt(self, data, batch_size: int = 65536) -> None:
        """Learns all columns' statistics in one pass over `data` (a Dataset, DataFrame or dict of arrays)."""
        if self.built or self.encoder.built:
            raise ValueError(
                "FeatureLayer.adapt: the layer is already part of a built model, whose preprocessing would not "
                "change. Adapt a new FeatureLayer before building the model."
            )
        self.state = compute_state(self.columns, data, batch_size)
        self._preprocessor = FeaturePreprocessor(self.columns, self.state, name="preprocessor")

    def raw_inputs(self) -> dict:
        """One `keras.Input` per raw feature: `[batch]` scalars (or `[batch, n]`), dtype as in the data."""
        return {
            key: keras.Input(shape=spec.shape, dtype=spec.dtype, name=key) for key, spec in self.raw_features.items()
        }

    def preprocessed_inputs(self) -> dict:
        """One `keras.Input` per column, matching what `preprocessor` returns."""
        return {
            column.name: keras.Input(shape=(1,), dtype="int64", name=column.name)
            if isinstance(column, (fc.EmbeddingColumn, fc.IndicatorColumn))
            else keras.Input(shape=(column.output_dim,), dtype="float32", name=column.name)
            for column in self.columns
        }

    @property
    def output_dim(self) -> int:
        return sum(column.output_dim for column in self.columns)

    def build(self, input_shape=None):
        """Nothing to build: both stages create their state when constructed."""

    def call(self, features):
        return self.encoder(self.preprocessor(features))

    def compute_output_shape(self, input_shape):
        return (next(iter(input_shape.values()))[0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(columns=[fc.serialize(c) for c in self.columns], state=self.state)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["columns"] = [fc.from_config(c) for c in config["columns"]]
        return cls(**config)
