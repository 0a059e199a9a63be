"""How the log stores an entry: the answer serialised once and kept compressed, and entries written before still verify."""

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tests.test_api import EXAMPLE, with_
from transfer_gate.decision_log import GENESIS, MIGRATIONS_DIR, DecisionLog
from transfer_gate.log_entries import (CURRENT_FORMAT, DICTIONARIES, DICTIONARY_DIR, PARTS, entries, pack,
                                      pack_middle, pack_parts, unpack)

# The columns an entry's hash covered before revision 0006 (request_id only when present).
OLD_HASHED = ["seq", "decision_id", "created_at", "caller", "caller_role", "reference", "request", "response",
              "ruleset_name", "ruleset_version", "ruleset_digest", "profile_digest", "outcome", "route",
              "destination", "data_kinds", "records_required", "records_retention", "retention_until", "masked",
              "prev_hash"]


def raw_rows(url):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text("SELECT * FROM decision_log ORDER BY seq")).mappings()]
    finally:
        engine.dispose()


def test_the_api_sends_the_very_text_the_log_keeps_and_hashes(store_app, store_url):
    client = store_app.test_client()
    sent = client.post("/v1/decisions", json=EXAMPLE)
    batch = client.post("/v1/decisions/batch", json={"requests": [with_(destination="DE"), {"origin": "JP"}]})
    assert sent.status_code == batch.status_code == 200
    assert sent.mimetype == batch.mimetype == "application/json"
    stored = raw_rows(store_url)
    texts = [unpack(row["response_z"]) for row in stored]
    assert sent.get_data(as_text=True) == texts[0] + "\n", "byte for byte what the log holds"
    assert list(json.loads(texts[0])) == list(sent.get_json()), "the contract's field order"
    decisions = batch.get_json()["decisions"]
    assert batch.get_data(as_text=True) == '{"decisions":[' + texts[1] + "," + json.dumps(
        decisions[1], ensure_ascii=False, separators=(",", ":")) + "]}\n"
    assert decisions[1]["status"] == 422 and len(stored) == 2, "the bad item is answered, not logged"
    # Stored in parts: the kept answer's middle was compressed once, the decision's id, time and date kept as they are.
    assert all(bytes(row["response_z"])[0] == PARTS | CURRENT_FORMAT for row in stored)
    first = bytes(stored[0]["response_z"])
    opening = '{"decision_id":"' + sent.get_json()["decision_id"] + '",'
    assert first[1] == len(opening) and first[2:2 + len(opening)] == opening.encode()


def test_a_stored_answer_in_parts_reads_back_or_says_why_not():
    middle = '"outcome":"deny","text":"越境移転の記録"'
    data = pack_parts('{"decision_id":"01ABC",', pack_middle(middle), ',"as_of":"2026-11-27"}')
    assert unpack(data) == '{"decision_id":"01ABC",' + middle + ',"as_of":"2026-11-27"}'
    assert pack_parts("越境", pack_middle(middle), "}") is None, "only short ASCII is kept as it is"
    for broken in (data[:3], data[:30], data[:-4], data + b"x", bytes([data[0], 200]) + data[2:]):
        with pytest.raises(ValueError, match="cannot be read back|truncated"):
            unpack(broken)


def test_a_masked_answer_is_stored_whole_as_masked(make_app, store_url):
    app = make_app(store_url, LOG_MASK="reference", LOG_MASK_MODE="redact")
    sent = app.test_client().post("/v1/decisions", json=EXAMPLE)
    assert sent.status_code == 200
    row = raw_rows(store_url)[-1]
    assert bytes(row["response_z"])[0] == CURRENT_FORMAT and unpack(row["response_z"]) == row_text(sent)
    assert app.extensions["transfer_gate"].log.verify().ok


def row_text(sent) -> str:
    return sent.get_data(as_text=True).rstrip("\n")


def test_an_answer_is_stored_compressed_and_reads_back_exactly(store_app, store_url):
    client = store_app.test_client()
    body = client.post("/v1/decisions", json=EXAMPLE).get_json()
    row = raw_rows(store_url)[0]
    assert row["response"] == "" and len(bytes(row["response_z"])) < len(json.dumps(body)) / 3
    assert store_app.extensions["transfer_gate"].log.get(body["decision_id"])["response"] == body
    assert store_app.extensions["transfer_gate"].log.verify().ok


def test_a_shipped_dictionary_never_changes():
    for version, digest in DICTIONARIES.items():
        assert hashlib.sha256((DICTIONARY_DIR / f"{version}.bin").read_bytes()).hexdigest() == digest
    text = json.dumps({"outcome": "deny", "text": "越境移転 " * 50}, ensure_ascii=False)
    assert unpack(pack(text)) == text


