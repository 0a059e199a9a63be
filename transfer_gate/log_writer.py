"""Writing the decision log: the chain's write lock, and one transaction per group of concurrent callers.

One chain under concurrency: processes and service instances sharing a store append one after
another, and within a process concurrent appends are grouped (`_GroupCommit`): one thread
commits the rows of every caller waiting at that moment in one transaction, and each caller
returns only after the commit that holds its rows succeeded.

An append is the service's hot path, so it talks to the database driver directly, with
statements written once, on connections kept for appending (`_Writers`: no pool checkout,
pre-ping or reset per append). SQLAlchemy keeps the rest of the log (reads, migrations).

- SQLite: the writer takes its turn at a lock file beside the database (`_WriterTurn`), then
  `BEGIN IMMEDIATE`, reads the head, inserts, moves the head and commits (the WAL fsync'd).
  The WAL is copied back into the database by a thread of its own (`_Checkpoints`), not by
  whichever commit happens to cross SQLite's threshold.
- PostgreSQL: one round trip per commit. Each instance keeps the head it last wrote, chains
  the rows on it and sends everything at once (psycopg's pipeline mode): the settings, a lock
  of the head that fails unless the head is still where this instance left it, the insert and
  the head's move — one implicit transaction, committed at the pipeline's sync. When another
  instance moved the head meanwhile, the lock fails, the server skips the rest, and the append
  runs again from the head read under its lock (`SELECT … FOR UPDATE`, two round trips):
  correctness never rests on the remembered head.
"""

from __future__ import annotations

import fcntl
import logging
import os
import select
import threading
import time

import sqlalchemy as sa

from .errors import LogUnavailable
from .log_entries import entries, entry_hash, head_table, stored, with_packed

# Rows one group transaction takes at most; the rest wait for the next one.
MAX_GROUP_ROWS = 5000

# SQLite: entries appended between two checkpoints of the WAL (about 2,000 of its 4 KiB pages,
# the indexes included), and the longest a committed entry waits for one. Past CHECKPOINT_STALLED
# times the first, the appending thread checkpoints itself, as SQLite would (see _Checkpoints).
CHECKPOINT_ENTRIES = 500
CHECKPOINT_INTERVAL = 1.0
CHECKPOINT_STALLED = 20
# How long the thread waits for an append before it ends (the next append starts another).
CHECKPOINT_IDLE = 30.0

# The lock of the chain's head for `writable` (and the migrations' test of the settings): the
# settings and the lock in one round trip, two statements in one simple query (the wait is a
# number this code formats; nothing of a caller's is in the text).
_SETTINGS_AND_LOCK = ("SELECT set_config('synchronous_commit', 'on', true), set_config('lock_timeout', '{ms}ms', true), "
                      "set_config('statement_timeout', '{ms}ms', true); "
                      "SELECT seq, hash FROM decision_log_head WHERE id = 1 FOR UPDATE")
_LOCK_HEAD = sa.select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1).with_for_update()

# The append's statements, written once for the driver. Every column, in the table's order.
COLUMNS = tuple(c.name for c in entries.columns)

SQLITE_HEAD = "SELECT seq, hash FROM decision_log_head WHERE id = 1"
SQLITE_INSERT = f"INSERT INTO decision_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
# The head is a pointer, not an entry: it only ever moves forward (the schema's trigger refuses
# anything else), in the same transaction as the entries.
SQLITE_MOVE_HEAD = "UPDATE decision_log_head SET seq = ?, hash = ? WHERE id = 1"


def _pg_type(column) -> str:
    kind = column.type
    if isinstance(kind, sa.BigInteger):
        return "bigint"
    if isinstance(kind, sa.Boolean):
        return "boolean"
    if isinstance(kind, sa.LargeBinary):
        return "bytea"
    return "text"


PG_SETTINGS = ("SELECT set_config('synchronous_commit', 'on', true), set_config('lock_timeout', %s, true), "
               "set_config('statement_timeout', %s, true)")
