"""The `transfer-gate` command: thin click commands over the service and the decision log."""

from __future__ import annotations

import json
import os
import sys
import uuid
from contextlib import contextmanager

import click

from .errors import LogUnavailable, RequestInvalid, TransferGateError
from .keys import ROLES

CLI_CHUNK = 200  # input lines decided and logged together by `decide`


def _app(serving: bool = False):
    """Create the app; only `serve` creates (and prints) the first admin key of a keyless store."""
    from . import create_app

    return create_app(None if serving else {"CREATE_FIRST_ADMIN_KEY": False})


@contextmanager
def _opened_app():
    """Create the app for one command and release its store connections when the command ends."""
    from .web.problems import problem_for

    try:
        app = _app()
    except LogUnavailable as exc:  # the store cannot be opened: nothing can be decided or checked
        click.echo(json.dumps(problem_for(exc), ensure_ascii=False), err=True)
        sys.exit(1)
    try:
        yield app
    finally:
        app.extensions["transfer_gate"].log.close()


def _requests(text: str):
    """Yield (line number, payload or None, parse error) for one JSON object or JSON Lines."""
    stripped = text.strip()
    if not stripped:
        return
    try:
        yield 1, json.loads(stripped), None
        return
    except json.JSONDecodeError:
        pass
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Decide cross-border transfers of personal data under Japan's APPI."""


@main.command()
@click.option("--dry-run", is_flag=True, help="Decide without writing to the decision log.")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
def decide(dry_run, file):
    """Decide one request object, or JSON Lines of requests, from FILE (default stdin).

    Writes one decision (or problem document) per line. Exit 0, or 2 if any input was invalid.
    """
    from . import service
    from .web.problems import problem_body, problem_for

    invalid = False
    run_id = f"cli-{uuid.uuid4().hex}"  # one id for every decision of this run, like an HTTP request's
    with _opened_app() as app, app.app_context():
        rt = app.extensions["transfer_gate"]
        lines = list(_requests(file.read()))
        # Lines are decided in chunks, and each chunk is logged in one commit before any of it
        # is printed: a long JSON Lines file does not wait on one fsync per line.
        for start in range(0, len(lines), CLI_CHUNK):
            chunk = lines[start:start + CLI_CHUNK]
            try:
                decided = iter(service.decide_batch(rt, [p for _n, p, err in chunk if err is None], caller="cli",
                                                    role="cli", problem=problem_for, dry_run=dry_run,
                                                    request_id=run_id))
            except TransferGateError as exc:  # the log or the engine failed: nothing of this chunk is returned
                click.echo(json.dumps(problem_for(exc), ensure_ascii=False), err=True)
                sys.exit(1)
            for _number, _payload, parse_error in chunk:
                if parse_error:
                    out = problem_body(400, "Malformed JSON", parse_error, "malformed-json")
                else:
                    out = next(decided)
                invalid = invalid or "status" in out
                click.echo(json.dumps(out, ensure_ascii=False))
    sys.exit(2 if invalid else 0)


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes; each compiles its own rules engine.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Threads per worker (gthread above 1; 1 runs sync workers): concurrent requests of a "
                   "worker share one log commit.")
@click.option("--metrics-dir", type=click.Path(file_okay=False), envvar="PROMETHEUS_MULTIPROC_DIR",
              help="Where the workers keep their metrics, emptied at start [default: a private temporary directory].")
def serve(bind, workers, threads, metrics_dir):
    """Run the service under gunicorn on the configured store (SQLite by default)."""
    import shutil
    import tempfile
    from pathlib import Path

    from gunicorn.app.base import BaseApplication

    # Every worker is a process: prometheus_client's multiprocess mode adds their values up. It
    # reads this variable when first imported, so it is set before anything imports it.
    made = None
    if metrics_dir is None:
        metrics_dir = made = tempfile.mkdtemp(prefix="transfer-gate-metrics-")
    else:
        Path(metrics_dir).mkdir(parents=True, exist_ok=True)
        for stale in Path(metrics_dir).glob("*.db"):  # a previous run's values are not this run's
            stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    master = os.getpid()
    try:
        _serve(BaseApplication, bind, workers, threads)
    finally:
        if made and os.getpid() == master:  # workers leave through here too
            shutil.rmtree(made, ignore_errors=True)


