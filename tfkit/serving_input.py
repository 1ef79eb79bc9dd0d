"""Serving-input receivers under `tf.estimator.export`'s names and arguments: what an export's `serving_default`
signature takes. `tfkit.export` offers them; `export_saved_model(..., serving_input_receiver_fn)` reads them.

- `build_parsing_serving_input_receiver_fn(feature_spec)`: serialized `tf.Example`s, parsed with `feature_spec`
  (e.g. `feature_columns.legacy.make_parse_example_spec(columns)`), as TF Serving's Classify, Regress and Predict
  clients send them. As in tf.estimator, `serving_default` is then the head's Regress signature (one value per
  example) or Classify signature (heads with probabilities), taking `inputs`; `predict` takes `examples`.
- `build_raw_serving_input_receiver_fn(features)`: the raw features named, typed and shaped as `features` gives
  them (tensors, `tf.TensorSpec`s or arrays; the first dimension becomes the batch, `default_batch_size`).

With either, the raw-feature signature that is `serving_default` without a receiver is exported as
`serving_raw`. tf.estimator's receiver functions built graph placeholders; these are descriptions that the export
turns into signatures, so a hand-written `serving_input_receiver_fn` (returning a `ServingInputReceiver`) has no
tfkit equivalent: compute derived features with columns (e.g. `DistanceColumn`) so the export takes raw ones.

>>> import tensorflow as tf
>>> receiver = build_parsing_serving_input_receiver_fn({"x": tf.io.FixedLenFeature([1], tf.float32)})
>>> serialized = tf.train.Example(features=tf.train.Features(feature={
...     "x": tf.train.Feature(float_list=tf.train.FloatList(value=[2.5]))})).SerializeToString()
>>> receiver.features(tf.constant([serialized]), {"x": tf.TensorSpec([None], tf.float32)})["x"].numpy().tolist()
[2.5]
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from feature_columns.integration import is_count, padding_value

WHERE = "tfkit.export"
# Where the raw-feature signature goes when a receiver decides what `serving_default` takes.
RAW_SIGNATURE = "serving_raw"
PARSING_SPECS = (
    tf.io.FixedLenFeature,
    tf.io.FixedLenSequenceFeature,
    tf.io.VarLenFeature,
    tf.io.RaggedFeature,
    tf.io.SparseFeature,
)


def _check_batch_size(where: str, default_batch_size) -> None:
    if default_batch_size is not None and not is_count(default_batch_size):
        raise ValueError(
            f"{where}: `default_batch_size` must be a positive integer, or None for any batch size. Received: "
            f"default_batch_size={default_batch_size!r}."
        )


def _check_covers(where: str, given, raw_specs: dict, what: str, fix: str) -> None:
    missing = sorted(set(raw_specs) - set(given))
    if missing:
        raise ValueError(
            f"{where}: the serving input receiver's `{what}` must give every raw feature the model reads, "
            f"{sorted(raw_specs)}. Received: {what} without {missing}. {fix}"
        )


def _conform(where: str, key: str, value, spec: tf.TensorSpec):
    """`value` (parsed or fed) as the model's raw feature `key` takes it: dense, of `spec`'s dtype and shape."""
    if (value.dtype == tf.string) != (spec.dtype == tf.string):
        raise TypeError(
            f"{where}: raw feature {key!r} must be {'strings' if spec.dtype == tf.string else 'numbers'}, as the "
            f"model reads it. Received: {value.dtype.name} from the serving input receiver. Give it as "
            f"{spec.dtype.name}."
        )
    pad = padding_value(spec.dtype.name)
    if isinstance(value, tf.SparseTensor):
        value = tf.sparse.to_dense(value, tf.constant(pad, value.dtype))
    elif isinstance(value, tf.RaggedTensor):
        value = value.to_tensor(tf.constant(pad, value.dtype))
    if spec.shape.rank == 1 and value.shape.rank == 2 and value.shape[1] == 1:
        value = tf.reshape(value, [-1])  # tf.feature_column's scalar: `FixedLenFeature([1])`, `[batch, 1]`
    elif spec.shape.rank == 2 and value.shape.rank == 1:
        value = value[:, tf.newaxis]
    if value.shape.rank != spec.shape.rank or not spec.shape[1:].is_compatible_with(value.shape[1:]):
        raise ValueError(
            f"{where}: raw feature {key!r} must have shape {spec.shape.as_list()} (None: any size), as the model "
            f"reads it. Received: {value.shape.as_list()} from the serving input receiver. Declare it with that shape."
        )
    return value if value.dtype == spec.dtype else tf.cast(value, spec.dtype)


@dataclasses.dataclass(frozen=True)
class ParsingReceiver:
    """Serialized `tf.Example`s in (`inputs`), parsed with `feature_spec`: made by
    `build_parsing_serving_input_receiver_fn`."""

    feature_spec: dict
    default_batch_size: int | None = None

    def check(self, raw_specs: dict) -> None:
        fix = "Build it with `feature_columns.legacy.make_parse_example_spec(columns)`."
        _check_covers(f"{WHERE}.export_saved_model", self.feature_spec, raw_specs, "feature_spec", fix)

    def default_endpoint(self, endpoints: dict, serve, raw_specs: dict) -> tuple:
        """tf.estimator's `serving_default` for tf.Examples: the head's Regress or Classify signature (from
        `endpoints`, `{name: (function, input_signature)}`), else `predict`."""
        return endpoints.get("regression") or endpoints.get("classification") or endpoints["predict"]

    def features(self, serialized, raw_specs: dict) -> dict:
        """The model's raw features parsed from a batch of serialized examples."""
        parsed = tf.io.parse_example(serialized, self.feature_spec)
        return {key: _conform(f"{WHERE}.export_saved_model", key, parsed[key], spec) for key, spec in raw_specs.items()}