PG_LOCK_HEAD = "SELECT seq, hash FROM decision_log_head WHERE id = 1 FOR UPDATE"
# The head's lock, taken only if the head is where this instance left it; otherwise the statement
# fails (a cast that cannot succeed) and the server skips the rest, the commit included. Every
# append takes the head's lock before it inserts, so two never wait on each other in turn.
PG_LOCK_HEAD_AT = ("SELECT (CASE WHEN count(*) = 1 THEN '1' ELSE 'the chain head moved' END)::int "
                   "FROM (SELECT 1 FROM decision_log_head WHERE id = 1 AND seq = %s::bigint AND hash = %s "
                   "FOR UPDATE) AS head")
HEAD_MOVED = "the chain head moved"
# One row of parameters per entry, sent for all rows at once (executemany, inside the pipeline):
# the driver dumps plain values in C, cheaper than arrays or one long VALUES list.
PG_INSERT = (f"INSERT INTO decision_log ({', '.join(COLUMNS)}) "
             f"VALUES ({', '.join('%s::' + _pg_type(c) for c in entries.columns)})")
PG_MOVE_HEAD = "UPDATE decision_log_head SET seq = %s::bigint, hash = %s WHERE id = 1"
# Attempts of one PostgreSQL append: after a head another instance moved, or a connection lost.
PG_ATTEMPTS = 3


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


class _Writer:
    """One DBAPI connection kept for appending, and what it was last told."""

    __slots__ = ("proxy", "dbapi", "busy_ms")

    def __init__(self, proxy):
        self.dbapi = proxy.driver_connection
        proxy.detach()
        self.proxy = proxy  # SQLAlchemy's wrapper, detached from the pool: closing it closes the connection
        self.busy_ms = None  # SQLite: the busy timeout last set on it

    def close(self) -> None:
        try:
            self.proxy.close()
        except Exception:  # already broken: nothing to release
            pass


class _Writers:
    """Connections kept for appends, outside the engine's pool.

    An append takes one and gives it back: no pool checkout, pre-ping or reset on return. A
    connection is checked on error instead: one that failed is closed, never given back, and a
    PostgreSQL connection the server closed while it was idle (its socket readable, with nothing
    asked) is noticed before it is used — a system call, not a round trip. Made through the
    engine, so they get its connect arguments and listeners (SQLite's WAL and sync settings).
    """

    def __init__(self, engine: sa.Engine, postgresql: bool):
        self._engine = engine
        self._postgresql = postgresql
        self._idle: list[_Writer] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def take(self) -> _Writer:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: those are the parent's connections
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                writer = self._idle.pop()
                if self._usable(writer):
                    return writer
                writer.close()
        writer = _Writer(self._engine.raw_connection())
        if self._postgresql:
            writer.dbapi.autocommit = True  # BEGIN and COMMIT are sent by the append, with its statements
        else:
            writer.dbapi.execute("PRAGMA wal_autocheckpoint=0")  # _Checkpoints does it, off the appends' path
        return writer

    def give_back(self, writer: _Writer) -> None:
        with self._lock:
            if self._pid == os.getpid():
                self._idle.append(writer)
                return
        writer.close()

    def settle(self, writer: _Writer) -> None:
        """Keep a PostgreSQL connection after a failed append if it can be made clean again, else close it.

        Its transaction is ended, and psycopg forgets the statements it prepared on it (after an
        error in a pipeline its record of them can be wrong: a skipped Parse counted as done),
        which its rollback does — so one is begun if the failure already ended the transaction.
        """
        conn = writer.dbapi
        try:
            if conn.broken or conn.closed:
                raise ConnectionError("lost")
            if conn.info.transaction_status == conn.info.transaction_status.IDLE:
                conn.execute("BEGIN")
            conn.rollback()
        except Exception:
            writer.close()
            return
        self.give_back(writer)

    def _usable(self, writer: _Writer) -> bool:
        if not self._postgresql:
            return True
        conn = writer.dbapi
        if conn.closed or conn.broken:
            return False
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable  # an idle connection is sent nothing, unless the server is closing it

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            mine = self._pid == os.getpid()
        for writer in idle:
            if mine:
                writer.close()