def test_packing_with_a_lent_compressor_writes_the_stream_a_fresh_compressor_writes():
    """pack() reuses zstd compressors, prepared with the dictionary once and lent to one thread at a time;
    their bytes must be a fresh compressor's, from any thread."""
    from concurrent.futures import ThreadPoolExecutor

    import zstandard

    from transfer_gate.log_entries import COMPRESSION_LEVEL, FORMATS, _dictionary

    assert FORMATS[CURRENT_FORMAT][0] == "zstd"
    texts = ["", "a", json.dumps({"outcome": "allow", "summary_ja": "移転できます。" * 30}, ensure_ascii=False)]
    for text in texts:
        raw = zstandard.ZstdCompressionDict(_dictionary(FORMATS[CURRENT_FORMAT][1]),
                                            dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        fresh = zstandard.ZstdCompressor(level=COMPRESSION_LEVEL, dict_data=raw, write_checksum=False,
                                         write_content_size=True, write_dict_id=False)
        expected = bytes([CURRENT_FORMAT]) + fresh.compress(text.encode("utf-8"))
        assert pack(text) == pack(text) == expected and unpack(expected) == text
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(pack, texts * 20)) == [pack(t) for t in texts * 20]
        assert list(pool.map(unpack, [pack(t) for t in texts * 20])) == texts * 20


# Stored by the code of revision 0006 (format 1: zlib with dictionary 1), whole and in parts: they read back for ever.
FORMAT_1 = json.dumps({"outcome": "conditional", "summary_ja": "越境移転の記録を3年間保存すること",
                       "citations": ["APPI Art. 28(1)", "PPC Rules 16"]}, ensure_ascii=False)
FORMAT_1_WHOLE = bytes.fromhex(
    "01787d082ed70bab0675f04027292b592928019b6a29e0dd32a0c16405a5e2d2dc5cd0fa17902714945e6ceb7abaa81976613c74"
    "ce1fe80963e099c7c03568c8c354b07946a089883243015a6800cfc2d683950b0a2833bb40e70000a05a3e5e")
FORMAT_1_PARTS = bytes.fromhex(
    "812c7b226465636973696f6e5f6964223a2230314a443351385a355436573859394330563142324e334d344b222c162c2261735f"
    "6f66223a22323032362d31312d3237227d787d082ed70b03f5ef4007292b592928015b6a29e0cd32a0b16405a5e2d2dc5cd0f217"
    "901f14945e6ceb7abaa819765f3c74ca1fe80763e091c7c02568c8a354b06946a089882243015a66008fc2d683150b0a2813bb4ab1"
    "001dc13d66")


def test_answers_stored_with_zlib_before_zstd_still_read_back():
    assert unpack(FORMAT_1_WHOLE) == FORMAT_1 and pack(FORMAT_1, 1) == FORMAT_1_WHOLE
    opening, closing = '{"decision_id":"01JD3Q8Z5T6W8Y9C0V1B2N3M4K",', ',"as_of":"2026-11-27"}'
    assert unpack(FORMAT_1_PARTS) == opening + FORMAT_1[1:-1] + closing
    for damaged in (FORMAT_1_WHOLE[:-4], FORMAT_1_WHOLE + b"x", bytes([9]) + FORMAT_1_WHOLE[1:]):
        with pytest.raises(ValueError):
            unpack(damaged)
    current = pack(FORMAT_1)
    assert current[0] == CURRENT_FORMAT and unpack(current) == FORMAT_1
    for damaged in (current[:-4], current + b"x", current[:1] + b"\x00" + current[2:]):
        with pytest.raises(ValueError):
            unpack(damaged)


def test_a_stored_answer_altered_in_place_fails_verification(store_app, store_url):
    from tests.test_decision_log import tamper

    client = store_app.test_client()
    for destination in ("US", "DE", "CN"):
        assert client.post("/v1/decisions", json=with_(destination=destination)).status_code == 200
    other = raw_rows(store_url)[0]["response_z"]
    tamper(store_url, "UPDATE decision_log SET response_z = :z WHERE seq = 2", params={"z": bytes(other)})
    tamper(store_url, "UPDATE decision_log SET response_z = :z WHERE seq = 3", params={"z": b"\x01garbage"})
    result = store_app.extensions["transfer_gate"].log.verify()
    assert not result.ok and result.first_bad == 2 and "altered" in result.reason


