"""Memory and big batches: RSS over a million decisions, worker RSS under batches, a batch of 10,000.

    python -m bench.memory decide [--n 1000000] [--every 50000]    # one process, service.decide()
    python -m bench.memory http [--calls 100] [--per-call 1000]    # `transfer-gate serve`, batch endpoint
    python -m bench.memory profile [--per-call 1000]               # where one batch's time goes

`decide` runs service.decide() — validation, the engine, the answer, the log append (SQLite
in a temporary directory, fsync'd as shipped) — n times in one process and one thread, and
prints the process's RSS every `--every` decisions as it goes (so a run cut short still gives
a curve), with the Python objects the collector tracks and the sizes of the module-level memos.
The requests are drawn one at a time from the seeded request space of bench/requestgen.py, each
with its own reference; the date mixes the generator's three fixed dates (half), no date (today,
three in ten) and any day of 2023–2026 (one in five), so the per-date profile cache and the
engine's memos are filled, evicted and refilled as a long-running service would see them.
`--tracemalloc` also prints the allocation sites that grew most between the first and the last
sample (slow: for looking into a growth, not for the curve).

`http` starts `transfer-gate serve` with its shipped default settings on a fresh store (as
bench/http.py does), sends a few single decisions to warm its workers up, reads each gunicorn
worker's RSS from /proc/<pid>/status (the workers are the children of serve's process, gunicorn's
master), then POSTs `--calls` batches of `--per-call` requests to /v1/decisions/batch one after
another on one keep-alive connection. Every ten calls are a batch of 10,000 decisions: their
wall time is printed, with the workers' RSS a second later (a worker hands memory back once
it has sent an answer). `--warmup 1000` sends every request of the mix singly first. It ends
with `--concurrent` rounds of ten calls sent two at a time (on two connections), each worker's
RSS against its fresh one, and verify-log's verdict on the chain.

Prints numbers; asserts nothing (tests check correctness, benchmarks measure).
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from bench.requestgen import random_request


def rss_kib(pid: int | str = "self") -> int:
    """VmRSS of a process, in KiB."""
    return _status(pid).get("VmRSS", 0)


def _status(pid) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            out[key] = int(value.split()[0])
    return out


def mib(kib: int) -> str:
    return f"{kib / 1024:7.1f} MiB"


def load_average() -> str:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return f"load average {one}, {five}, {fifteen}"


# --- one process, a million decisions -------------------------------------------------------

FIRST_DAY = date(2023, 1, 1)
DAYS = (date(2026, 12, 31) - FIRST_DAY).days + 1


def varied_requests(seed: int = 14):
    """Endless valid request bodies: the generator's, each with its own reference, on a mix of dates."""
    rng = random.Random(seed)
    while True:
        body = random_request(rng)
        body["reference"] = f"mem-{rng.getrandbits(48):012x}"
        pick = rng.random()
        if pick < 0.3:
            del body["as_of"]  # today
        elif pick < 0.5:
            body["as_of"] = (FIRST_DAY + timedelta(days=rng.randrange(DAYS))).isoformat()
        yield body


def memo_sizes() -> str:
    """Entries in the engine's module-level memos and in the profile store's per-date cache."""
    from transfer_gate import engine

    sizes = {name.strip("_"): len(getattr(engine, name)) for name in ("_views", "_conditions", "_explained", "_summaries")
             if hasattr(engine, name)}
    return " ".join(f"{k} {v}" for k, v in sizes.items())


