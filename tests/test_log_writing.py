"""The log's write path: one round trip per commit on PostgreSQL, several instances on one chain, writers' turns on SQLite."""

import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import pytest
import sqlalchemy as sa

from tests.test_api import with_
from transfer_gate.decision_log import DecisionLog, entry_for
from transfer_gate.errors import LogUnavailable

DESTINATIONS = ["US", "DE", "CN", "SG", "GB", "IN", "BR"]


def rows_for(app, n, start=0):
    """n log rows for varied decisions (decided without logging)."""
    from transfer_gate import service

    rt = app.extensions["transfer_gate"]
    rows = []
    for i in range(start, start + n):
        body = with_(destination=DESTINATIONS[i % len(DESTINATIONS)], reference=f"ref-{i}")
        answer = service.decide(rt, body, caller="test", dry_run=True)
        rows.append(entry_for(service.validate(rt, body).to_dict(), answer, "test", "app"))
    return rows


def assert_one_chain(url, expected_ids):
    log = DecisionLog(url)
    try:
        result = log.verify()
        assert result.ok, result.describe()
        assert result.checked == result.head_seq == len(expected_ids)
        assert [e["seq"] for e in log.scan()] == list(range(1, len(expected_ids) + 1))  # no gap
        assert {e["decision_id"] for e in log.scan()} == set(expected_ids)  # none lost, none twice
    finally:
        log.close()


# --------------------------------------------------------------------------- PostgreSQL

def round_trips(log, append):
    """Count the client's waits for the server during `append()`: libpq's protocol trace, F(rontend) → B(ackend).

    Every message the client sends is traced F and every one it reads B, in the order it
    does so; the client waits for the server exactly where an F is followed by a B.
    """
    from psycopg import pq

    writer = log._writers._idle[-1]  # the connection the next append takes
    with tempfile.TemporaryFile("w+") as trace:
        writer.dbapi.pgconn.trace(trace.fileno())
        writer.dbapi.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            append()
        finally:
            writer.dbapi.pgconn.untrace()
        trace.seek(0)
        directions = [line.split("\t", 1)[0] for line in trace.read().splitlines() if line.strip()]
    assert directions and set(directions) <= {"F", "B"}
    return sum(1 for a, b in zip(directions, directions[1:]) if (a, b) == ("F", "B"))


def test_a_postgresql_append_is_one_round_trip_while_the_instance_writes_alone(make_app, postgres_url):
    app = make_app(postgres_url)
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 16)
    log.append(rows[:1])  # the first append reads the head under its lock: two round trips
    # One row at a time (past the statements' preparation on the fifth), then groups; the commit counted.
    batches = [rows[i:i + 1] for i in range(1, 8)] + [rows[8:10], rows[10:13], rows[13:16]]
    for batch in batches:
        assert round_trips(log, lambda: log.append(batch)) == 1
    assert log.verify().ok and log.head().seq == 16


def test_two_postgresql_instances_interleaving_appends_keep_one_chain(make_app, postgres_url):
    app = make_app(postgres_url)
    first, second = DecisionLog(postgres_url), DecisionLog(postgres_url)
    rows = rows_for(app, 40)
    try:
        # Strict alternation: each append finds the head moved by the other instance since it last wrote.
        for i, row in enumerate(rows[:20]):
            (first if i % 2 == 0 else second).append([row])
        # And both at once, from threads, with groups of several rows.
        errors = []

        def run(log, part):
            try:
                for j in range(0, len(part), 2):
                    log.append(part[j:j + 2])
            except Exception as exc:  # pragma: no cover - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(log, rows[20 + k::2])) for k, log in enumerate((first, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
    finally:
        first.close()
        second.close()
    assert_one_chain(postgres_url, [r["decision_id"] for r in rows])


def test_another_instance_moving_the_head_costs_a_retry_not_a_wrong_chain(make_app, postgres_url, monkeypatch):
    from transfer_gate import log_writer

    app = make_app(postgres_url)
    log = app.extensions["transfer_gate"].log
    other = DecisionLog(postgres_url)
    rows = rows_for(app, 4)
    attempts = []
    append = log_writer._append_pipelined

    def recorded(conn, batch, head, ms):
        try:
            result = append(conn, batch, head, ms)
        except log_writer._HeadMoved:
            attempts.append((batch[0]["decision_id"], head is not None, "head moved"))
            raise
        attempts.append((batch[0]["decision_id"], head is not None, "committed"))
        return result

    monkeypatch.setattr(log_writer, "_append_pipelined", recorded)
    try:
        log.append(rows[:1])
        log.append(rows[1:2])  # now it appends from the head it remembers
        other.append(rows[2:3])  # ... which is no longer the chain's head
        log.append(rows[3:4])
    finally:
        other.close()
    last = rows[3]["decision_id"]
    assert [a for a in attempts if a[0] == last] == [(last, True, "head moved"), (last, False, "committed")]
    assert [e["decision_id"] for e in log.scan()] == [r["decision_id"] for r in rows]
    assert_one_chain(postgres_url, [r["decision_id"] for r in rows])