@dataclasses.dataclass(frozen=True)
class RawReceiver:
    """The raw features as `specs` (`{name: tf.TensorSpec}`) give them: made by
    `build_raw_serving_input_receiver_fn`."""

    specs: dict

    def check(self, raw_specs: dict) -> None:
        fix = "Add them to `features`."
        _check_covers(f"{WHERE}.export_saved_model", self.specs, raw_specs, "features", fix)

    def default_endpoint(self, endpoints: dict, serve, raw_specs: dict) -> tuple:
        """`serving_default`: `serve` (raw features to outputs) on this receiver's inputs."""
        return (lambda inputs: serve(self.features(inputs, raw_specs)), [self.specs])

    def features(self, inputs: dict, raw_specs: dict) -> dict:
        """The model's raw features from the signature's inputs (others the receiver named are not read)."""
        return {key: _conform(f"{WHERE}.export_saved_model", key, inputs[key], spec) for key, spec in raw_specs.items()}


def check_receiver(receiver, raw_specs: dict) -> None:
    """Raises unless `receiver` is None or a receiver giving every raw feature of `raw_specs`."""
    if receiver is not None and not isinstance(receiver, (ParsingReceiver, RawReceiver)):
        raise TypeError(
            f"{WHERE}.export_saved_model: `serving_input_receiver_fn` must come from "
            "tfkit.export.build_parsing_serving_input_receiver_fn or build_raw_serving_input_receiver_fn, or be None "
            f"(raw features). Received: {receiver!r}. A hand-written receiver function builds TensorFlow 1 "
            "placeholders: compute derived features with columns (e.g. DistanceColumn), so the export takes raw ones."
        )
    if receiver is not None:
        receiver.check(raw_specs)


def build_parsing_serving_input_receiver_fn(feature_spec, default_batch_size=None) -> ParsingReceiver:
    """`tf.estimator.export.build_parsing_serving_input_receiver_fn`: an export whose `serving_default` takes
    serialized `tf.Example`s and parses them with `feature_spec` (see the module for the signatures).

    Args:
        feature_spec: `{feature name: tf.io.FixedLenFeature | VarLenFeature | RaggedFeature | ...}`, e.g.
            `feature_columns.legacy.make_parse_example_spec(columns)`; it must cover the model's raw features.
        default_batch_size: the number of examples per request, or None for any.

    >>> build_parsing_serving_input_receiver_fn({"x": "float"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    TypeError: tfkit.export.build_parsing_serving_input_receiver_fn: `feature_spec` must be a dict of feature name ...
    """
    where = f"{WHERE}.build_parsing_serving_input_receiver_fn"
    if not isinstance(feature_spec, dict) or not all(
        isinstance(key, str) and isinstance(value, PARSING_SPECS) for key, value in feature_spec.items()
    ):
        raise TypeError(
            f"{where}: `feature_spec` must be a dict of feature name to tf.io.FixedLenFeature, VarLenFeature or "
            f"RaggedFeature. Received: feature_spec={feature_spec!r}. Build it with "
            "`feature_columns.legacy.make_parse_example_spec(columns)`."
        )
    _check_batch_size(where, default_batch_size)
    return ParsingReceiver(dict(feature_spec), default_batch_size)


def build_raw_serving_input_receiver_fn(features, default_batch_size=None) -> RawReceiver:
    """`tf.estimator.export.build_raw_serving_input_receiver_fn`: an export whose `serving_default` takes the raw
    features as `features` names, types and shapes them; the first dimension of each becomes the batch.

    Args:
        features: `{name: a tensor, tf.TensorSpec or array}`, e.g. `{"x": tf.constant([0.0])}` for a float
            scalar per example; it must cover the model's raw features (numbers are cast to the model's dtype).
        default_batch_size: the number of examples per request, or None for any.

    >>> build_raw_serving_input_receiver_fn({"x": tf.zeros([1, 3])}).specs
    {'x': TensorSpec(shape=(None, 3), dtype=tf.float32, name='x')}
    """
    where = f"{WHERE}.build_raw_serving_input_receiver_fn"
    if not isinstance(features, dict) or not features or not all(isinstance(key, str) for key in features):
        raise TypeError(
            f"{where}: `features` must be a non-empty dict of feature name to a tensor, tf.TensorSpec or array. "
            f"Received: features={features!r}."
        )
    _check_batch_size(where, default_batch_size)
    specs = {}
    for key, value in features.items():
        try:
            if isinstance(value, np.ndarray) or not hasattr(value, "dtype"):  # TensorFlow's dtype for NumPy's text
                value = tf.constant(value)
            dtype, shape = tf.as_dtype(value.dtype), tf.TensorShape(value.shape)
        except (TypeError, ValueError):
            dtype = shape = None
        if dtype is None or not (dtype == tf.string or dtype.is_integer or dtype.is_floating):
            raise TypeError(
                f"{where}: feature {key!r} must be a tensor, tf.TensorSpec or array of numbers or strings. "
                f"Received: {value!r}."
            )
        specs[key] = tf.TensorSpec([default_batch_size, *shape.as_list()[1:]], dtype, name=key)
    return RawReceiver(specs)
