"""`tfkit serve`: TF Serving's gRPC and REST APIs over the versions of one exported model, in one process.

One `tfkit.model_server.ModelServer` sits beneath both APIs: like TF Serving's default version policy, it
serves the highest version under the base path and loads versions exported while it runs in the background
(a version that fails to load is reported, state `END`, and the previous one keeps serving). gRPC is
`tfkit.grpc_service` (`PredictionService`, `ModelService.GetModelStatus`); REST is a Starlette app run by
uvicorn, with TF Serving's endpoints:

- `GET /v1/models/<name>[/versions/<v>]`: status; `GET .../metadata`: the signatures.
- `POST /v1/models/<name>[/versions/<v>]:predict`: row (`instances`) or columnar (`inputs`) format, on
  `serving_default` or the signature that `signature_name` names (any of the export's, e.g. one added by
  `column_signatures`). A tfkit extension to TF Serving's JSON API: a numeric input of a fixed per-example
  shape, such as image pixels `[None, 28, 28]`, also takes one example as `{"b64": ...}` of its raw uint8
  values, row by row (see `tfkit.rest`).
- `POST ...:regress` and `...:classify`: `tf.Example`-style `examples`; they use the `regression` and
  `classification` signatures unless `signature_name` says otherwise.

Every REST error is JSON, `{"error": "..."}`, with its HTTP status; a gRPC error is `INVALID_ARGUMENT` (or
`NOT_FOUND`) with the same message. A bad request never stops the server.

As TF Serving's `tensorflow_model_server`, `tfkit serve` takes `--port` for gRPC (8500) and `--rest_api_port`
for REST (8501 here; 0 turns REST off, and in tfkit `--port=0` turns gRPC off). `serve` runs both until Ctrl-C
or SIGTERM, then stops gracefully: REST finishes the requests in flight, gRPC gives its calls in flight
`GRPC_GRACE_SECONDS`; a second Ctrl-C cuts the wait short. `serving` does the same in background threads of the
calling process, until its block ends:

>>> from feature_columns import NumericColumn
>>> from tfkit.export import export_saved_model
>>> from tfkit.heads import RegressionHead
>>> from tfkit.models import dnn
>>> base = tempfile.mkdtemp()
>>> _ = export_saved_model(dnn([NumericColumn("x")], RegressionHead(), hidden_units=[2]), base)
>>> with serving(base, model_name="demo", port=0, rest_api_port=0, log_level="warning") as ports:  # 0: a free port
...     connection = http.client.HTTPConnection("127.0.0.1", ports.rest)
...     connection.request("POST", "/v1/models/demo:predict", body='{"instances": [{"x": 1.0}]}')
...     len(json.loads(connection.getresponse().read())["predictions"])
1
"""

from __future__ import annotations

import contextlib
import http.client  # noqa: F401  (used by the doctest above)
import json
import logging
import os
import signal
import tempfile  # noqa: F401  (used by the doctest above)
import threading
from typing import NamedTuple

from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from feature_columns.integration import is_count
from tfkit import rest
from tfkit.model_server import EXAMPLE_SIGNATURES, ModelServer

logger = logging.getLogger("tfkit.serve")

DEFAULT_MAX_BODY_BYTES = 16 * 2**20
DEFAULT_POLL_SECONDS = 1.0  # TF Serving's --file_system_poll_wait_seconds
GRPC_GRACE_SECONDS = 30.0
_RESPONSES = {"classify": rest.classify_response, "regress": rest.regress_response}


