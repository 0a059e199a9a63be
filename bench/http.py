"""Decisions over HTTP against the HTTP floor and a peer, side by side in one run.

    python -m bench.http                                   # SQLite, c=32, 3 runs of 10 s per scenario
    python -m bench.http --database-url postgresql://…     # an empty PostgreSQL database or schema
    python -m bench.http --concurrency 32 --duration 10 --runs 3 --no-peer

Starts `transfer-gate serve` with its shipped default settings on a fresh store, and drives it
with wrk (Debian's `wrk`: a C load generator, so the client costs little of the two cores) at the
given concurrency, scenario after scenario, in turn, for each run:

- floor:  GET /healthz — the same server, workers and HTTP stack, no decision;
- decide: POST /v1/decisions over the request mix, every decision logged before it is answered;
- batch:  POST /v1/decisions/batch, 100 requests per call;
- peer:   Cerbos (its binary from the `cerbos` npm package) with a policy generated from our own
  APPI rules (bench/peers/cerbos.py), its audit decision log on, one transfer per CheckResources
  call, and 100 per call for the batch comparison.

Prints each scenario's medians over the runs (requests/s, decisions/s, p50/p90/p99 latency,
non-200 answers, and the CPU the server's processes used per request — per decision for batches —
which tells working from waiting), the ratios that matter — decisions/s ÷ floor req/s, ours ÷ Cerbos — and then
verifies the decision log's chain and reports the stored size of an entry. Before the load it
checks that Cerbos and transfer-gate agree on every request of the mix (lawful or not, and the
route). Asserts nothing: tests check correctness; this measures.

What each side writes durably before it answers: transfer-gate commits the decision to its
hash-chained log (SQLite WAL with synchronous=FULL, or PostgreSQL with synchronous_commit=on)
before the answer leaves; Cerbos answers first and writes its audit log in the background.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import urllib.request
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from bench.harness import APP_KEY, AS_OF, ROOT, Serve, fresh_store, free_port, measured, request_mix, wait_for

class Peer:
    """Cerbos on our own rules, with its audit decision log on."""

    def __init__(self, workdir: Path, scratch: Path):
        from bench.peers import cerbos
        from transfer_gate.rules import load_rulebook

        self.cerbos = cerbos
        self.book = load_rulebook(ROOT / "rulesets")
        self.ruleset = self.book.rulesets["appi"]
        self.routes = [r.id for r in self.ruleset.routes]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = cerbos.write_config(workdir / "cerbos", self.ruleset, date.fromisoformat(AS_OF), self.port,
                                     free_port())
        self.proc = cerbos.start(cerbos.ensure_binary(scratch), config)
        wait_for(self.url + "/_cerbos/health")

    def pids(self) -> list[int]:
        return [self.proc.pid]

    def bodies(self, runtime, mix: list[dict], per_call: int = 1) -> list[dict]:
        """CheckResources bodies: the facts our matcher sees, one resource per kind of data."""
        from transfer_gate import service
        from transfer_gate.facts import base_facts

        calls, resources = [], []
        for i, body in enumerate(mix):
            req = service.validate(runtime, body)
            profile = None if req.destination == "unknown" else runtime.profiles.get(req.destination, req.as_of)
            kinds = runtime.book.taxonomy.kinds_of(req.data_categories, req.data_origin)
            facts = [dict(base_facts(req, profile), kind=k) for k in kinds]
            check = self.cerbos.check_body(facts, self.routes, f"bench-{i}")
            for r in check["resources"]:
                r["resource"]["id"] = f"{i}-{r['resource']['id']}"
            resources.extend(check["resources"])
            if (i + 1) % per_call == 0:
                calls.append(dict(check, resources=resources))
                resources = []
        return calls

    def agreement(self, runtime, mix: list[dict]) -> tuple[int, list]:
        """Decide every request both ways; return (agreeing, disagreements)."""
        from transfer_gate import service

        agree, differ = 0, []
        for body, check in zip(mix, self.bodies(runtime, mix)):
            ours = service.evaluate(runtime, service.validate(runtime, body))
            lawful = "deny" if ours.outcome == "deny" else "lawful"
            req = urllib.request.Request(self.url + "/api/check/resources", data=json.dumps(check).encode(),
                                         headers={"Content-Type": "application/json"})
            theirs = self.cerbos.outcome(json.loads(urllib.request.urlopen(req).read()), self.routes)
            if (lawful, ours.route) == theirs:
                agree += 1
            else:
                differ.append({"request": body, "ours": (lawful, ours.route), "cerbos": theirs})
        return agree, differ

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:  # Cerbos flushing its audit log: the figures are taken already
            self.proc.kill()
            self.proc.wait()


def entry_sizes(url: str) -> tuple[int, float, float]:
    """The entries, and on average the stored bytes of an entry's answer and request, and of the whole row."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            n = answer = whole = 0
            for row in conn.execute(sa.text("SELECT * FROM decision_log")).mappings():
                sizes = {k: len(v.encode("utf-8") if isinstance(v, str) else bytes(v) if isinstance(v, (bytes, memoryview))
                                else str(v).encode()) for k, v in row.items() if v is not None}
                n += 1
                answer += sizes.get("request", 0) + sizes.get("response", 0) + sizes.get("response_z", 0)
                whole += sum(sizes.values())
        return n, answer / max(n, 1), whole / max(n, 1)
    finally:
        engine.dispose()


