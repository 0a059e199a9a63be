"""API keys: hashed storage, configured keys, the first admin key, and their management (HTTP and CLI)."""

import hashlib
import threading

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.conftest import API_KEYS, KEYS, bearer
from tests.test_api import EXAMPLE
from transfer_gate import create_app
from transfer_gate.cli import main
from transfer_gate.decision_log import DecisionLog
from transfer_gate.errors import ConfigError
from transfer_gate.keys import ConfiguredKey, KeyRing, UnknownKey, api_keys, first_admin_key, parse_configured_keys


def fresh_ring(tmp_path, name="keys.sqlite3", configured=None):
    """A key ring on its own store, on the same engine set-up as the app's (the decision log's)."""
    log = DecisionLog(f"sqlite:///{tmp_path / name}")
    log.migrate()  # the key tables come from the store's migrations, as in create_app
    return KeyRing(log.engine, configured)


def test_a_created_key_authenticates_with_its_role_and_only_its_hash_is_stored(tmp_path):
    ring = fresh_ring(tmp_path)
    record, key = ring.create("auditor")
    assert key.startswith(f"tg_{record.key_id}_") and len(key) > 50
    identity = ring.authenticate(key)
    assert (identity.key_id, identity.role) == (record.key_id, "auditor")
    with ring.engine.connect() as conn:
        row = conn.execute(sa.select(api_keys)).mappings().one()
    secret = key.split("_", 2)[2]
    assert secret not in str(dict(row)) and key not in str(dict(row))
    assert row["secret_hash"] == hashlib.sha256(bytes.fromhex(row["salt"]) + secret.encode()).hexdigest()


def test_equal_roles_get_different_ids_salts_and_hashes(tmp_path):
    ring = fresh_ring(tmp_path)
    ring.create("app"), ring.create("app")
    with ring.engine.connect() as conn:
        rows = conn.execute(sa.select(api_keys)).mappings().all()
    assert len({r["key_id"] for r in rows}) == len({r["salt"] for r in rows}) == len({r["secret_hash"] for r in rows}) == 2


def test_a_wrong_secret_a_malformed_key_or_a_revoked_key_authenticates_nobody(tmp_path):
    ring = fresh_ring(tmp_path)
    record, key = ring.create("app")
    for wrong in (key[:-1] + ("A" if key[-1] != "A" else "B"), key.replace("tg_", "tx_"), f"tg_{record.key_id}_",
                  f"tg_{record.key_id}", "tg_", "", None, "tg_../../etc_x", "tg_" + "a" * 12 + "_\x00", "\ud800"):
        assert ring.authenticate(wrong) is None, wrong
    ring.revoke(record.key_id)
    assert ring.authenticate(key) is None
    assert ring.active(record.key_id) is None


def test_revoking_is_idempotent_and_unknown_or_configured_ids_are_refused(tmp_path):
    ring = fresh_ring(tmp_path, configured=parse_configured_keys(API_KEYS))
    record, _key = ring.create("officer")
    first = ring.revoke(record.key_id)
    assert first.revoked_at is not None
    assert ring.revoke(record.key_id).revoked_at == first.revoked_at
    with pytest.raises(UnknownKey):
        ring.revoke("0123456789ab")
    with pytest.raises(UnknownKey):
        ring.revoke("'; drop table api_keys; --")
    with pytest.raises(ConfiguredKey):
        ring.revoke("env-app-1")


def test_configured_keys_are_parsed_hashed_and_named_without_revealing_them():
    parsed = parse_configured_keys(API_KEYS + ",app:another-app-key-0123456789")
    names = sorted((i.key_id, i.role) for i in parsed.values())
    assert names == [("env-admin-1", "admin"), ("env-app-1", "app"), ("env-app-2", "app"),
                     ("env-auditor-1", "auditor"), ("env-officer-1", "officer")]
    assert hashlib.sha256(KEYS["app"].encode()).hexdigest() in parsed
    assert not any(key in str(parsed) for key in KEYS.values())


@pytest.mark.parametrize("text,message", [
    ("superuser:0123456789abcdefghijkl", "pair 1 must read role:key"),
    ("app-0123456789abcdefghijkl", "pair 1 must read role:key"),
    ("app:0123456789abcdefghijkl,auditor:short", "pair 2 (auditor): the key is shorter than 20"),
    ("app:0123456789abcdefghijkl,officer:0123456789abcdefghijkl", "pair 2 (officer) repeats an earlier key"),
])
def test_bad_configured_keys_stop_the_start_naming_the_pair_not_the_key(text, message):
    with pytest.raises(ConfigError) as err:
        parse_configured_keys(text)
    assert message in str(err.value) and "0123456789abcdefghijkl" not in str(err.value)


def test_configured_keys_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_GATE_API_KEYS", f"auditor:{KEYS['auditor']}")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'env.sqlite3'}"})
    client = app.test_client()
    assert client.get("/v1/decisions/01JD3Q8Z5T6W8Y9C0V1B2N3M4K", headers=bearer("auditor")).status_code == 404
    assert client.get("/v1/rulesets", headers=bearer("app")).status_code == 401


# --- the first admin key -------------------------------------------------------------------

