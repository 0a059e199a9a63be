"""Measure decisions per second with logging on, on SQLite and PostgreSQL, with and without group commit.

    python -m bench.log_throughput                                   # SQLite in a temporary directory
    python -m bench.log_throughput --database-url postgresql://…     # an empty PostgreSQL database or schema
    python -m bench.log_throughput --n 2000 --threads 1,4,16 --processes 4

Each scenario decides N varied requests through service.decide() (validate, evaluate, log) on a
fresh store:

- threads T, one process: concurrent callers in one worker (gthread), each waiting for the
  commit that holds its decision — once with group commit, once with one commit per decision
  (the log's append replaced by its single-transaction write, as before group commit);
- processes P: P sync workers appending to one store, one decision per commit each;
- batch: POST /v1/decisions/batch-style, 100 decisions per commit.

Prints numbers. The chain is verified after each run, so the figures are those of a valid log.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
import uuid

import sqlalchemy as sa

from bench.requestgen import random_requests
from transfer_gate import create_app, service


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



def timed_threads(work, chunks) -> float:
    """Run `work(chunk)` for each chunk in its own thread; return the wall time for all of them."""
    workers = [threading.Thread(target=work, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start

def check(log):
    result = log.verify()
    log.close()
    if not result.ok:
        raise SystemExit(f"the chain is broken after the run: {result.describe()}")


def count_commits(log):
    """Count the log's write transactions (to report decisions per commit)."""
    counter = {"commits": 0}
    write = log._write

    def counted(rows):
        counter["commits"] += 1
        return write(rows)

    log._write = counted
    log._group._write = counted
    return counter


def run_threads(url, bodies, threads, group_commit):
    app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
    rt = app.extensions["transfer_gate"]
    counter = count_commits(rt.log)
    if not group_commit:
        rt.log.append = lambda rows: rt.log._write(list(rows))  # one transaction per decision
    for b in bodies[:50]:
        service.evaluate(rt, service.validate(rt, b))  # warm caches
    chunks = [bodies[i::threads] for i in range(threads)]

    def work(chunk):
        for b in chunk:
            service.decide(rt, b, caller="bench")

    elapsed = timed_threads(work, chunks)
    check(rt.log)
    return len(bodies) / elapsed, len(bodies) / max(1, counter["commits"])


def _process(url, bodies, ready, go, out):
    app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
    rt = app.extensions["transfer_gate"]
    ready.release()
    go.wait()
    for b in bodies:
        service.decide(rt, b, caller="bench")
    rt.log.close()
    out.put(time.perf_counter())


def run_processes(url, bodies, processes):
    create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False}).extensions["transfer_gate"].log.close()  # migrate once
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_process, args=(url, bodies[i::processes], ready, go, out)) for i in range(processes)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    ends = [out.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = max(ends) - start
    app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
    check(app.extensions["transfer_gate"].log)
    return len(bodies) / elapsed


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
    append = log.append if group_commit else (lambda batch: log._write(list(batch)))
    chunks = [rows[i::threads] for i in range(threads)]

    def work(chunk):
        for row in chunk:
            append([row])

    elapsed = timed_threads(work, chunks)
    check(log)
    return len(rows) / elapsed, len(rows) / max(1, counter["commits"])


def run_batch(url, bodies, size=100):
    app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
    rt = app.extensions["transfer_gate"]
    start = time.perf_counter()
    for i in range(0, len(bodies), size):
        service.decide_batch(rt, bodies[i:i + size], caller="bench", problem=lambda exc: {})
    elapsed = time.perf_counter() - start
    check(rt.log)
    return len(bodies) / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="decisions per scenario")
    parser.add_argument("--threads", default="1,4,16", help="comma list of thread counts")
    parser.add_argument("--processes", type=int, default=4, help="sync worker processes for the process scenario")
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
                plain, _ = run_log_alone(store.fresh(), rows, threads, group_commit=False)
                grouped, per_commit = run_log_alone(store.fresh(), rows, threads, group_commit=True)
                print(f"  {threads:>2} threads, commit per append / group commit  {plain:8.0f} / {grouped:8.0f} "
                      f"appends/s  ({per_commit:.1f} rows per commit)")
            print("the whole service.decide() path (validate, evaluate, log):")
            rate, _ = run_threads(store.fresh(), bodies, 1, group_commit=False)
            print(f"   1 thread, commit per decision{'':<21} {rate:8.0f} decisions/s")
            for threads in [int(t) for t in args.threads.split(",") if int(t) > 1]:
                plain, _ = run_threads(store.fresh(), bodies, threads, group_commit=False)
                grouped, per_commit = run_threads(store.fresh(), bodies, threads, group_commit=True)
                print(f"  {threads:>2} threads, commit per decision / group commit  {plain:8.0f} / {grouped:8.0f} "
                      f"decisions/s  ({per_commit:.1f} decisions per commit)")
            rate = run_processes(store.fresh(), bodies, args.processes)
            print(f"  {args.processes:>2} processes, commit per decision{'':<19} {rate:8.0f} decisions/s")
            rate = run_batch(store.fresh(), bodies)
            print(f"  batches of 100, one commit each{'':<20} {rate:8.0f} decisions/s")
        finally:
            store.cleanup()


if __name__ == "__main__":
    main()
