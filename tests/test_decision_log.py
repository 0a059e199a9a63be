"""The decision log on SQLite and PostgreSQL: entries, chain, append-only triggers, verify-log, masking."""

import hashlib
import json
import threading
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from tests.test_api import EXAMPLE, with_
from transfer_gate.cli import main
from transfer_gate.decision_log import (GENESIS, DecisionLog, LogMask, _GroupCommit, canonical, entries, entry_for, entry_hash,
                                        retention_end)
from transfer_gate.errors import ConfigError, LogUnavailable

from tests.conftest import SignedInClient


@pytest.fixture(autouse=True)
def _clients_present_credentials(request):
    """These tests are about the log, not about who may use it (tests/test_access.py): clients sign in."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").test_client_class = SignedInClient

DESTINATIONS = ["US", "DE", "CN", "SG", "GB", "IN", "BR"]
# Special-care data to a third party on informed consent: APPI 29 requires a record (P3Y).
RECORDED = with_(recipient__relationship="third_party", recipient__safeguards=[], basis__consent="informed",
                 destination="US", reference="hr-transfer-1")


def decide(client, n, **changes):
    ids = []
    for i in range(n):
        body = with_(destination=DESTINATIONS[i % len(DESTINATIONS)], reference=f"ref-{i}", **changes)
        resp = client.post("/v1/decisions", json=body)
        assert resp.status_code == 200, resp.get_json()
        ids.append(resp.get_json()["decision_id"])
    return ids


def rows(url):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(entries).order_by(entries.c.seq)).mappings()]
    finally:
        engine.dispose()


def tamper(url, *statements, params=None):
    """Change the database behind the service's back, as someone with direct access could."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("ALTER TABLE decision_log DISABLE TRIGGER USER")
                conn.exec_driver_sql("ALTER TABLE decision_log_head DISABLE TRIGGER USER")
            else:
                for name in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars().all():
                    conn.exec_driver_sql(f"DROP TRIGGER {name}")
            for statement in statements:
                conn.execute(sa.text(statement), params or {})
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("ALTER TABLE decision_log ENABLE TRIGGER USER")
                conn.exec_driver_sql("ALTER TABLE decision_log_head ENABLE TRIGGER USER")
    finally:
        engine.dispose()


