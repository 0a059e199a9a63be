"""gunicorn's threaded worker, spreading connections over the workers (`serve`'s worker class).

All of `serve`'s workers accept from one listening socket, and whichever calls accept first gets
the connection. A busy worker's loop is no slower to do so than an idle one's, so with clients
that keep their connections open (an app's connection pool, a load generator) one worker can end
up holding most of them while the other idles: 23 against 9, 27 against 5, even 32 against 0 of
wrk's 32 connections in three runs, and at 32 against 0 half the decisions per second.

BalancedThreadWorker accepts at once while it is idle. With every thread busy it leaves a new
connection to the other workers for DEFERRAL seconds, and takes it itself only if none did: a
request never waits long for a worker, and the workers end up holding the connections evenly.
While some of its threads are busy it leaves the connection to the others for SHARE_DEFERRAL: a
decision is CPU work under one interpreter lock per worker, so a second request in a busy worker
runs at half speed while an idle worker's core waits (two batch calls sent at once on two new
connections both went to one worker, and took longer than one after the other). An idle worker
is waiting in its poller and takes the connection within microseconds. Only the main loop of the
worker touches what it counts.
"""

from __future__ import annotations

import inspect
import time

from gunicorn.workers.gthread import ThreadWorker

# How long a worker whose threads are all busy leaves a new connection to the others.
DEFERRAL = 0.005
# How long a worker with a request in hand leaves a new connection to an idle one (with other workers).
SHARE_DEFERRAL = 0.001


class BalancedThreadWorker(ThreadWorker):
    """gthread, taking a new connection only while it has a free thread, or once no other worker took it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_flight = 0  # requests handed to the thread pool and not finished
        self.deferred_until = 0.0  # while set: the end of a deferral of a new connection

    def enqueue_req(self, conn):
        self.in_flight += 1
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self.in_flight -= 1
        super().finish_request(conn, fs)

    def deferral(self) -> float:
        """How long this worker leaves a new connection to the others now (0: it takes it; alone, it always does)."""
        if not self.in_flight or self.cfg.workers < 2:
            return 0.0
        return DEFERRAL if self.in_flight >= self.cfg.threads else SHARE_DEFERRAL

    def accept(self, listener):
        deferral = self.deferral()
        if deferral:
            now = time.monotonic()
            if not self.deferred_until:
                self.deferred_until = now + deferral
            if now < self.deferred_until:
                self.set_accept_enabled(False)  # the loop asks to enable it again; see set_accept_enabled
                return
        self.deferred_until = 0.0
        super().accept(listener)

    def set_accept_enabled(self, enabled):
        # Its loop asks for this at every turn: not while a deferral runs and the worker is still as busy.
        if enabled and self.deferred_until and self.deferral() and time.monotonic() < self.deferred_until:
            return
        super().set_accept_enabled(enabled)


def supported() -> bool:
    """Whether this gunicorn's threaded worker has the event loop BalancedThreadWorker builds on (its
    recent releases); with an older one `serve` runs plain gthread workers."""
    try:
        return (callable(getattr(ThreadWorker, "set_accept_enabled", None))
                and list(inspect.signature(ThreadWorker.finish_request).parameters) == ["self", "conn", "fs"]
                and list(inspect.signature(ThreadWorker.enqueue_req).parameters) == ["self", "conn"]
                and list(inspect.signature(ThreadWorker.accept).parameters) == ["self", "listener"])
    except (TypeError, ValueError):
        return False