def run_decide(args) -> None:
    from transfer_gate import create_app, service

    start_rss = rss_kib()
    with tempfile.TemporaryDirectory(prefix="tg-mem-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
        rt = app.extensions["transfer_gate"]
        bodies = varied_requests()
        with app.app_context():
            for _ in range(args.warmup):
                service.decide(rt, next(bodies), caller="bench")
            gc.collect()
            if args.tracemalloc:
                tracemalloc.start(10)
            base = rss_kib()
            first_snapshot = tracemalloc.take_snapshot() if args.tracemalloc else None
            print(f"service.decide() × {args.n:,} in one process, store {url.split(':')[0]}, "
                  f"RSS sampled every {args.every:,}; {load_average()}")
            print(f"RSS {mib(start_rss)} at start, {mib(base)} after loading and {args.warmup:,} warm-up decisions "
                  f"(the baseline below)")
            print(f"{'decisions':>10} {'RSS':>11} {'vs base':>8} {'decisions/s':>12} {'gc objects':>11}  "
                  f"{'gc counts':<14} memos (entries); profile cache; load")
            began = last = time.perf_counter()
            curve = []
            resolve = getattr(rt.profiles, "_resolve", None)
            for i in range(1, args.n + 1):
                service.decide(rt, next(bodies), caller="bench")
                if i % args.every == 0 or i == args.n:
                    now = time.perf_counter()
                    rss = rss_kib()
                    curve.append((i, rss))
                    cache = resolve.cache_info().currsize if resolve is not None else "?"
                    rate = (args.every if i % args.every == 0 else i % args.every) / (now - last)
                    print(f"{i:>10,} {mib(rss)} {100 * (rss - base) / base:+7.2f}% {rate:12.0f} "
                          f"{len(gc.get_objects()):>11,}  {str(gc.get_count()):<14} {memo_sizes()}; "
                          f"profiles {cache}; {load_average()}", flush=True)
                    last = time.perf_counter()
            elapsed = time.perf_counter() - began
            peak = _status("self").get("VmHWM", 0)
            end = curve[-1][1]
            print(f"\n{args.n:,} decisions in {elapsed:.0f} s ({args.n / elapsed:.0f}/s); RSS {mib(base)} → {mib(end)} "
                  f"({100 * (end - base) / base:+.2f} %), peak {mib(peak)}")
            if len(curve) > 2:
                second = curve[0][1]
                print(f"from the first sample ({curve[0][0]:,}) to the last: {mib(second)} → {mib(end)} "
                      f"({100 * (end - second) / second:+.2f} %)")
            if first_snapshot is not None:
                diff = tracemalloc.take_snapshot().compare_to(first_snapshot, "lineno")
                print("\nallocation sites that grew most (tracemalloc):")
                for stat in diff[:15]:
                    print(f"  {stat}")
        if rt.log is not None:
            rt.log.close()


# --- over HTTP: batches against `transfer-gate serve` ------------------------------------------

def worker_pids(master: int) -> list[int]:
    """gunicorn's workers: the children of serve's process."""
    kids = []
    for task in Path(f"/proc/{master}/task").iterdir():
        kids += [int(p) for p in (task / "children").read_text().split()]
    return sorted(kids)


def workers_rss(master: int, settle: float = 1.0) -> dict[int, int]:
    """Each worker's RSS, read `settle` seconds after the last answer arrived (its worker may still be closing it)."""
    time.sleep(settle)
    return {pid: rss_kib(pid) for pid in worker_pids(master)}


REFUSED: list[str] = []  # answers other than 200, e.g. 503 when a batch outlasts the request deadline


def post(conn: http.client.HTTPConnection, path: str, body: bytes, auth: str) -> bytes:
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json", "Authorization": auth})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        REFUSED.append(f"{resp.status} {data[:160].decode(errors='replace')}")
    return data


def run_http(args) -> None:
    from bench.http import APP_KEY, Serve, fresh_store, request_mix

    auth = f"Bearer {APP_KEY}"
    mix = request_mix(args.per_call - 1)  # the README's request plus varied ones: per_call distinct requests
    rng = random.Random(14)
    with tempfile.TemporaryDirectory(prefix="tg-mem-http-") as tmp:
        work = Path(tmp)
        store = fresh_store(args.database_url, work)
        server = Serve(store, work, args.serve_args.split())
        try:
            host, port = server.url.rsplit("//", 1)[1].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            bodies = []
            for call in range(16):  # distinct bodies, each with its own references, reused round-robin
                items = []
                for j in range(args.per_call):
                    item = dict(mix[(call * 37 + j) % len(mix)])
                    item["reference"] = f"mem-{call}-{j}-{rng.getrandbits(32):08x}"
                    items.append(item)
                bodies.append(json.dumps({"requests": items}, ensure_ascii=False).encode())
            print(f"batch body: {args.per_call} requests, {len(bodies[0]) / 1024:.0f} KiB "
                  f"(the limit: 1,000 requests and 1 MiB per call by default)")
            for body in (mix * (1 + args.warmup // len(mix)))[:args.warmup]:
                post(conn, "/v1/decisions", json.dumps(body).encode(), auth)
            master = server.proc.pid
            fresh = workers_rss(master)
            print(f"`transfer-gate serve` {args.serve_args or '(shipped defaults)'}, {len(fresh)} workers; "
                  f"{load_average()}")
            print(f"fresh, after {args.warmup} single decisions: " +
                  ", ".join(f"worker {p} {mib(r)}" for p, r in fresh.items()))
            print(f"\n{'calls':>6} {'10 calls (10,000)':>18} {'per call p50/max':>18}   worker RSS")
            tens, per_call = [], []
            for call in range(1, args.calls + 1):
                t0 = time.perf_counter()
                answer = post(conn, "/v1/decisions/batch", bodies[call % len(bodies)], auth)
                per_call.append(time.perf_counter() - t0)
                if call == 1:
                    answer_kib = len(answer) / 1024
                del answer
                if call % 10 == 0:  # (the RSS is read a second after the tenth call: not timed)
                    last10 = per_call[-10:]
                    tens.append(sum(last10))
                    rss = workers_rss(master)
                    print(f"{call:>6} {sum(last10):16.2f} s {statistics.median(last10):8.2f}/{max(last10):.2f} s   " +
                          ", ".join(f"{mib(r)} ({100 * (r - fresh.get(p, r)) / fresh.get(p, r):+.0f} %)"
                                    for p, r in rss.items()) + f"   {load_average()}", flush=True)
            conn.close()
            print(f"\nanswer to one call: {answer_kib:.0f} KiB")
            print(f"a batch of {10 * args.per_call:,} (10 calls, one after another): median {statistics.median(tens):.2f} s, "
                  f"min {min(tens):.2f} s, max {max(tens):.2f} s over {len(tens)} rounds "
                  f"({10 * args.per_call / statistics.median(tens):.0f} decisions/s)")
            after = workers_rss(master)
            status = {p: _status(p) for p in after}
            print(f"after {args.calls} batch calls: " + ", ".join(
                f"worker {p} {mib(r)} ({100 * (r - fresh[p]) / fresh[p]:+.1f} % of fresh; peak {mib(status[p].get('VmHWM', 0))})"
                for p, r in after.items() if p in fresh))

            if args.concurrent:
                def one(i):
                    c = http.client.HTTPConnection(host, int(port), timeout=120)
                    try:
                        post(c, "/v1/decisions/batch", bodies[i % len(bodies)], auth)
                    finally:
                        c.close()

                rounds = []
                with ThreadPoolExecutor(2) as pool:
                    for _ in range(args.concurrent):
                        t0 = time.perf_counter()
                        list(pool.map(one, range(10)))
                        rounds.append(time.perf_counter() - t0)
                print(f"a batch of {10 * args.per_call:,} (10 calls, two at a time): median {statistics.median(rounds):.2f} s, "
                      f"min {min(rounds):.2f} s, max {max(rounds):.2f} s over {len(rounds)} rounds")
                final = workers_rss(master)
                print(f"after {args.calls + 10 * args.concurrent} batch calls: " + ", ".join(
                    f"worker {p} {mib(r)} ({100 * (r - fresh[p]) / fresh[p]:+.1f} %)" for p, r in final.items()
                    if p in fresh))
            print(f"answers other than 200: {len(REFUSED)}" + "".join(f"\n  {r}" for r in REFUSED[:5]))
            print(load_average())
        finally:
            server.stop()
        print(f"verify-log: {server.verify()}")


# --- where a batch's time goes ----------------------------------------------------------------

def run_profile(args) -> None:
    import cProfile
    import pstats

    from bench.http import request_mix
    from transfer_gate import create_app, service
    from transfer_gate.web.problems import problem_for

    raw = json.dumps(request_mix(args.per_call - 1))
    with tempfile.TemporaryDirectory(prefix="tg-mem-prof-") as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "CREATE_FIRST_ADMIN_KEY": False})
        rt = app.extensions["transfer_gate"]
        with app.test_request_context():
            service.decide_batch_text(rt, json.loads(raw), caller="bench", problem=problem_for)  # memos warm
            walls = []
            for _ in range(3):
                t0 = time.perf_counter()
                service.decide_batch_text(rt, json.loads(raw), caller="bench", problem=problem_for)
                walls.append(time.perf_counter() - t0)
            profile = cProfile.Profile()
            profile.enable()
            service.decide_batch_text(rt, json.loads(raw), caller="bench", problem=problem_for)
            profile.disable()
        rt.log.close()
    print(f"service.decide_batch_text with {args.per_call} requests: {statistics.median(walls):.3f} s unprofiled "
          f"(median of 3); {load_average()}")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    dec = sub.add_parser("decide", help="RSS over many service.decide() calls in one process")
    dec.add_argument("--n", type=int, default=1_000_000)
    dec.add_argument("--every", type=int, default=50_000, help="decisions between RSS samples")
    dec.add_argument("--warmup", type=int, default=2_000)
    dec.add_argument("--database-url", default=None, help="decision log store (default: a temporary SQLite file)")
    dec.add_argument("--tracemalloc", action="store_true", help="diff allocation sites between first and last sample")
    web = sub.add_parser("http", help="batches through `transfer-gate serve`: time, and worker RSS")
    web.add_argument("--calls", type=int, default=100)
    web.add_argument("--per-call", type=int, default=1000, help="requests per batch call (the default limit is 1,000)")
    web.add_argument("--warmup", type=int, default=5, help="single decisions before the fresh RSS is read")
    web.add_argument("--concurrent", type=int, default=3, help="rounds of 10 calls sent two at a time (0: none)")
    web.add_argument("--database-url", help="PostgreSQL server URL (a fresh schema is made); default SQLite")
    web.add_argument("--serve-args", default="", help="instead of the shipped defaults, e.g. '--workers 1 --threads 16'")
    prof = sub.add_parser("profile", help="cProfile of one batch of --per-call in one process")
    prof.add_argument("--per-call", type=int, default=1000)
    prof.add_argument("--lines", type=int, default=40)
    args = parser.parse_args()
    {"decide": run_decide, "http": run_http, "profile": run_profile}[args.what](args)


if __name__ == "__main__":
    sys.exit(main())
