"""Several `serve` instances on one PostgreSQL, and the ceiling the single chain head puts on them.

    python -m bench.scale_out --database-url postgresql://…                 # every part, 3 runs
    python -m bench.scale_out --database-url postgresql://… --instances 1,2,4 --runs 3 --part serve
    python -m bench.scale_out --database-url postgresql://… --appenders 1,2,4,8 --part appends

Every append takes the chain head's row lock (`SELECT … FOR UPDATE` of decision_log_head) and
keeps it until its commit returns, so commits are serialised across processes and instances;
group commit inside each process puts several rows in one commit. Three parts, each run
`--runs` times, the configurations of a part interleaved within each run so that the
machine's load falls on all of them alike; medians are printed:

- serve: N `transfer-gate serve` instances (shipped default settings, each on its own port)
  on one fresh schema, driven together for `--duration` s by one wrk per instance, `--concurrency`
  connections split evenly between them (no proxy in front: on two cores nginx would take CPU
  from the instances, and an even split is what a balancer in front of identical instances
  does). Latency percentiles are those of all requests together (the wrk's distributions
  merged, weighted by requests).
- appends: P processes doing nothing but appends of rows prepared beforehand (the log alone,
  as in bench/log_throughput.py), `--threads` threads each (one row per append, so the
  threads of a process share commits as a serve worker's do), and again with one thread each
  (one row per commit: the commits/s the head allows); and one appender alone committing 1, 10
  and 100 rows at a time, nobody queued: the head's hold time against the rows it commits.
- chains: the same P processes, each appending to a chain of its own (a schema of its own,
  so a head row of its own) on the same server at the same time: a simulation of one chain per
  instance, showing what lifting the single head gives. The product's schema is not changed.

The head lock is measured from the server's side: a sampler reads pg_stat_activity
`--sample-hz` times a second during the load (so give the bench a database of its own: every
backend of that database counts). A backend of the bench's database with a
transaction id that is not waiting for a lock holds the head (an append's first write is the
`FOR UPDATE` of the head, and it keeps the row lock until its commit has flushed the WAL); one
whose wait event is of type `Lock` is queued for it. So "head busy" is the share of samples in
which someone holds it, and "the client's turn" the share of that during which the holder's
server process is idle in its transaction, waiting for the client (to hash and send the rows,
or for a CPU to do so); by Little's law the time a commit holds it is busy ÷ commits/s, and the
time a commit queues for it is mean waiters ÷ commits/s. Commits and entries per commit come
from each instance's /metrics (`transfer_gate_log_commit_seconds`, `…_entries`: their time
includes the queueing) or, for the appenders, from the log's own commit observer.

`verify-log` checks every chain after each run. The machine's load (`uptime`) is printed with
each run. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.harness import APP_KEY, Serve, merged_latency, request_mix, wrk

# A backend of the bench's database holds the head when it has a transaction id and is not
# queued for a lock; it is queued for the head when it waits for a lock (the holder's
# transaction id, or the row's tuple lock). A holder that is `idle in transaction` is waiting for
# its client: the head is held while the client process computes (or waits for a CPU).
HEAD_SAMPLE = """
SELECT count(*) FILTER (WHERE backend_xid IS NOT NULL AND wait_event_type IS DISTINCT FROM 'Lock'),
       count(*) FILTER (WHERE wait_event_type = 'Lock'),
       count(*) FILTER (WHERE backend_xid IS NOT NULL AND state = 'idle in transaction')
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def load_average() -> float:
    return os.getloadavg()[0]


# --------------------------------------------------------------------------- stores


class Schemas:
    """Fresh PostgreSQL schemas on one database, dropped at the end."""

    def __init__(self, url: str):
        self.base = make_url(url).set(drivername="postgresql+psycopg")
        self.admin = sa.create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def fresh(self) -> str:
        name = f"scale_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        self.made.append(name)
        return self.base.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)

    def drop_all(self):
        with self.admin.connect() as conn:
            for name in self.made:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.made.clear()


