"""Writing the decision log: the chain's write lock, and one transaction per group of concurrent callers.

One chain under concurrency: every append takes the chain's write lock first — `BEGIN
IMMEDIATE` on SQLite, `SELECT … FOR UPDATE` of the head row on PostgreSQL — so processes and
service instances sharing a store append one after another. Within a process, concurrent
appends are grouped (`_GroupCommit`): one thread commits the rows of every caller waiting at
that moment in one transaction, and each caller returns only after the commit that holds its
rows succeeded.
"""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa

from .errors import LogUnavailable
from .log_entries import entries, entry_hash, head_table, stored, with_packed

# Rows one group transaction takes at most; the rest wait for the next one.
MAX_GROUP_ROWS = 5000

# The write path's statements, built once (building them per append cost a quarter of it).
_SETTINGS_AND_LOCK = ("SELECT set_config('synchronous_commit', 'on', true), set_config('lock_timeout', '{ms}ms', true), "
                      "set_config('statement_timeout', '{ms}ms', true); "
                      "SELECT seq, hash FROM decision_log_head WHERE id = 1 FOR UPDATE")
_LOCK_HEAD = sa.select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1).with_for_update()
_INSERT = entries.insert()
# The head is a pointer, not an entry: it only ever moves forward (the schema's trigger refuses
# anything else), in the same transaction as the entries.
_MOVE_HEAD = head_table.update().where(head_table.c.id == 1).values(seq=sa.bindparam("new_seq"),
                                                                    hash=sa.bindparam("new_hash"))


class _Pending:
    __slots__ = ("rows", "deadline", "done", "leads", "error", "_wake")

    def __init__(self, rows, deadline):
        self.rows = rows
        self.deadline = deadline  # time.monotonic() instant after which the caller gives up, or None
        self.done = False  # a transaction took these rows and ended (committed, or failed: `error`)
        self.leads = False  # this caller was handed the next transaction to lead
        self.error: BaseException | None = None
        self._wake = threading.Lock()  # held until the caller is woken: done, or its turn to lead
        self._wake.acquire()

    def wait(self, timeout: float | None) -> None:
        """Sleep until woken, or at most `timeout` seconds."""
        self._wake.acquire(timeout=-1 if timeout is None else max(0.0, timeout))

    def wake(self) -> None:
        self._wake.release()


class DeadlinePassed(Exception):
    """A caller's deadline passed before a transaction took its rows: they were never written."""


class _GroupCommit:
    """Commit the rows of concurrent callers together; each caller waits for its own commit.

    The first caller to find no commit in progress becomes the leader: it takes every pending
    caller's rows (up to MAX_GROUP_ROWS) and writes them in one transaction, while new callers
    queue up for the next one. When it is done it wakes exactly the callers whose rows it wrote,
    and hands the next transaction to the first caller still waiting (no herd of threads woken
    to find that one of them may lead). Nobody returns before the transaction holding their
    rows has committed, and if it fails, every caller in it gets the failure.

    Deadlines: a caller whose deadline passes while its rows still wait in the queue takes them
    out and fails (LogUnavailable) — they were never handed to a transaction, so they can never
    be committed. Once a leader has taken them, the caller waits for that transaction's outcome,
    whatever the time: reporting failure for rows that then commit would lose a logged decision.
    That wait stays bounded because the leader gives its transaction (the lock wait included)
    no more time than the earliest deadline among the rows it took.
    """

    def __init__(self, write):
        self._write = write  # write(rows, wait_seconds or None)
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._leading = False

    def submit(self, rows: list[dict], deadline: float | None = None) -> None:
        pending = _Pending(rows, deadline)
        with self._lock:
            self._queue.append(pending)
            if not self._leading:
                self._leading = pending.leads = True
        while True:
            with self._lock:
                if pending.leads or pending.done:
                    break
                queued = pending in self._queue  # else a transaction has taken the rows: wait for its end
                if queued and deadline is not None and deadline <= time.monotonic():
                    self._queue.remove(pending)
                    raise LogUnavailable("the request's deadline passed before its decisions could be "
                                         "logged (the log is busy or locked)")
            pending.wait(deadline - time.monotonic() if queued and deadline is not None else None)
        if pending.leads:
            self._lead()
        if pending.error is not None:
            # A fresh exception per caller: one instance raised in several threads at once
            # would have its traceback rewritten under their feet.
            raise LogUnavailable(str(pending.error)) from pending.error

    def _lead(self) -> None:
        """Write the queued rows in one transaction (outside the lock), wake their callers, pass the lead on."""
        with self._lock:
            batch = self._take()
        now = time.monotonic()
        live = [p for p in batch if p.deadline is None or p.deadline > now]
        for p in batch:
            if p not in live:
                p.error = DeadlinePassed("the request's deadline passed before its decisions could be logged")
        try:
            if live:
                deadlines = [p.deadline for p in live if p.deadline is not None]
                self._write([row for p in live for row in p.rows], min(deadlines) - now if deadlines else None)
        except BaseException as exc:  # every caller of the group fails with it
            for p in live:
                p.error = exc
        finally:
            with self._lock:
                for p in batch:
                    p.done = True
                following = self._queue[0] if self._queue else None
                if following is not None:
                    following.leads = True
                else:
                    self._leading = False
            for p in batch:
                if not p.leads:  # the leader itself is awake
                    p.wake()
            if following is not None:
                following.wake()

    def _take(self) -> list[_Pending]:
        taken, rows = [], 0
        while self._queue and (not taken or rows + len(self._queue[0].rows) <= MAX_GROUP_ROWS):
            p = self._queue.pop(0)
            taken.append(p)
            rows += len(p.rows)
        return taken


