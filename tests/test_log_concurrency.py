"""One chain under concurrency: processes, gunicorn workers and two service instances on one store."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import API_KEYS, bearer

from tests.test_api import with_
from transfer_gate.decision_log import DecisionLog

ROOT = Path(__file__).resolve().parent.parent


def test_four_processes_appending_at_once_make_one_valid_chain(store_url):
    per_thread, threads, processes = 15, 3, 4
    writers = [subprocess.Popen([sys.executable, "-m", "tests.log_writer", store_url, str(per_thread), str(threads)],
                                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for _ in range(processes)]
    try:
        for w in writers:
            assert w.stdout.readline().strip() == "ready"
        for w in writers:  # start together
            w.stdin.write("go\n")
            w.stdin.flush()
        results = [json.loads(w.stdout.readline()) for w in writers]
        for w in writers:
            assert w.wait(120) == 0
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
            w.stdin.close()
            w.stdout.close()
    assert [r["failures"] for r in results] == [[]] * processes
    returned = [i for r in results for i in r["ids"]]
    assert len(returned) == len(set(returned)) == per_thread * threads * processes

    log = DecisionLog(store_url)
    try:
        result = log.verify()
        assert result.ok, result.describe()
        assert result.checked == result.head_seq == len(returned)
        assert {e["decision_id"] for e in log.scan()} == set(returned)
    finally:
        log.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/decisions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **bearer("app")})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def wait_ready(port, server, deadline):
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited while starting"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as resp:
                if resp.status == 200:
                    return
        except OSError:  # not listening yet, or still starting its workers
            pass
        time.sleep(0.2)
    pytest.fail(f"the server on port {port} did not become ready")


def test_two_instances_with_several_gunicorn_workers_append_to_one_chain(store_url, tmp_path):
    env = dict(os.environ, TRANSFER_GATE_DATABASE_URL=store_url, TRANSFER_GATE_API_KEYS=API_KEYS)
    ports = [free_port(), free_port()]
    # Two instances start at once on a fresh store (their migrations race too): one with two
    # sync workers, one with two threaded workers whose concurrent requests share commits.
    commands = [["--workers", "2"], ["--workers", "2", "--threads", "4"]]
    servers, logs = [], []
    for port, extra in zip(ports, commands):
        logs.append(open(tmp_path / f"server-{port}.log", "w"))
        servers.append(subprocess.Popen(
            [sys.executable, "-m", "transfer_gate.cli", "serve", "--bind", f"127.0.0.1:{port}", *extra],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=logs[-1], start_new_session=True))
    try:
        deadline = time.monotonic() + 120
        for port, server in zip(ports, servers):
            wait_ready(port, server, deadline)
        bodies = [with_(destination=d) for d in ["US", "DE", "CN", "SG", "GB"] * 16]
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda ib: post(ports[ib[0] % 2], ib[1]), enumerate(bodies)))
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for server, log in zip(servers, logs):
            server.wait(60)
            log.close()
    assert [status for status, _ in answers] == [200] * len(bodies)
    log = DecisionLog(store_url)
    try:
        result = log.verify()
        assert result.ok, result.describe()
        assert result.checked == len(bodies)
        assert {e["decision_id"] for e in log.scan()} == {a["decision_id"] for _, a in answers}
    finally:
        log.close()
