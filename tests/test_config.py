"""Configuration: the session secret, proxies, and refusing to start on bad values."""

import os
import stat
import threading

import pytest

from tests.conftest import API_KEYS
from transfer_gate import create_app
from transfer_gate.config import instance_secret
from transfer_gate.errors import ConfigError


def test_the_session_secret_is_generated_once_into_a_private_file(tmp_path):
    path = tmp_path / "instance" / "secret_key"
    secret = instance_secret(path)
    assert len(secret) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert instance_secret(path) == secret  # a restart signs sessions with the same secret
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]


def test_workers_starting_together_share_one_secret(tmp_path):
    path = tmp_path / "secret_key"
    results = []
    barrier = threading.Barrier(8)

    def start():
        barrier.wait()
        results.append(instance_secret(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert path.read_text().strip() == results[0]


def test_an_empty_secret_file_stops_the_start(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("\n")
    with pytest.raises(ConfigError, match="no usable secret"):
        instance_secret(path)


def test_the_configured_secret_wins_and_must_be_long(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    monkeypatch.setenv("TRANSFER_GATE_SECRET_KEY", "s" * 40)
    assert create_app({"DATABASE_URL": url, "API_KEYS": API_KEYS}).secret_key == "s" * 40
    monkeypatch.setenv("TRANSFER_GATE_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="TRANSFER_GATE_SECRET_KEY"):
        create_app({"DATABASE_URL": url, "API_KEYS": API_KEYS})


@pytest.mark.parametrize("value", ["-1", '"two"'])
def test_a_bad_proxy_count_stops_the_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("TRANSFER_GATE_TRUSTED_PROXIES", value)
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}", "API_KEYS": API_KEYS})


@pytest.mark.parametrize("name,value", [("REQUEST_DEADLINE", "0"), ("REQUEST_DEADLINE", "26"),
                                        ("REQUEST_DEADLINE", '"soon"'), ("DATABASE_TIMEOUT", "-1")])
def test_a_deadline_at_or_past_the_worker_timeout_or_not_positive_stops_the_start(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(f"TRANSFER_GATE_{name}", value)
    with pytest.raises(ConfigError, match=name):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}", "API_KEYS": API_KEYS})


def test_the_request_deadline_is_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_GATE_REQUEST_DEADLINE", "2.5")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}", "API_KEYS": API_KEYS})
    assert app.config["REQUEST_DEADLINE"] == 2.5
