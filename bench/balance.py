"""How `serve`'s workers share connections that clients keep open.

    python -m bench.balance                       # SQLite, c=32, 5 runs of 8 s
    python -m bench.balance --runs 5 --concurrency 32 --serve-args '--workers 2 --threads 8'

Starts `transfer-gate serve` (shipped defaults unless told) on a fresh SQLite store and, run after
run, drives `POST /v1/decisions` with wrk over the README's request mix; half-way through each
run it counts the established connections each worker process holds (`ss`, from iproute2) and
prints them beside the run's decisions/s, p50 and p99 — each run opens its connections anew, so
each shows how the workers split them. Asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.harness import APP_KEY, Serve, fresh_store, measured, request_mix


def connections_per_worker(port: int) -> dict[int, int]:
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    return dict(collections.Counter(int(line.split("pid=")[1].split(",")[0]) for line in out.splitlines()
                                    if "pid=" in line))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=int, default=8, help="seconds per run")
    parser.add_argument("--serve-args", default="", help="e.g. '--workers 2 --threads 8'")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tg-balance-") as tmp:
        work = Path(tmp)
        bodies = work / "bodies.jsonl"
        bodies.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in request_mix(200)))
        server = Serve(fresh_store(None, work), work, args.serve_args.split())
        try:
            workers = server.pids()[1:]
            print(f"`transfer-gate serve` {args.serve_args or '(shipped defaults)'}: workers {workers}; "
                  f"c={args.concurrency}, {args.duration} s a run")
            for run in range(1, args.runs + 1):
                seen: dict[int, int] = {}

                def count():
                    time.sleep(args.duration / 2)
                    seen.update(connections_per_worker(server.port))

                counter = threading.Thread(target=count)
                counter.start()
                result = measured(server, "POST", "/v1/decisions", bodies, f"Bearer {APP_KEY}", args.concurrency,
                                  args.duration)
                counter.join()
                split = " / ".join(str(seen.get(pid, 0)) for pid in workers)
                print(f"run {run}: connections per worker {split:>9}   {result['rps']:6.0f} decisions/s   "
                      f"p50 {result['p50_us'] / 1000:6.1f} ms   p99 {result['p99_us'] / 1000:6.1f} ms   "
                      f"server CPU {result['cpu_us']:5.0f} µs each", flush=True)
        finally:
            server.stop()
        print(f"verify-log: {server.verify()}")


if __name__ == "__main__":
    main()
