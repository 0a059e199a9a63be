"""What the HTTP benchmarks share: the request mix, a fresh store, `serve` on it, and wrk.

bench/http.py (one server, scenario after scenario, beside a peer) and bench/scale_out.py
(several servers on one PostgreSQL, driven together) start `transfer-gate serve` and load it
the same way, with these.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from bench.requestgen import random_requests

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "load.lua"
APP_KEY = "bench-app-key-0123456789abcdef0123456789"
SECRET = "bench-session-secret-0123456789abcdef0123456789"
AS_OF = "2026-11-27"
README_REQUEST = {
    "origin": "JP", "destination": "US",
    "data_categories": ["personal_data", "special_care.medical_history"],
    "recipient": {"name": "Acme Cloud Inc.", "relationship": "outsourcee", "safeguards": ["contract_measures"]},
    "basis": {"consent": "none"}, "reference": "crm-export-4711",
}


def request_mix(n: int) -> list[dict]:
    """The README's example plus n varied requests from the whole request space, pinned to one date."""
    mix = [dict(README_REQUEST, as_of=AS_OF)]
    for body in random_requests(n, seed=14):
        body["as_of"] = AS_OF
        mix.append(body)
    return mix


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def wrk(url: str, method: str, path: str, bodies: Path | None, auth: str | None, concurrency: int,
        duration: int, threads: int = 2) -> dict:
    """Run wrk once; return its counters (requests, latency percentiles in µs, non-200, socket errors).

    `cdf` holds [percentile, µs] pairs of the latency distribution, to merge several wrk's (merged_latency).
    """
    cmd = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{duration}s", "--timeout", "10s", "-s", str(LUA), url, "--",
           method, path, str(bodies) if bodies else "-", auth or "-"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("WRK "))
    result = json.loads(line[4:])
    cdf = next((l for l in out.splitlines() if l.startswith("WRK-CDF ")), None)
    result["cdf"] = json.loads(cdf[8:]) if cdf else []
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def merged_latency(results: list[dict], percentile: float) -> float:
    """The latency percentile (µs) of several wrk runs' requests taken together.

    Each run's distribution is known at the percentiles of its `cdf`; the merged one weighs
    each by its requests, and the answer is found by bisection between the known points.
    """
    runs = [(r["requests"], r["cdf"]) for r in results if r["requests"] and r["cdf"]]
    total = sum(n for n, _ in runs)

    def below(us: float) -> float:  # the share of all requests at or under `us`
        share = 0.0
        for n, cdf in runs:
            p = 0.0
            for (p0, v0), (p1, v1) in zip([(0.0, 0.0)] + cdf, cdf):
                if us >= v1:
                    p = p1
                elif us > v0:
                    p = p0 + (p1 - p0) * (us - v0) / (v1 - v0)
                    break
                else:
                    break
            share += n * p / 100
        return share / total

    lo, hi = 0.0, max(cdf[-1][1] for _, cdf in runs)
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if below(mid) < percentile / 100 else (lo, mid)
    return hi


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """User and system CPU seconds the processes have used (from /proc; a process gone counts 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def measured(server, *args) -> dict:
    """wrk against a server, with the CPU its processes used per request (`cpu_us`): work, not waiting."""
    pids = server.pids()
    before = cpu_seconds(pids)
    result = wrk(server.url, *args)
    result["cpu_us"] = (cpu_seconds(pids) - before) / max(result["requests"], 1) * 1e6
    return result


class Serve:
    """`transfer-gate serve` with its default settings, on a store of its own."""

    def __init__(self, database_url: str, workdir: Path, serve_args: list[str] = (), name: str = "serve",
                 env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, TRANSFER_GATE_DATABASE_URL=database_url, TRANSFER_GATE_API_KEYS=f"app:{APP_KEY}",
                        TRANSFER_GATE_SECRET_KEY=SECRET, **(env or {}))
        exe = Path(sys.executable).with_name("transfer-gate")
        self.cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "transfer_gate.cli"]
        self.log = open(workdir / f"{name}.log", "w")
        self.proc = subprocess.Popen(self.cli + ["serve", "--bind", f"127.0.0.1:{self.port}", *serve_args], env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)
        wait_for(self.url + "/healthz")

    def pids(self) -> list[int]:
        """The master and its workers."""
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        return [self.proc.pid, *map(int, children)]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def verify(self) -> str:
        done = subprocess.run(self.cli + ["verify-log"], env=self.env, capture_output=True, text=True)
        return (done.stdout + done.stderr).strip().splitlines()[-1] if (done.stdout + done.stderr).strip() else \
            f"exit {done.returncode}"


def fresh_store(base: str | None, workdir: Path) -> str:
    if base is None:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    import uuid

    from sqlalchemy.engine import make_url

    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    admin.dispose()
    return url.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
