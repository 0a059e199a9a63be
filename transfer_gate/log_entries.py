"""The decision log's entries: the schema, an entry's canonical form and hash, masking, building a row.

Shared by writing (log_writer.py), reading (log_reader.py) and verifying (log_verify.py).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import queue
import re
import zlib
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import orjson
import sqlalchemy as sa
import zstandard

from .errors import ConfigError

GENESIS = "0" * 64

metadata = sa.MetaData()
entries = sa.Table(
    "decision_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("decision_id", sa.String(26), nullable=False, unique=True),
    sa.Column("created_at", sa.String(32), nullable=False, index=True),
    sa.Column("caller", sa.Text, nullable=False, index=True),
    sa.Column("caller_role", sa.String(16), nullable=True),
    sa.Column("reference", sa.Text, nullable=True, index=True),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("ruleset_name", sa.String(64), nullable=False),
    sa.Column("ruleset_version", sa.String(32), nullable=False),
    sa.Column("ruleset_digest", sa.String(80), nullable=False),
    sa.Column("profile_digest", sa.String(80), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("route", sa.String(40), nullable=False),
    sa.Column("destination", sa.String(16), nullable=False, index=True),
    sa.Column("data_kinds", sa.Text, nullable=False),
    sa.Column("records_required", sa.Boolean, nullable=False),
    sa.Column("records_retention", sa.String(16), nullable=True),
    sa.Column("retention_until", sa.String(10), nullable=True),
    sa.Column("masked", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("request_id", sa.Text, nullable=True),  # revision 0004
    sa.Column("response_z", sa.LargeBinary, nullable=True),  # revision 0006: the answer, compressed (`stored`)
    # revision 0007: a journey's onward legs' destinations, in order (",JP,US,"); "" for a single
    # transfer; NULL for entries written before (the destination filter reads their request instead).
    sa.Column("onward_destinations", sa.Text, nullable=True),
)
head_table = sa.Table(
    "decision_log_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Hashed when present: entries written before these columns existed keep their hashes.
OPTIONAL_HASHED = ("request_id", "onward_destinations")
# How an entry is stored, not what it says: the hash covers the answer's text, whichever way it is kept.
STORAGE_ONLY = ("hash", "response_z")
# Plain strings: the columns' names are a subclass of str, which orjson does not take as keys.
HASHED = [str(c.name) for c in entries.columns if c.name not in STORAGE_ONLY and c.name not in OPTIONAL_HASHED]
FILTERS = ("outcome", "destination", "route", "reference", "caller")


def canonical(obj) -> str:
    """Serialise JSON canonically: sorted keys, no spaces, UTF-8 kept.

    The entries' hashes were first computed over `json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`; orjson with sorted keys writes the same text for what an entry holds
    (strings, integers, booleans, null: keys sort by code point in both, strings are escaped alike
    — tests compare them over all of Unicode and every case's entry) in a fraction of the time.
    What orjson refuses (a key that is not a string, an integer beyond 64 bits, a lone surrogate)
    is left to json, as before.
    """
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(obj) -> bytes:
    """canonical(obj) encoded as UTF-8, which the entry hash is taken over (a lone surrogate cannot be)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _content(row) -> dict:
    content = {k: row[k] for k in HASHED}
    for k in OPTIONAL_HASHED:
        if row.get(k) is not None:
            content[k] = row[k]
    return content


def entry_hash(row) -> str:
    """Hash an entry's canonical content; `seq` and `prev_hash` are part of it, which makes the chain.

    The content is the entry as written (`logical`): a compressed answer is hashed as its text.
    A row about to be written may carry its `HASH_TEMPLATE` (hash_template): the same bytes, most
    of them worked out before the chain's position was known.
    """
    template = row.get(HASH_TEMPLATE)
    if template is not None:
        before, middle, after = template
        return hashlib.sha256(b"".join((before, row["prev_hash"].encode("ascii"), middle, str(int(row["seq"])).encode(),
                                        after))).hexdigest()
    return hashlib.sha256(canonical_bytes(_content(logical(row)))).hexdigest()


# A row about to be written may carry its canonical content, split around `prev_hash` and `seq`,
# which only the write knows (not a column: never stored).
HASH_TEMPLATE = "hash_template"
# Placeholders in the canonical content: JSON escapes a control character, and keys are unique and
# quotes inside values escaped, so each `"key":"\u0001…"` occurs exactly once, where that key's value is.
_PLACEHOLDER = {"prev_hash": "\x01prev", "seq": "\x01seq", "response": "\x01response"}
_SLOT = {k: canonical({k: v})[1:-1].encode() for k, v in _PLACEHOLDER.items()}


def hash_template(row: dict, response_escaped: bytes | None = None) -> tuple[bytes, bytes, bytes]:
    """The canonical content of a row (everything but seq, prev_hash and hash) as the three byte
    strings around its `prev_hash` and `seq` (entry_hash joins them with those).

    `response_escaped`: the answer's text as a JSON string's UTF-8 content (without its quotes),
    when the caller has it already (most of the text comes from a kept answer, service.Answers).
    """
    content = _content(dict(row, seq=_PLACEHOLDER["seq"], prev_hash=_PLACEHOLDER["prev_hash"]))
    if response_escaped is not None:
        content["response"] = _PLACEHOLDER["response"]
    text = canonical(content).encode("utf-8")
    if response_escaped is not None:
        text = text.replace(_SLOT["response"], b'"response":"' + response_escaped + b'"', 1)
    before, rest = text.split(_SLOT["prev_hash"], 1)
    middle, after = rest.split(_SLOT["seq"], 1)
    return before + b'"prev_hash":"', b'"' + middle + b'"seq":', after


def escaped(text: str) -> bytes:
    """A text as the content of a JSON string in canonical form (UTF-8, without its quotes).

    orjson writes the same bytes as `json.dumps(text, ensure_ascii=False)` for every character (a
    test compares them over all of Unicode), four times faster; a text it refuses (a lone
    surrogate) goes to json, and then fails where it is encoded, as before.
    """
    try:
        return orjson.dumps(text)[1:-1]
    except orjson.JSONEncodeError:
        return json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8")


# --------------------------------------------------------------------------- compact storage
#
# An answer is 10–16 KB of JSON, most of it the same citations, rule texts and profile notes
# from one answer to the next. The log stores it compressed with a preset dictionary of typical
# answers: about 1.7 KB instead of 10 KB. The stored bytes start with their format's number,
# which names the codec and the dictionary (FORMATS); a dictionary is never changed once shipped
# (its SHA-256 is pinned here and checked when it is loaded) and a format is never dropped: every
# entry ever written must read back exactly. A new dictionary is a new dictionary version and a new
# format (tools/build_log_dictionary.py).
#   1: zlib, level 3, dictionary 1 — entries written until zstd replaced it (still read).
#   2: zstd (Zstandard), level 3, dictionary 1 as raw content, a frame with its content size and
#      no checksum (the entry's hash covers the text) — written now: the same size, packed in
#      30 µs instead of 80.
# Entries written before (revision 0006) keep their text in `response` and `response_z` NULL.
#
# Two layouts, told apart by the first byte's high bit (PARTS):
#   [format][stream of the whole text]                                  (pack)
#   [format | PARTS][n][opening: n bytes][m][closing: m bytes][stream of the middle]
#                                                                       (pack_parts)
# The second keeps an answer's opening and closing — its decision id, its time and its date, a
# hundred ASCII bytes — as they are, around the compressed middle, which is the part a kept answer
# shares with every decision that repeats it (service.Worked): that is compressed once, not per
# decision. Both read back to the same text (unpack), which is what the hash covers.

DICTIONARY_DIR = Path(__file__).resolve().parent / "log_dictionaries"
DICTIONARIES = {1: "569053a1e03d0745957d22d9f3c488d8a61261db5f5d4c5dd7428edb4c429567"}
FORMATS = {1: ("zlib", 1), 2: ("zstd", 1)}  # format number: (codec, dictionary version)
CURRENT_FORMAT = 2
COMPRESSION_LEVEL = 3  # both codecs'
PARTS = 0x80


@functools.cache
def _dictionary(version: int) -> bytes:
    expected = DICTIONARIES.get(version)
    if expected is None:
        raise ValueError(f"a stored answer names dictionary {version}, which this version does not know")
    data = (DICTIONARY_DIR / f"{version}.bin").read_bytes()
    if hashlib.sha256(data).hexdigest() != expected:
        raise ValueError(f"log dictionary {version} was changed: stored answers can no longer be read back")
    return data


@functools.cache
def _zstd_dictionary(version: int):
    """A dictionary as zstd takes it, prepared once for compressing at COMPRESSION_LEVEL (read-only: shared by threads)."""
    prepared = zstandard.ZstdCompressionDict(_dictionary(version), dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    prepared.precompute_compress(level=COMPRESSION_LEVEL)
    return prepared


class _Pool:
    """zstd contexts for one dictionary, lent to one thread at a time and given back: as many as ever
    worked at once (one or two; a context is about 400 KB), not one per thread of a worker."""

    def __init__(self, make):
        self._make = make
        self._idle: queue.SimpleQueue = queue.SimpleQueue()

    @contextlib.contextmanager
    def lent(self):
        try:
            context = self._idle.get_nowait()
        except queue.Empty:
            context = self._make()
        try:
            yield context
        finally:
            self._idle.put(context)


@functools.cache
def _zstd_compressors(version: int) -> _Pool:
    return _Pool(lambda: zstandard.ZstdCompressor(level=COMPRESSION_LEVEL, dict_data=_zstd_dictionary(version),
                                                  write_checksum=False, write_content_size=True, write_dict_id=False))


@functools.cache
def _zstd_decompressors(version: int) -> _Pool:
    return _Pool(lambda: zstandard.ZstdDecompressor(dict_data=_zstd_dictionary(version)))


def _codec(form: int) -> tuple[str, int]:
    if form not in FORMATS:
        raise ValueError(f"a stored answer names format {form}, which this version does not know")
    return FORMATS[form]


def pack_middle(text: str, form: int = CURRENT_FORMAT) -> bytes:
    """The compressed stream of a text in a format (the current one): the middle of answers for
    pack_parts (once for all the answers that share it), or a whole answer (pack)."""
    codec, version = _codec(form)
    data = text.encode("utf-8")
    if codec == "zstd":
        with _zstd_compressors(version).lent() as packer:
            return packer.compress(data)
    packer = zlib.compressobj(COMPRESSION_LEVEL, zdict=_dictionary(version))
    return packer.compress(data) + packer.flush()


def pack(text: str, form: int = CURRENT_FORMAT) -> bytes:
    """Compress an answer's text for storage: the format's byte, then the compressed stream."""
    return bytes([form]) + pack_middle(text, form)


def pack_parts(opening: str, packed_middle: bytes, closing: str) -> bytes | None:
    """Store `opening + middle + closing` from the middle as pack_middle compressed it (None: the
    opening or closing is not short ASCII, so the whole text is to be packed)."""
    if not (opening.isascii() and closing.isascii() and len(opening) < 256 and len(closing) < 256):
        return None
    return b"".join((bytes([PARTS | CURRENT_FORMAT, len(opening)]), opening.encode("ascii"),
                     bytes([len(closing)]), closing.encode("ascii"), packed_middle))


def unpack(data: bytes) -> str:
    """Return the text of a stored (packed) answer; raise ValueError if it cannot be read back."""
    data = bytes(data)
    try:
        opening = closing = b""
        start = 1
        if data[0] & PARTS:
            n = data[1]
            opening, m = data[2:2 + n], data[2 + n]
            closing, start = data[3 + n:3 + n + m], 3 + n + m
            if len(closing) != m:
                raise ValueError("the stored answer is truncated")
        codec, version = _codec(data[0] & ~PARTS)
        if codec == "zstd":
            with _zstd_decompressors(version).lent() as decompressor:
                unpacker = decompressor.decompressobj()  # uses the lent context: read it all before giving it back
                middle = unpacker.decompress(data[start:])
                whole = unpacker.eof and not unpacker.unused_data
        else:
            unpacker = zlib.decompressobj(zdict=_dictionary(version))
            middle = unpacker.decompress(data[start:]) + unpacker.flush()
            whole = unpacker.eof and not unpacker.unused_data
        if not whole:
            raise ValueError("the stored answer is truncated or has trailing bytes")
        return (opening + middle + closing).decode("utf-8")
    except (zlib.error, zstandard.ZstdError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"the stored answer cannot be read back: {exc}") from None


def with_packed(row: dict) -> dict:
    """Add the compressed answer to a row about to be written, unless it has it (entry_for's `response_z`);
    `response` keeps the text until it is stored."""
    text = row.get("response")
    if row.get("response_z") is not None or not isinstance(text, str):  # not a row: the insert refuses it
        return row
    return dict(row, response_z=pack(text))


def stored(row: dict) -> dict:
    """The row as the store keeps it: the answer only compressed (an empty `response`), no hash template."""
    out = dict(row, response="") if row.get("response_z") is not None else dict(row)
    out.pop(HASH_TEMPLATE, None)
    return out


def logical(row) -> dict:
    """The entry as written: the answer's text in `response` (uncompressed if stored compressed)."""
    if row.get("response_z") is not None and not row["response"]:
        out = dict(row)
        out["response"] = unpack(out["response_z"])
        return out
    return row


# --------------------------------------------------------------------------- entries

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


def retention_end(start: date, duration: str) -> date:
    """Add an ISO 8601 date duration (PnYnMnWnD) to a date; a month end clamps (31 Jan + P1M = 28/29 Feb)."""
    match = _DURATION.match(duration or "")
    if not match or duration == "P":
        raise ValueError(f"not an ISO 8601 date duration: {duration!r}")
    years, months, weeks, days = (int(x or 0) for x in match.groups())
    month_index = start.month - 1 + months
    year = start.year + years + month_index // 12
    month = month_index % 12 + 1
    moved = date(year, month, min(start.day, monthrange(year, month)[1]))
    return moved + timedelta(weeks=weeks, days=days)


MASKABLE = {"recipient.name": ("recipient", "name"), "reference": ("reference",)}
MASK_MODES = ("hash", "redact")
REDACTED = "[redacted]"


@dataclass(frozen=True)
class LogMask:
    """Which request fields the log keeps only masked: an HMAC-SHA256 token, or redacted."""

    fields: tuple[str, ...] = ()
    mode: str = "hash"
    key: bytes = field(default=b"", repr=False)

    @classmethod
    def from_config(cls, fields, mode, secret_key) -> "LogMask":
        """Build the mask from TRANSFER_GATE_LOG_MASK(_MODE); raise ConfigError on a bad value."""
        if isinstance(fields, str):
            fields = [f.strip() for f in fields.split(",") if f.strip()]
        fields = tuple(dict.fromkeys(fields or ()))
        unknown = [f for f in fields if f not in MASKABLE]
        if unknown:
            raise ConfigError(f"TRANSFER_GATE_LOG_MASK: cannot mask {', '.join(unknown)} "
                              f"(maskable: {', '.join(MASKABLE)})")
        if mode not in MASK_MODES:
            raise ConfigError(f"TRANSFER_GATE_LOG_MASK_MODE must be one of {', '.join(MASK_MODES)}, not {mode!r}")
        if fields and mode == "hash" and not secret_key:
            raise ConfigError("TRANSFER_GATE_LOG_MASK_MODE=hash needs TRANSFER_GATE_SECRET_KEY (the HMAC key)")
        key = secret_key.encode("utf-8") if isinstance(secret_key, str) else bytes(secret_key or b"")
        return cls(fields, mode, key)

    def token(self, value: str) -> str:
        """Return what the log stores in place of a masked value."""
        if self.mode == "redact":
            return REDACTED
        return "hmac-sha256:" + hmac.new(self.key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def apply(self, request: dict, response: dict) -> tuple[dict, dict, list[str]]:
        """Return copies of request and response with masked fields replaced, and the paths replaced."""
        if not self.fields:
            return request, response, []
        request, response = json.loads(json.dumps(request)), json.loads(json.dumps(response))
        masked = []
        for name in self.fields:
            for doc, label in ((request, "request"), (response, "response")):
                *parents, leaf = MASKABLE[name]
                node = doc
                for key in parents:
                    node = node.get(key) if isinstance(node, dict) else None
                if isinstance(node, dict) and isinstance(node.get(leaf), str):
                    node[leaf] = self.token(node[leaf])
                    masked.append(f"{label}.{name}")
            if name == "recipient.name":  # a journey's onward legs name their recipients too
                for i, leg in enumerate(request.get("onward") or []):
                    recipient = leg.get("recipient") if isinstance(leg, dict) else None
                    if isinstance(recipient, dict) and isinstance(recipient.get("name"), str):
                        recipient["name"] = self.token(recipient["name"])
                        masked.append(f"request.onward[{i}].recipient.name")
        return request, response, sorted(masked)

    def lookup_values(self, name: str, value: str) -> list[str]:
        """Return the stored forms that a filter on an (un)masked field should match."""
        if name in self.fields and self.mode == "hash":
            return [value, self.token(value)]
        return [value]


NO_MASK = LogMask()


def answer_text(response: dict) -> str:
    """Serialise an answer once, in the contract's field order: these are the bytes sent, logged and hashed.

    Raise ValueError (or TypeError) for an answer that cannot be sent as JSON.

    orjson writes what `json.dumps(…, ensure_ascii=False, separators=(",", ":"))` writes — keys in
    their order, strings escaped alike (tested over all of Unicode and every case's answer) — in a
    quarter of the time. What it refuses (a key that is not a string, an integer beyond 64 bits, a
    lone surrogate) is left to json, which writes it or refuses it as before. An answer holds no
    floats, so json's refusal of NaN (allow_nan=False), which orjson would write as null, never arises.
    """
    try:
        return orjson.dumps(response).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(response, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def entry_for(request: dict, response: dict, caller: str, role: str | None, mask: LogMask = NO_MASK,
              request_id: str | None = None, response_text: str | None = None,
              response_escaped: bytes | None = None, response_z: bytes | None = None) -> dict:
    """Build the row for a decision (everything but seq, prev_hash and hash).

    `response_text` is the answer as sent (answer_text): the log keeps exactly those bytes,
    unless the mask replaces a field the answer echoes; then the masked copy is serialised.
    Given `response_escaped` too (that text as escaped(text) gives it), the row carries its
    hash's template (HASH_TEMPLATE), worked out from it; given `response_z` (that text as stored,
    pack_parts), the row carries it, and it is not compressed again (with_packed).
    """
    logged_request, logged_response, masked = mask.apply(request, response)
    if response_text is None or logged_response is not response:
        response_text, response_escaped, response_z = answer_text(logged_response), None, None
    evaluated = date.fromisoformat(response["evaluated_at"][:10])
    retention = response["records"]["retention"]
    row = {
        "decision_id": response["decision_id"],
        "created_at": response["evaluated_at"],
        "caller": caller,
        "caller_role": role,
        "reference": logged_request.get("reference"),
        "request": canonical(logged_request),
        "response": response_text,
        "ruleset_name": response["ruleset"]["name"],
        "ruleset_version": response["ruleset"]["version"],
        "ruleset_digest": response["ruleset"]["digest"],
        "profile_digest": (response.get("country_profile") or {}).get("digest"),
        "outcome": response["outcome"],
        "route": response["route"],
        "destination": request["destination"],
        "data_kinds": ",".join(k["kind"] for k in response.get("data_kinds", [])),
        "records_required": bool(response["records"]["required"]),
        "records_retention": retention,
        "retention_until": retention_end(evaluated, retention).isoformat() if retention else None,
        "masked": canonical(masked),
        "request_id": request_id,
        "onward_destinations": onward_destinations(request),
    }
    if response_escaped is not None:
        row[HASH_TEMPLATE] = hash_template(row, response_escaped)
    if response_z is not None:
        row["response_z"] = response_z
    return row


def onward_destinations(request: dict) -> str:
    """A journey's onward legs' destinations as the log keeps them for its filters: ",JP,US,"; "" for one transfer."""
    legs = request.get("onward") or ()
    return "".join(f",{leg['destination']}" for leg in legs) + "," if legs else ""


def public(row) -> dict:
    """Return an entry as callers see it: request, response and masked parsed from their JSON."""
    out = dict(logical(row))
    out.pop("response_z", None)
    for key in ("request", "response", "masked"):
        out[key] = json.loads(out[key])
    return out
