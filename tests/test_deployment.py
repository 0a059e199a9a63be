"""The shipped deployment: nginx (deploy/nginx.conf) in front of a real `transfer-gate serve`."""

from __future__ import annotations

import json
import socket
import time

import pytest
from click.testing import CliRunner

from tests.conftest import bearer
from tests.servers import Nginx, Serve, fetch, free_port
from tests.test_api import with_
from transfer_gate.cli import main
from transfer_gate.deployment import LIMIT_REQUEST_FIELDS, nginx_config
from transfer_gate.web.access import SECURITY_HEADERS

PAUSE = "2s"  # the tests' client timeout: a stalled client is answered after this


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Two workers with the default threads behind nginx, on SQLite."""
    base = tmp_path_factory.mktemp("stack")
    with Serve(base / "serve", "--workers", "2", env={"TRANSFER_GATE_TRUSTED_PROXIES": "1"}) as serve:
        with Nginx(base / "nginx", f"127.0.0.1:{serve.port}", client_timeout=PAUSE) as nginx:
            yield serve, nginx


def slow_clients(port: int, count: int) -> list[socket.socket]:
    """Open `count` connections that each announce a 1,000-byte body and send the first bytes of it."""
    heads = [b"POST /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             b"Content-Length: 1000\r\n\r\nkey=",
             b"POST /v1/decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             b"Content-Length: 1000\r\n\r\n{\"origin\""]
    clients = []
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(heads[i % 2])
        clients.append(s)
    return clients


def answer_of(s: socket.socket, seconds: float) -> bytes:
    """Read what the server sends until it closes the connection (or `seconds` pass)."""
    s.settimeout(seconds)
    data = b""
    try:
        while chunk := s.recv(4096):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


@pytest.mark.parametrize("count", [4, 40])
def test_slow_clients_leave_healthz_and_decisions_answering(stack, count):
    serve, nginx = stack
    timed_out = len(timeouts(nginx))
    clients = slow_clients(nginx.port, count)
    try:
        # The slow clients keep trickling while healthz and decisions are asked for, each within
        # a one-second socket timeout (without the proxy, four such clients held both sync
        # workers for as long as they liked).
        for _round in range(4):
            for s in clients:
                s.sendall(b"aaa")
            status, _headers, _body = fetch(nginx.url + "/healthz", timeout=1.0)
            assert status == 200
            status, _headers, body = fetch(nginx.url + "/v1/decisions", method="POST", body=with_(),
                                           headers=bearer("app"), timeout=10)
            assert status == 200 and json.loads(body)["outcome"]
            time.sleep(0.3)
        # Then they stall: after the client timeout nginx ends each one (it logs 408 and closes
        # the connection; an nginx that sends its 408 answer sends the problem document).
        answers = [answer_of(s, 30) for s in clients]
    finally:
        for s in clients:
            s.close()
    for answer in answers:
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        if answer:
            assert b"application/problem+json" in answer and b'"status":408' in answer
    assert len(timeouts(nginx)) - timed_out == count
    assert not [line for line in serve.lines("stdout") if line.get("path") == "/signin"]  # no worker saw one
    assert fetch(nginx.url + "/healthz", timeout=1.0)[0] == 200


def timeouts(nginx) -> list[dict]:
    """nginx's access-log lines of requests it ended with 408."""
    lines = [json.loads(line) for line in (nginx.dir / "access.log").read_text().splitlines()]
    return [line for line in lines if line["status"] == 408]


