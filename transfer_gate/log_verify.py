"""Verifying the decision log: walk the chain, check the head, and an anchor kept outside the store."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .log_entries import GENESIS, entries, entry_hash, head_table


@dataclass(frozen=True)
class Verification:
    """The outcome of walking the chain: intact, or the first entry that does not hold and why."""

    ok: bool
    checked: int
    head_seq: int = 0
    head_hash: str = GENESIS
    first_bad: int | None = None
    decision_id: str | None = None
    reason: str | None = None
    reason_ja: str | None = None  # the same finding, for Japanese readers of the audit pages

    def describe(self) -> str:
        if self.ok:
            return f"intact: {self.checked} entries, head at entry {self.head_seq} ({self.head_hash})"
        who = f" ({self.decision_id})" if self.decision_id else ""
        return f"entry {self.first_bad}{who}: {self.reason}"


@dataclass(frozen=True)
class Anchor:
    """A chain head recorded outside the store: entry `seq` must still exist with this hash."""

    seq: int
    hash: str


class Verifying:
    """The verifying part of DecisionLog (needs `engine`, `dialect` and `query`)."""

    def verify(self, anchor: Anchor | None = None) -> Verification:
        """Walk the chain from the first entry; report the first entry that does not hold.

        Checks, in order: positions run 1, 2, 3… without a gap; each entry's `prev_hash` is
        the hash of the entry before it; each entry's content still gives its `hash`; the
        chain ends at the recorded head; and, given an `anchor` recorded earlier outside the
        store, that entry is still there with the same hash.
        """
        checked, prev, expected = 0, GENESIS, 1
        options = {"isolation_level": "REPEATABLE READ"} if self.dialect == "postgresql" else {}
        with self.engine.connect() as conn:
            conn = conn.execution_options(**options)  # one snapshot for the walk and the head
            with conn.begin():
                head = conn.execute(sa.select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).one()
                head_seq, head_hash = int(head.seq), head.hash
                result = conn.execution_options(yield_per=1000).execute(sa.select(entries).order_by(entries.c.seq))
                for row in result.mappings():
                    checked += 1
                    seq, bad = row["seq"], None
                    if seq != expected:
                        bad = _missing(expected, seq)
                    elif row["prev_hash"] != prev:
                        bad = (f"its prev_hash is not the hash of entry {seq - 1}: an entry was moved (reordered), "
                               f"or entry {seq - 1} was altered and re-hashed",
                               f"直前の記録 {seq - 1} のハッシュにつながっていません。記録が移動された（順序の入れ替え）か、"
                               f"記録 {seq - 1} が改ざんされてハッシュが再計算されています")
                    elif _hash_of(row) != row["hash"]:
                        bad = ("its content does not match its hash (altered)",
                               "内容がハッシュと一致しません（改ざん）")
                    elif anchor is not None and seq == anchor.seq and row["hash"] != anchor.hash:
                        bad = ("its hash differs from the anchor recorded outside the store (the chain was rewritten)",
                               "ハッシュがデータベースの外に記録したアンカーと異なります（チェーンが書き換えられています）")
                    if bad:
                        result.close()
                        return Verification(False, checked, head_seq, head_hash, seq, row["decision_id"], *bad)
                    prev, expected = row["hash"], seq + 1
        last = expected - 1
        if anchor is not None and anchor.seq > last:
            return Verification(False, checked, head_seq, head_hash, last + 1, None,
                                f"missing: an anchor recorded outside the store names entry {anchor.seq}, "
                                f"but the chain ends at entry {last} (the log was truncated)",
                                f"欠落：データベースの外に記録したアンカーは記録 {anchor.seq} を指していますが、"
                                f"チェーンは記録 {last} で終わっています（ログが切り詰められています）")
        if head_seq > last:
            return Verification(False, checked, head_seq, head_hash, last + 1, None,
                                f"missing: the chain head records entry {head_seq}, but the chain ends at entry "
                                f"{last} (the log was truncated)",
                                f"欠落：チェーンの先頭は記録 {head_seq} を指していますが、チェーンは記録 {last} で"
                                f"終わっています（ログが切り詰められています）")
        if head_seq < last:
            extra = self.query(after=head_seq, limit=1)
            return Verification(False, checked, head_seq, head_hash, head_seq + 1,
                                extra[0]["decision_id"] if extra else None,
                                f"it lies beyond the chain head (entry {head_seq}): it was not appended by the service",
                                f"チェーンの先頭（記録 {head_seq}）より後にあります。サービスが追記した記録ではありません")
        if head_hash != prev:
            return Verification(False, checked, head_seq, head_hash, last, None,
                                "its hash differs from the one the chain head records (the entry was rewritten)",
                                "ハッシュがチェーンの先頭に記録されたものと異なります（記録が書き換えられています）")
        return Verification(True, checked, head_seq, head_hash)


def _missing(expected: int, seq: int) -> tuple[str, str]:
    """The finding when entries before `seq` are gone: (English, Japanese)."""
    if seq == expected + 1:
        return (f"entry {expected} before it is missing (deleted)",
                f"この記録の前の記録 {expected} が欠けています（削除）")
    return (f"entries {expected}–{seq - 1} before it are missing (deleted)",
            f"この記録の前の記録 {expected}～{seq - 1} が欠けています（削除）")


def _hash_of(row) -> str | None:
    """The entry's hash, or None when its stored answer cannot even be read back (altered)."""
    try:
        return entry_hash(row)
    except ValueError:
        return None
