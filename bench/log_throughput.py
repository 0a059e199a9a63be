"""Measure decisions per second with logging on, on SQLite and PostgreSQL, with and without group commit.

    python -m bench.log_throughput                                   # SQLite in a temporary directory
    python -m bench.log_throughput --database-url postgresql://…     # an empty PostgreSQL database or schema
    python -m bench.log_throughput --n 2000 --threads 1,4,16 --processes 4

Each scenario decides N varied requests through service.decide() (validate, evaluate, log) on a
fresh store:

- one thread, each decision's append alternately through the write path and through SQLAlchemy
  Core as before it, side by side under the same load;
- threads T, one process: concurrent callers in one worker (gthread), each waiting for the
  commit that holds its decision — once with group commit, once with one commit per decision
  (the log's append replaced by its single-transaction write, as before group commit);
- processes: P sync workers appending to one store, one decision per commit each (`--processes`),
  and P workers of T threads each, with group commit (`--process-threads`, as `serve`'s
  default 2 × 8); on SQLite each twice, side by side: with the writers' turns (a flock'd file
  beside the database, the shipped behaviour) and with SQLite's busy handler alone (before);
- batch: POST /v1/decisions/batch-style, 100 decisions per commit.

Each line gives the rate and the p50 / p99 latency of one call (an append, or a decision).
Prints numbers. The chain is verified after each run, so the figures are those of a valid log.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
import uuid

import sqlalchemy as sa

from bench.requestgen import random_requests
from transfer_gate import create_app, service
from transfer_gate.log_entries import with_packed


class Store:
    """Hands out a fresh, empty store per scenario (a SQLite file, or a PostgreSQL schema)."""

    def __init__(self, url: str | None, tmp: str):
        self.url, self.tmp, self.made = url, tmp, []

    def fresh(self) -> str:
        if self.url is None:
            return f"sqlite:///{self.tmp}/{uuid.uuid4().hex}.sqlite3"
        from sqlalchemy.engine import make_url

        name = f"bench_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(make_url(self.url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        admin.dispose()
        self.made.append(name)
        return make_url(self.url).set(drivername="postgresql+psycopg").update_query_dict(
            {"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)

    def cleanup(self):
        if self.url is None:
            return
        from sqlalchemy.engine import make_url

        admin = sa.create_engine(make_url(self.url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.made:
                conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()



class Latencies(list):
    """Each call's seconds; `cpu`: the CPU seconds of the calling threads (the wait for the disk excluded)."""

    cpu = 0.0


def timed_threads(call, chunks) -> tuple[float, Latencies]:
    """Run `call(item)` for each item of each chunk, a thread per chunk; return the wall time and each call's seconds."""
    latencies, lock = Latencies(), threading.Lock()

    def work(chunk):
        mine = []
        c0 = time.thread_time()
        for item in chunk:
            t0 = time.perf_counter()
            call(item)
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.cpu += time.thread_time() - c0
            latencies.extend(mine)

    workers = [threading.Thread(target=work, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start, latencies


def latency(samples) -> str:
    """p50 / p99 of per-call seconds, in ms."""
    ordered = sorted(samples)
    if not ordered:
        return ""
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    text = f"p50 {statistics.median(ordered) * 1000:6.2f} / p99 {p99 * 1000:7.2f} ms"
    if getattr(samples, "cpu", 0):
        text += f"  CPU {samples.cpu / len(ordered) * 1e6:4.0f} µs per call"
    return text

def check(log):
    result = log.verify()
    log.close()
    if not result.ok:
        raise SystemExit(f"the chain is broken after the run: {result.describe()}")


def count_commits(log):
    """Count the log's write transactions (to report decisions per commit)."""
    counter = {"commits": 0}
    write = log._write

    def counted(rows, *args):
        counter["commits"] += 1
        return write(rows, *args)

    log._write = counted
    log._group._write = counted
    return counter


def run_threads(url, bodies, threads, group_commit):
    app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
    rt = app.extensions["transfer_gate"]
    counter = count_commits(rt.log)
    if not group_commit:
        rt.log.append = lambda rows: rt.log._write([with_packed(r) for r in rows])  # one transaction per decision
    for b in bodies[:50]:
        service.evaluate(rt, service.validate(rt, b))  # warm caches
    chunks = [bodies[i::threads] for i in range(threads)]
    elapsed, latencies = timed_threads(lambda b: service.decide(rt, b, caller="bench"), chunks)
    check(rt.log)
    return len(bodies) / elapsed, len(bodies) / max(1, counter["commits"]), latencies


def run_alternating(url, bodies):
    """One thread, each call's append alternately through the write path and SQLAlchemy Core (as before it).

    Side by side in one process, so that both see the same disk and the same load.
    """
    app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
    rt = app.extensions["transfer_gate"]
    log = rt.log
    driver = log._write

    def core(rows, wait=None):
        log._head, log._head_alone = None, False  # the next driver append reads the head anew
        return log._write_core(rows, wait)

    for b in bodies[:50]:
        service.decide(rt, b, caller="bench")
    samples = {"driver": [], "core": []}
    for i, b in enumerate(bodies[50:]):
        name = "driver" if i % 2 == 0 else "core"
        log._write = driver if name == "driver" else core
        t0 = time.perf_counter()
        service.decide(rt, b, caller="bench")
        samples[name].append(time.perf_counter() - t0)
    log._write = driver
    check(log)
    return samples


def _process(url, bodies, threads, turns, ready, go, out):
    app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
    rt = app.extensions["transfer_gate"]
    if not turns:
        rt.log._turn = None  # SQLite's busy handler alone, as before the writers' turns
    for b in bodies[:20]:
        service.evaluate(rt, service.validate(rt, b))  # warm caches
    ready.release()
    go.wait()
    _, latencies = timed_threads(lambda b: service.decide(rt, b, caller="bench"),
                                 [bodies[i::threads] for i in range(threads)])
    rt.log.close()
    out.put((time.perf_counter(), latencies))


def run_processes(url, bodies, processes, threads=1, turns=True):
    create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False}).extensions["transfer_gate"].log.close()  # migrate once
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_process, args=(url, bodies[i::processes], threads, turns, ready, go, out))
             for i in range(processes)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = max(end for end, _ in results) - start
    app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
    check(app.extensions["transfer_gate"].log)
    return len(bodies) / elapsed, [s for _, samples in results for s in samples]


