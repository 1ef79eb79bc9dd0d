"""TF Serving's REST JSON: request bodies to checked tensors, and model outputs to response bodies.

No HTTP here (`tfkit.serve` is the server); every function is pure, and every bad request raises a
`RequestError` that names the feature and says how to fix it. The formats are TF Serving's:

- Predict: `{"signature_name": ..., "instances": [{feature: value, ...}, ...]}` (row format) or
  `{"inputs": {feature: [values]}}` (columnar format); bytes as `{"b64": "<base64>"}`. Row requests get
  `{"predictions": ...}`, columnar ones `{"outputs": ...}`.
- Classify and Regress: `{"examples": [{feature: value}, ...], "context": {feature: value}}`, answered with
  `{"results": ...}`.

A tfkit extension to TF Serving's JSON API (TF Serving itself takes `{"b64": ...}` for string tensors only):
for a numeric input whose per-example shape is fully known and not a scalar, such as image pixels
`[None, 28, 28]`, one example's value may be `{"b64": "<base64>"}` instead of nested lists. Its bytes are that
example's raw uint8 values in row-major order (784 bytes for `[28, 28]`), reshaped to the per-example shape and
converted to the input's dtype (0..255, not rescaled). It works in the row format
(`"instances": [{"pixels": {"b64": ...}}]`, or `"instances": [{"b64": ...}]` for a model with one input) and
in the columnar one (`"inputs": {"pixels": [{"b64": ...}, ...]}`), and examples of one request may mix the
two forms. Eight bits per value is what most images hold, in far less JSON than a list of numbers; send nested
lists for values beyond 0..255 or fractions.

>>> import tensorflow as tf
>>> specs = {"x": tf.TensorSpec([None], tf.float32), "s": tf.TensorSpec([None], tf.string)}
>>> tensors, rows = predict_inputs({"instances": [{"x": 1.5, "s": {"b64": "aGk="}}]}, specs)
>>> tensors["x"].numpy().tolist(), tensors["s"].numpy().tolist(), rows
([1.5], [b'hi'], True)
>>> predict_response({"predictions": np.array([2.5], "float32")}, row_format=True)
{'predictions': [2.5]}
>>> image = {"b64": base64.b64encode(bytes([0, 128, 255, 7])).decode()}  # a 2x2 image, row by row
>>> pixels = {"pixels": tf.TensorSpec([None, 2, 2], tf.float32)}
>>> predict_inputs({"instances": [image, [[1, 2], [3, 4]]]}, pixels)[0]["pixels"].numpy().tolist()
[[[0.0, 128.0], [255.0, 7.0]], [[1.0, 2.0], [3.0, 4.0]]]
"""

from __future__ import annotations

import base64
import binascii
import json

import numpy as np
import tensorflow as tf

from feature_columns.integration import padding_value

# tf.Example stores three kinds of lists: `{raw feature dtype: (dtype of the list, its field, its proto)}`.
_EXAMPLE_LISTS = {
    "string": (tf.string, "bytes_list", tf.train.BytesList),
    "float32": (tf.float32, "float_list", tf.train.FloatList),
    "float64": (tf.float32, "float_list", tf.train.FloatList),
    "int32": (tf.int64, "int64_list", tf.train.Int64List),
    "int64": (tf.int64, "int64_list", tf.train.Int64List),
}
_PREDICT_KEYS = {"signature_name", "instances", "inputs"}
_EXAMPLE_KEYS = {"signature_name", "examples", "context"}


