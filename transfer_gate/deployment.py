"""How `serve` runs in production: gunicorn's settings and the nginx configuration in front of it.

The deployment is a buffering reverse proxy (deploy/nginx.conf) in front of gunicorn. nginx
reads each request completely — headers and body, under its own timeouts and size limits —
before it hands the request to gunicorn, so a client trickling a body holds one of nginx's
event-driven connections, never a worker. Behind it, sync or threaded workers are both safe.
"""

from __future__ import annotations

import gc
import re
from pathlib import Path

from .config import PROJECT_ROOT, WORKER_TIMEOUT

NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf"
# Headers nginx lets through (large_client_header_buffers 4 4k: at most 16 KiB, and a header
# line is at least 4 bytes) plus the few nginx adds: gunicorn must never refuse what nginx
# accepted, or the client would get gunicorn's HTML answer without the security headers.
LIMIT_REQUEST_FIELDS = 4 * 4096 // 4 + 16


def gunicorn_settings(bind: str, workers: int, threads: int) -> dict:
    """gunicorn's settings for `serve`."""
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        # gthread: a worker's concurrent requests share one log commit (group commit); its
        # connections spread over the workers (transfer_gate/workers.py).
        "worker_class": threaded_worker() if threads > 1 else "sync",
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": WORKER_TIMEOUT,  # a reload lets requests in progress finish
        "keepalive": 2,  # gthread only; nginx opens a new connection per request anyway
        "limit_request_line": 8190,  # gunicorn's maximum; nginx refuses lines over 4 KiB first
        "limit_request_fields": LIMIT_REQUEST_FIELDS,
        "limit_request_field_size": 8190,
        # Forwarded headers are believed only through TRANSFER_GATE_TRUSTED_PROXIES (ProxyFix),
        # never through gunicorn's own default of trusting 127.0.0.1.
        "forwarded_allow_ips": "",
        "accesslog": "-",
        "errorlog": "-",
        "logger_class": "transfer_gate.logs.GunicornLogger",  # JSON lines, access log included
        "child_exit": worker_exited,
        "post_worker_init": worker_ready,
        # gunicorn 25.1+ opens a control socket at one path per user ($HOME/.gunicorn/gunicorn.ctl),
        # which two instances on one machine would take from each other. SIGHUP does the reload.
        "control_socket_disable": True,
    }


def threaded_worker() -> str:
    """The threaded worker class: BalancedThreadWorker where this gunicorn allows it, else gthread."""
    from .workers import supported

    return "transfer_gate.workers.BalancedThreadWorker" if supported() else "gthread"


# Settings that older gunicorn releases (before 25.1) do not have, and do not need.
NEWER_SETTINGS = frozenset({"control_socket_disable"})


def freeze_loaded_objects() -> None:
    """Leave what is loaded so far out of the cyclic garbage collector's full passes (gc.freeze).

    A worker holds some 130,000 tracked objects — rules, 249 profiles, the compiled engine and
    its memos — that live as long as it does. Each full pass of the collector walks all of them
    with the interpreter lock held: 75–121 ms, three or four times in a 10 s benchmark run, and
    every request of that worker waits meanwhile (1 % of requests at 1,000 decisions/s: the
    p99). Frozen objects are still freed by their reference counts; only cycles among them would
    stay, and what is loaded here lives until the process ends. Called once in `serve`'s master
    before it forks (the workers inherit the frozen objects, and the collector no longer touches
    their pages, which stay shared) and once in each worker after its app is built.
    """
    gc.collect()
    gc.freeze()


def worker_ready(worker) -> None:
    """gunicorn's post_worker_init hook: the worker's app is built; freeze what it loaded."""
    freeze_loaded_objects()


def worker_exited(server, worker) -> None:
    """gunicorn's child_exit hook: drop a dead worker's live-only metric values (its counts stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


_PLACEHOLDER = re.compile(r"\{\{ *([a-z_]+) *\}\}")
_ADDRESS = re.compile(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}|[0-9]{1,5}|unix:/[^;\s{}]+")
_DURATION = re.compile(r"[0-9]{1,4}(ms|s|m)?")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def nginx_config(*, listen: str, upstream: str, prefix: str | Path, user: str = "www-data",
                 client_timeout: str = "10s", max_body_size: int = 1024 * 1024, worker_processes: str = "auto",
                 daemon: bool = False, template: Path = NGINX_TEMPLATE) -> str:
    """Render deploy/nginx.conf; raise ValueError on a value that would not be one nginx token."""
    prefix = Path(prefix).resolve()
    checks = {"listen": (listen, _ADDRESS), "upstream": (upstream, _ADDRESS),
              "client_timeout": (client_timeout, _DURATION), "user": (user, _NAME),
              "worker_processes": (worker_processes, _NAME), "prefix": (str(prefix), re.compile(r"/[^;\s{}'\"$]*"))}
    for name, (value, pattern) in checks.items():
        if not pattern.fullmatch(value):
            raise ValueError(f"{name}: {value!r} is not usable in nginx's configuration")
    if max_body_size < 1:
        raise ValueError("max_body_size must be positive")
    values = {name: value for name, (value, _p) in checks.items()}
    values.update(daemon="on" if daemon else "off", max_body_size=str(max_body_size),
                  max_body_size_text=_size_text(max_body_size))

    def fill(match):
        return values[match.group(1)]  # a KeyError here is a template naming an unknown value

    return _PLACEHOLDER.sub(fill, template.read_text(encoding="utf-8"))


def _size_text(size: int) -> str:
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"
