"""Test support: a real `tfkit serve` app in a uvicorn thread on a free loopback port, and a JSON client."""

import contextlib
import http.client
import json
import socket
import threading
import time

import uvicorn


@contextlib.contextmanager
def running(app):
    """Serves `app` (from `tfkit.serve.create_app`) on 127.0.0.1; yields the port; stops and joins on exit."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        if thread.is_alive():
            raise RuntimeError("the server did not stop")


def call(port: int, method: str, path: str, body=None) -> tuple:
    """`(status, parsed JSON)` of one request to 127.0.0.1:port; `body` is JSON-encoded unless bytes."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def free_port() -> int:
    """A loopback port no one listens on now (for a server started in another process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(process, port: int, model: str) -> None:
    """Waits until `tfkit serve` in `process` answers `model`'s status on REST `port`; fails if it exits first."""
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"tfkit serve exited: {process.stdout.read()}")
        with contextlib.suppress(ConnectionError):
            if call(port, "GET", f"/v1/models/{model}")[0] == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError("tfkit serve did not start")
        time.sleep(0.5)