class RequestError(ValueError):
    """A request the server rejects, with the HTTP status to answer (400 unless said otherwise)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def parse_body(body: bytes) -> dict:
    """The JSON object of a request body (`NaN` and `Infinity` allowed, as TF Serving allows them)."""
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(f"the request body is not valid JSON: {error}. Send a JSON object.") from None
    if not isinstance(parsed, dict):
        raise RequestError(
            f"the request body must be a JSON object. Received: a JSON {type(parsed).__name__}. "
            'Wrap the data, e.g. {"instances": [...]}.'
        )
    return parsed


def _check_keys(body: dict, allowed: set, api: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise RequestError(f"a {api} request may hold only {sorted(allowed)}. Received unknown key(s) {unknown}.")


def _is_bytes(value) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _named(value) -> bool:
    """Whether `value` is an object of named inputs (and not a `{"b64": ...}` value)."""
    return isinstance(value, dict) and not _is_bytes(value)


def check_names(received, expected, where: str) -> None:
    """A `RequestError` naming what `received` (e.g. `where` = "instance 0") lacks or has beyond `expected`."""
    missing = [name for name in expected if name not in received]
    unknown = sorted(set(received) - set(expected))
    if missing or unknown:
        problems = ([f"missing feature(s) {missing}"] if missing else []) + (
            [f"unknown feature(s) {unknown}"] if unknown else []
        )
        raise RequestError(f"{where} has {' and '.join(problems)}. The model reads {list(expected)}.")


def _columns(body: dict, specs: dict) -> tuple:
    """`({input name: nested values}, row_format)` from a Predict body in either format."""
    if ("instances" in body) == ("inputs" in body):
        raise RequestError(
            'a predict request must hold exactly one of "instances" (row format) and "inputs" (columnar '
            f"format). Received: {sorted(k for k in body if k in ('instances', 'inputs')) or 'neither'}."
        )
    if "inputs" in body:
        inputs = body["inputs"]
        if _named(inputs):
            check_names(inputs, specs, '"inputs"')
            return dict(inputs), False
        if len(specs) == 1:
            return {next(iter(specs)): inputs}, False
        raise RequestError(f'"inputs" must be an object naming the model\'s inputs {list(specs)}.')
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        raise RequestError(f'"instances" must be a non-empty list of examples. Received: {instances!r:.80}.')
    if all(_named(instance) for instance in instances):
        for i, instance in enumerate(instances):
            if instance.keys() != specs.keys():
                check_names(instance, specs, f"instance {i}")
        return {name: [instance[name] for instance in instances] for name in specs}, True
    if len(specs) == 1:
        return {next(iter(specs)): instances}, True
    raise RequestError(f'each of "instances" must be an object naming the model\'s inputs {list(specs)}.')


def _leaf_error(name: str, expected: str, index, value) -> RequestError:
    return RequestError(
        f"feature {name!r} must hold {expected}, but element {list(index)} is {value!r:.80} "
        f"(of type {type(value).__name__}). Send {expected} for it."
    )


def _decode(name: str, index, value) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if _is_bytes(value) and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except binascii.Error:
            raise RequestError(f"feature {name!r}: element {list(index)} is not valid base64.") from None
    raise _leaf_error(name, 'strings (or {"b64": ...} objects for bytes)', index, value)


def _takes_pixels(dtype: tf.DType, shape: tuple) -> bool:
    """Whether examples of this input may come as `{"b64": raw uint8 values}` (the module docstring says when)."""
    numeric = dtype.is_floating or (dtype.is_integer and dtype.max >= 255)  # int8 cannot hold every byte
    return numeric and len(shape) >= 2 and all(size is not None for size in shape[1:])


def _pixels(name: str, index: int, value, shape: tuple) -> np.ndarray:
    """One example's uint8 values of `shape` from a `{"b64": ...}` object, or a `RequestError` saying what is wrong."""
    data = _decode(name, (index,), value) if isinstance(value["b64"], str) else None
    if data is None:
        raise _leaf_error(name, '{"b64": "<base64 string>"} objects or nested lists', (index,), value)
    size = int(np.prod(shape))
    if len(data) != size:
        raise RequestError(
            f"feature {name!r} must have shape {list(shape)} per example ({size} uint8 bytes in b64), but element "
            f"{index} holds {len(data)} bytes. Send each example's {size} values, row by row, one byte each."
        )
    return np.frombuffer(data, np.uint8).reshape(shape)


def to_array(name: str, values, dtype: tf.DType, shape: tuple) -> np.ndarray:
    """A NumPy array of `dtype` and `shape` (`None` for any size) from nested JSON values, strictly typed.

    Strings stay strings and numbers stay numbers: a string in a numeric feature, a fraction in an integer
    feature or a boolean anywhere numbers go is an error, never coerced. Rows of a multivalent feature
    (`[batch, None]`) may differ in length: they are padded as the feature columns pad (`""`, -1, 0.0).

    A numeric input of a fixed per-example shape also takes `{"b64": ...}` raw uint8 examples (see the module
    docstring).

    >>> to_array("tags", [["a", "b"], ["c"]], tf.string, (None, None)).tolist()
    [[b'a', b'b'], [b'c', b'']]
    >>> to_array("pixels", [{"b64": "AAH/"}], tf.float32, (None, 3)).tolist()
    [[0.0, 1.0, 255.0]]
    """
    if _takes_pixels(dtype, shape) and isinstance(values, list) and any(_is_bytes(v) for v in values):
        examples = [_pixels(name, i, v, shape[1:]) if _is_bytes(v) else v for i, v in enumerate(values)]
        if all(isinstance(example, np.ndarray) for example in examples):  # the fast path: no Python number per value
            return np.stack(examples).astype(dtype.as_numpy_dtype)
        # Mixed with nested lists: those are checked as usual, and their errors keep their place in the batch.
        values = [example.tolist() if isinstance(example, np.ndarray) else example for example in examples]
    if len(shape) == 2 and shape[1] is None and isinstance(values, list) and all(isinstance(v, list) for v in values):
        pad = padding_value("string" if dtype == tf.string else dtype.name)
        width = max(map(len, values), default=0)
        values = [row + [pad] * (width - len(row)) for row in values]
    array = np.array(values, dtype=object)
    types = set(map(type, array.flat))
    per_example = f"{list(shape[1:])} per example" if len(shape) > 1 else "one value per example"
    expected = f"shape {list(shape)} ({per_example}; None is the batch)"
    if list in types:
        raise RequestError(
            f"feature {name!r} must have {expected}, but has rows of different lengths or more dimensions. "
            "Send each example's values in that shape (a list of examples in the columnar format)."
        )
    if array.ndim != len(shape) or any(want not in (None, got) for want, got in zip(shape, array.shape, strict=True)):
        raise RequestError(
            f"feature {name!r} must have {expected}, but has {list(array.shape)}. Send each example's values in "
            "that shape (a list of examples in the columnar format)."
        )
    if dtype == tf.string:
        return np.array([_decode(name, i, v) for i, v in np.ndenumerate(array)], dtype=object).reshape(array.shape)
    if dtype == tf.bool:
        allowed, expected = (bool,), "booleans"
    elif dtype.is_integer:
        allowed, expected = (int,), f"integers ({dtype.name})"
    else:
        allowed, expected = (int, float), f"numbers ({dtype.name})"
    # `type`, not isinstance: JSON booleans are ints to Python. The set is the fast check; the loop finds the culprit.
    if not types <= set(allowed):
        index, value = next((i, v) for i, v in np.ndenumerate(array) if type(v) not in allowed)
        raise _leaf_error(name, expected, index, value)
    try:
        return array.astype(dtype.as_numpy_dtype)
    except OverflowError:
        raise RequestError(f"feature {name!r} holds a value out of the range of {dtype.name}.") from None