def _old_entry(url: str, seq: int, prev: str, decision_id: str, request: dict | None = None) -> dict:
    """An entry as revision 0005's code wrote it: canonical (sorted) JSON text, hashed over those columns."""
    response = {"decision_id": decision_id, "outcome": "conditional", "route": "equivalent_measures",
                "evaluated_at": "2026-11-27T10:00:00.000000Z", "note": "越境移転の記録"}
    row = {"seq": seq, "decision_id": decision_id, "created_at": response["evaluated_at"], "caller": "env-app-1",
           "caller_role": "app", "reference": f"old-{seq}",
           "request": json.dumps(request or {"destination": "US", "reference": f"old-{seq}"}, sort_keys=True,
                                 separators=(",", ":"), ensure_ascii=False),
           "response": json.dumps(response, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
           "ruleset_name": "appi", "ruleset_version": "2026.11", "ruleset_digest": "sha256:" + "a" * 64,
           "profile_digest": None, "outcome": "conditional", "route": "equivalent_measures",
           "destination": (request or {}).get("destination", "US"),
           "data_kinds": "personal_data", "records_required": False, "records_retention": None,
           "retention_until": None, "masked": "[]", "prev_hash": prev}
    content = {k: row[k] for k in OLD_HASHED}
    row["hash"] = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"),
                                            ensure_ascii=False).encode("utf-8")).hexdigest()
    return row


def _write_old(url: str, revision: str, *requests) -> list[dict]:
    """Migrate a new store to `revision` and append entries as the code of then wrote them."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        rows, prev = [], GENESIS
        for seq, request in enumerate(requests, 1):
            rows.append(_old_entry(url, seq, prev, f"01JD3Q8Z5T6W8Y9C0V1B2N3M{seq:02d}", request))
            prev = rows[-1]["hash"]
        with engine.begin() as conn:
            columns = list(rows[0])
            conn.execute(sa.text(f"INSERT INTO decision_log ({', '.join(columns)}) "
                                 f"VALUES ({', '.join(':' + c for c in columns)})"), rows)
            conn.execute(sa.text("UPDATE decision_log_head SET seq = :s, hash = :h WHERE id = 1"),
                         {"s": len(rows), "h": prev})
    finally:
        engine.dispose()
    return rows


def test_entries_written_before_compact_storage_still_read_back_and_verify(make_app, store_url):
    first, second = _write_old(store_url, "0005_rate_limits", None, None)

    app = make_app(store_url)  # migrates to the newest revision
    log = app.extensions["transfer_gate"].log
    new = app.test_client().post("/v1/decisions", json=EXAMPLE).get_json()
    old = log.get(first["decision_id"])
    assert old["response"] == json.loads(first["response"]) and old["request"] == json.loads(first["request"])
    assert old["hash"] == first["hash"] and "response_z" not in old
    assert log.get(new["decision_id"])["prev_hash"] == second["hash"]
    stored = raw_rows(store_url)
    assert stored[0]["response"] == first["response"] and stored[0]["response_z"] is None, "old rows are not rewritten"
    result = log.verify()
    assert result.ok and result.checked == 3, result.describe()


def test_a_hash_worked_out_from_its_template_is_the_entrys_hash(runtime):
    """The write path hashes a row from bytes prepared before its position was known (HASH_TEMPLATE);
    verification hashes the stored entry as it is. Both must agree for every case, masked or not."""
    from transfer_gate import service
    from transfer_gate.log_entries import (HASH_TEMPLATE, LogMask, entry_for, entry_hash, escaped, logical, stored,
                                           unpack, with_packed)
    from tests.test_cases import CASES

    masks = [None, LogMask.from_config("reference,recipient.name", "hash", "k" * 32),
             LogMask.from_config("reference", "redact", None)]
    for i, (_ruleset, case) in enumerate(CASES):
        payload = dict(case.request, reference=f"ref-{i}\u0001\"\\ 越境")
        request = service.validate(runtime, payload)
        said = service._respond(runtime, request)
        response, text = said.body, said.text
        assert said.escaped == escaped(text) and unpack(said.stored) == text
        for mask in masks:
            extra = {"mask": mask} if mask else {}
            row = entry_for(request.to_dict(), response, "app-1", "app", request_id=f"r{i}", response_text=text,
                            response_escaped=said.escaped, response_z=said.stored, **extra)
            # The stored form reads back to the text the row hashes: the answer sent, or its masked copy.
            assert logical(stored(with_packed(row)))["response"] == row["response"], case.name
            plain = {k: v for k, v in row.items() if k != HASH_TEMPLATE}
            for seq, prev in ((1, "0" * 64), (10**12 + i, "ab" * 32)):
                full = dict(with_packed(row), seq=seq, prev_hash=prev)
                kept = stored(full)
                assert HASH_TEMPLATE not in kept
                assert entry_hash(full) == entry_hash(dict(plain, seq=seq, prev_hash=prev)) == entry_hash(kept), case.name


def test_journeys_written_before_onward_destinations_are_found_by_any_legs_destination(make_app, store_url):
    """Entries from before revision 0007 have no onward_destinations (NULL, not hashed): the destination
    filter reads their request as logged, where `"destination":"US"` can only be a leg's destination."""
    journey = {"origin": "DE", "destination": "JP", "onward": [{"destination": "US"}, {"destination": "SG"}]}
    quoted = {"destination": "JP", "reference": 'x"destination":"US"'}  # quotes inside a value are escaped
    rows = _write_old(store_url, "0006_compact_answers", journey, quoted, {"destination": "US"})
    app = make_app(store_url)
    log = app.extensions["transfer_gate"].log
    new = app.test_client().post("/v1/decisions", json=EXAMPLE).get_json()  # to the US, written now
    assert [r["onward_destinations"] for r in raw_rows(store_url)] == [None, None, None, ""]
    ids = [r["decision_id"] for r in rows] + [new["decision_id"]]
    assert [e["decision_id"] for e in log.query(destination="US")] == [ids[0], ids[2], ids[3]]
    assert [e["decision_id"] for e in log.query(destination="SG")] == [ids[0]]
    assert [e["decision_id"] for e in log.query(destination="JP")] == ids[:2]
    assert log.count(destination="US") == 3 and log.query(destination="%") == []
    result = log.verify()
    assert result.ok and result.checked == 4, result.describe()


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def test_the_answer_text_and_its_escaped_form_are_what_json_writes_over_all_of_unicode():
    """answer_text and escaped use orjson; the bytes sent, stored and hashed must be json's, for every
    character (a log written before keeps verifying with json: canonical() hashes with it)."""
    from transfer_gate.log_entries import answer_text, escaped

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(chars), 4096):
        text = "".join(chars[start:start + 4096])
        assert escaped(text) == json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8")
        assert answer_text({"t": text, "k": [text[:7]]}) == _json_text({"t": text, "k": [text[:7]]})
    # What orjson refuses goes to json, which writes it or refuses it as before.
    assert answer_text({1: "a", "big": 2 ** 70}) == _json_text({1: "a", "big": 2 ** 70})
    with pytest.raises(UnicodeEncodeError):  # as json's text then fails to encode, and the request is refused
        escaped("a\ud800b")
    assert answer_text({"t": "a\ud800b"}) == _json_text({"t": "a\ud800b"})