def _serve(BaseApplication, bind, workers, threads):
    import logging
    from datetime import datetime, timezone

    from . import create_app
    from .allocator import keep_large_buffers_apart
    from .deployment import NEWER_SETTINGS, freeze_loaded_objects, gunicorn_settings
    from .service import Loaded
    from .web.metrics import metrics

    keep_large_buffers_apart()  # before forking, so the workers inherit it (allocator.py)
    # Fail fast on bad configuration, data files or an unreachable store (and migrate the
    # schema once) before forking; the workers must not inherit the store's connections.
    first = _app(serving=True)
    first.extensions["transfer_gate"].log.close()
    rt = first.extensions["transfer_gate"]
    directories = (first.config["RULESETS_DIR"], first.config["PROFILES_DIR"])

    class Server(BaseApplication):
        loaded = Loaded(rt.book, rt.profiles)

        def load_config(self):
            # Meant to run behind nginx (deploy/nginx.conf), which reads each request whole
            # before passing it on: see deployment.py and the README's "Deploying".
            for name, value in gunicorn_settings(bind, workers, threads).items():
                if name in self.cfg.settings or name not in NEWER_SETTINGS:
                    self.cfg.set(name, value)

        def reload(self):
            """SIGHUP, in the master: load and check the data files, then gunicorn replaces the workers.

            The new workers start from what the master loaded (never from the files again), and the
            old ones finish their requests first. A bad file keeps the previous rules and profiles:
            the new workers get those, and report the failed reload in /readyz and /metrics.
            """
            at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            try:
                self.loaded = Loaded.load(*directories, reload={"status": "reloaded", "at": at})
            except Exception as exc:  # whatever it is, the master and its workers keep serving the old set
                self.loaded = Loaded(self.loaded.book, self.loaded.profiles, {"status": "failed", "at": at})
                logging.getLogger("gunicorn.error").error("reload failed, the previous rules and profiles stay "
                                                          "loaded: %s: %s", exc.__class__.__name__, exc)
                metrics(first).reloads.labels("failed").inc()
            else:
                logging.getLogger("gunicorn.error").info("reloaded rules %s and profiles %s", ", ".join(
                    f"{n} {r.digest}" for n, r in self.loaded.book.rulesets.items()), self.loaded.profiles.digest)
                metrics(first).reloads.labels("reloaded").inc()
            super().reload()

        def load(self):
            return create_app(None, loaded=self.loaded)

    freeze_loaded_objects()  # the rules and profiles the workers start from (deployment.py)
    Server().run()


@main.command("proxy-config")
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="Address nginx listens on.")
@click.option("--upstream", default="127.0.0.1:8000", show_default=True, help="Address of `transfer-gate serve`.")
@click.option("--prefix", required=True, type=click.Path(file_okay=False),
              help="nginx's own directory: pid file, logs and temporary files.")
@click.option("--user", default="www-data", show_default=True, help="User nginx's workers run as.")
@click.option("--client-timeout", default="10s", show_default=True,
              help="How long a client may pause while sending headers or body before it gets 408.")
@click.option("--max-body-size", default=1024 * 1024, show_default=True, type=click.IntRange(1),
              help="Largest request body in bytes: the same as TRANSFER_GATE_MAX_CONTENT_LENGTH.")
@click.option("--worker-processes", default="auto", show_default=True, help="nginx worker processes.")
def proxy_config(listen, upstream, prefix, user, client_timeout, max_body_size, worker_processes):
    """Print the nginx configuration (deploy/nginx.conf) for running nginx in front of `serve`."""
    from .deployment import nginx_config

    try:
        text = nginx_config(listen=listen, upstream=upstream, prefix=prefix, user=user, client_timeout=client_timeout,
                            max_body_size=max_body_size, worker_processes=worker_processes)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(text, nl=False)


@main.group()
def keys():
    """Manage API keys: stored as salted hashes; a new key is shown once."""


def _keyring():
    return _app().extensions["transfer_gate.keys"]


@keys.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the key may do.")
def create_key(role):
    """Create a key; print it (stdout) once: only its hash is kept."""
    record, key = _keyring().create(role)
    click.echo(f"Created key {record.key_id} with the role {role}. It is shown only now:", err=True)
    click.echo(key)


@keys.command("list")
def list_keys():
    """List key ids, roles, creation and revocation (never the keys)."""
    for k in _keyring().list():
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        click.echo(f"{k.key_id}\t{k.role}\t{k.created_at or '-'}\t{state}\t{k.source}")


@keys.command("revoke")
@click.argument("key_id")
def revoke_key(key_id):
    """Revoke the key KEY_ID: from now on it authenticates nothing."""
    from .keys import ConfiguredKey, UnknownKey

    try:
        record = _keyring().revoke(key_id)
    except (UnknownKey, ConfiguredKey) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Revoked {record.key_id} ({record.role}) at {record.revoked_at}.")


@main.command("verify-log")
@click.option("--anchor", type=click.Path(dir_okay=False), default=None,
              help="A file outside the database holding the chain head of an earlier run: that entry must "
                   "still be there with the same hash. Written with the new head when the log is intact.")
@click.option("--create-anchor", is_flag=True,
              help="Start a new anchor file when the --anchor FILE does not exist (the first run only). Without "
                   "it a missing anchor is an error: a deleted anchor must not pass for a fresh start.")
