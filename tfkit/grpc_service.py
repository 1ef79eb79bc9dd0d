"""TF Serving's gRPC API over a `ModelServer`, with the protos of `tensorflow-serving-api`.

`tensorflow.serving.PredictionService`: `Predict` (TensorProtos in and out, any signature; `serving_default`
takes the raw features), `Classify` and `Regress` (`tf.Example`s; the `classification` and `regression`
signatures unless `model_spec.signature_name` names another), `GetModelMetadata` (`metadata_field` =
`["signature_def"]`); `tensorflow.serving.ModelService`: `GetModelStatus`. `MultiInference` and
`HandleReloadConfigRequest` answer `UNIMPLEMENTED`.

Inputs must have the signature's dtype and shape, as in TF Serving (`tf.make_tensor_proto([8])` is int32: give
the dtype). A request the server refuses gets `INVALID_ARGUMENT`, or `NOT_FOUND` for an unknown model or
version, with the message the REST API would give; the server keeps serving. `running` serves in a thread pool
(`tfkit.serve` runs it beside REST); TF Serving's own Python client works unchanged:

>>> from feature_columns import NumericColumn
>>> from tfkit.export import export_saved_model
>>> from tfkit.heads import RegressionHead
>>> from tfkit.models import dnn
>>> base = tempfile.mkdtemp()
>>> _ = export_saved_model(dnn([NumericColumn("x")], RegressionHead(), hidden_units=[2]), base)
>>> model_server = ModelServer(base, "demo")
>>> model_server.refresh()
>>> request = predict_pb2.PredictRequest()
>>> request.model_spec.name = "demo"
>>> request.inputs["x"].CopyFrom(tf.make_tensor_proto([1.0, 2.0], tf.float32))  # one TensorProto per raw feature
>>> with running(model_server, "127.0.0.1", 0, max_message_bytes=2**20, grace_seconds=1) as port:  # 0: a free one
...     with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
...         response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=30)
>>> tf.make_ndarray(response.outputs["predictions"]).shape
(2,)
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import tempfile  # noqa: F401  (used by the doctest above)

import grpc
import tensorflow as tf
from google.protobuf import json_format

try:
    from tensorflow_serving.apis import (
        classification_pb2,
        get_model_metadata_pb2,
        get_model_status_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
        regression_pb2,
    )
except ImportError as error:  # not a requirement of the package: see setup.cfg
    raise ImportError(
        "tfkit serve: TF Serving's gRPC API needs the protos of tensorflow-serving-api. Install them without the "
        "`tensorflow` distribution that its wheel asks for (tensorflow-cpu provides the same package): `pip install "
        "--no-deps -c constraints.txt tensorflow-serving-api` (`make` does); or serve REST alone (--port=0)."
    ) from error

from tfkit import rest
from tfkit.model_server import EXAMPLE_SIGNATURES, ModelServer, Servable

logger = logging.getLogger("tfkit.serve")

# `RequestError.status` (HTTP) to gRPC: 413 is a body over the limit, which gRPC itself refuses before us.
_CODES = {404: grpc.StatusCode.NOT_FOUND, 413: grpc.StatusCode.RESOURCE_EXHAUSTED}
METADATA_FIELDS = ("signature_def",)


def _rpc(method):
    """A servicer method whose `RequestError`s and bugs become gRPC statuses with their message."""

    @functools.wraps(method)
    def handler(self, request, context):
        try:
            return method(self, request)
        except rest.RequestError as error:
            context.abort(_CODES.get(error.status, grpc.StatusCode.INVALID_ARGUMENT), str(error))
        except Exception as error:  # a bug must cost one request, never the server
            logger.exception("unexpected error in %s", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(error).__name__}: {error}")

    return handler


class _Service:
    def __init__(self, model_server: ModelServer):
        self.model_server = model_server

    def _version(self, spec) -> int | None:
        self.model_server.check_name(spec.name)
        if spec.WhichOneof("version_choice") == "version_label":
            raise rest.RequestError(
                f"`model_spec.version_label` is not supported: tfkit serve has no version labels. Received: "
                f"version_label={spec.version_label!r}. Give a `version` number, or neither for the latest."
            )
        return spec.version.value if spec.HasField("version") else None

    def _servable(self, spec, response_spec, signature_name: str = "") -> Servable:
        """The version `spec` asks for; fills the response's `model_spec` as TF Serving does."""
        servable = self.model_server.servable(self._version(spec))
        response_spec.name = self.model_server.name
        response_spec.version.value = servable.version
        response_spec.signature_name = signature_name
        return servable


