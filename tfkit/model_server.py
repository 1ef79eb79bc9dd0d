"""The model manager beneath both `tfkit serve` APIs: the versions of one export, and running their signatures.

`ModelServer` follows TF Serving's default version policy: it serves the highest version under the base path
and, while `watching`, loads a version exported later in the background, warms it up and then swaps it in, so
requests never wait for a load. A version that fails to load is reported (state `END`) and the previous one
keeps serving. `Servable` runs one version's signatures on checked tensors; the REST API (`tfkit.serve`,
JSON through `tfkit.rest`) and the gRPC API (`tfkit.grpc_service`, TensorProtos) only convert to and from
their wire formats. Every refusal is a `tfkit.rest.RequestError` carrying an HTTP status, which the gRPC API
maps to its codes.

>>> from feature_columns import NumericColumn
>>> from tfkit.export import export_saved_model
>>> from tfkit.heads import RegressionHead
>>> from tfkit.models import dnn
>>> base = tempfile.mkdtemp()
>>> _ = export_saved_model(dnn([NumericColumn("x")], RegressionHead(), hidden_units=[2]), base)
>>> server = ModelServer(base, "demo")
>>> server.refresh()  # what a watching server does every `poll_seconds`
>>> server.status(None)
{'model_version_status': [{'version': '1', 'state': 'AVAILABLE', 'status': {'error_code': 'OK', 'error_message': ''}}]}
>>> server.servable(None).run("serving_default", {"x": tf.constant([1.0, 2.0])})["predictions"].shape
(2,)
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile  # noqa: F401  (used by the doctest above)
import threading
from dataclasses import dataclass, field

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tfkit import export, rest
from tfkit.graph_errors import rejection_message

logger = logging.getLogger("tfkit.serve")

# The signatures that Classify and Regress use when the request names none (TF Serving would use
# serving_default, which in a tfkit export takes raw features, not tf.Examples).
EXAMPLE_SIGNATURES = {"classify": "classification", "regress": "regression"}


def _signature_defs(path: str) -> dict:
    """`{name: SignatureDef proto}` of the `serve` MetaGraph, as TF Serving's metadata reports them."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as file:
        saved_model.ParseFromString(file.read())
    (graph,) = [g for g in saved_model.meta_graphs if "serve" in g.meta_info_def.tags]
    return dict(graph.signature_def)


def _describe(spec_or_tensor) -> str:
    return f"{spec_or_tensor.dtype.name} of shape {spec_or_tensor.shape.as_list()}"


@dataclass
class Servable:
    """One loaded version: its signatures, raw features and SignatureDefs."""

    version: int
    path: str
    signatures: dict
    raw_features: dict
    signature_defs: dict

    @classmethod
    def load(cls, path: str, version: int) -> Servable:
        saved_model = tf.saved_model.load(path)
        return cls(
            version=version,
            path=path,
            signatures=dict(saved_model.signatures),
            raw_features=export.read_raw_features(path),
            signature_defs=_signature_defs(path),
        )

    def input_specs(self, signature_name: str) -> dict:
        """`{input name: tf.TensorSpec}` of a signature, or a `RequestError` naming the signatures there are."""
        if signature_name not in self.signatures:
            raise rest.RequestError(
                f"`signature_name` must be one of {sorted(self.signatures)}. Received: "
                f"signature_name={signature_name!r}."
            )
        return self.signatures[signature_name].structured_input_signature[1]

    def run(self, signature_name: str, tensors: dict) -> dict:
        """`{output name: np.ndarray}` of a signature on `tensors`, checked by name, dtype and shape first."""
        specs = self.input_specs(signature_name)
        rest.check_names(tensors, specs, f"the request for signature {signature_name!r}")
        for name, spec in specs.items():
            if not spec.is_compatible_with(tensors[name]):
                raise rest.RequestError(
                    f"input {name!r} of signature {signature_name!r} must be {_describe(spec)} (None: any size). "
                    f"Received: {_describe(tensors[name])}. Send values of that dtype and shape, e.g. "
                    f"`tf.make_tensor_proto(values, tf.{spec.dtype.name})`."
                )
        try:
            outputs = self.signatures[signature_name](**tensors)
        except (tf.errors.InvalidArgumentError, TypeError, ValueError) as error:
            # What TF rejects here is the request's content (an id out of range, a required tf.Example feature
            # missing, ...): the model's own check says what, in its first line.
            raise rest.RequestError(f"the model rejected the request: {rejection_message(error)}") from None
        return {name: value.numpy() for name, value in outputs.items()}

    def run_examples(self, api: str, signature_name: str | None, serialized: list) -> dict:
        """Classify or Regress (`api`) on serialized `tf.Example`s: the outputs of a signature taking them."""
        signature_name = signature_name or EXAMPLE_SIGNATURES[api]
        specs = self.input_specs(signature_name)
        if list(specs) != [export.EXAMPLES_INPUT]:
            takers = sorted(name for name in self.signatures if list(self.input_specs(name)) == [export.EXAMPLES_INPUT])
            raise rest.RequestError(
                f"{api} needs a signature taking serialized tf.Examples as {export.EXAMPLES_INPUT!r}, but "
                f"signature {signature_name!r} takes {list(specs)}. Name one of {takers}, or leave the name out."
            )
        return self.run(signature_name, {export.EXAMPLES_INPUT: tf.constant(serialized, tf.string)})

    def warm_up(self) -> None:
        """One request with the sample body, so the first real request does not pay for graph set-up."""
        name = export.raw_signature_name(self.signatures)
        body = export.sample_request(self.path, signature_name=name)
        self.run(name, rest.predict_inputs(body, self.input_specs(name))[0])