class HeadSampler:
    """Samples pg_stat_activity in a thread: how often the head is held, and how many wait for it."""

    def __init__(self, url: str, hz: float):
        self.engine = sa.create_engine(make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        self.period = 1 / hz
        self.samples: list[tuple[int, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def _run(self):
        with self.engine.connect() as conn:
            next_at = time.perf_counter()
            while not self._stop.is_set():
                self.samples.append(tuple(conn.exec_driver_sql(HEAD_SAMPLE).one()))
                next_at += self.period
                pause = next_at - time.perf_counter()
                if pause > 0:
                    self._stop.wait(pause)
                else:
                    next_at = time.perf_counter()

    def summary(self) -> dict:
        n = max(1, len(self.samples))
        return {"samples": len(self.samples),
                "busy": sum(1 for h, _, _ in self.samples if h) / n,   # share of time someone holds the head
                "holders": sum(h for h, _, _ in self.samples) / n,     # > busy only if something else writes
                "waiters": sum(w for _, w, _ in self.samples) / n,     # mean queue for the head
                "client": sum(c for _, _, c in self.samples) / n}      # held while the server waits for the client


def verify(url: str) -> str:
    from transfer_gate.decision_log import DecisionLog

    log = DecisionLog(url)
    try:
        result = log.verify()
        return f"intact ({result.checked} entries)" if result.ok else f"BROKEN: {result.describe()}"
    finally:
        log.close()


def head_figures(sampler: dict, commits: float, entries: float, seconds: float, commit_seconds: float) -> dict:
    """Commits/s, entries per commit, and the head's hold and queue times per commit (Little's law)."""
    rate = commits / seconds if seconds else 0.0
    return {"commits_s": rate, "per_commit": entries / commits if commits else float("nan"),
            "busy": sampler["busy"], "waiters": sampler["waiters"], "holders": sampler["holders"],
            "client": sampler["client"] / sampler["holders"] if sampler["holders"] else float("nan"),
            "hold_ms": 1000 * sampler["busy"] / rate if rate else float("nan"),
            "queue_ms": 1000 * sampler["waiters"] / rate if rate else float("nan"),
            "commit_ms": 1000 * commit_seconds / commits if commits else float("nan"),
            "samples": sampler["samples"]}


# --------------------------------------------------------------------------- serve instances


def scrape(url: str) -> dict[str, float]:
    """The log-commit histograms' sums and counts from one instance's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    wanted = {"transfer_gate_log_commit_seconds_sum", "transfer_gate_log_commit_seconds_count",
              "transfer_gate_log_commit_entries_sum"}
    out = dict.fromkeys(wanted, 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in wanted:
                out[sample.name] += sample.value
    return out


def run_instances(schemas: Schemas, n: int, work: Path, bodies: Path, args) -> dict:
    """Start n instances on one fresh schema, drive them together, read the head's figures, verify."""
    store = schemas.fresh()
    load = load_average()
    servers = []
    try:
        for i in range(n):
            servers.append(Serve(store, work, args.serve_args.split(), name=f"serve-{i}"))
        auth = f"Bearer {APP_KEY}"
        per = args.concurrency // n
        threads = max(1, 2 // n)
        with ThreadPoolExecutor(n) as pool:  # warm up: the first requests of a worker fill its caches
            list(pool.map(lambda s: wrk(s.url, "POST", "/v1/decisions", bodies, auth, per, 2, threads), servers))
        before = [scrape(s.url) for s in servers]
        with HeadSampler(store, args.sample_hz) as sampler, ThreadPoolExecutor(n) as pool:
            started = time.perf_counter()
            results = list(pool.map(lambda s: wrk(s.url, "POST", "/v1/decisions", bodies, auth, per, args.duration,
                                                  threads), servers))
            elapsed = time.perf_counter() - started
        after = [scrape(s.url) for s in servers]
    finally:
        for s in servers:
            s.stop()
    delta = {k: sum(a[k] - b[k] for a, b in zip(after, before)) for k in after[0]}
    seconds = statistics.mean(r["duration_us"] / 1e6 for r in results)
    out = {"rps": sum(r["rps"] for r in results), "p50_us": merged_latency(results, 50),
           "p99_us": merged_latency(results, 99), "max_us": max(r["max_us"] for r in results),
           "bad": sum(r["not200"] + r["socket_errors"] for r in results), "load": load, "elapsed": elapsed}
    out.update(head_figures(sampler.summary(), delta["transfer_gate_log_commit_seconds_count"],
                            delta["transfer_gate_log_commit_entries_sum"], seconds,
                            delta["transfer_gate_log_commit_seconds_sum"]))
    out["verify"] = servers[0].verify()  # `transfer-gate verify-log` on the instances' store
    return out


# --------------------------------------------------------------------------- appenders


def _appender(url, rows, threads, batch, seconds, ready, go, out):
    """One process appending prepared rows, `batch` per append, from `threads` threads for `seconds`."""
    from ulid import ULID

    from transfer_gate.decision_log import DecisionLog

    log = DecisionLog(url)
    counts = {"commits": 0, "entries": 0, "seconds": 0.0, "appended": 0, "error": None}
    lock = threading.Lock()

    def observed(entries, secs):
        with lock:
            counts["commits"] += 1
            counts["entries"] += entries
            counts["seconds"] += secs

    log.on_commit = observed
    log.append([dict(rows[0], decision_id=str(ULID()))])  # connect and warm up before the start
    counts.update(commits=0, entries=0, seconds=0.0)
    ready.release()
    go.wait()
    stop_at = time.perf_counter() + seconds

    def work(offset):
        done, i = 0, offset
        try:
            while time.perf_counter() < stop_at:
                # a decision id is unique in the log: each append is a new decision with a prepared answer
                log.append([dict(rows[(i + j) % len(rows)], decision_id=str(ULID())) for j in range(batch)])
                done, i = done + batch, i + threads * batch
        except Exception as exc:
            counts["error"] = f"{exc.__class__.__name__}: {str(exc)[:300]}"
        with lock:
            counts["appended"] += done

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    counts["ended"] = time.perf_counter()
    log.close()
    out.put(counts)


def run_appenders(schemas: Schemas, rows: list[dict], processes: int, threads: int, batch: int, seconds: float,
                  hz: float, own_chains: bool = False) -> dict:
    """P processes appending together, to one chain or each to its own; the head's figures and the rate."""
    from transfer_gate.decision_log import DecisionLog

    stores = [schemas.fresh() for _ in range(processes if own_chains else 1)]
    for store in stores:
        log = DecisionLog(store)
        log.migrate()
        log.close()
    load = load_average()
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_appender, args=(stores[i % len(stores)], rows, threads, batch, seconds, ready, go, out))
             for i in range(processes)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    with HeadSampler(stores[0], hz) as sampler:
        started = time.perf_counter()
        go.set()
        counts = [out.get(timeout=seconds + 300) for _ in procs]
        elapsed = max(c["ended"] for c in counts) - started
    for p in procs:
        p.join()
    total = {k: sum(c[k] for c in counts) for k in ("commits", "entries", "seconds", "appended")}
    for error in {c["error"] for c in counts if c["error"]}:
        print(f"  an appender failed: {error}", flush=True)
    result = {"rps": total["appended"] / elapsed, "load": load}
    result.update(head_figures(sampler.summary(), total["commits"], total["entries"], elapsed, total["seconds"]))
    if own_chains:  # the sampler sees every chain's holders at once: report each head's share, and its hold
        result["busy"] = result["holders"] / processes
        result["hold_ms"] = 1000 * result["holders"] / result["commits_s"] if result["commits_s"] else float("nan")
    result["verify"] = "; ".join(sorted({verify(s) for s in stores})) if not own_chains else \
        ("intact" if all(verify(s).startswith("intact") for s in stores) else "BROKEN")
    return result


BATCHES = (1, 10, 100)  # rows per append of the lone appender: the head's hold time against the rows it commits


def describe(key: tuple) -> str:
    processes, threads, batch, own = key
    return (f"{processes} process(es) × {threads} thread(s)" + (f", {batch} rows per append" if batch > 1 else "")
            + (", a chain each" if own else ", one chain"))


def prepared(n: int) -> list[dict]:
    """Log rows for n varied decisions, decided beforehand (bench/log_throughput.py's "log alone")."""
    from bench.log_throughput import prepared_rows
    from bench.requestgen import random_requests

    return prepared_rows(random_requests(n, seed=14))


# --------------------------------------------------------------------------- printing


def med(runs: list[dict], key: str) -> float:
    values = [r[key] for r in runs if r[key] == r[key]]  # NaN-free
    return statistics.median(values) if values else float("nan")


def head_columns(runs: list[dict]) -> str:
    return (f"{med(runs, 'commits_s'):7.0f} commits/s {med(runs, 'per_commit'):5.1f} per commit  "
            f"head busy {100 * med(runs, 'busy'):3.0f} % (client's turn {100 * med(runs, 'client'):3.0f} %)  "
            f"held {med(runs, 'hold_ms'):5.2f} ms/commit  "
            f"queued {med(runs, 'queue_ms'):6.2f} ms/commit ({med(runs, 'waiters'):4.1f} waiting)")


def line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares: the intercept and slope of y = a + b·x through the points."""
    mx, my = statistics.mean(x for x, _ in points), statistics.mean(y for _, y in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    return my - slope * mx, slope


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database (fresh schemas are made in it)")
    parser.add_argument("--instances", default="1,2,4", help="comma list of serve instance counts")
    parser.add_argument("--appenders", default="1,2,4,8", help="comma list of appending process counts")
    parser.add_argument("--part", default="serve,appends,chains", help="which parts to run (comma list)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32, help="total connections, split across instances")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per instance count and run")
    parser.add_argument("--append-seconds", type=float, default=5, help="seconds per appenders scenario and run")
    parser.add_argument("--threads", type=int, default=8, help="threads per appending process (a serve worker's)")
    parser.add_argument("--mix", type=int, default=200, help="varied requests besides the README's")
    parser.add_argument("--sample-hz", type=float, default=100, help="pg_stat_activity samples per second")
    parser.add_argument("--serve-args", default="", help="instead of the shipped defaults, e.g. '--workers 1'")
    args = parser.parse_args()
    parts = set(args.part.split(","))
    instances = [int(n) for n in args.instances.split(",")]
    appenders = [int(n) for n in args.appenders.split(",")]
    schemas = Schemas(args.database_url)
    print(f"{os.cpu_count()} CPUs; at start: {uptime()}", flush=True)
    serve_runs: dict[int, list] = {n: [] for n in instances}
    append_runs: dict[tuple, list] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="tg-scale-") as tmp:
            work = Path(tmp)
            bodies = work / "decide.jsonl"
            bodies.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in request_mix(args.mix)))
            rows = prepared(400) if parts & {"appends", "chains"} else []
            for run in range(args.runs):
                if "serve" in parts:
                    for n in instances:
                        r = run_instances(schemas, n, work, bodies, args)
                        serve_runs[n].append(r)
                        print(f"run {run + 1}: {n} instance(s): {r['rps']:.0f} decisions/s, p99 "
                              f"{r['p99_us'] / 1000:.0f} ms, {r['commits_s']:.0f} commits/s, head busy "
                              f"{100 * r['busy']:.0f} %, verify-log {r['verify']}; load {r['load']:.2f}", flush=True)
                        schemas.drop_all()
                scenarios = []  # (processes, threads each, rows per append, a chain each)
                if "appends" in parts:
                    scenarios += [(1, 1, b, False) for b in BATCHES]
                    scenarios += [(p, args.threads, 1, False) for p in appenders] + \
                                 [(p, 1, 1, False) for p in appenders if p > 1]
                if "chains" in parts:
                    scenarios += [(p, args.threads, 1, True) for p in appenders if p > 1]
                for key in scenarios:
                    r = run_appenders(schemas, rows, key[0], key[1], key[2], args.append_seconds, args.sample_hz,
                                      key[3])
                    append_runs.setdefault(key, []).append(r)
                    print(f"run {run + 1}: {describe(key)}: {r['rps']:.0f} rows/s, "
                          f"{r['commits_s']:.0f} commits/s, head busy {100 * r['busy']:.0f} %, "
                          f"verify {r['verify']}; load {r['load']:.2f}", flush=True)
                    schemas.drop_all()
                print(f"run {run + 1}/{args.runs} done: {uptime()}", flush=True)
    finally:
        schemas.drop_all()

    print(f"\nmedian of {args.runs} runs; at the end: {uptime()}")
    if serve_runs and any(serve_runs.values()):
        print(f"\n`serve` instances ({args.serve_args or 'shipped defaults'}) on one PostgreSQL, c={args.concurrency} "
              f"in all, {args.duration} s:")
        one = med(serve_runs[instances[0]], "rps")
        for n, runs in serve_runs.items():
            print(f"  {n} instance(s): {med(runs, 'rps'):6.0f} decisions/s (×{med(runs, 'rps') / one:.2f})  "
                  f"p50 {med(runs, 'p50_us') / 1000:6.1f} ms  p99 {med(runs, 'p99_us') / 1000:6.1f} ms  "
                  f"non-200 {sum(r['bad'] for r in runs)}  load {med(runs, 'load'):.1f}")
            print(f"      {head_columns(runs)}  commit {med(runs, 'commit_ms'):5.2f} ms as the instance sees it")
    if append_runs:
        print(f"\nthe log alone on PostgreSQL, {args.append_seconds:g} s per scenario (rows prepared beforehand):")
    for key, runs in append_runs.items():
        print(f"  {describe(key):<44} {med(runs, 'rps'):6.0f} rows/s  {head_columns(runs)}  "
              f"load {med(runs, 'load'):.1f}")
    alone = {key[2]: runs for key, runs in append_runs.items() if key[:2] == (1, 1) and not key[3]}
    if len(alone) > 1:
        # hold(rows) = h0 + rows × h_row, from one appender alone (nobody queued), batch sizes 1…100
        h0, slope = line([(med(v, "per_commit"), med(v, "hold_ms")) for v in alone.values()])
        s0, s_row = line([(med(v, "per_commit"), med(v, "hold_ms") * (1 - med(v, "client"))) for v in alone.values()])
        print(f"\nthe head is held ≈ {h0:.2f} ms + {slope:.3f} ms per row per commit (least squares over one "
              f"appender's batches of {', '.join(map(str, BATCHES))}); of which the server's part "
              f"≈ {s0:.2f} ms + {s_row:.3f} ms per row, the rest the client's turn")
        print(f"so one chain allows at most ≈ {1000 / h0:.0f} commits/s; rows/s at k rows per commit = "
              f"k ÷ ({h0:.2f} + k × {slope:.3f}) ms: "
              + ", ".join(f"k={k} → {1000 * k / (h0 + slope * k):.0f}" for k in (1, 4, 8, 16, 64))
              + (f"; never more than {1000 / slope:.0f} rows/s" if slope > 0 else ""))


if __name__ == "__main__":
    main()