def predict_inputs(body: dict, specs: dict) -> tuple:
    """`({input name: tf.Tensor}, row_format)` for a Predict body, checked against the signature's `specs`."""
    _check_keys(body, _PREDICT_KEYS, "predict")
    columns, row_format = _columns(body, specs)
    arrays = {
        name: to_array(name, columns[name], spec.dtype, tuple(spec.shape.as_list())) for name, spec in specs.items()
    }
    sizes = {name: len(array) for name, array in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise RequestError(f"all inputs must hold the same number of examples. Received: {sizes}.")
    return {name: tf.constant(array) for name, array in arrays.items()}, row_format


def _json_values(name: str, array: np.ndarray) -> list:
    if array.dtype == object:  # TF strings; TF Serving sends outputs named *_bytes as base64
        if name.endswith("_bytes"):
            return np.vectorize(lambda v: {"b64": base64.b64encode(v).decode()}, otypes=[object])(array).tolist()
        return np.vectorize(lambda v: v.decode(errors="replace"), otypes=[object])(array).tolist()
    return array.tolist()


def predict_response(outputs: dict, *, row_format: bool) -> dict:
    """TF Serving's Predict answer; a single output appears without its name, as TF Serving does."""
    values = {name: _json_values(name, np.asarray(array)) for name, array in outputs.items()}
    if len(values) == 1:
        (only,) = values.values()
        return {"predictions" if row_format else "outputs": only}
    if not row_format:
        return {"outputs": values}
    rows = len(next(iter(values.values())))
    return {"predictions": [{name: value[i] for name, value in values.items()} for i in range(rows)]}


def _feature(name: str, value, dtype: str) -> tf.train.Feature:
    list_dtype, field, proto = _EXAMPLE_LISTS[dtype]
    array = to_array(name, value if isinstance(value, list) else [value], list_dtype, (None,))
    return tf.train.Feature(**{field: proto(value=array.tolist())})


def serialized_examples(body: dict, raw_features: dict) -> tf.Tensor:
    """Serialized `tf.Example`s from a Classify/Regress body, typed by the export's raw features.

    Features left out take their default, or fail in the model when they have none.
    """
    _check_keys(body, _EXAMPLE_KEYS, "classify/regress")
    examples, context = body.get("examples"), body.get("context", {})
    if not isinstance(examples, list) or not examples or not all(_named(e) for e in examples):
        raise RequestError(f'"examples" must be a non-empty list of objects. Received: {examples!r:.80}.')
    if not _named(context):
        raise RequestError(f'"context" must be an object of features. Received: {context!r:.80}.')
    serialized = []
    for i, example in enumerate(examples):
        shared = sorted(set(context) & set(example))
        if shared:
            raise RequestError(f"example {i} repeats context feature(s) {shared}. Give each in one place.")
        features = {**context, **example}
        unknown = sorted(set(features) - set(raw_features))
        if unknown:
            raise RequestError(f"example {i} has unknown feature(s) {unknown}. The model reads {list(raw_features)}.")
        proto = {key: _feature(key, value, raw_features[key].dtype) for key, value in features.items()}
        serialized.append(tf.train.Example(features=tf.train.Features(feature=proto)).SerializeToString())
    return tf.constant(serialized)


def classify_response(outputs: dict) -> dict:
    """`{"results": [[[label, score], ...] per example]}` from a classification signature's outputs."""
    classes = _json_values("classes", np.asarray(outputs["classes"]))
    scores = np.asarray(outputs["scores"]).tolist()
    return {"results": [[list(pair) for pair in zip(c, s, strict=True)] for c, s in zip(classes, scores, strict=True)]}


def regress_response(outputs: dict) -> dict:
    """`{"results": [value per example]}` from a regression signature's outputs."""
    return {"results": np.asarray(outputs["outputs"]).reshape(-1).tolist()}