def test_with_no_key_at_all_the_first_start_creates_an_admin_key_and_prints_it_once(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'first.sqlite3'}"
    app = create_app({"DATABASE_URL": url})
    printed = capsys.readouterr().err
    key = next(word for word in printed.split() if word.startswith("tg_"))
    assert "shown only this once" in printed
    client = app.test_client()
    assert client.post("/v1/decisions", json=EXAMPLE).status_code == 401  # never open to anonymous callers
    created = client.post("/v1/keys", json={"role": "app"}, headers={"Authorization": f"Bearer {key}"})
    assert created.status_code == 201
    app_key = created.get_json()["key"]
    assert client.post("/v1/decisions", json=EXAMPLE, headers={"Authorization": f"Bearer {app_key}"}).status_code == 200
    create_app({"DATABASE_URL": url})  # a restart (or a second worker) creates nothing and prints nothing
    assert "tg_" not in capsys.readouterr().err
    listed = client.get("/v1/keys", headers={"Authorization": f"Bearer {key}"}).get_json()["keys"]
    assert sorted(k["role"] for k in listed) == ["admin", "app"]


def test_no_admin_key_is_created_when_keys_are_configured_or_stored(tmp_path, capsys):
    create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}", "API_KEYS": API_KEYS})
    assert "tg_" not in capsys.readouterr().err
    ring = fresh_ring(tmp_path, "b.sqlite3")
    ring.create("auditor")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}"})
    assert "tg_" not in capsys.readouterr().err
    assert [k.role for k in app.extensions["transfer_gate.keys"].list()] == ["auditor"]


def test_workers_starting_together_create_exactly_one_admin_key(tmp_path):
    rings = [fresh_ring(tmp_path, "race.sqlite3") for _ in range(6)]
    barrier = threading.Barrier(len(rings))
    results = [None] * len(rings)

    def start(i):
        barrier.wait()
        results[i] = rings[i].create_first_admin_key()

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(rings))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1
    assert [k.role for k in rings[0].list()] == ["admin"]


def test_the_guard_row_stops_a_second_admin_key_even_if_the_key_table_looks_empty(tmp_path):
    # On PostgreSQL two workers can both see an empty table; the guard's primary key decides.
    ring = fresh_ring(tmp_path)
    with ring.engine.begin() as conn:
        conn.execute(first_admin_key.insert().values(id=1, key_id="0123456789ab", created_at="2026-01-01T00:00:00Z"))
    assert ring.create_first_admin_key() is None
    assert ring.list() == []


# --- key management over HTTP (admin) ----------------------------------------------------

def test_an_admin_creates_lists_and_revokes_keys(client_for, anonymous):
    admin = client_for("admin")
    resp = admin.post("/v1/keys", json={"role": "officer"})
    assert resp.status_code == 201
    created = resp.get_json()
    assert created["role"] == "officer" and created["source"] == "stored" and created["revoked_at"] is None
    key = created["key"]
    officer = {"Authorization": f"Bearer {key}"}
    assert anonymous.post("/v1/decisions", json=EXAMPLE, headers=officer).status_code == 200
    listed = admin.get("/v1/keys").get_json()["keys"]
    assert {k["key_id"] for k in listed} == {"env-app-1", "env-officer-1", "env-auditor-1", "env-admin-1",
                                             created["key_id"]}
    assert key not in str(listed) and all("key" not in k and "secret_hash" not in k for k in listed)
    resp = admin.delete(f"/v1/keys/{created['key_id']}")
    assert resp.status_code == 200 and resp.get_json()["revoked_at"]
    assert anonymous.post("/v1/decisions", json=EXAMPLE, headers=officer).status_code == 401


def test_key_management_refuses_bad_input_with_problems(client_for):
    admin = client_for("admin")
    resp = admin.post("/v1/keys", json={"role": "root"})
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["role"]
    resp = admin.post("/v1/keys", json={"role": "app", "expires": "never"})
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["expires"]
    assert admin.post("/v1/keys", json=["app"]).status_code == 422
    assert admin.post("/v1/keys", data="role=app", content_type="application/x-www-form-urlencoded").status_code == 415
    assert admin.post("/v1/keys", data="{", content_type="application/json").status_code == 400
    assert admin.delete("/v1/keys/0123456789ab").status_code == 404
    resp = admin.delete("/v1/keys/env-app-1")
    assert resp.status_code == 409 and resp.mimetype == "application/problem+json"


# --- transfer-gate keys ------------------------------------------------------------------

@pytest.fixture
def store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("TRANSFER_GATE_DATABASE_URL", url)
    monkeypatch.setenv("TRANSFER_GATE_API_KEYS", f"admin:{KEYS['admin']}")
    return url


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_the_cli_creates_lists_and_revokes_keys(store):
    result = run("keys", "create", "--role", "auditor")
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert key.startswith("tg_") and "shown only now" in result.stderr
    key_id = key.split("_")[1]
    app = create_app({"DATABASE_URL": store})
    headers = {"Authorization": f"Bearer {key}"}
    assert app.test_client().get("/v1/decisions/01JD3Q8Z5T6W8Y9C0V1B2N3M4K", headers=headers).status_code == 404
    listing = run("keys", "list").stdout
    assert f"{key_id}\tauditor\t" in listing and "\tactive\tstored" in listing and "env-admin-1\tadmin" in listing
    assert key.split("_", 2)[2] not in listing
    result = run("keys", "revoke", key_id)
    assert result.exit_code == 0 and f"Revoked {key_id} (auditor)" in result.stdout
    assert "revoked 20" in run("keys", "list").stdout
    assert app.test_client().get("/v1/decisions/01JD3Q8Z5T6W8Y9C0V1B2N3M4K", headers=headers).status_code == 401


def test_the_cli_refuses_unknown_roles_and_ids(store):
    assert run("keys", "create", "--role", "root").exit_code == 2
    result = run("keys", "revoke", "0123456789ab")
    assert result.exit_code == 1 and "no key has the id" in result.stderr
    result = run("keys", "revoke", "env-admin-1")
    assert result.exit_code == 1 and "TRANSFER_GATE_API_KEYS" in result.stderr