class Writing:
    """The writing half of DecisionLog: `append` (through the group commit) and `writable`."""

    def _write_connection(self, wait: float | None = None):
        """A connection whose transaction holds the chain's write lock from its first statement.

        `wait` bounds the wait for that lock (seconds, at most the store's timeout).
        """
        conn = self.engine.connect()
        return conn.execution_options(log_write=True, lock_wait=self._wait(wait))

    def _wait(self, wait: float | None) -> float:
        return self.timeout if wait is None else max(0.001, min(wait, self.timeout))

    def _lock_head(self, conn) -> tuple[int, str]:
        if self.dialect == "postgresql":
            # Durability and bounded waits are this store's promise, whatever the server's defaults.
            # The settings and the head's lock go in one round trip: two statements in one simple
            # query (the wait is a number this code formats; nothing of a caller's is in the text).
            ms = _ms(conn.get_execution_options().get("lock_wait", self.timeout))
            cursor = conn.connection.cursor()
            try:
                cursor.execute(_SETTINGS_AND_LOCK.format(ms=int(ms)))
                cursor.nextset()
                seq, head = cursor.fetchone()
            finally:
                cursor.close()
            return int(seq), head
        row = conn.execute(_LOCK_HEAD).one()
        return int(row.seq), row.hash


    def _observed_write(self, rows: list[dict], *args) -> None:
        """Write one group commit, then tell `on_commit` its entries and seconds."""
        started = time.perf_counter()
        self._write(rows, *args)
        if self.on_commit is not None:
            try:
                self.on_commit(len(rows), time.perf_counter() - started)
            except Exception:  # the entries are committed: a failing observer must not fail their callers
                logging.getLogger(__name__).exception("the commit observer failed")

    # ------------------------------------------------------------------ writing

    def append(self, rows: list[dict]) -> None:
        """Append entries, chained after the last; return once committed, or raise LogUnavailable.

        Gives up (LogUnavailable, nothing written) when the caller's deadline passes first.
        Each answer is compressed here, in the caller's thread, not in the one that commits the group.
        """
        if rows:
            self._group.submit([with_packed(row) for row in rows], self.deadline())

    def _write(self, rows: list[dict], wait: float | None = None) -> None:
        try:
            with self._write_connection(wait) as conn, conn.begin():
                seq, prev = self._lock_head(conn)
                chained = []
                for row in rows:
                    seq += 1
                    full = dict(row, seq=seq, prev_hash=prev)
                    full["hash"] = prev = entry_hash(full)
                    chained.append(stored(full))
                conn.execute(_INSERT, chained)
                conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
        except Exception as exc:
            raise LogUnavailable(f"the decision log could not be written: {exc.__class__.__name__}: {exc}") from exc

    def writable(self, wait: float = 1.0) -> bool:
        """Tell whether an append could start now: the chain's write lock within `wait` seconds (readiness).

        Takes the locks an append takes and writes nothing: on PostgreSQL the head row and the
        log table's ROW EXCLUSIVE lock, which an exclusive table lock held elsewhere refuses.
        """
        try:
            with self._write_connection(wait) as conn, conn.begin() as transaction:
                self._lock_head(conn)
                if self.dialect == "postgresql":
                    conn.execute(sa.text("LOCK TABLE decision_log IN ROW EXCLUSIVE MODE"))
                transaction.rollback()
            return True
        except Exception:
            return False


def _ms(seconds: float) -> int:
    return max(1, round(float(seconds) * 1000))