class _Checkpoints:
    """SQLite: the WAL copied back into the database by a thread of its own, off the appends' path.

    SQLite checkpoints in the connection whose commit takes the WAL past 1,000 pages: that
    commit copies the pages back and fsyncs the database file before it returns (up to 100–340
    ms on this project's machines), and every caller of its group commit, and every writer
    queued behind it, waits. The append connections therefore do not checkpoint
    (`wal_autocheckpoint=0`). This thread runs a PASSIVE checkpoint once CHECKPOINT_ENTRIES
    entries were appended, or CHECKPOINT_INTERVAL after the first since the last: it waits for
    no lock, and the appends go on meanwhile. Then the next append, holding the writers' turn,
    checkpoints the few frames written since (`appended`), as SQLite's own checkpoint would:
    with no writer between, that checkpoint is complete, and the WAL starts again from its
    beginning instead of growing (while no reader keeps an older snapshot, as before).
    Durability is unchanged: a commit is durable once the WAL is fsync'd (synchronous=FULL), and
    the checkpoints' connections have the same settings.

    Started by the first append of a process (never in a parent about to fork), ended by `close`
    or after CHECKPOINT_IDLE without an append, and holding a connection only while it
    checkpoints. Should the thread fall behind by CHECKPOINT_STALLED batches, or fail to start, the
    appending thread checkpoints everything itself, so the WAL stays bounded whatever happens.
    """

    def __init__(self, engine: sa.Engine):
        self._engine = engine
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending = 0  # entries appended since the last checkpoint began
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # the running thread's: set by `close`
        self._finish = False  # the thread copied the WAL: the next append copies what came meanwhile
        self._pid = os.getpid()
        self.done = 0  # checkpoints run (by the thread or, when stalled, by an appender)

    def appended(self, count: int, conn) -> None:
        """Count entries an append committed on `conn` (holding the writers' turn); wake the thread.

        Checkpoint on `conn` itself to finish what the thread copied (the frames written since it
        began: a few milliseconds), or everything when the thread is stalled or missing. A failed
        checkpoint is logged, never the append's failure: its entries are committed.
        """
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread is not here
                self._thread, self._pid, self._pending, self._finish = None, os.getpid(), 0, False
            self._pending += count
            if self._thread is None or not self._thread.is_alive():
                self._start()
            here = self._finish or self._thread is None or self._pending >= CHECKPOINT_ENTRIES * CHECKPOINT_STALLED
            if here and not self._finish:
                self._pending = 0
            elif self._pending >= CHECKPOINT_ENTRIES or self._pending == count:
                self._wake.notify()  # enough to copy now; or the first since the last, which starts the interval
            self._finish = False
        if here:
            try:
                self._checkpoint(conn)
            except Exception:
                logging.getLogger(__name__).exception("the WAL checkpoint failed")

    def _start(self) -> None:
        self._stop = threading.Event()
        try:
            thread = threading.Thread(target=self._run, args=(self._stop,), name="transfer-gate-wal-checkpoint",
                                      daemon=True)
            thread.start()
        except RuntimeError:  # no thread can be started (the interpreter is ending): appenders checkpoint
            logging.getLogger(__name__).warning("the WAL checkpoint thread could not start")
            self._thread = None
            return
        self._thread = thread

    def _run(self, stop: threading.Event) -> None:
        while True:
            with self._lock:
                if not self._pending and not stop.is_set():
                    self._wake.wait(CHECKPOINT_IDLE)
                    if not self._pending and not stop.is_set():  # idle: the next append starts another
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                if self._pending < CHECKPOINT_ENTRIES and not stop.is_set():
                    self._wake.wait(CHECKPOINT_INTERVAL)
                if stop.is_set():
                    return
                self._pending = 0
            try:  # a connection of its own for each checkpoint: none is held between them
                conn = _Writer(self._engine.raw_connection())
                try:
                    self._checkpoint(conn.dbapi)
                finally:
                    conn.close()
                with self._lock:
                    self._finish = True
            except Exception:  # logged; the next checkpoint tries again
                logging.getLogger(__name__).exception("the WAL checkpoint failed")

    def _checkpoint(self, conn) -> None:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.done += 1

    def close(self) -> None:
        """Stop the thread (a later append starts another)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._wake.notify_all()
            mine = self._pid == os.getpid()
        if thread is not None and mine:
            thread.join(timeout=5)


class _WriterTurn:
    """Writers' turns at a SQLite store across processes: an exclusive flock on a file beside it.

    SQLite's own wait for its write lock polls with sleeps (1, 2, 5, 10 … 100 ms): a writer of
    another process often sleeps on long after the lock was released, which makes the tail of
    the latency. A writer blocked in flock is woken by the kernel the moment the holder lets go.
    Threads of one process take turns on a thread lock first (flock belongs to the open file,
    which they share). Writers that do not take the turn (key and rate-limit updates) are still
    kept out by SQLite's own lock.
    """

    def __init__(self, path: str):
        self.path = path
        self._pid = os.getpid()
        self._fd = None
        self._threads = threading.Lock()
        self._waiter = _TurnWaiter()

    def _file(self) -> int | None:
        """The lock file, opened by the thread holding the thread lock (once per process); None if it cannot be.

        It gets the database file's permissions, as SQLite's own -wal and -shm files do, so whoever
        may write the database may take a turn. Turns only make waits fair: where the file cannot
        be opened, writers fall back to SQLite's own lock, which keeps them apart all the same.
        """
        if self._fd is None:
            try:
                mode = os.stat(self.path[:-len(TURN_SUFFIX)]).st_mode & 0o666
            except OSError:
                mode = 0o644
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
            except OSError as exc:
                logging.getLogger(__name__).warning("writers take no turns at %s (%s): SQLite's busy wait only",
                                                    self.path, exc)
                self._fd = -1
        return None if self._fd < 0 else self._fd

    def acquire(self, timeout: float) -> bool:
        """Take the turn within `timeout` seconds; False (nothing held) when it did not come."""
        end = time.monotonic() + timeout
        if self._pid != os.getpid():  # a forked child opens its own: one open file is one owner to flock
            self._fd, self._threads, self._waiter, self._pid = None, threading.Lock(), _TurnWaiter(), os.getpid()
        threads = self._threads
        if not threads.acquire(timeout=max(0.0, timeout)):
            return False
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except BaseException:
            threads.release()
            raise
        # Another process writes. Wait in the kernel from the process's waiting thread, so that this
        # caller keeps its deadline; if it gives up first, that thread lets go as soon as the turn
        # comes, and only then frees the thread lock (no thread of this process may write meanwhile).
        turn = _Turn(fd, threads)
        self._waiter.post(turn)
        turn.decided.wait(max(0.0, end - time.monotonic()))
        with turn.guard:
            if turn.decided.is_set():
                if turn.held:
                    return True
                threads.release()
                return False
            turn.abandoned = True
        return False

    def release(self) -> None:
        if self._fd is not None and self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def close(self) -> None:
        if self._fd is not None and self._fd >= 0 and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


class _Turn:
    """One wait in flock, handed to the waiting thread: what came of it, and whether the caller gave up."""

    __slots__ = ("fd", "threads", "decided", "guard", "held", "abandoned")

    def __init__(self, fd: int, threads: threading.Lock):
        self.fd, self.threads = fd, threads
        self.decided, self.guard = threading.Event(), threading.Lock()
        self.held = self.abandoned = False


class _TurnWaiter:
    """The thread of a process that waits in flock for its writer (one at a time: the thread lock's holder).

    Started at the first wait and kept: a thread started per wait cost a few per cent of a
    worker's time under load, when every other commit found the other process writing.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._turn: _Turn | None = None
        self._thread: threading.Thread | None = None

    def post(self, turn: _Turn) -> None:
        with self._cond:
            self._turn = turn
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="log-writer-turn", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._turn is None:
                    self._cond.wait()
                turn, self._turn = self._turn, None
            try:
                fcntl.flock(turn.fd, fcntl.LOCK_EX)
                held = True
            except OSError:  # the file was closed under the wait (the log was closed)
                held = False
            with turn.guard:
                turn.held = held
                if not turn.abandoned:
                    turn.decided.set()  # the caller takes it from here
                    continue
            if held:
                fcntl.flock(turn.fd, fcntl.LOCK_UN)
            turn.threads.release()


TURN_SUFFIX = "-writer"


def writer_turn_path(url: sa.URL) -> str | None:
    """The lock file of a SQLite store: its path plus `-writer`; None for a store in memory."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or url.query.get("uri"):
        return None
    return os.path.abspath(database) + TURN_SUFFIX


def _chained(rows: list[dict], seq: int, prev: str) -> tuple[list[tuple], int, str]:
    """Chain rows after (seq, prev): their values in COLUMNS order, and the new head."""
    values = []
    for row in rows:
        seq += 1
        full = dict(row, seq=seq, prev_hash=prev)
        full["hash"] = prev = entry_hash(full)
        full = stored(full)
        values.append(tuple([full.get(name) for name in COLUMNS]))
    return values, seq, prev


class _HeadMoved(Exception):
    """Another writer moved the chain's head since this instance last wrote: chain again from the locked head."""


def _append_pipelined(conn, rows: list[dict], head: tuple[int, str] | None, ms: int):
    """Append rows after `head` in one round trip, or after the head read under its lock in two.

    Return the new head, and the head read under the lock (None when `head` was used).
    The statements go out together in psycopg's pipeline mode and the server answers once, at
    the pipeline's sync. From `head`, they are one transaction without BEGIN or COMMIT: the
    extended query protocol runs everything up to a sync as one implicit transaction, committed
    at the sync, or rolled back whole when a statement fails (the server then skips the rest).
    From the locked head, an explicit one: the sync that brings the head back must not end it.
    Raise _HeadMoved when `head` was not the chain's head any more.
    """
    import psycopg

    timeout = f"{ms}ms"
    seen = None
    if head is not None:  # the rows are chained before anything is sent: a bad row sends nothing
        values, seq, prev = _chained(rows, *head)
    failure = None
    try:
        with conn.pipeline() as pipeline:
            # A statement's error can surface in any later call: it is kept, and raised once the
            # pipeline has ended (the server skips the statements after a failed one).
            try:
                cur = conn.cursor()
                if head is None:
                    cur.execute("BEGIN")
                    cur.execute(PG_SETTINGS, (timeout, timeout))
                    cur.execute(PG_LOCK_HEAD)
                    pipeline.sync()
                    seq, prev = cur.fetchone()
                    head = seen = (int(seq), prev)
                    values, seq, prev = _chained(rows, *head)
                else:
                    cur.execute(PG_SETTINGS, (timeout, timeout))
                    cur.execute(PG_LOCK_HEAD_AT, head)
                cur.executemany(PG_INSERT, values)
                cur.execute(PG_MOVE_HEAD, (seq, prev))
                if seen is not None:
                    cur.execute("COMMIT")
            except psycopg.Error as exc:
                failure = exc
    except psycopg.Error as exc:  # the pipeline's end reports it (or, after one kept above, that it was aborted)
        failure = failure or exc
    if failure is not None:
        if isinstance(failure, psycopg.errors.InvalidTextRepresentation) and HEAD_MOVED in str(failure):
            raise _HeadMoved() from failure
        raise failure
    return (seq, prev), seen


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
        """Append rows in one transaction, chained after the head; raise LogUnavailable if they were not."""
        try:
            if self.dialect == "sqlite":
                self._write_sqlite(rows, self._wait(wait))
            elif self.dialect == "postgresql":
                self._write_postgresql(rows, self._wait(wait))
            else:
                self._write_core(rows, wait)
        except LogUnavailable:
            raise
        except Exception as exc:
            raise LogUnavailable(f"the decision log could not be written: {exc.__class__.__name__}: {exc}") from exc

    def _write_sqlite(self, rows: list[dict], wait: float) -> None:
        started = time.monotonic()
        turn = self._turn
        if turn is not None and not turn.acquire(wait):
            raise LogUnavailable("the decision log could not be written: another writer held it beyond the wait "
                                 f"({wait:.3f} s)")
        try:
            writer = self._writers.take()
            try:
                conn = writer.dbapi
                # The wait for SQLite's own lock (writers that take no turn): what is left of ours.
                busy_ms = _ms(max(0.001, wait - (time.monotonic() - started)))
                if busy_ms != writer.busy_ms:
                    conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
                    writer.busy_ms = busy_ms
                conn.execute("BEGIN IMMEDIATE")
                try:
                    seq, prev = conn.execute(SQLITE_HEAD).fetchone()
                    values, seq, prev = _chained(rows, int(seq), prev)
                    conn.executemany(SQLITE_INSERT, values)
                    conn.execute(SQLITE_MOVE_HEAD, (seq, prev))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                self._checkpoints.appended(len(rows), conn)
            except BaseException:
                writer.close()
                raise
            self._writers.give_back(writer)
        finally:
            if turn is not None:
                turn.release()

    def _write_postgresql(self, rows: list[dict], wait: float) -> None:
        import psycopg

        deadline = time.monotonic() + wait
        locked = False
        for attempt in range(1, PG_ATTEMPTS + 1):
            writer = self._writers.take()
            # From the remembered head (one round trip) while this instance is the only one
            # writing, as far as it can tell, and no other thread of it is trying the same; from
            # the head read under its lock (two) otherwise, and always once the remembered head
            # proved stale: an attempt from the locked head cannot fail so.
            hopeful = self._head_alone and not locked and self._hoping.acquire(blocking=False)
            try:
                written, seen = _append_pipelined(writer.dbapi, rows, self._head if hopeful else None,
                                                  _ms(max(0.001, deadline - time.monotonic())))
            except _HeadMoved:
                self._head_alone, locked = False, True
                self._writers.settle(writer)
                if time.monotonic() >= deadline:
                    raise LogUnavailable("the decision log could not be written: the chain's head moved, "
                                         "and the deadline passed") from None
                continue
            except psycopg.Error as exc:
                self._head, self._head_alone = None, False
                broken = writer.dbapi.broken or writer.dbapi.closed
                self._writers.settle(writer)
                # A connection lost (the server restarted, or killed it) costs one more attempt on a
                # new one. Had its commit gone through unseen, that attempt fails on the decision ids.
                if isinstance(exc, psycopg.OperationalError) and broken and attempt == 1 \
                        and time.monotonic() < deadline:
                    continue
                raise
            except BaseException:
                self._head, self._head_alone = None, False
                writer.close()
                raise
            finally:
                if hopeful:
                    self._hoping.release()
            self._writers.give_back(writer)
            # Alone while the head read under the lock is the one this instance wrote last.
            self._head_alone = seen is None or self._head is None or seen == self._head
            self._head = written
            return
        raise LogUnavailable(f"the decision log could not be written in {PG_ATTEMPTS} attempts")

    def _write_core(self, rows: list[dict], wait: float | None) -> None:
        """Append through SQLAlchemy Core: for a store with no write path of its own."""
        with self._write_connection(wait) as conn, conn.begin():
            seq, prev = self._lock_head(conn)
            values, seq, prev = _chained(rows, seq, prev)
            conn.execute(entries.insert(), [dict(zip(COLUMNS, v)) for v in values])
            conn.execute(head_table.update().where(head_table.c.id == 1).values(seq=seq, hash=prev))

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