def test_every_cases_answer_text_is_what_json_writes(runtime):
    from tests.test_cases import CASES
    from transfer_gate import service
    from transfer_gate.log_entries import answer_text

    for i, (_ruleset, case) in enumerate(CASES):
        body = service._respond(runtime, service.validate(runtime, dict(case.request, reference=f"r{i}\u2028\x7f"))).body
        assert answer_text(body) == _json_text(body), case.name


def _json_canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_canonical_json_is_what_json_wrote_so_every_entry_ever_hashed_still_verifies(runtime):
    """canonical() uses orjson; the entry hashes were first taken over json's canonical form."""
    import orjson

    from tests.test_cases import CASES
    from transfer_gate import service
    from transfer_gate.log_entries import LogMask, canonical, canonical_bytes, entry_for, logical, with_packed
    from transfer_gate.log_entries import _content

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(chars), 4096):
        block = chars[start:start + 4096]
        keyed = {c: i for i, c in enumerate(block[:64])} | {"".join(block): [True, None, -1, 2 ** 63 - 1]}
        assert canonical(keyed) == _json_canonical(keyed)
        assert canonical_bytes(keyed) == _json_canonical(keyed).encode("utf-8")
    odd = {"a": {2: "x"}, "b": 2 ** 80, "c": "\ud800"}  # what orjson refuses: json, as before
    assert canonical(odd) == _json_canonical(odd)
    with pytest.raises(UnicodeEncodeError):
        canonical_bytes(odd)
    mask = LogMask.from_config("reference,recipient.name", "hash", "k" * 32)
    for i, (_ruleset, case) in enumerate(CASES):
        request = service.validate(runtime, dict(case.request, reference=f"r{i} \u2028\x7f\"\\"))
        said = service._respond(runtime, request)
        for m in (None, mask):
            row = entry_for(request.to_dict(), said.body, "app-1", "app", **({"mask": m} if m else {}))
            content = _content(logical(dict(with_packed(row), seq=i + 1, prev_hash="ab" * 32)))
            assert canonical_bytes(content) == _json_canonical(content).encode("utf-8"), case.name
            # and by orjson itself, not its fallback (it refuses keys that merely subclass str)
            assert orjson.dumps(content, option=orjson.OPT_SORT_KEYS) == canonical_bytes(content), case.name