def raw(port: int, request: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes; parse the status, headers and body nginx answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = answer_of(s, 10)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def chunked(size: int) -> bytes:
    chunk = b"x" * 65536
    out = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(size // len(chunk) + 1))
    return out + b"0\r\n\r\n"


@pytest.mark.parametrize("request_bytes,status", [
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", 431),
    (b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048577\r\n\r\n", 413),
    (b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
     + chunked(1024 * 1024 + 1), 413),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 403),
    (b"GET /_problems/forbidden HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
], ids=["garbage", "uri-too-long", "header-too-large", "body-too-large", "chunked-body-too-large", "metrics", "internal"])
def test_nginx_answers_its_limits_with_problem_documents_and_the_security_headers(stack, request_bytes, status):
    _serve, nginx = stack
    got, headers, body = raw(nginx.port, request_bytes)
    assert got == status
    assert headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(body)["status"] == status
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value
    assert headers["Cache-Control"] == "no-store"


def test_what_nginx_lets_through_gunicorn_accepts(stack):
    """A 4 KiB request line and many headers reach the application, never gunicorn's HTML refusals."""
    _serve, nginx = stack
    path = "/v1/countries/" + "A" * (4096 - len("GET /v1/countries/ HTTP/1.1\r\n") - 10)
    status, headers, body = fetch(nginx.url + path, headers=bearer("app"))
    assert status == 404 and headers["Content-Type"] == "application/problem+json"
    many = {f"X-H{i}": "v" for i in range(500)}  # gunicorn alone refuses more than 100
    assert len(many) < LIMIT_REQUEST_FIELDS
    status, headers, body = fetch(nginx.url + "/healthz", headers=many)
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_a_service_that_is_down_gets_a_502_problem(tmp_path):
    with Nginx(tmp_path / "nginx", f"127.0.0.1:{free_port()}") as nginx:
        status, headers, body = fetch(nginx.url + "/healthz")
    assert status == 502 and headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(body)["type"] == "/problems/service-unreachable"
    assert headers["X-Frame-Options"] == "DENY"


def test_the_proxy_config_refuses_values_that_are_not_one_nginx_token(tmp_path):
    with pytest.raises(ValueError, match="upstream"):
        nginx_config(listen="127.0.0.1:8080", upstream="127.0.0.1:8000; evil", prefix=tmp_path)
    text = nginx_config(listen="127.0.0.1:8080", upstream="127.0.0.1:8000", prefix=tmp_path, max_body_size=2048)
    assert "{{" not in text and "client_max_body_size 2048;" in text and "larger than 2 KiB" in text
    assert "proxy_request_buffering on;" in text


def test_one_request_id_runs_through_nginx_the_access_logs_and_the_decision_log(stack):
    serve, nginx = stack
    status, headers, body = fetch(nginx.url + "/v1/decisions", method="POST", body=with_(),
                                  headers={**bearer("app"), "X-Request-ID": "order-4711"})
    assert status == 200 and headers["X-Request-ID"] == "order-4711"
    decision_id = json.loads(body)["decision_id"]
    # Without an id from the client, nginx's own is the one the application uses and stores.
    status, headers, body = fetch(nginx.url + "/v1/decisions", method="POST", body=with_(), headers=bearer("app"))
    generated = headers["X-Request-ID"]
    assert status == 200 and len(generated) == 32
    for rid, did in [("order-4711", decision_id), (generated, json.loads(body)["decision_id"])]:
        logged = json.loads(fetch(nginx.url + f"/v1/decisions/{did}", headers=bearer("auditor"))[2])
        assert logged["request_id"] == rid
        deadline = time.monotonic() + 10  # gunicorn writes its access line after the answer
        while not [a for a in serve.lines("stdout") if a.get("request_id") == rid] and time.monotonic() < deadline:
            time.sleep(0.1)
        [access] = [a for a in serve.lines("stdout") if a.get("request_id") == rid]
        assert (access["method"], access["path"], access["status"], access["caller"]) == \
            ("POST", "/v1/decisions", 200, "env-app-1")
        assert access["level"] == "info" and access["logger"] == "gunicorn.access"
        assert isinstance(access["duration"], float) and access["remote_addr"] == "127.0.0.1"
        proxied = [json.loads(line) for line in (nginx.dir / "access.log").read_text().splitlines()]
        assert [p["status"] for p in proxied if p["request_id"] == rid and p["method"] == "POST"] == [200]
    # gunicorn's own lines are JSON too.
    errors = serve.lines("stderr")
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in errors)
    # The threaded workers that spread their connections (transfer_gate/workers.py).
    assert any(line["message"] == "Using worker: transfer_gate.workers.BalancedThreadWorker" for line in errors)
    # No control socket at gunicorn's one-per-user path, which instances would take from each other.
    assert not any("Control socket" in line["message"] for line in errors)


def test_proxy_config_refuses_a_bad_value_on_the_command_line(tmp_path):
    result = CliRunner().invoke(main, ["proxy-config", "--prefix", str(tmp_path), "--listen", "0.0.0.0:80 default"])
    assert result.exit_code == 2 and "listen" in result.output