@dataclass
class ModelServer:
    """The versions of one model under `base_path`: the served one, and those that failed to load."""

    base_path: str
    name: str
    current: Servable | None = None
    failed: dict = field(default_factory=dict)  # {version: error message}
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> None:
        """Loads the highest version on disk if it is not the served one; errors are logged, never raised."""
        with self._lock:  # one load at a time, even if a poll overruns its interval
            candidates = [v for v in export.versions(self.base_path) if v not in self.failed]
            if not candidates or (self.current and self.current.version == candidates[-1]):
                return
            version = candidates[-1]
            path = os.path.join(self.base_path, str(version))
            try:
                servable = Servable.load(path, version)
                servable.warm_up()
            except Exception as error:  # a broken export must not stop the server
                self.failed[version] = f"{type(error).__name__}: {error}"
                logger.error("model %r: version %d failed to load and is skipped: %s", self.name, version, error)
                return
            self.current = servable
            logger.info("model %r: serving version %d from %s", self.name, version, path)

    @contextlib.contextmanager
    def watching(self, poll_seconds: float):
        """Loads the latest version now, then looks for new ones every `poll_seconds` (in a thread) until exit."""
        self.refresh()
        if self.current is None:
            logger.warning("model %r: no loadable version under %r yet; waiting for one", self.name, self.base_path)
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(poll_seconds):
                self.refresh()

        thread = threading.Thread(target=poll, name=f"tfkit-serve-watch-{self.name}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()  # after a load in progress, if any

    def check_name(self, name: str) -> None:
        """A 404 `RequestError` unless `name` is the served model's."""
        if name != self.name:
            raise rest.RequestError(f"model {name!r} is not served here. Served: {self.name!r}.", status=404)

    def servable(self, version: int | None) -> Servable:
        current = self.current
        if current is None:
            raise rest.RequestError(
                f"model {self.name!r} has no loaded version (none under {self.base_path!r}).", status=404
            )
        if version is not None and version != current.version:
            raise rest.RequestError(
                f"version {version} of model {self.name!r} is not served; served: {current.version}.", status=404
            )
        return current

    def status(self, version: int | None) -> dict:
        """TF Serving's GetModelStatusResponse, in its JSON form."""
        states = {v: ("END", "UNKNOWN", message) for v, message in self.failed.items()}
        if self.current is not None:
            states[self.current.version] = ("AVAILABLE", "OK", "")
        if version is not None:
            if version not in states:
                raise rest.RequestError(
                    f"version {version} of model {self.name!r} is unknown; known: {sorted(states)}.", status=404
                )
            states = {version: states[version]}
        if not states:
            raise rest.RequestError(
                f"model {self.name!r} has no version yet (none under {self.base_path!r}).", status=404
            )
        return {
            "model_version_status": [
                {"version": str(v), "state": state, "status": {"error_code": code, "error_message": message}}
                for v, (state, code, message) in sorted(states.items(), reverse=True)
            ]
        }