def verify_log(anchor, create_anchor):
    """Verify the decision log's hash chain: exit 0 when intact, 1 naming the first bad entry."""
    from .decision_log import Anchor

    if create_anchor and not anchor:
        raise click.UsageError("--create-anchor needs --anchor FILE")
    recorded = None
    if anchor and not os.path.exists(anchor):
        if not create_anchor:
            click.echo(f"decision log NOT verified: the anchor file {anchor} does not exist. If it was deleted or "
                       "moved, the chain can no longer be checked against it; to start a new anchor on purpose, "
                       "run again with --create-anchor.", err=True)
            sys.exit(1)
        click.echo(f"WARNING: no anchor at {anchor}: a new one is created; truncations before now are not "
                   "detectable against it.", err=True)
    elif anchor:
        try:
            with open(anchor, encoding="utf-8") as fh:
                data = json.load(fh)
            recorded = Anchor(int(data["seq"]), str(data["hash"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise click.BadParameter(f"cannot read the anchor: {exc}", param_hint="--anchor") from None
    with _opened_app() as app:
        result = app.extensions["transfer_gate"].log.verify(recorded)
    if not result.ok:
        click.echo(f"decision log NOT intact: {result.describe()}")
        sys.exit(1)
    click.echo(f"decision log {result.describe()}")
    if anchor:
        with open(anchor, "w", encoding="utf-8") as fh:
            json.dump({"seq": result.head_seq, "hash": result.head_hash}, fh)
            fh.write("\n")
        click.echo(f"anchor written to {anchor}")


@main.command()
@click.option("--from", "from_", metavar="DATE", help="First day (or date-time) of logged decisions to replay.")
@click.option("--to", metavar="DATE", help="Last day (or date-time) of logged decisions to replay.")
@click.option("--rulesets", type=click.Path(exists=True, file_okay=False), help="Candidate rules directory.")
@click.option("--profiles", type=click.Path(exists=True, file_okay=False), help="Candidate country profiles directory.")
@click.option("--json", "as_json", is_flag=True, help="Write the report as one JSON document.")
def replay(from_, to, rulesets, profiles, as_json):
    """Re-evaluate logged requests under the current (or the given) rules and profiles; report what would change."""
    from . import replay as replaying
    from . import service
    from .errors import DataFileError

    try:
        flt = service.log_filter({"from": from_, "to": to, "order": "asc"})
    except RequestInvalid as exc:
        raise click.BadParameter("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())) from None
    with _opened_app() as app:
        rt = app.extensions["transfer_gate"]
        try:
            under = replaying.candidate(rt, rulesets, profiles)
        except DataFileError as exc:
            raise click.ClickException(f"the candidate cannot be loaded: {exc}") from None
        report = replaying.replay(under, service.all_decisions(rt, flt))
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    for line in replay_text(report):
        click.echo(line)


def replay_text(report) -> list[str]:
    """Render a replay report for a terminal."""
    under = ", ".join(f"{n} {d}" for n, d in report.under["rulesets"].items())
    lines = [f"replayed {report.examined} logged decisions under rulesets {under}; profiles {report.under['profiles']}",
             f"{len(report.changes)} would change: " + ", ".join(f"{k} {report.counts.get(k, 0)}" for k in
                                                                   ("outcome", "route", "conditions", "undecidable"))]
    lines += [f"  {transition}: {n}" for transition, n in sorted(report.transitions.items())]
    for c in report.changes:
        parts = []
        if "outcome" in c.kinds:
            parts.append(f"outcome {c.before['outcome']} → {c.after['outcome']}")
        if "route" in c.kinds:
            parts.append(f"route {c.before['route']} → {c.after['route']}")
        if "conditions" in c.kinds:
            parts.append("conditions " + " ".join([f"+{i}" for i in c.conditions_added] +
                                                  [f"-{i}" for i in c.conditions_removed]))
        if "undecidable" in c.kinds:
            parts.append(f"cannot be decided: {c.problem}")
        lines.append(f"{c.decision_id}  {c.created_at}  {c.destination}  {c.reference or '-'}  " + "; ".join(parts))
        for leg in c.legs:
            b, a = leg["before"] or {}, leg["after"] or {}
            what = [f"{k} {b.get(k)} → {a.get(k)}" if k != "conditions" else
                    "conditions " + " ".join([f"+{i}" for i in sorted(set(a.get(k) or []) - set(b.get(k) or []))] +
                                             [f"-{i}" for i in sorted(set(b.get(k) or []) - set(a.get(k) or []))])
                    for k in leg["changes"]]
            lines.append(f"    leg {leg['leg']} {leg['origin']} → {leg['destination']}: " + "; ".join(what))
    return lines


if __name__ == "__main__":  # pragma: no cover
    main()
