"""Model builders: structure, dropout semantics, the raw model equals preprocessor + core."""

import numpy as np
import pytest

import feature_columns as fc
from tfkit.heads import RegressionHead
from tfkit.models import dnn, split


def _features():
    layer = fc.FeatureLayer(
        [fc.NumericColumn("x", normalization="zscore"), fc.EmbeddingColumn(fc.HashedColumn("s", 8))]
    )
    layer.adapt({"x": np.arange(10.0), "s": np.array(list("abcdefghij"))})
    return layer


def test_raw_model_equals_core_on_preprocessed_inputs():
    model = dnn(_features(), RegressionHead(), hidden_units=[8, 4])
    preprocessor, core = split(model)
    raw = {"x": np.array([1.0, 5.0]), "s": np.array(["a", "z"])}
    np.testing.assert_allclose(model(raw), core(preprocessor(raw)), rtol=1e-6)


def test_hidden_layers_batch_norm_and_dropout():
    model = dnn(_features(), RegressionHead(), hidden_units=[8, 4], dropout=0.25, batch_norm=True)
    _, core = split(model)
    names = [layer.name for layer in core.layers]
    assert names.count("hidden_0") == 1 and "batch_norm_1" in names
    assert core.get_layer("dropout_0").rate == 0.25  # the probability of dropping a unit


def test_dropout_outside_unit_interval_mentions_keep_probability():
    with pytest.raises(ValueError, match="keep_prob"):
        dnn(_features(), RegressionHead(), dropout=1.0)


def test_hidden_units_must_be_positive_integers():
    with pytest.raises(ValueError, match="hidden_units"):
        dnn(_features(), RegressionHead(), hidden_units=[])


def test_unadapted_columns_are_rejected_with_the_fix():
    with pytest.raises(ValueError, match=r"tfkit.models.dnn: columns \[.x.\] .* Call `FeatureLayer.adapt"):
        dnn([fc.NumericColumn("x", normalization="zscore")], RegressionHead())