def test_a_postgresql_connection_the_server_killed_between_appends_is_replaced(make_app, postgres_url):
    app = make_app(postgres_url)
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 6)
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        for i in range(3):
            log.append(rows[2 * i:2 * i + 1])
            pids = [w.dbapi.info.backend_pid for w in log._writers._idle]
            with admin.connect() as conn:
                for pid in pids:
                    assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            time.sleep(0.2)  # the server has closed it when the next append comes
            log.append(rows[2 * i + 1:2 * i + 2])
            assert all(w.dbapi.info.backend_pid not in pids for w in log._writers._idle)
    finally:
        admin.dispose()
    assert_one_chain(postgres_url, [r["decision_id"] for r in rows])


def test_a_postgresql_connection_killed_in_the_middle_of_an_append_fails_that_append_at_most(make_app, postgres_url):
    app = make_app(postgres_url)
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 3)
    log.append(rows[:1])
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    writer = log._writers._idle[-1]
    pid = writer.dbapi.info.backend_pid
    log._writers._usable = lambda writer: True  # the death goes unnoticed until the append sends on it
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        time.sleep(0.2)
        try:
            log.append(rows[1:2])  # retried once on a new connection
            logged = [rows[0], rows[1]]
        except LogUnavailable:
            logged = [rows[0]]
        log.append(rows[2:3])
    finally:
        admin.dispose()
    assert_one_chain(postgres_url, [r["decision_id"] for r in logged + [rows[2]]])


# --------------------------------------------------------------------------- SQLite

HOLD_THE_TURN = textwrap.dedent("""
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def holding_the_turn(db, seconds: str) -> subprocess.Popen:
    """Another process that holds the SQLite store's writer turn for `seconds`, once it says so."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_TURN, f"{db}-writer", seconds], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_sqlite_writer_waits_for_another_process_s_turn_then_appends(make_app, tmp_path):
    db = tmp_path / "turns.sqlite3"
    app = make_app(f"sqlite:///{db}")
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 2)
    holder = holding_the_turn(db, "0.5")
    try:
        started = time.monotonic()
        log.append(rows[:1])  # waits for the other process to let go (its exit), well within the timeout
        assert time.monotonic() - started >= 0.3
    finally:
        holder.wait(10)
        holder.stdout.close()
    log.append(rows[1:2])
    assert log.verify().ok and log.head().seq == 2


def test_a_sqlite_writer_gives_up_its_turn_at_the_deadline_and_writes_nothing(make_app, tmp_path):
    db = tmp_path / "turns.sqlite3"
    app = make_app(f"sqlite:///{db}", DATABASE_TIMEOUT=0.3)
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 3)
    holder = holding_the_turn(db, "1.5")
    try:
        started = time.monotonic()
        with pytest.raises(LogUnavailable):
            log.append(rows[:1])
        assert time.monotonic() - started < 1.2  # the wait ended at the timeout, not when the turn came
        with pytest.raises(LogUnavailable):  # and the next writer of this process waits its own timeout
            log.append(rows[1:2])
    finally:
        holder.wait(10)
        holder.stdout.close()
    log.append(rows[2:3])  # once the other process let go
    assert [e["decision_id"] for e in log.scan()] == [rows[2]["decision_id"]]
    assert log.verify().ok


def test_threads_of_one_process_appending_without_group_commit_keep_one_chain(make_app, tmp_path):
    db = tmp_path / "threads.sqlite3"
    app = make_app(f"sqlite:///{db}")
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 24)
    write_from_threads(log, rows, 4)
    assert_one_chain(f"sqlite:///{db}", [r["decision_id"] for r in rows])


def write_from_threads(log, rows, count):
    """Write the rows one transaction each, from `count` threads at once (no group commit)."""
    threads = [threading.Thread(target=lambda part: [log._write([r]) for r in part], args=(rows[k::count],))
               for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)



