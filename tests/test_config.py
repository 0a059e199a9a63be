"""Configuration the officer pages add: the key that signs sessions and CSRF tokens."""

import pytest

from transfer_gate import create_app
from transfer_gate.config import instance_secret
from transfer_gate.errors import ConfigError


def test_the_instance_secret_is_made_once_and_kept_private(tmp_path):
    path = tmp_path / "instance" / "secret_key"
    first = instance_secret(path)
    assert len(first) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert instance_secret(path) == first  # every worker, and the next start, reads the same key
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary file left behind


def test_an_unusable_instance_secret_stops_the_start(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("short")
    with pytest.raises(ConfigError, match="secret key"):
        instance_secret(path)


def test_a_configured_secret_key_is_used_as_given(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'l.sqlite3'}", "SECRET_KEY": "k" * 40})
    assert app.config["SECRET_KEY"] == "k" * 40


def test_two_apps_on_one_instance_accept_each_others_csrf_tokens(tmp_path, monkeypatch):
    """Gunicorn's workers each build an app; a form served by one must be accepted by another."""
    import re

    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    db = f"sqlite:///{tmp_path / 'l.sqlite3'}"
    one, two = create_app({"DATABASE_URL": db}), create_app({"DATABASE_URL": db})
    assert one.config["SECRET_KEY"] == two.config["SECRET_KEY"]
    first = one.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', first.get("/").get_data(as_text=True)).group(1)
    second = two.test_client()
    second.set_cookie("session", first.get_cookie("session").value)
    resp = second.post("/decisions", data={"csrf_token": token, "origin": "JP", "destination": "DE",
                                           "data_categories": "statistical", "as_of": "2026-11-27"})
    assert resp.status_code == 303
