"""Test support: a real `tfkit serve` app in a uvicorn thread on a free loopback port, and a JSON client."""

import contextlib
import http.client
import json
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
