"""Load test of `tfkit serve` on loopback, next to calling the same SavedModel in-process.

Starts `tfkit serve` as a subprocess on 127.0.0.1 (a free port), then for 1-example and 100-example
`:predict` requests sends `--requests` requests from `--clients` concurrent clients (threads, one
keep-alive connection each), then from one client, and reports errors, p50/p99 latency and throughput;
then times the `serving_default` signature called in-process (`tf.saved_model.load`) on the same rows.
Everything is bounded: a fixed number of requests, a timeout on each, and the server is stopped at the end.

    .venv/bin/python bench/serve_load.py                      # trains the taxi-fare model 1 epoch first
    .venv/bin/python bench/serve_load.py --model_base_path saved_models/taxifare

Exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd
import tensorflow as tf

from tfkit import export, pipeline
from tfkit.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "examples", "taxifare", "config.toml")
DATA = os.environ.get("TFKIT_DATA") or os.path.join(ROOT, "..", "shared", "data")
TIMEOUT_SECONDS = 30


def _train_and_export(folder: str) -> str:
    config = load_config(CONFIG, environ={"TFKIT_DATA": DATA})
    config = dataclasses.replace(config, training={**config.training, "model_dir": None})
    estimator = pipeline.make_estimator(config).train(config.data_path("train"), epochs=1, verbose=0)
    base = os.path.join(folder, "taxifare")
    estimator.export_saved_model(base)
    return base


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _server(base: str, name: str):
    port = _free_port()
    command = [sys.executable, "-m", "tfkit.cli", "serve", "--model_base_path", base, "--model_name", name]
    process = subprocess.Popen(
        [*command, "--rest_api_port", str(port), "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"tfkit serve exited with status {process.returncode}")
            with contextlib.suppress(OSError):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_SECONDS)
                connection.request("GET", f"/v1/models/{name}")
                if connection.getresponse().status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("tfkit serve did not start within 120 s")
            time.sleep(0.5)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=60)


def _load(port: int, path: str, bodies: list, requests: int, clients: int) -> dict:
    """Sends `requests` POSTs (bodies in turn) from `clients` threads; latencies in ms and failures."""
    latencies, failures, lock = [], [], threading.Lock()
    shares = [requests // clients + (i < requests % clients) for i in range(clients)]

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_SECONDS)
        mine = []
        for i in range(shares[index]):
            body = bodies[(index + i * clients) % len(bodies)]
            start = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                ok = response.status == 200 and "predictions" in json.loads(payload)
            except (OSError, http.client.HTTPException, ValueError) as error:
                ok, payload = False, repr(error).encode()
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_SECONDS)
            mine.append((time.perf_counter() - start) * 1000)
            if not ok:
                with lock:
                    failures.append(payload[:200])
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "failures": failures, "seconds": time.perf_counter() - start}


def _in_process(path: str, rides: pd.DataFrame, size: int, calls: int) -> list:
    serving = tf.saved_model.load(path).signatures["serving_default"]
    specs = serving.structured_input_signature[1]
    batches = [rides.iloc[(i * size) % len(rides) :][:size] for i in range(min(calls, 50))]
    tensors = [{k: tf.constant(batch[k].to_numpy(), s.dtype) for k, s in specs.items()} for batch in batches]
    for inputs in tensors[:10]:  # warm-up
        serving(**inputs)
    latencies = []
    for i in range(calls):
        start = time.perf_counter()
        serving(**tensors[i % len(tensors)])
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def _percentiles(latencies: list) -> str:
    return f"{np.percentile(latencies, 50):.2f} | {np.percentile(latencies, 99):.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model_base_path", help="an export base folder (default: train the taxi model 1 epoch)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per request size (default: 2000)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default: 16)")
    args = parser.parse_args(argv)
    rides = pd.read_csv(os.path.join(DATA, "taxifare", "taxi-test.csv")).dropna().drop(columns="fare_amount")
    with tempfile.TemporaryDirectory() as folder:
        base = args.model_base_path or _train_and_export(folder)
        name = os.path.basename(os.path.abspath(base))
        rows = json.loads(rides.head(2000).to_json(orient="records", double_precision=15))
        bodies = {
            1: [json.dumps({"instances": [row]}).encode() for row in rows],
            100: [json.dumps({"instances": rows[i : i + 100]}).encode() for i in range(0, len(rows), 100)],
        }
        print(
            f"{args.requests} requests per size from {args.clients} clients, {os.cpu_count()} CPUs, TF {tf.__version__}"
        )
        print("| path | examples/request | p50 ms | p99 ms | requests/s | errors |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        errors = 0
        with _server(base, name) as port:
            # One client shows the cost of a request; many show throughput and queueing.
            for clients, size in [(c, s) for c in (args.clients, 1) for s in bodies]:
                path = f"/v1/models/{name}:predict"
                _load(port, path, bodies[size], 50, clients)  # warm-up
                result = _load(port, path, bodies[size], args.requests, clients)
                errors += len(result["failures"])
                rate = args.requests / result["seconds"]
                print(
                    f"| tfkit serve, {clients} client{'s' * (clients > 1)} | {size} | "
                    f"{_percentiles(result['latencies'])} | {rate:.0f} | {len(result['failures'])} |"
                )
                for failure in result["failures"][:3]:
                    print(f"  failed: {failure!r}", file=sys.stderr)
        for size in bodies:
            latencies = _in_process(export.latest_version(base), rides, size, args.requests)
            print(f"| in-process signature, 1 caller | {size} | {_percentiles(latencies)} | - | - |")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