def _tensor(name: str, proto) -> tf.Tensor:
    try:
        return tf.constant(tf.make_ndarray(proto))
    except (TypeError, ValueError, KeyError) as error:
        raise rest.RequestError(
            f"input {name!r} is not a valid TensorProto ({type(error).__name__}: {error}). Build it with "
            "`tf.make_tensor_proto(values, dtype)`."
        ) from None


def _serialized_examples(request) -> list:
    """The request's `tf.Example`s, serialized; a context's features go into every example, as in TF Serving."""
    kind = request.input.WhichOneof("kind")
    if kind is None:
        raise rest.RequestError(
            "`input` must hold an `example_list` or an `example_list_with_context`. Received: an empty `input`."
        )
    examples = getattr(request.input, kind).examples
    if not examples:
        raise rest.RequestError(f"`input.{kind}` holds no tf.Example. Send one or more.")
    # Concatenated serialized protos parse as their merge: the example's own features win over the context's.
    context = request.input.example_list_with_context.context.SerializeToString() if kind != "example_list" else b""
    return [context + example.SerializeToString() for example in examples]


class PredictionService(_Service, prediction_service_pb2_grpc.PredictionServiceServicer):
    """`tensorflow.serving.PredictionService` over a `ModelServer`."""

    @_rpc
    def Predict(self, request):
        name = request.model_spec.signature_name or "serving_default"
        response = predict_pb2.PredictResponse()
        servable = self._servable(request.model_spec, response.model_spec, name)
        outputs = servable.run(name, {key: _tensor(key, proto) for key, proto in request.inputs.items()})
        unknown = [key for key in request.output_filter if key not in outputs]
        if unknown:
            raise rest.RequestError(
                f"`output_filter` names unknown output(s) {unknown}. Signature {name!r} returns {sorted(outputs)}."
            )
        for key in request.output_filter or outputs:
            response.outputs[key].CopyFrom(tf.make_tensor_proto(outputs[key]))
        return response

    def _examples(self, api: str, request, response) -> dict:
        name = request.model_spec.signature_name or EXAMPLE_SIGNATURES[api]
        servable = self._servable(request.model_spec, response.model_spec, name)
        return servable.run_examples(api, name, _serialized_examples(request))

    @_rpc
    def Classify(self, request):
        response = classification_pb2.ClassificationResponse()
        outputs = self._examples("classify", request, response)
        for labels, scores in zip(outputs["classes"], outputs["scores"], strict=True):
            classes = response.result.classifications.add().classes
            for label, score in zip(labels, scores, strict=True):
                classes.add(label=label.decode(), score=float(score))
        return response

    @_rpc
    def Regress(self, request):
        response = regression_pb2.RegressionResponse()
        outputs = self._examples("regress", request, response)
        for value in outputs["outputs"].reshape(-1):
            response.result.regressions.add(value=float(value))
        return response

    @_rpc
    def GetModelMetadata(self, request):
        fields = list(request.metadata_field)
        if not fields or set(fields) - set(METADATA_FIELDS):
            raise rest.RequestError(
                f"`metadata_field` must list {list(METADATA_FIELDS)}, the metadata a model has. Received: "
                f"metadata_field={fields}."
            )
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        servable = self._servable(request.model_spec, response.model_spec)
        signatures = get_model_metadata_pb2.SignatureDefMap(signature_def=servable.signature_defs)
        response.metadata["signature_def"].Pack(signatures)
        return response


class ModelService(_Service, model_service_pb2_grpc.ModelServiceServicer):
    """`tensorflow.serving.ModelService`'s `GetModelStatus` over a `ModelServer`."""

    @_rpc
    def GetModelStatus(self, request):
        status = self.model_server.status(self._version(request.model_spec))
        return json_format.ParseDict(status, get_model_status_pb2.GetModelStatusResponse())


@contextlib.contextmanager
def running(model_server: ModelServer, host: str, port: int, *, max_message_bytes: int, grace_seconds: float):
    """Serves both services on `host:port` (0: a free port) in a thread pool; yields the port; stops on exit.

    On exit, new calls are refused at once and calls in flight get `grace_seconds` to finish.
    """
    server = grpc.server(
        concurrent.futures.ThreadPoolExecutor(thread_name_prefix="tfkit-serve-grpc"),
        options=[
            ("grpc.so_reuseport", 0),  # gRPC shares a busy port by default; a second server must fail instead
            ("grpc.max_receive_message_length", max_message_bytes),
        ],
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(model_server), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(model_server), server)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if not bound:
        raise OSError(
            f"tfkit serve: gRPC could not listen on {address}: the port is in use or not allowed. Choose another "
            "`port` (--port)."
        )
    server.start()
    try:
        yield bound
    finally:
        server.stop(grace_seconds).wait()