def test_sqlite_writers_that_cannot_open_the_turn_file_still_append_under_sqlite_s_lock(make_app, tmp_path):
    db = tmp_path / "noturn.sqlite3"
    (tmp_path / "noturn.sqlite3-writer").mkdir()  # in the way: the turn file cannot be opened
    app = make_app(f"sqlite:///{db}")
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 8)
    write_from_threads(log, rows, 2)
    assert_one_chain(f"sqlite:///{db}", [r["decision_id"] for r in rows])


def test_threads_of_one_postgresql_instance_appending_without_group_commit_keep_one_chain(make_app, postgres_url):
    app = make_app(postgres_url)
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 160)
    errors = []

    def run(part):
        try:
            for r in part:
                log._write([r])
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(rows[k::16],)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert_one_chain(postgres_url, [r["decision_id"] for r in rows])


# --------------------------------------------------------------------------- SQLite's WAL checkpoints

def wal_state(db) -> tuple[int, int]:
    """(frames in the WAL, frames of it already copied into the database), asked of a connection of its own."""
    conn = __import__("sqlite3").connect(db)
    try:
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return frames, copied
    finally:
        conn.close()


def wait_until(predicate, seconds=10.0):
    stop = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < stop, "waited in vain"
        time.sleep(0.01)


def test_appends_leave_the_wal_checkpoint_to_a_thread_of_its_own(make_app, tmp_path, monkeypatch):
    from transfer_gate import log_writer

    monkeypatch.setattr(log_writer, "CHECKPOINT_ENTRIES", 10)
    monkeypatch.setattr(log_writer, "CHECKPOINT_INTERVAL", 30.0)  # only the count wakes it here
    db = tmp_path / "wal.sqlite3"
    app = make_app(f"sqlite:///{db}")
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 12)
    log.append(rows[:9])
    writer = log._writers._idle[-1]
    assert writer.dbapi.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)  # the commits never checkpoint
    time.sleep(0.2)
    assert log._checkpoints.done == 0  # fewer than CHECKPOINT_ENTRIES: not yet
    log.append(rows[9:12])
    wait_until(lambda: log._checkpoints.done == 1)
    assert log._checkpoints._thread.name == "transfer-gate-wal-checkpoint"
    frames, copied = wal_state(db)
    assert frames > 0 and copied == frames  # every committed page was copied back by the thread
    assert log.verify().ok and log.head().seq == 12


def test_a_few_entries_are_checkpointed_after_the_interval(make_app, tmp_path, monkeypatch):
    from transfer_gate import log_writer

    monkeypatch.setattr(log_writer, "CHECKPOINT_INTERVAL", 0.05)
    db = tmp_path / "wal.sqlite3"
    app = make_app(f"sqlite:///{db}")
    log = app.extensions["transfer_gate"].log
    log.append(rows_for(app, 1))
    wait_until(lambda: log._checkpoints.done == 1)
    frames, copied = wal_state(db)
    assert copied == frames > 0


def test_without_its_thread_the_appender_checkpoints_and_the_wal_stays_bounded(make_app, tmp_path, monkeypatch):
    from transfer_gate import log_writer

    monkeypatch.setattr(log_writer, "CHECKPOINT_ENTRIES", 2)
    monkeypatch.setattr(log_writer, "CHECKPOINT_STALLED", 3)
    monkeypatch.setattr(log_writer._Checkpoints, "_start", lambda self: None)  # as when no thread can start
    db = tmp_path / "wal.sqlite3"
    app = make_app(f"sqlite:///{db}")
    log = app.extensions["transfer_gate"].log
    for row in rows_for(app, 4):
        log.append([row])
    assert log._checkpoints.done == 4  # each append, in the appending thread
    frames, copied = wal_state(db)
    assert copied == frames
    assert log.verify().ok


def test_a_thread_that_falls_behind_is_helped_by_the_appender(make_app, tmp_path, monkeypatch):
    from transfer_gate import log_writer

    monkeypatch.setattr(log_writer, "CHECKPOINT_ENTRIES", 2)
    monkeypatch.setattr(log_writer, "CHECKPOINT_STALLED", 3)
    monkeypatch.setattr(log_writer, "CHECKPOINT_INTERVAL", 30.0)
    stuck = threading.Event()
    real = log_writer._Checkpoints._checkpoint

    def checkpoint(self, conn):
        if threading.current_thread().name == "transfer-gate-wal-checkpoint":
            stuck.wait(10)  # a checkpoint that takes its time
        real(self, conn)

    monkeypatch.setattr(log_writer._Checkpoints, "_checkpoint", checkpoint)
    db = tmp_path / "wal.sqlite3"
    app = make_app(f"sqlite:///{db}")
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 9)
    for row in rows[:2]:
        log.append([row])  # the thread takes these two, and hangs
    wait_until(lambda: log._checkpoints._pending == 0)
    for row in rows[2:8]:
        log.append([row])  # 6 = CHECKPOINT_ENTRIES × CHECKPOINT_STALLED: the sixth append checkpoints itself
    assert log._checkpoints.done == 1
    stuck.set()
    wait_until(lambda: log._checkpoints.done == 2)
    assert log.verify().ok and log.head().seq == 8


