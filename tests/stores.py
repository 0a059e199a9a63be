"""Fixtures for the decision log's two stores: SQLite, and PostgreSQL from TRANSFER_GATE_TEST_POSTGRES_URL.

`scripts/test` installs and starts PostgreSQL and exports the URL. Without it the PostgreSQL
tests fail (they never skip): the log's guarantees are promised on both stores.

Each PostgreSQL test gets a store of its own (a schema, named by the URL's search_path),
dropped afterwards. Tests that stop the
server use `private_postgres`: a cluster initialised by the test session in a temporary
directory, listening only on a Unix socket there, so stopping it touches nothing else.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import API_KEYS, SignedInClient
from transfer_gate import create_app
from transfer_gate.service import Runtime

POSTGRES_URL_VARIABLE = "TRANSFER_GATE_TEST_POSTGRES_URL"


def psycopg_url(url: str):
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg")


class Databases:
    """Creates and drops throw-away stores on one PostgreSQL server: a schema each, found by search_path."""

    def __init__(self, server_url: str):
        self.server = psycopg_url(server_url)
        # No pool: a test may restart the server between creating a store and dropping it.
        self.admin = sa.create_engine(self.server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    def create(self) -> str:
        name = f"tg_test_{uuid.uuid4().hex[:16]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        url = self.server.update_query_dict({"options": f"-csearch_path={name}"})
        return url.render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).query["options"].split("=", 1)[1]
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def close(self) -> None:
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases():
    server_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server_url:
        pytest.fail(f"{POSTGRES_URL_VARIABLE} is not set: run the tests with ./scripts/test, which starts PostgreSQL")
    databases = Databases(server_url)
    try:
        with databases.admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL_VARIABLE} is not reachable: {exc}")
    yield databases
    databases.close()


@pytest.fixture
def postgres_url(postgres_databases):
    url = postgres_databases.create()
    yield url
    postgres_databases.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """The URL of an empty decision log store, once for each kind of store."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def make_app(runtime, monkeypatch):
    """Build apps on a given store, sharing the session's compiled rules (like the `app` fixture)."""
    shared = (runtime.book, runtime.profiles, runtime.matcher)
    monkeypatch.setattr(Runtime, "build", classmethod(lambda cls, r, p, log, clock=None: cls(*shared, log)))
    built = []

    def make(url, **config):
        app = create_app({"TESTING": True, "DATABASE_URL": url, "API_KEYS": API_KEYS, **config})
        app.test_client_class = SignedInClient
        built.append(app)
        return app

    yield make
    for app in built:
        app.extensions["transfer_gate"].log.close()


@pytest.fixture
def store_app(make_app, store_url):
    """An app on each kind of store in turn."""
    return make_app(store_url)


# --------------------------------------------------------------------------- a private cluster


def _postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    pytest.fail("PostgreSQL's server programs (initdb, pg_ctl) are not installed: run ./scripts/test")


class PrivateCluster:
    """A PostgreSQL cluster of the test session's own, on a Unix socket in its data directory."""

    PORT = 5432  # only names the socket file in the private directory: no TCP port is opened

    def __init__(self):
        self.bindir = _postgres_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="tg-pg-", dir="/tmp"))
        self.as_root = os.geteuid() == 0
        if self.as_root:  # the server refuses to run as root: it runs as the postgres user
            shutil.chown(self.dir, "postgres", "postgres")
        self.dir.chmod(0o700)
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "root", "--no-sync", "-E", "UTF8")
        self.url = f"postgresql+psycopg://root@/postgres?host={self.dir}&port={self.PORT}"

    def _run(self, program, *args):
        command = [str(self.bindir / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self):
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
                  "-o", f"-p {self.PORT} -k {self.dir} -c listen_addresses=''", "start")

    def stop(self):
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "-t", "60", "stop")

    def remove(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def private_postgres():
    cluster = PrivateCluster()
    cluster.start()
    yield cluster
    cluster.remove()
