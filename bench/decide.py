"""Measure the decision path: engine step and whole service.decide(), latency, throughput, memory.

    python -m bench.decide                       # 20,000 varied requests
    python -m bench.decide --n 5000 --rss 100000 # also run 100,000 engine decisions for memory growth

Measures `service.decide` twice: over varied requests drawn from the whole request space (almost
every one a kind of request not seen before, so the engine runs and the answer is built each
time), and over the HTTP benchmark's mix (201 kinds of request in turn, each with a new
reference: the answers are found kept, service.Answers). The fsync'd commit is in both.

Prints numbers; asserts nothing (tests check correctness, benchmarks measure).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.requestgen import random_requests
from transfer_gate import create_app, service


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(samples, q):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(q * len(samples)))]


def report(name, samples_ns, wall_s):
    us = [s / 1000 for s in samples_ns]
    print(f"{name:<28} p50 {pct(us, 0.50):8.1f} µs   p99 {pct(us, 0.99):8.1f} µs   "
          f"mean {statistics.fmean(us):8.1f} µs   {len(us) / wall_s:9.0f} decisions/s")


class Reuse(service.Observer):
    """Counts how many decisions found their answer kept (service.Answers)."""

    hits = misses = 0

    def reused(self, hit: bool) -> None:
        if hit:
            self.hits += 1
        else:
            self.misses += 1

    def share(self) -> float:
        return self.hits / max(1, self.hits + self.misses)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="requests per measurement")
    parser.add_argument("--rss", type=int, default=0, help="engine decisions for the memory-growth run")
    parser.add_argument("--database-url", default=None, help="decision log store (default: a temporary SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        rss_start = rss_kib()
        app = create_app({"DATABASE_URL": url, "CREATE_FIRST_ADMIN_KEY": False})
        rt = app.extensions["transfer_gate"]
        bodies = random_requests(args.n)
        requests = [service.validate(rt, b) for b in bodies]
        rules = sum(len(rs.rules) for rs in rt.book.rulesets.values())
        print(f"{args.n} varied requests, {rules} rules, store {url.split(':')[0]}")
        for r in requests[:200]:  # warm caches (profiles resolved per date, rule index)
            service.evaluate(rt, r)
        rss_before = rss_kib()

        samples, fired = [], 0
        start = time.perf_counter()
        for r in requests:
            t0 = time.perf_counter_ns()
            d = service.evaluate(rt, r)
            samples.append(time.perf_counter_ns() - t0)
            fired += len(d.trace)
        report("engine step (evaluate)", samples, time.perf_counter() - start)
        print(f"{'':<28} {fired / len(requests):.1f} rules fired per decision on average")

        counted = Reuse()
        rt.observer = counted
        samples = []
        start = time.perf_counter()
        with app.app_context():
            for b in bodies:
                t0 = time.perf_counter_ns()
                service.decide(rt, b, caller="bench")
                samples.append(time.perf_counter_ns() - t0)
        report("service.decide (validate+log)", samples, time.perf_counter() - start)
        print(f"{'':<28} answers found kept: {counted.share():.0%} (varied requests: mostly worked out anew)")

        # The HTTP benchmark's mix (bench/http.py): the README's request and 200 varied ones, in turn,
        # as an app asking before each export repeats its few kinds of transfer; each with its own reference.
        from bench.http import request_mix

        mix = request_mix(200)
        counted.hits = counted.misses = 0
        samples = []
        start = time.perf_counter()
        with app.app_context():
            for i in range(args.n):
                body = dict(mix[i % len(mix)], reference=f"export-{i}")
                t0 = time.perf_counter_ns()
                service.decide(rt, body, caller="bench")
                samples.append(time.perf_counter_ns() - t0)
        report("service.decide, HTTP mix", samples, time.perf_counter() - start)
        print(f"{'':<28} answers found kept: {counted.share():.0%} (201 kinds of request, each reference new)")
        rss_after = rss_kib()
        print(f"RSS: {rss_start} KiB at start, {rss_before} KiB after loading, {rss_after} KiB after {2 * args.n} decisions")

        if args.rss:
            base = rss_kib()
            for i in range(args.rss):
                service.evaluate(rt, requests[i % len(requests)])
            end = rss_kib()
            print(f"RSS over {args.rss} more engine decisions: {base} → {end} KiB ({100 * (end - base) / base:+.2f} %)")


if __name__ == "__main__":
    main()
