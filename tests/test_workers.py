"""serve's threaded worker (transfer_gate/workers.py): a busy worker leaves new connections to the others for
a moment — a little while with a request in hand, longer with every thread busy — and takes them itself when
none did."""

import logging
import os
import selectors
import socket
import time
from concurrent.futures import Future

import pytest
from gunicorn.config import Config

from transfer_gate.deployment import gunicorn_settings
from transfer_gate.workers import DEFERRAL, SHARE_DEFERRAL, BalancedThreadWorker, supported


class Pool:
    """A thread pool whose requests never finish: each one keeps a thread busy."""

    def __init__(self):
        self.conns = []

    def submit(self, fn, conn):
        self.conns.append(conn)
        return Future()


@pytest.fixture(params=[2])
def worker(request):
    if not supported():
        pytest.fail("this gunicorn's threaded worker lacks the loop BalancedThreadWorker builds on")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    cfg = Config()
    cfg.set("threads", 2)
    cfg.set("workers", request.param)
    w = BalancedThreadWorker(1, os.getpid(), [listener], None, 30, cfg, logging.getLogger("test-worker"))
    w.tpool, w.poller = Pool(), selectors.DefaultSelector()
    w.set_accept_enabled(True)
    clients = []

    def connect():
        client = socket.create_connection(listener.getsockname())
        clients.append(client)

    w.connect = connect
    yield w
    for s in clients + [c.sock for c in w.tpool.conns] + [listener]:
        s.close()
    w.poller.close()
    w.tmp.close()


@pytest.mark.parametrize("worker", [1], indirect=True)
def test_a_worker_alone_never_defers_a_connection(worker):
    for expected in (1, 2, 3):
        worker.connect()
        worker.accept(worker.sockets[0])
        assert (worker.nr_conns, worker.in_flight) == (expected, expected)
    assert worker._accepting and not worker.deferred_until


def test_an_idle_worker_accepts_at_once_and_a_busy_one_leaves_the_next_to_an_idle_one_for_a_moment(worker):
    worker.connect()
    worker.accept(worker.sockets[0])
    assert (worker.nr_conns, worker.in_flight) == (1, 1) and not worker.deferred_until
    worker.connect()
    worker.accept(worker.sockets[0])
    assert worker.nr_conns == 1 and worker.deferred_until, "a thread is free, but the other worker is idle"
    assert worker.deferred_until - time.monotonic() <= SHARE_DEFERRAL < DEFERRAL
    worker.set_accept_enabled(True)
    assert not worker._accepting, "not before the deferral ends"
    time.sleep(SHARE_DEFERRAL * 2)
    worker.set_accept_enabled(True)
    worker.accept(worker.sockets[0])
    assert worker.nr_conns == 2 and not worker.deferred_until, "no other worker took it: this one does"


def busy(worker, requests):
    """Have the worker take `requests` connections, each a request that keeps a thread busy."""
    for _ in range(requests):
        worker.connect()
        worker.accept(worker.sockets[0])
        if worker.deferred_until:  # no other worker here takes it
            time.sleep(SHARE_DEFERRAL * 2)
            worker.set_accept_enabled(True)
            worker.accept(worker.sockets[0])
    assert worker.in_flight == requests


def test_with_every_thread_busy_it_leaves_a_connection_to_the_others_then_takes_it(worker):
    busy(worker, 2)
    worker.connect()
    worker.accept(worker.sockets[0])
    assert worker.nr_conns == 2 and worker.deferred_until, "the third waits for another worker"
    assert worker.deferred_until - time.monotonic() > SHARE_DEFERRAL
    worker.set_accept_enabled(True)  # what its loop asks at every turn
    assert not worker._accepting, "not before the deferral ends"
    time.sleep(DEFERRAL * 2)
    worker.set_accept_enabled(True)
    assert worker._accepting
    worker.accept(worker.sockets[0])
    assert worker.nr_conns == 3 and not worker.deferred_until, "no other worker took it: this one does"


def test_a_worker_set_idle_takes_connections_at_once_again(worker):
    busy(worker, 2)
    worker.connect()
    worker.accept(worker.sockets[0])
    assert worker.nr_conns == 2
    worker.in_flight = 0  # its requests finished (finish_request, on the worker's loop)
    worker.set_accept_enabled(True)
    assert worker._accepting, "before the deferral ends"
    worker.accept(worker.sockets[0])
    assert worker.nr_conns == 3 and not worker.deferred_until


def test_serve_runs_it_for_threaded_workers_and_sync_workers_for_one_thread():
    assert gunicorn_settings("127.0.0.1:0", 2, 8)["worker_class"] == "transfer_gate.workers.BalancedThreadWorker"
    assert gunicorn_settings("127.0.0.1:0", 2, 1)["worker_class"] == "sync"



def test_serve_freezes_what_a_worker_loaded_and_nothing_made_after():
    """A worker's rules, profiles and engine stay out of the collector's full passes (deployment.py)."""
    import gc

    from transfer_gate.deployment import worker_ready

    assert gunicorn_settings("127.0.0.1:0", 2, 8)["post_worker_init"] is worker_ready
    gc.unfreeze()
    loaded = [["rule", [i]] for i in range(1000)]  # lists: always tracked by the collector
    try:
        worker_ready(None)
        frozen = gc.get_freeze_count()
        assert frozen >= len(loaded)
        tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
        assert not any(id(o) in tracked for o in loaded)  # frozen: in no generation the collector passes over
        made_after = [["request", [i]] for i in range(10)]
        tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
        assert all(id(o) in tracked for o in made_after)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
