"""Prometheus metrics at /metrics, with the official client (prometheus_client).

What is measured: decisions returned, by outcome, regime and route; the engine step, the
decision log's commits (time and entries per commit, i.e. group-commit batch sizes) and whole
requests, as latency histograms; answers by status code (5xx and 503 among them) and endpoint;
reloads of rules and profiles.

Under gunicorn every worker is its own process: `serve` points PROMETHEUS_MULTIPROC_DIR at a
private directory before anything imports the client, each process writes its values there,
and a scrape of any worker adds them all up (the client's multiprocess mode). Without it (tests,
a single process) each app keeps its own registry.

Who may read /metrics: anyone connecting from TRANSFER_GATE_METRICS_ADDRESSES (by default the
loopback addresses), without a key — a scraper runs beside the service and reads gunicorn's
address directly; the shipped nginx configuration refuses /metrics to the outside.
"""

from __future__ import annotations

import os
from time import perf_counter

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

from ..service import Observer
from .problems import problem_body, respond

bp = Blueprint("metrics", __name__)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ROWS_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # anything else is "other"


class Metrics(Observer):
    """The service's metrics: it observes the service and the decision log, and the request hooks feed it."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry
        self.decisions = Counter("transfer_gate_decisions", "Decisions returned (each logged first), by outcome, "
                                 "regime and route.", ["outcome", "regime", "route"], registry=registry)
        self.engine_seconds = Histogram("transfer_gate_engine_seconds", "Time of one engine step (facts, rules, "
                                        "combining): each decision, and each one replayed or tried out.", buckets=LATENCY_BUCKETS, registry=registry)
        self.log_commit_seconds = Histogram("transfer_gate_log_commit_seconds", "Time of one commit to the decision "
                                            "log, holding one or more requests' entries.", buckets=LATENCY_BUCKETS,
                                            registry=registry)
        self.log_commit_entries = Histogram("transfer_gate_log_commit_entries", "Entries written by one commit to the "
                                            "decision log (group commit and batches).", buckets=ROWS_BUCKETS,
                                            registry=registry)
        self.request_seconds = Histogram("transfer_gate_request_seconds", "Time from a request reaching the "
                                         "application to its answer, by endpoint and method.",
                                         ["endpoint", "method"], buckets=LATENCY_BUCKETS, registry=registry)
        self.responses = Counter("transfer_gate_http_responses", "Answers by status code and endpoint "
                                 "(5xx: the service failed; 503: the log or the key store was unavailable).",
                                 ["status", "endpoint"], registry=registry)
        self.answers = Counter("transfer_gate_answers_reused", "Decisions whose answer was found worked out "
                               "already for an earlier request (hit: no engine step) or worked out (miss).",
                               ["result"], registry=registry)
        self.reloads = Counter("transfer_gate_reloads", "Reloads of rules and profiles (SIGHUP to serve), by result.",
                               ["result"], registry=registry)

    # ------------------------------------------------------------------ Observer

    def engine(self, seconds: float) -> None:
        self.engine_seconds.observe(seconds)

    def decided(self, response: dict) -> None:
        self.decisions.labels(response["outcome"], response.get("regime") or "unknown",
                              response.get("route") or "none").inc()

    def reused(self, hit: bool) -> None:
        self.answers.labels("hit" if hit else "miss").inc()

    def committed(self, entries: int, seconds: float) -> None:
        self.log_commit_entries.observe(entries)
        self.log_commit_seconds.observe(seconds)

    # ------------------------------------------------------------------ requests

    def start(self) -> None:
        g.metrics_started = perf_counter()

    def answered(self, response):
        started = g.pop("metrics_started", None)
        endpoint = request.endpoint or "unmatched"
        if started is not None:
            method = request.method if request.method in METHODS else "other"
            self.request_seconds.labels(endpoint, method).observe(perf_counter() - started)
        self.responses.labels(str(response.status_code), endpoint).inc()
        return response

    def exposition(self) -> bytes:
        if multiprocessing():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def multiprocessing() -> bool:
    """Tell whether the client runs in multiprocess mode (its own switch, which `serve` sets)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def metrics(app: Flask | None = None) -> Metrics:
    return (app or current_app).extensions["transfer_gate.metrics"]


@bp.get("/metrics")
def scrape():
    """Prometheus exposition: only to the configured addresses."""
    allowed = {a.strip() for a in str(current_app.config["METRICS_ADDRESSES"]).split(",") if a.strip()}
    if request.remote_addr not in allowed:
        return respond(problem_body(403, "Forbidden", "Metrics are served only to the configured addresses "
                                    "(TRANSFER_GATE_METRICS_ADDRESSES).", "forbidden"))
    return Response(metrics().exposition(), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Create the metrics, let the service and the log report to them, and time every request.

    Call before any other before_request hook, so the time includes authentication.
    """
    m = Metrics(CollectorRegistry(auto_describe=True))
    app.extensions["transfer_gate.metrics"] = m
    rt = app.extensions["transfer_gate"]
    rt.observer = m
    rt.log.on_commit = m.committed
    app.before_request(m.start)
    app.after_request(m.answered)
    app.register_blueprint(bp)