def verify_log(url, monkeypatch, *args):
    monkeypatch.setenv("TRANSFER_GATE_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["verify-log", *args], catch_exceptions=False)
    return result.exit_code, result.output


# --------------------------------------------------------------------------- entries


def test_each_entry_holds_the_decision_its_digests_and_its_place_in_the_chain(store_app, store_url):
    client = store_app.test_client()
    body = client.post("/v1/decisions", json=EXAMPLE).get_json()
    recorded = client.post("/v1/decisions", json=RECORDED).get_json()
    assert recorded["records"]["required"] is True and recorded["records"]["retention"] == "P3Y"

    log = store_app.extensions["transfer_gate"].log
    first, second = log.get(body["decision_id"]), log.get(recorded["decision_id"])
    assert first["seq"] == 1 and second["seq"] == 2
    assert first["prev_hash"] == GENESIS and second["prev_hash"] == first["hash"]
    assert first["response"] == body and first["request"]["reference"] == "crm-export-4711"
    assert first["created_at"] == body["evaluated_at"]
    assert (first["caller"], first["caller_role"]) == ("env-app-1", "app")
    assert first["ruleset_name"] == "appi" and first["ruleset_version"] == body["ruleset"]["version"]
    assert first["ruleset_digest"] == body["ruleset"]["digest"]
    assert first["profile_digest"] == body["country_profile"]["digest"]
    assert (first["outcome"], first["route"], first["destination"]) == ("conditional", "equivalent_measures", "US")
    assert first["data_kinds"] == "personal_data,special_care"
    assert first["records_required"] is False and first["retention_until"] is None
    assert first["masked"] == []
    decided_on = date.fromisoformat(recorded["evaluated_at"][:10])
    assert second["records_required"] is True and second["records_retention"] == "P3Y"
    assert second["retention_until"] == decided_on.replace(year=decided_on.year + 3).isoformat()
    stored = rows(store_url)
    assert [entry_hash(r) for r in stored] == [r["hash"] for r in stored]
    assert log.head().seq == 2 and log.head().hash == second["hash"]


@pytest.mark.parametrize("start,duration,end", [
    ("2026-11-27", "P3Y", "2029-11-27"),
    ("2028-02-29", "P1Y", "2029-02-28"),
    ("2026-01-31", "P1M", "2026-02-28"),
    ("2026-12-15", "P1Y2M10D", "2028-02-25"),
    ("2026-11-27", "P2W", "2026-12-11"),
])
def test_retention_ends_a_duration_after_the_decision(start, duration, end):
    assert retention_end(date.fromisoformat(start), duration).isoformat() == end


def test_retention_refuses_what_is_not_a_date_duration():
    with pytest.raises(ValueError):
        retention_end(date(2026, 1, 1), "PT3H")


def test_a_batch_is_logged_in_order_in_one_chain(store_app):
    client = store_app.test_client()
    out = client.post("/v1/decisions/batch", json={"requests": [EXAMPLE, with_(destination="DE"), EXAMPLE]})
    ids = [d["decision_id"] for d in out.get_json()["decisions"]]
    logged = store_app.extensions["transfer_gate"].log.query(limit=None)
    assert [e["decision_id"] for e in logged] == ids and [e["seq"] for e in logged] == [1, 2, 3]
    assert store_app.extensions["transfer_gate"].log.verify().ok


def test_the_cli_logs_its_decisions_with_their_digests(make_app, store_url, monkeypatch):
    monkeypatch.setenv("TRANSFER_GATE_DATABASE_URL", store_url)
    result = CliRunner().invoke(main, ["decide"], input=json.dumps(EXAMPLE), catch_exceptions=False)
    assert result.exit_code == 0
    decision = json.loads(result.output)
    entry = make_app(store_url).extensions["transfer_gate"].log.get(decision["decision_id"])
    assert entry["caller"] == "cli" and entry["caller_role"] == "cli"
    assert entry["ruleset_digest"] == decision["ruleset"]["digest"]
    assert entry["profile_digest"] == decision["country_profile"]["digest"]


def test_the_form_logs_its_decisions_with_their_digests(store_app):
    from tests.test_ui import decide as decide_in_the_form

    resp = decide_in_the_form(store_app.test_client())
    assert resp.status_code == 303
    decision_id = resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    entry = store_app.extensions["transfer_gate"].log.get(decision_id)
    assert entry["reference"] == "crm-export-4711" and entry["destination"] == "US"
    assert entry["ruleset_digest"] == entry["response"]["ruleset"]["digest"]
    assert entry["ruleset_digest"].startswith("sha256:")
    assert entry["profile_digest"] == entry["response"]["country_profile"]["digest"]
    assert store_app.extensions["transfer_gate"].log.verify().ok


# --------------------------------------------------------------------------- append-only


@pytest.mark.parametrize("statement", [
    "UPDATE decision_log SET outcome = 'allow' WHERE seq = 1",
    "DELETE FROM decision_log WHERE seq = 2",
    "DELETE FROM decision_log_head",
    "UPDATE decision_log_head SET seq = 1",
], ids=["update entry", "delete entry", "delete head", "rewind head"])
def test_the_store_refuses_to_change_or_remove_what_was_logged(store_app, store_url, statement):
    decide(store_app.test_client(), 2)
    engine = sa.create_engine(store_url)
    try:
        with pytest.raises(sa.exc.DatabaseError, match="append-only|only moves forward"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()
    assert len(rows(store_url)) == 2
    assert store_app.extensions["transfer_gate"].log.verify().ok


def test_truncate_is_refused_on_postgresql(make_app, postgres_url):
    decide(make_app(postgres_url).test_client(), 1)
    engine = sa.create_engine(postgres_url)
    try:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.exec_driver_sql("TRUNCATE decision_log, decision_log_head")
    finally:
        engine.dispose()
    assert len(rows(postgres_url)) == 1


def test_no_code_path_updates_or_deletes_an_entry():
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "transfer_gate"
    for path in package.rglob("*.py"):
        text = path.read_text()
        assert "entries.update(" not in text and "entries.delete(" not in text, path
        assert "DELETE FROM decision_log" not in text.replace("BEFORE DELETE ON", ""), path


# --------------------------------------------------------------------------- verify-log


def test_verify_log_passes_an_intact_log(store_app, store_url, monkeypatch):
    decide(store_app.test_client(), 5)
    code, output = verify_log(store_url, monkeypatch)
    assert code == 0, output
    assert "intact: 5 entries" in output


def test_verify_log_passes_an_empty_log(store_app, store_url, monkeypatch):
    code, output = verify_log(store_url, monkeypatch)
    assert code == 0 and "intact: 0 entries" in output


def _rehash(url, seq):
    row = next(r for r in rows(url) if r["seq"] == seq)
    return entry_hash(row)


TAMPERING = {
    # name: (statements to run, the first bad entry verify-log must name, words of its reason)
    "altered": (["UPDATE decision_log SET outcome = 'allow' WHERE seq = 3"], 3, "altered"),
    "altered reference": (["UPDATE decision_log SET reference = 'other' WHERE seq = 2"], 2, "altered"),
    "deleted": (["DELETE FROM decision_log WHERE seq = 3"], 4, "entry 3 before it is missing"),
    "deleted first": (["DELETE FROM decision_log WHERE seq = 1"], 2, "entry 1 before it is missing"),
    "deleted two": (["DELETE FROM decision_log WHERE seq IN (2, 3)"], 4, "entries 2–3 before it are missing"),
    "deleted last": (["DELETE FROM decision_log WHERE seq = 5"], 5, "truncated"),
    "reordered": (["UPDATE decision_log SET seq = -1 WHERE seq = 2",
                   "UPDATE decision_log SET seq = 2 WHERE seq = 4",
                   "UPDATE decision_log SET seq = 4 WHERE seq = -1"], 2, "reordered"),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_verify_log_names_the_first_bad_entry(store_app, store_url, monkeypatch, kind):
    ids = decide(store_app.test_client(), 5)
    statements, first_bad, words = TAMPERING[kind]
    tamper(store_url, *statements)
    code, output = verify_log(store_url, monkeypatch)
    assert code == 1, output
    assert "NOT intact" in output and f"entry {first_bad}" in output and words in output
    if first_bad <= 4 and kind != "reordered":
        assert ids[first_bad - 1] in output  # the entry is named by its decision id too


def test_verify_log_catches_an_entry_altered_and_rehashed_at_the_next_one(store_app, store_url, monkeypatch):
    decide(store_app.test_client(), 5)
    tamper(store_url, "UPDATE decision_log SET outcome = 'allow' WHERE seq = 3")
    tamper(store_url, "UPDATE decision_log SET hash = :h WHERE seq = 3", params={"h": _rehash(store_url, 3)})
    code, output = verify_log(store_url, monkeypatch)
    assert code == 1 and "entry 4" in output and "entry 3 was altered and re-hashed" in output


def test_verify_log_catches_an_entry_inserted_behind_the_services_back(store_app, store_url, monkeypatch):
    decide(store_app.test_client(), 3)
    last = rows(store_url)[-1]
    forged = dict(last, seq=4, decision_id="01JFORGED0000000000000000X", prev_hash=last["hash"], outcome="allow")
    forged["hash"] = entry_hash(forged)
    columns = ", ".join(forged)
    tamper(store_url, f"INSERT INTO decision_log ({columns}) VALUES ({', '.join(':' + c for c in forged)})",
           params=forged)
    code, output = verify_log(store_url, monkeypatch)
    assert code == 1 and "entry 4 (01JFORGED0000000000000000X)" in output and "not appended by the service" in output


def test_an_anchor_kept_outside_catches_a_truncation_that_also_rewound_the_head(store_app, store_url, monkeypatch,
                                                                                tmp_path):
    client = store_app.test_client()
    decide(client, 3)
    anchor = tmp_path / "anchor.json"
    code, output = verify_log(store_url, monkeypatch, "--anchor", str(anchor), "--create-anchor")
    assert code == 0 and json.loads(anchor.read_text())["seq"] == 3
    decide(client, 2)
    code, output = verify_log(store_url, monkeypatch, "--anchor", str(anchor))
    assert code == 0 and json.loads(anchor.read_text())["seq"] == 5

    three = rows(store_url)[2]
    tamper(store_url, "DELETE FROM decision_log WHERE seq >= 3",
           "UPDATE decision_log_head SET seq = 2, hash = (SELECT hash FROM decision_log WHERE seq = 2)")
    code, output = verify_log(store_url, monkeypatch)
    assert code == 0, "without the anchor a consistent truncation is invisible (documented)"
    code, output = verify_log(store_url, monkeypatch, "--anchor", str(anchor))
    assert code == 1 and "entry 3" in output and "truncated" in output
    assert json.loads(anchor.read_text())["seq"] == 5, "a failed verification does not move the anchor"
    assert three["decision_id"] not in [r["decision_id"] for r in rows(store_url)]


def test_verify_log_refuses_a_missing_anchor_unless_told_to_create_one(store_app, store_url, monkeypatch, tmp_path):
    decide(store_app.test_client(), 2)
    anchor = tmp_path / "anchor.json"
    code, output = verify_log(store_url, monkeypatch, "--anchor", str(anchor))
    assert code == 1 and "NOT verified" in output and "does not exist" in output and "--create-anchor" in output
    assert "intact" not in output and not anchor.exists()
    code, output = verify_log(store_url, monkeypatch, "--anchor", str(anchor), "--create-anchor")
    assert code == 0 and "WARNING" in output and "intact: 2 entries" in output
    assert json.loads(anchor.read_text())["seq"] == 2
    anchor.unlink()  # deleted by someone covering a truncation: the next plain run says so
    code, output = verify_log(store_url, monkeypatch, "--anchor", str(anchor))
    assert code == 1 and "does not exist" in output
    code, output = verify_log(store_url, monkeypatch, "--create-anchor")
    assert code == 2 and "--create-anchor needs --anchor" in output


def test_verify_log_refuses_an_unreadable_anchor(store_app, store_url, monkeypatch, tmp_path):
    anchor = tmp_path / "anchor.json"
    anchor.write_text("not json")
    code, output = verify_log(store_url, monkeypatch, "--anchor", str(anchor))
    assert code == 2 and "cannot read the anchor" in output


# --------------------------------------------------------------------------- masking


def test_masked_fields_are_hashed_in_the_log_but_returned_unchanged(make_app, store_url):
    app = make_app(store_url, LOG_MASK="recipient.name,reference", LOG_MASK_MODE="hash", SECRET_KEY="k1" * 20)
    body = app.test_client().post("/v1/decisions", json=EXAMPLE).get_json()
    assert "decision_id" in body  # the caller's answer is not masked (it holds neither field)
    entry = app.extensions["transfer_gate"].log.get(body["decision_id"])
    assert entry["masked"] == ["request.recipient.name", "request.reference"]
    assert entry["request"]["recipient"]["name"].startswith("hmac-sha256:")
    assert entry["request"]["reference"] == entry["reference"] != "crm-export-4711"
    assert "Acme Cloud" not in json.dumps(entry) and "crm-export-4711" not in json.dumps(entry)
    assert entry["response"] == body
    found = app.test_client().get("/v1/decisions?reference=crm-export-4711").get_json()["decisions"]
    assert [e["decision_id"] for e in found] == [body["decision_id"]], "a hashed reference is still searchable"
    assert app.extensions["transfer_gate"].log.verify().ok


def test_the_same_value_masks_to_the_same_token_and_another_key_to_another(make_app, tmp_path):
    one = make_app(f"sqlite:///{tmp_path / 'a.sqlite3'}", LOG_MASK="reference", SECRET_KEY="k1" * 20)
    two = make_app(f"sqlite:///{tmp_path / 'b.sqlite3'}", LOG_MASK="reference", SECRET_KEY="k2" * 20)
    tokens = []
    for app in (one, one, two):
        decision_id = app.test_client().post("/v1/decisions", json=EXAMPLE).get_json()["decision_id"]
        tokens.append(app.extensions["transfer_gate"].log.get(decision_id)["reference"])
    assert tokens[0] == tokens[1] != tokens[2]


def test_redacted_fields_keep_no_trace_of_the_value(make_app, tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'r.sqlite3'}", LOG_MASK="recipient.name", LOG_MASK_MODE="redact")
    body = app.test_client().post("/v1/decisions", json=EXAMPLE).get_json()
    entry = app.extensions["transfer_gate"].log.get(body["decision_id"])
    assert entry["request"]["recipient"]["name"] == "[redacted]"
    assert entry["masked"] == ["request.recipient.name"] and entry["reference"] == "crm-export-4711"


def test_a_field_the_response_echoes_is_masked_there_too():
    mask = LogMask.from_config("reference", "redact", None)
    response = {"decision_id": "01JD3Q8Z5T6W8Y9C0V1B2N3M4K", "evaluated_at": "2026-11-27T10:00:00.000000Z",
                "reference": "crm-export-4711", "outcome": "allow", "route": "designated_country",
                "ruleset": {"name": "appi", "version": "1", "digest": "sha256:x"}, "country_profile": None,
                "records": {"required": False, "retention": None}}
    row = entry_for({"destination": "DE", "reference": "crm-export-4711"}, response, "cli", "cli", mask)
    assert json.loads(row["masked"]) == ["request.reference", "response.reference"]
    assert "crm-export-4711" not in row["request"] + row["response"]
    assert response["reference"] == "crm-export-4711", "the caller's copy is untouched"


def test_a_null_field_is_not_reported_as_masked(make_app, tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'n.sqlite3'}", LOG_MASK="recipient.name", SECRET_KEY="k" * 40)
    body = app.test_client().post("/v1/decisions", json=with_(recipient__name=None)).get_json()
    assert app.extensions["transfer_gate"].log.get(body["decision_id"])["masked"] == []


@pytest.mark.parametrize("config,message", [
    ({"LOG_MASK": "recipient.email"}, "cannot mask recipient.email"),
    ({"LOG_MASK": "reference", "LOG_MASK_MODE": "blur"}, "must be one of hash, redact"),
])
def test_a_bad_mask_configuration_stops_the_start(make_app, tmp_path, config, message):
    with pytest.raises(ConfigError, match=message):
        make_app(f"sqlite:///{tmp_path / 'c.sqlite3'}", **config)


def test_hashing_without_a_key_is_refused():
    with pytest.raises(ConfigError, match="needs TRANSFER_GATE_SECRET_KEY"):
        LogMask.from_config("reference", "hash", None)


# --------------------------------------------------------------------------- group commit


def test_concurrent_callers_share_a_commit_and_each_returns_after_it():
    batches, released = [], threading.Event()
    waiting = threading.Semaphore(0)

    def write(rows, wait=None):
        if not batches:
            batches.append(list(rows))
            released.wait(10)  # hold the first commit until every other caller has queued up
        else:
            batches.append(list(rows))

    group = _GroupCommit(write)
    returned = []

    def caller(i):
        waiting.release()
        group.submit([{"n": i}])
        returned.append((i, len(batches)))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
    threads[0].start()
    for _ in range(50):
        if batches:
            break
        threading.Event().wait(0.05)
    for t in threads[1:]:
        t.start()
    for _ in range(8):
        waiting.acquire()
    while len(group._queue) < 7 and threads[0].is_alive():
        threading.Event().wait(0.01)
    released.set()
    for t in threads:
        t.join(10)
    assert [len(b) for b in batches] == [1, 7], "the seven waiting callers went into one commit"
    assert sorted(r["n"] for b in batches for r in b) == list(range(8))
    assert all(seen >= 1 for _, seen in returned) and len(returned) == 8


def test_every_caller_of_a_failed_group_commit_gets_the_failure():
    def write(rows, wait=None):
        raise LogUnavailable("disk full")

    group = _GroupCommit(write)
    errors = []

    def caller():
        try:
            group.submit([{}])
        except LogUnavailable as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=caller) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == ["disk full"] * 6


def test_group_commit_under_load_with_deadlines_and_failures_loses_nothing_and_reports_nothing_twice():
    """Many callers, slow and failing transactions, deadlines passing in the queue: every caller
    is told exactly what became of its rows, and the lead always passes on (nobody hangs)."""
    import random
    import time

    written, lock = [], threading.Lock()
    rng = random.Random(14)

    def write(rows, wait=None):
        time.sleep(rng.random() * 0.003)
        if rng.random() < 0.15:
            raise LogUnavailable("the store hiccupped")
        with lock:
            written.extend(r["n"] for r in rows)

    group = _GroupCommit(write)
    succeeded, failed = [], []

    def caller(t):
        for k in range(25):
            n = t * 1000 + k
            deadline = time.monotonic() + (rng.random() * 0.004 if k % 3 == 0 else 5)
            try:
                group.submit([{"n": n}], deadline)
            except LogUnavailable:
                failed.append(n)
            else:
                succeeded.append(n)

    threads = [threading.Thread(target=caller, args=(t,)) for t in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a caller never returned"
    assert len(succeeded) + len(failed) == 24 * 25
    assert sorted(written) == sorted(succeeded)  # returned normally exactly when committed
    assert not group._queue and not group._leading
    assert failed and succeeded  # both paths were taken


def test_threads_appending_at_once_make_one_valid_chain(store_app):
    client_threads, errors = [], []

    def work():
        client = store_app.test_client()
        try:
            decide(client, 10)
        except AssertionError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    for _ in range(6):
        client_threads.append(threading.Thread(target=work))
    for t in client_threads:
        t.start()
    for t in client_threads:
        t.join(60)
    assert errors == []
    log = store_app.extensions["transfer_gate"].log
    result = log.verify()
    assert result.ok and result.checked == 60 and log.head().seq == 60


def test_a_log_on_a_directory_that_does_not_exist_is_unavailable(tmp_path):
    log = DecisionLog(f"sqlite:///{tmp_path / 'missing' / 'log.sqlite3'}", timeout=0.2)
    with pytest.raises(LogUnavailable):
        log.append([{"decision_id": "x"}])
    assert log.writable() is False


def test_a_service_role_that_does_not_own_the_tables_can_append_but_cannot_tamper(make_app, postgres_url,
                                                                                   postgres_databases):
    """The deployment the README recommends: the owner migrates, the service runs as a role granted less."""
    make_app(postgres_url)  # the owner applies the migrations
    options = make_url(postgres_url).query["options"]
    schema = options.split("=", 1)[1]
    role = f"tg_service_{uuid.uuid4().hex[:12]}"
    grants = [f'CREATE ROLE "{role}" NOLOGIN', f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
              f'GRANT SELECT, INSERT ON "{schema}".decision_log TO "{role}"',
              f'GRANT SELECT, UPDATE ON "{schema}".decision_log_head TO "{role}"',
              f'GRANT SELECT ON "{schema}".alembic_version TO "{role}"']
    with postgres_databases.admin.connect() as conn:
        for statement in grants:
            conn.exec_driver_sql(statement)
    service_url = make_url(postgres_url).update_query_dict({"options": f"{options} -crole={role}"})
    service_url = service_url.render_as_string(hide_password=False)
    try:
        app = make_app(service_url)
        assert app.test_client().post("/v1/decisions", json=EXAMPLE).status_code == 200
        assert app.extensions["transfer_gate"].log.verify().ok
        engine = sa.create_engine(service_url)
        try:
            for statement in ("DELETE FROM decision_log", "ALTER TABLE decision_log DISABLE TRIGGER USER",
                              "UPDATE decision_log_head SET seq = 0", "DROP TABLE decision_log CASCADE"):
                with pytest.raises(sa.exc.DatabaseError, match="permission denied|must be owner|only moves forward"):
                    with engine.begin() as conn:
                        conn.exec_driver_sql(statement)
        finally:
            engine.dispose()
        app.extensions["transfer_gate"].log.close()
    finally:
        with postgres_databases.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')
    assert len(rows(postgres_url)) == 1


def test_a_request_id_is_hashed_when_present_and_older_entries_keep_their_hashes():
    base = {c.name: f"v-{c.name}" for c in entries.columns if c.name not in ("hash", "response_z")}  # storage only
    without = dict(base, request_id=None)
    with_id = dict(base, request_id="req-1")
    # An entry written before revision 0004 (no request_id) hashes as it always did...
    legacy = {k: v for k, v in base.items() if k != "request_id"}
    assert entry_hash(without) == hashlib.sha256(canonical(legacy).encode("utf-8")).hexdigest()
    # ...and a request id, once recorded, is covered by the chain.
    assert entry_hash(with_id) != entry_hash(without)
    assert entry_hash(dict(with_id, request_id="req-2")) != entry_hash(with_id)