def prepared_rows(bodies):
    """Decide the requests once without logging and return their log rows (to time the log alone)."""
    from transfer_gate.decision_log import entry_for

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/rows.sqlite3", "CREATE_FIRST_ADMIN_KEY": False})
        rt = app.extensions["transfer_gate"]
        rows = []
        for b in bodies:
            answer = service.decide(rt, b, caller="bench", dry_run=True)
            rows.append(entry_for(service.validate(rt, b).to_dict(), answer, "bench", "app"))
        rt.log.close()
    return rows


def run_log_alone(url, rows, threads, group_commit):
    app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
    log = app.extensions["transfer_gate"].log
    counter = count_commits(log)
    append = log.append if group_commit else (lambda batch: log._write([with_packed(r) for r in batch]))
    elapsed, latencies = timed_threads(lambda row: append([row]), [rows[i::threads] for i in range(threads)])
    check(log)
    return len(rows) / elapsed, len(rows) / max(1, counter["commits"]), latencies


def run_batch(url, bodies, size=100):
    app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
    rt = app.extensions["transfer_gate"]
    elapsed, latencies = timed_threads(lambda i: service.decide_batch(rt, bodies[i:i + size], caller="bench",
                                                                      problem=lambda exc: {}),
                                       [range(0, len(bodies), size)])
    check(rt.log)
    return len(bodies) / elapsed, latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="decisions per scenario")
    parser.add_argument("--threads", default="1,4,16", help="comma list of thread counts")
    parser.add_argument("--processes", type=int, default=4, help="sync worker processes for the process scenario")
    parser.add_argument("--process-threads", default="2x8", help="PxT: P worker processes of T threads (group commit)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server/database (default: SQLite files)")
    args = parser.parse_args()

    bodies = random_requests(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.database_url, tmp)
        kind = "postgresql" if args.database_url else "sqlite"
        print(f"{args.n} decisions per scenario, store {kind}, {multiprocessing.cpu_count()} CPUs")
        try:
            rows = prepared_rows(bodies)
            print("the log alone (rows prepared beforehand), one row per append:")
            for threads in [int(t) for t in args.threads.split(",")]:
                plain, _, plain_lat = run_log_alone(store.fresh(), rows, threads, group_commit=False)
                grouped, per_commit, grouped_lat = run_log_alone(store.fresh(), rows, threads, group_commit=True)
                print(f"  {threads:>2} threads, commit per append  {plain:6.0f} appends/s  {latency(plain_lat)}")
                print(f"  {threads:>2} threads, group commit       {grouped:6.0f} appends/s  {latency(grouped_lat)}"
                      f"  ({per_commit:.1f} rows per commit)")
            print("the whole service.decide() path (validate, evaluate, log):")
            rate, _, lat = run_threads(store.fresh(), bodies, 1, group_commit=False)
            print(f"   1 thread                         {rate:6.0f} decisions/s  {latency(lat)}")
            samples = run_alternating(store.fresh(), bodies)
            print(f"   1 thread, alternating per call: the write path {latency(samples['driver'])}, "
                  f"SQLAlchemy Core as before {latency(samples['core'])}")
            for threads in [int(t) for t in args.threads.split(",") if int(t) > 1]:
                plain, _, plain_lat = run_threads(store.fresh(), bodies, threads, group_commit=False)
                grouped, per_commit, grouped_lat = run_threads(store.fresh(), bodies, threads, group_commit=True)
                print(f"  {threads:>2} threads, commit per decision {plain:6.0f} decisions/s  {latency(plain_lat)}")
                print(f"  {threads:>2} threads, group commit       {grouped:6.0f} decisions/s  {latency(grouped_lat)}"
                      f"  ({per_commit:.1f} decisions per commit)")
            p, t = (int(x) for x in args.process_threads.lower().split("x"))
            shapes = [(args.processes, 1, f"{args.processes} processes, one thread each"),
                      (p, t, f"{p} processes × {t} threads")]
            for processes, threads, name in shapes:
                modes = [("writers' turns", True), ("busy handler only", False)] if kind == "sqlite" else [("", True)]
                for mode, turns in modes:
                    rate, lat = run_processes(store.fresh(), bodies, processes, threads, turns)
                    print(f"  {name + (', ' + mode if mode else ''):<46} {rate:6.0f} decisions/s  {latency(lat)}")
            rate, lat = run_batch(store.fresh(), bodies)
            print(f"  batches of 100, one commit each   {rate:6.0f} decisions/s  {latency(lat)} per batch")
        finally:
            store.cleanup()


if __name__ == "__main__":
    main()