class JSONResponse(Response):
    """JSON that keeps `NaN` and `Infinity`, as TF Serving writes them (Starlette's own rejects them)."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode()


def _server(request: Request) -> ModelServer:
    server = request.app.state.model_server
    server.check_name(request.path_params["name"])
    return server


async def _status(request: Request) -> JSONResponse:
    return JSONResponse(_server(request).status(request.path_params.get("version")))


async def _metadata(request: Request) -> JSONResponse:
    server = _server(request)
    servable = server.servable(request.path_params.get("version"))
    signature_defs = {
        name: json_format.MessageToDict(
            signature, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        for name, signature in servable.signature_defs.items()
    }
    return JSONResponse(
        {
            "model_spec": {"name": server.name, "signature_name": "", "version": str(servable.version)},
            "metadata": {"signature_def": {"signature_def": signature_defs}},
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
    if api != "predict" and api not in EXAMPLE_SIGNATURES:
        raise rest.RequestError(f"unknown API {api!r}. Use :predict, :classify or :regress.", status=404)
    servable = server.servable(request.path_params.get("version"))
    body = rest.parse_body(await _read_body(request, request.app.state.max_body_bytes))

    def answer():
        if api == "predict":
            name = body.get("signature_name", "serving_default")
            tensors, row_format = rest.predict_inputs(body, servable.input_specs(name))
            return rest.predict_response(servable.run(name, tensors), row_format=row_format)
        serialized = rest.serialized_examples(body, servable.raw_features)
        return _RESPONSES[api](
            servable.run_examples(api, body.get("signature_name", EXAMPLE_SIGNATURES[api]), serialized)
        )

    # TensorFlow runs outside the event loop, so other requests are read and answered meanwhile.
    return JSONResponse(await run_in_threadpool(answer))


async def _request_error(request: Request, error: rest.RequestError) -> JSONResponse:
    return JSONResponse({"error": str(error)}, status_code=error.status)


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    return JSONResponse({"error": error.detail}, status_code=error.status_code)


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": f"internal error: {type(error).__name__}: {error}"}, status_code=500)


def _model_server(model_base_path, model_name: str | None, max_body_bytes: int, poll_seconds: float) -> ModelServer:
    """The `ModelServer` of `model_base_path`, once the settings are known to be valid."""
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
    return ModelServer(model_base_path, model_name or os.path.basename(os.path.abspath(model_base_path)))


def _app(server: ModelServer, max_body_bytes: int, lifespan=None) -> Starlette:
    """The REST API of `server`; `lifespan` runs around it (see `create_app`)."""
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


def create_app(
    model_base_path: str,
    *,
    model_name: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> Starlette:
    """The REST API alone, as an ASGI app serving the versions under `model_base_path` (any ASGI server runs it).

    The app loads the latest version when it starts and watches for new ones until it shuts down.

    Args:
        model_base_path: the folder of integer versions, as `export_saved_model` writes it.
        model_name: the `<name>` in the URLs; defaults to the base folder's name.
        max_body_bytes: larger request bodies are refused with 413.
        poll_seconds: how often to look for a new version.
    """
    server = _model_server(model_base_path, model_name, max_body_bytes, poll_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        with server.watching(poll_seconds):  # the first load happens before the socket opens
            yield

    return _app(server, max_body_bytes, lifespan)


class Ports(NamedTuple):
    """The ports `serving` listens on; None where that API is off."""

    grpc: int | None
    rest: int | None


def _check_port(arg: str, port) -> None:
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535):
        raise ValueError(
            f"tfkit.serve: `{arg}` must be a port number (0 for any free one) or None to turn that API off. "
            f"Received: {arg}={port!r}."
        )


@contextlib.contextmanager
def _rest_running(app: Starlette, host: str, port: int, log_level: str):
    """uvicorn serving `app` in a thread; yields the port; stops gracefully (requests in flight finish) on exit."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))

    def run() -> None:
        with contextlib.suppress(SystemExit):  # how uvicorn ends when it cannot start, having logged why
            server.run()

    thread = threading.Thread(target=run, name="tfkit-serve-rest", daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
        if not thread.is_alive():  # uvicorn logged why and left its thread
            raise OSError(
                f"tfkit serve: REST could not listen on {host}:{port}: the port is in use or not allowed. Choose "
                "another `rest_api_port` (--rest_api_port)."
            )
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join()


@contextlib.contextmanager
def serving(
    model_base_path: str,
    *,
    model_name: str | None = None,
    host: str = "127.0.0.1",
    port: int | None = 8500,
    rest_api_port: int | None = 8501,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    log_level: str = "info",
):
    """Serves gRPC and REST from background threads of this process until the block ends; yields the `Ports`.

    Args:
        model_base_path, model_name, max_body_bytes, poll_seconds: as in `create_app`; `max_body_bytes` also
            bounds a gRPC request (larger ones get `RESOURCE_EXHAUSTED`).
        host: the interface: `127.0.0.1` (this machine only, the default) or `0.0.0.0` (every interface).
        port: the gRPC port, as TF Serving's `--port`; 0 takes a free one, None turns gRPC off.
        rest_api_port: the REST port, as TF Serving's `--rest_api_port`; 0 takes a free one, None turns REST off.
        log_level: uvicorn's.
    """
    _check_port("port", port)
    _check_port("rest_api_port", rest_api_port)
    if port is None and rest_api_port is None:
        raise ValueError("tfkit.serve: `port` (gRPC) and `rest_api_port` (REST) are both off. Turn one on.")
    if port == rest_api_port and port:
        raise ValueError(
            f"tfkit.serve: `port` (gRPC) and `rest_api_port` (REST) must differ. Received: both {port}. As in TF "
            "Serving, `--port` is the gRPC port: give REST its own with `--rest_api_port` (e.g. --port=8500 "
            "--rest_api_port=8501)."
        )
    server = _model_server(model_base_path, model_name, max_body_bytes, poll_seconds)
    with server.watching(poll_seconds), contextlib.ExitStack() as stack:
        if port is not None:
            from tfkit import grpc_service  # here: REST alone works without tensorflow-serving-api's protos

            options = {"max_message_bytes": max_body_bytes, "grace_seconds": GRPC_GRACE_SECONDS}
            port = stack.enter_context(grpc_service.running(server, host, port, **options))
        if rest_api_port is not None:
            rest_api_port = stack.enter_context(
                _rest_running(_app(server, max_body_bytes), host, rest_api_port, log_level)
            )
        listening = [f"{api} on {host}:{p}" for api, p in (("gRPC", port), ("REST", rest_api_port)) if p is not None]
        logger.info("model %r: %s", server.name, ", ".join(listening))
        yield Ports(grpc=port, rest=rest_api_port)


def serve(model_base_path: str, **options) -> None:
    """Runs `serving(model_base_path, **options)` until Ctrl-C or SIGTERM, then stops gracefully.

    Call it from the main thread (signals reach only that one). The signal is raised again once both APIs have
    stopped, so the process's exit status reports it, as uvicorn's does; a second Ctrl-C cuts the wait short
    (KeyboardInterrupt).
    """
    stop, received, previous = threading.Event(), [], {}

    def on_signal(number, frame) -> None:
        received.append(number)
        for number_, handler in previous.items():  # the next signal takes its usual, immediate effect
            signal.signal(number_, handler)
        stop.set()

    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, on_signal)
    try:
        with serving(model_base_path, **options):
            logger.info("serving until Ctrl-C or SIGTERM")
            stop.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    signal.raise_signal(received[0])
