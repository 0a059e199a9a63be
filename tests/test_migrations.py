"""The schema comes from the Alembic revisions, on both stores, and matches what the code expects."""

import sqlalchemy as sa
import pytest

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from transfer_gate import decision_log, keys, rate_limits, scenario_library
from tests.conftest import SignedInClient
from transfer_gate.decision_log import GENESIS, DecisionLog


@pytest.fixture(autouse=True)
def _clients_present_credentials(request):
    """These tests are about the log, not about who may use it (tests/test_access.py): clients sign in."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").test_client_class = SignedInClient


def test_a_fresh_store_is_migrated_to_the_schema_the_code_describes(store_app, store_url):
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert context.get_current_heads() == ("0007_onward_destinations",)
            assert compare_metadata(context, [decision_log.metadata, scenario_library.metadata, keys.metadata,
                                             rate_limits.metadata]) == []
            head = conn.execute(sa.text("SELECT id, seq, hash FROM decision_log_head")).all()
            assert [tuple(r) for r in head] == [(1, 0, GENESIS)]
    finally:
        engine.dispose()


def test_migrating_again_changes_nothing(store_app, store_url):
    store_app.test_client().post("/v1/decisions", json={"origin": "JP", "destination": "DE",
                                                        "data_categories": ["personal_data"]})
    log = DecisionLog(store_url)
    try:
        log.migrate()
        assert log.head().seq == 1 and log.verify().ok
    finally:
        log.close()


def test_sqlite_keeps_the_log_in_wal_mode_with_full_sync(make_app, tmp_path):
    log = make_app(f"sqlite:///{tmp_path / 'wal.sqlite3'}").extensions["transfer_gate"].log
    with log.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: the WAL is synced at commit


def test_postgresql_commits_synchronously_whatever_the_server_default(make_app, postgres_url):
    app = make_app(postgres_url)
    log = app.extensions["transfer_gate"].log
    with log.engine.connect() as conn:
        conn.exec_driver_sql("SET synchronous_commit = off")  # as a careless server default would
        conn.commit()
        with conn.begin():
            log._lock_head(conn)
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