def fmt(name: str, runs: list[dict], per_call: int = 1) -> str:
    med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_us", "p90_us", "p99_us", "max_us")}
    bad = sum(r["not200"] + r["socket_errors"] for r in runs)
    return (f"{name:<34} {med['rps']:9.0f} req/s {med['rps'] * per_call:10.0f} decisions/s   "
            f"p50 {med['p50_us'] / 1000:7.1f} ms  p90 {med['p90_us'] / 1000:7.1f} ms  "
            f"p99 {med['p99_us'] / 1000:7.1f} ms  max {med['max_us'] / 1000:7.1f} ms   non-200 {bad}   "
            f"server CPU {statistics.median(r['cpu_us'] for r in runs) / per_call:6.0f} µs each")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="PostgreSQL server URL (a fresh schema is made); default SQLite")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mix", type=int, default=200, help="varied requests besides the README's")
    parser.add_argument("--no-peer", action="store_true", help="skip Cerbos")
    parser.add_argument("--serve-args", default="", help="instead of the shipped defaults, e.g. '--workers 1 --threads 16'")
    parser.add_argument("--serve-env", action="append", default=[], metavar="NAME=VALUE",
                        help="configuration for serve, e.g. TRANSFER_GATE_ANSWER_CACHE=0 (repeatable)")
    parser.add_argument("--cerbos-scratch", default=str(Path(tempfile.gettempdir()) / "transfer-gate-cerbos"),
                        help="where `npm install cerbos` puts the binary (kept between runs)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    from transfer_gate.service import Runtime

    runtime = Runtime.build(ROOT / "rulesets", ROOT / "country_profiles", log=None)
    mix = request_mix(args.mix)
    with tempfile.TemporaryDirectory(prefix="tg-http-") as tmp:
        work = Path(tmp)
        singles = work / "decide.jsonl"
        singles.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in mix))
        batches = work / "batch.jsonl"
        batches.write_text("".join(json.dumps({"requests": [mix[(i + j) % len(mix)] for j in range(100)]},
                                              ensure_ascii=False) + "\n" for i in range(0, len(mix), 10)))
        store = fresh_store(args.database_url, work)
        server = Serve(store, work, args.serve_args.split(), env=dict(e.split("=", 1) for e in args.serve_env))
        peer = None
        if not args.no_peer:
            peer = Peer(work, Path(args.cerbos_scratch))
            agree, differ = peer.agreement(runtime, mix)
            print(f"agreement with Cerbos on the mix: {agree}/{len(mix)} (lawful or not, and the route)")
            for d in differ[:5]:
                print("  differs:", json.dumps(d, ensure_ascii=False)[:400])
            peer_singles = work / "cerbos.jsonl"
            peer_singles.write_text("".join(json.dumps(b) + "\n" for b in peer.bodies(runtime, mix)))
            peer_batches = work / "cerbos-batch.jsonl"
            peer_batches.write_text("".join(json.dumps(b) + "\n" for b in peer.bodies(runtime, mix * 5, 100)))
        auth = f"Bearer {APP_KEY}"
        c, d = args.concurrency, args.duration
        results: dict[str, list] = {k: [] for k in ("floor", "decide", "batch", "peer", "peer_batch")}
        try:
            for run in range(args.runs):
                results["floor"].append(measured(server, "GET", "/healthz", None, None, c, d))
                results["decide"].append(measured(server, "POST", "/v1/decisions", singles, auth, c, d))
                results["batch"].append(measured(server, "POST", "/v1/decisions/batch", batches, auth, c, d))
                if peer:
                    results["peer"].append(measured(peer, "POST", "/api/check/resources", peer_singles, None, c, d))
                    results["peer_batch"].append(measured(peer, "POST", "/api/check/resources", peer_batches, None,
                                                     c, d))
                print(f"run {run + 1}/{args.runs} done", flush=True)
        finally:
            server.stop()
            if peer:
                peer.stop()
        store_name = "PostgreSQL" if args.database_url else "SQLite"
        print(f"\nconcurrency {c}, {d} s per scenario, median of {args.runs} runs, store {store_name}, "
              f"`serve` settings: {args.serve_args or 'the shipped defaults'} {' '.join(args.serve_env)}".rstrip())
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)")
        print(fmt("GET /healthz (the HTTP floor)", results["floor"]))
        print(fmt("POST /v1/decisions", results["decide"]))
        print(fmt("POST /v1/decisions/batch (100)", results["batch"], 100))
        if peer:
            print(fmt("Cerbos 0.51, one transfer per call", results["peer"]))
            print(fmt("Cerbos 0.51, 100 transfers per call", results["peer_batch"], 100))

        def ratio(a, b, key="rps", ka=1, kb=1):
            pairs = [x[key] * ka / (y[key] * kb) for x, y in zip(a, b) if y[key]]
            return statistics.median(pairs) if pairs else float("nan")

        print(f"\ndecisions/s ÷ /healthz req/s (same run): {ratio(results['decide'], results['floor']):.2f}")
        if peer:
            print(f"ours ÷ Cerbos, per request: {ratio(results['decide'], results['peer']):.2f}; "
                  f"p99 ours ÷ Cerbos: {ratio(results['decide'], results['peer'], 'p99_us'):.2f}")
            print(f"ours (batch of 100) ÷ Cerbos (one per call), decisions/s: "
                  f"{ratio(results['batch'], results['peer'], ka=100):.2f}; "
                  f"÷ Cerbos (100 per call): {ratio(results['batch'], results['peer_batch'], ka=100, kb=100):.2f}")
        n, answer, whole = entry_sizes(store)
        print(f"\ndecision log: {n} entries; stored per entry on average: {answer / 1024:.2f} KB of request and "
              f"answer, {whole / 1024:.2f} KB with every column")
        print(f"verify-log: {server.verify()}")


if __name__ == "__main__":
    main()