def test_a_failed_checkpoint_is_logged_and_the_next_one_runs_on_a_new_connection(make_app, tmp_path, monkeypatch,
                                                                                 caplog):
    from transfer_gate import log_writer

    monkeypatch.setattr(log_writer, "CHECKPOINT_INTERVAL", 0.05)
    db = tmp_path / "wal.sqlite3"
    app = make_app(f"sqlite:///{db}")
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 3)
    log.append(rows[:1])
    wait_until(lambda: log._checkpoints.done == 1)
    real, failed = log_writer._Checkpoints._checkpoint, []

    def fail_once(self, conn):
        if not failed:
            failed.append(conn)
            raise __import__("sqlite3").OperationalError("disk I/O error")
        real(self, conn)

    monkeypatch.setattr(log_writer._Checkpoints, "_checkpoint", fail_once)
    log.append(rows[1:2])  # finishes the thread's checkpoint itself: that fails
    wait_until(lambda: "the WAL checkpoint failed" in caplog.text)
    assert log.head().seq == 2  # the append whose checkpoint failed is committed all the same
    log.append(rows[2:3])
    wait_until(lambda: log._checkpoints.done >= 2)
    assert log.verify().ok and log.head().seq == 3


def test_closing_the_log_stops_its_checkpoint_thread_and_a_later_append_starts_one(make_app, tmp_path, monkeypatch):
    from transfer_gate import log_writer

    monkeypatch.setattr(log_writer, "CHECKPOINT_INTERVAL", 0.05)
    db = tmp_path / "wal.sqlite3"
    app = make_app(f"sqlite:///{db}")
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 2)
    log.append(rows[:1])
    wait_until(lambda: log._checkpoints.done == 1)
    first = log._checkpoints._thread
    log.close()
    assert not first.is_alive()
    log.append(rows[1:])
    assert log._checkpoints._thread is not first and log._checkpoints._thread.is_alive()
    wait_until(lambda: log._checkpoints.done == 2)
    assert log.verify().ok and log.head().seq == 2


def test_an_idle_checkpoint_thread_ends_and_the_next_append_starts_another(make_app, tmp_path, monkeypatch):
    from transfer_gate import log_writer

    monkeypatch.setattr(log_writer, "CHECKPOINT_INTERVAL", 0.05)
    monkeypatch.setattr(log_writer, "CHECKPOINT_IDLE", 0.1)
    db = tmp_path / "wal.sqlite3"
    app = make_app(f"sqlite:///{db}")
    log = app.extensions["transfer_gate"].log
    rows = rows_for(app, 2)
    log.append(rows[:1])
    first = log._checkpoints._thread
    wait_until(lambda: log._checkpoints.done == 1 and not first.is_alive())
    assert log._checkpoints._thread is None
    log.append(rows[1:])
    wait_until(lambda: log._checkpoints.done == 2)
    frames, copied = wal_state(db)
    assert copied == frames
    assert log.verify().ok and log.head().seq == 2


def test_the_wal_starts_again_instead_of_growing(make_app, tmp_path, monkeypatch):
    """The thread copies the WAL, the next append finishes the copy under the writers' turn, and the WAL restarts."""
    from transfer_gate import log_writer

    monkeypatch.setattr(log_writer, "CHECKPOINT_ENTRIES", 4)
    monkeypatch.setattr(log_writer, "CHECKPOINT_INTERVAL", 30.0)
    sizes = {}
    for name, checkpoints in (("with", True), ("without", False)):
        if not checkpoints:
            monkeypatch.setattr(log_writer._Checkpoints, "appended", lambda self, count, conn: None)
        db = tmp_path / f"{name}.sqlite3"
        app = make_app(f"sqlite:///{db}")
        log = app.extensions["transfer_gate"].log
        for i, row in enumerate(rows_for(app, 60)):
            log.append([row])
            if checkpoints and i % 4 == 3:
                wait_until(lambda: not log._checkpoints._pending)  # the thread took them
        sizes[name] = (tmp_path / f"{name}.sqlite3-wal").stat().st_size
        assert log.verify().ok and log.head().seq == 60
    assert sizes["with"] * 4 < sizes["without"], sizes
