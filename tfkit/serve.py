"""`tfkit serve`: TF Serving's REST API over the versions of one exported model, on Starlette and uvicorn.

Like TF Serving's default version policy, the server answers with the highest version under the base path
and watches the path: a version exported while it runs is loaded in the background, warmed up, and then
swapped in, so requests never wait for a load. A version that fails to load is reported (state `END`) and
the previous one keeps serving. Endpoints, as in TF Serving:

- `GET /v1/models/<name>[/versions/<v>]`: status; `GET .../metadata`: the signatures.
- `POST /v1/models/<name>[/versions/<v>]:predict`: row (`instances`) or columnar (`inputs`) format, on
  `serving_default` or the signature that `signature_name` names (any of the export's, e.g. one added by
  `column_signatures`). A tfkit extension to TF Serving's JSON API: a numeric input of a fixed per-example
  shape, such as image pixels `[None, 28, 28]`, also takes one example as `{"b64": ...}` of its raw uint8
  values, row by row (see `tfkit.rest`).
- `POST ...:regress` and `...:classify`: `tf.Example`-style `examples`; they use the `regression` and
  `classification` signatures unless `signature_name` says otherwise.

Every error is JSON, `{"error": "..."}`, with its HTTP status; a bad request never stops the server.

>>> from feature_columns import NumericColumn
>>> from tfkit.export import export_saved_model
>>> from tfkit.heads import RegressionHead
>>> from tfkit.models import dnn
>>> base = tempfile.mkdtemp()
>>> _ = export_saved_model(dnn([NumericColumn("x")], RegressionHead(), hidden_units=[2]), base)
>>> server = ModelServer(base, "demo")
>>> server.refresh()  # what the running server does every `poll_seconds`
>>> server.status(None)
{'model_version_status': [{'version': '1', 'state': 'AVAILABLE', 'status': {'error_code': 'OK', 'error_message': ''}}]}
>>> len(server.servable(None).predict({"instances": [{"x": 1.0}, {"x": 2.0}]})["predictions"])
2

`serve(base, port=8501)` runs the same with uvicorn; `tfkit serve --model_base_path BASE` from a shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile  # noqa: F401  (used by the doctest above)
import threading
from dataclasses import dataclass, field

import tensorflow as tf
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tensorflow.core.protobuf import saved_model_pb2

from feature_columns.integration import is_count
from tfkit import export, rest

logger = logging.getLogger("tfkit.serve")

DEFAULT_MAX_BODY_BYTES = 16 * 2**20
DEFAULT_POLL_SECONDS = 1.0  # TF Serving's --file_system_poll_wait_seconds
# The signatures that Classify and Regress use when the request names none (TF Serving would use
# serving_default, which in a tfkit export takes raw features, not tf.Examples).
_EXAMPLE_APIS = {
    "classify": ("classification", rest.classify_response),
    "regress": ("regression", rest.regress_response),
}


class JSONResponse(Response):
    """JSON that keeps `NaN` and `Infinity`, as TF Serving writes them (Starlette's own rejects them)."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode()


def _signature_defs(path: str) -> dict:
    """The `serve` MetaGraph's SignatureDefs as TF Serving's metadata JSON writes them."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as file:
        saved_model.ParseFromString(file.read())
    (graph,) = [g for g in saved_model.meta_graphs if "serve" in g.meta_info_def.tags]
    return {
        name: json_format.MessageToDict(
            signature, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        for name, signature in graph.signature_def.items()
    }


@dataclass
class Servable:
    """One loaded version: its signatures, raw features and metadata."""

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

    def signature(self, name: str):
        if name not in self.signatures:
            raise rest.RequestError(
                f"`signature_name` must be one of {sorted(self.signatures)}. Received: signature_name={name!r}."
            )
        return self.signatures[name]

    def predict(self, body: dict) -> dict:
        function = self.signature(body.get("signature_name", "serving_default"))
        tensors, row_format = rest.predict_inputs(body, function.structured_input_signature[1])
        return rest.predict_response(_run(function, tensors), row_format=row_format)

    def classify_or_regress(self, api: str, body: dict) -> dict:
        default_signature, respond = _EXAMPLE_APIS[api]
        function = self.signature(body.get("signature_name", default_signature))
        inputs = rest.serialized_examples(body, self.raw_features)
        return respond(_run(function, {export.EXAMPLES_INPUT: inputs}))

    def warm_up(self) -> None:
        """One request with the sample body, so the first real request does not pay for graph set-up."""
        self.predict(export.sample_request(self.path))


def _run(function, tensors: dict) -> dict:
    try:
        outputs = function(**tensors)
    except (tf.errors.InvalidArgumentError, TypeError, ValueError) as error:
        # What TF rejects here is the request's content (a required tf.Example feature missing, ...).
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise rest.RequestError(f"the model rejected the request: {message}") from None
    return {name: value.numpy() for name, value in outputs.items()}


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
        """TF Serving's GetModelStatusResponse JSON."""
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


def _server(request: Request) -> ModelServer:
    server = request.app.state.model_server
    name = request.path_params["name"]
    if name != server.name:
        raise rest.RequestError(f"model {name!r} is not served here. Served: {server.name!r}.", status=404)
    return server


async def _status(request: Request) -> JSONResponse:
    return JSONResponse(_server(request).status(request.path_params.get("version")))


async def _metadata(request: Request) -> JSONResponse:
    server = _server(request)
    servable = server.servable(request.path_params.get("version"))
    return JSONResponse(
        {
            "model_spec": {"name": server.name, "signature_name": "", "version": str(servable.version)},
            "metadata": {"signature_def": {"signature_def": servable.signature_defs}},
        }
    )


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = rest.RequestError(f"the request body exceeds {limit} bytes. Send fewer examples per request.", 413)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def _call(request: Request) -> JSONResponse:
    server = _server(request)
    api = request.path_params["api"]
    if api != "predict" and api not in _EXAMPLE_APIS:
        raise rest.RequestError(f"unknown API {api!r}. Use :predict, :classify or :regress.", status=404)
    servable = server.servable(request.path_params.get("version"))
    body = rest.parse_body(await _read_body(request, request.app.state.max_body_bytes))

    def answer():
        return servable.predict(body) if api == "predict" else servable.classify_or_regress(api, body)

    # TensorFlow runs outside the event loop, so other requests are read and answered meanwhile.
    return JSONResponse(await run_in_threadpool(answer))


async def _request_error(request: Request, error: rest.RequestError) -> JSONResponse:
    return JSONResponse({"error": str(error)}, status_code=error.status)


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    return JSONResponse({"error": error.detail}, status_code=error.status_code)


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": f"internal error: {type(error).__name__}: {error}"}, status_code=500)


async def _watch(server: ModelServer, poll_seconds: float) -> None:
    """Polls the base path until the app shuts down (the lifespan cancels this task)."""
    while True:
        await asyncio.sleep(poll_seconds)
        await run_in_threadpool(server.refresh)


def create_app(
    model_base_path: str,
    *,
    model_name: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> Starlette:
    """The ASGI app serving the versions under `model_base_path` (any ASGI server can run it).

    Args:
        model_base_path: the folder of integer versions, as `export_saved_model` writes it.
        model_name: the `<name>` in the URLs; defaults to the base folder's name.
        max_body_bytes: larger request bodies are refused with 413.
        poll_seconds: how often to look for a new version.
    """
    model_base_path = os.fspath(model_base_path)
    if not os.path.isdir(model_base_path):
        raise FileNotFoundError(
            f"tfkit.serve: `model_base_path` must be a folder of exported versions. Received: "
            f"model_base_path={model_base_path!r}, which does not exist. Export a model there first."
        )
    if not is_count(max_body_bytes):
        raise ValueError(
            f"tfkit.serve: `max_body_bytes` must be a positive integer. Received: max_body_bytes={max_body_bytes!r}."
        )
    if not isinstance(poll_seconds, int | float) or poll_seconds <= 0:
        raise ValueError(
            f"tfkit.serve: `poll_seconds` must be a positive number. Received: poll_seconds={poll_seconds!r}."
        )
    server = ModelServer(model_base_path, model_name or os.path.basename(os.path.abspath(model_base_path)))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(server.refresh)
        if server.current is None:
            logger.warning("model %r: no loadable version under %r yet; waiting for one", server.name, model_base_path)
        watcher = asyncio.get_running_loop().create_task(_watch(server, poll_seconds))
        try:
            yield
        finally:
            watcher.cancel()

    model, version = "/v1/models/{name}", "/versions/{version:int}"
    routes = [
        Route(model, _status, methods=["GET"]),
        Route(model + version, _status, methods=["GET"]),
        Route(model + "/metadata", _metadata, methods=["GET"]),
        Route(model + version + "/metadata", _metadata, methods=["GET"]),
        Route(model + ":{api}", _call, methods=["POST"]),
        Route(model + version + ":{api}", _call, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={rest.RequestError: _request_error, HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.model_server = server
    app.state.max_body_bytes = max_body_bytes
    return app


def serve(
    model_base_path: str,
    *,
    model_name: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8501,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    log_level: str = "info",
) -> None:
    """Runs the server with uvicorn until interrupted (Ctrl-C or SIGTERM). See `create_app` for the args.

    It listens on `host` (`127.0.0.1`, this machine only; `0.0.0.0` for every interface) and `port`.
    """
    import uvicorn

    app = create_app(model_base_path, model_name=model_name, max_body_bytes=max_body_bytes, poll_seconds=poll_seconds)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
