"""Real servers for the deployment tests: `transfer-gate serve` subprocesses and nginx in front of them.

Everything listens on 127.0.0.1 on a free port, keeps its files under the test's directory and
is stopped by its own process id when the test (or module) ends.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import API_KEYS, SECRET_KEY
from transfer_gate.cli import main

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, *, method="GET", body=None, headers=None, timeout=10.0):
    """Return (status, headers, body bytes) of one HTTP request; HTTP errors are answers too."""
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if body is not None and "Content-Type" not in request.headers:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()


class Serve:
    """`transfer-gate serve` in a subprocess (its own session, so its workers stop with it)."""

    def __init__(self, directory: Path, *args: str, env: dict | None = None):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, TRANSFER_GATE_DATABASE_URL=f"sqlite:///{self.dir / 'log.sqlite3'}",
                        TRANSFER_GATE_API_KEYS=API_KEYS, TRANSFER_GATE_SECRET_KEY=SECRET_KEY)
        self.env.update(env or {})
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.args = ["serve", "--bind", f"127.0.0.1:{self.port}", *args]
        self.stdout_path, self.stderr_path = self.dir / "serve.out", self.dir / "serve.err"
        self.process = None

    def __enter__(self):
        self._out, self._err = open(self.stdout_path, "wb"), open(self.stderr_path, "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "transfer_gate.cli", *self.args], cwd=self.dir,
                                        env=self.env, stdout=self._out, stderr=self._err, start_new_session=True)
        self.wait_ready()
        return self

    def wait_ready(self, seconds: float = 120):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited while starting: {self.stderr_path.read_text(errors='replace')[-3000:]}")
            try:
                if fetch(self.url + "/readyz", timeout=10)[0] == 200:
                    return
            except OSError:  # not listening yet, or its workers are still starting
                pass
            time.sleep(0.2)
        pytest.fail(f"serve on port {self.port} did not become ready")

    def signal(self, signum):
        os.kill(self.process.pid, signum)

    def __exit__(self, *exc):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._out.close()
        self._err.close()

    def lines(self, which="stderr") -> list[dict]:
        """The JSON log lines the server wrote so far (stdout or stderr)."""
        path = self.stdout_path if which == "stdout" else self.stderr_path
        out = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out


class Nginx:
    """nginx with the configuration `transfer-gate proxy-config` prints, in front of `upstream`."""

    def __init__(self, directory: Path, upstream: str, client_timeout: str = "10s"):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        user = "root" if os.getuid() == 0 else "nobody"  # as root, workers that can read the test's 0700 directory
        result = CliRunner().invoke(main, ["proxy-config", "--listen", f"127.0.0.1:{self.port}", "--upstream", upstream,
                                           "--prefix", str(self.dir), "--user", user,
                                           "--client-timeout", client_timeout, "--worker-processes", "1"])
        assert result.exit_code == 0, result.output
        self.config = self.dir / "nginx.conf"
        self.config.write_text(result.output)
        (self.dir / "tmp").mkdir(exist_ok=True)
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(["nginx", "-p", str(self.dir), "-c", str(self.config),
                                         "-e", str(self.dir / "error.log")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"nginx exited: {self.process.stderr.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        pytest.fail("nginx did not start listening")

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown, workers included
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process.stderr.close()
