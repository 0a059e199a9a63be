"""The `transfer-gate` command: thin click commands over the service and the decision log."""

from __future__ import annotations

import json
import sys

import click

from .errors import LogUnavailable, RequestInvalid, TransferGateError
from .keys import ROLES


def _app():
    from . import create_app

    return create_app()


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

    app = _app()
    rt = app.extensions["transfer_gate"]
    invalid = False
    with app.app_context():
        for _number, payload, parse_error in _requests(file.read()):
            if parse_error:
                invalid = True
                out = problem_body(400, "Malformed JSON", parse_error, "malformed-json")
            else:
                try:
                    out = service.decide(rt, payload, caller="cli", role="cli", dry_run=dry_run)
                except RequestInvalid as exc:
                    invalid = True
                    out = problem_for(exc)
                except LogUnavailable as exc:
                    click.echo(json.dumps(problem_for(exc), ensure_ascii=False), err=True)
                    sys.exit(1)
                except TransferGateError as exc:
                    out = problem_for(exc)
                    invalid = invalid or out["status"] < 500
                    if out["status"] >= 500:
                        click.echo(json.dumps(out, ensure_ascii=False), err=True)
                        sys.exit(1)
            click.echo(json.dumps(out, ensure_ascii=False))
    sys.exit(2 if invalid else 0)


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Synchronous gunicorn workers; each compiles its own rules engine.")
def serve(bind, workers):
    """Run the service under gunicorn on the configured store (SQLite by default)."""
    from gunicorn.app.base import BaseApplication

    _app()  # fail fast on bad configuration or data files, before forking workers

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "sync")
            self.cfg.set("accesslog", "-")

        def load(self):
            return _app()

    Server().run()


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


if __name__ == "__main__":  # pragma: no cover
    main()
