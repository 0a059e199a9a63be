"""The only module that imports durable-rules: compile rules into rulesets, run facts through them.

What durable-rules 2.0.28 does that this module is built around (see the project's research notes):

* `post` fires only the first matching rule; `assert_fact(s)` fires every rule that matches, so
  facts are asserted, never posted.
* The stock `Host` starts two background dispatcher threads that race with callers (empty
  results single-threaded, segfaults at 2–4 threads). `_QuietHost` starts none.
* The C extension has no locks and never releases the GIL, so one lock serialises the calls on
  a matcher; it costs nothing measurable.
* Exceptions raised in Python consequents are swallowed into the session state. This matcher
  runs no Python consequent at all: after asserting the facts it drives the engine's action
  queue itself (`start_action_for_state`, then `complete_and_start_action` until it is empty)
  and records the rule name and fact of each action. Nothing can be swallowed, and the
  wrapper's per-action JSON round trips of the state (most of durable's cost) are gone.
* A ruleset holds at most 1,024 live sessions; every decision gets a fresh session that is
  deleted in `finally`, whatever happened.
* Deleting a session whose actions were not all taken and completed, or completing an action
  that was never started, segfaults. The matcher tracks whether an action is in flight from
  the engine's own answers and always drains the queue before deleting the session.
* Deleting a session that was never created (when no rule matched any fact) segfaults. A
  sentinel rule that matches every asserted fact guarantees the session exists, and doubles as
  proof that the engine saw each fact: a fact the sentinel did not see fails the decision.
* A rule testing only the reserved `id` key (`$ex id`) re-fires forever; the sentinel tests a
  field of its own.
* A registered ruleset cannot be replaced: a new set of rules means a new `Matcher` (and Host).
* The engine's matching cost grows with the rules in a ruleset, not only with those that fire.
  Rules are therefore partitioned by the value they require of one fact field (`kind`): each
  partition is its own durable-rules ruleset holding the rules for that value plus the rules
  that do not constrain it, and each fact is asserted into its partition only. The rules that
  fire are exactly the same; a test checks it against a plain-Python reading of every rule.
"""

from __future__ import annotations

import itertools
import json
import threading

import durable.engine as durable
import durable_rules_engine

from .errors import EngineFailure

_ENGINE_NAMES = itertools.count(1)  # durable-rules registers ruleset names process-wide
_SENTINEL = "transfer_gate.sentinel"
_MARK = "tg_fact"
_FACT_PREFIX = '":{"m":{"id": "'  # how the engine renders an action on one fact whose first key is "id"


def _never_called(c):  # the matcher drives the action queue itself; durable never runs this
    raise EngineFailure("a durable-rules consequent ran outside the matcher")


class _QuietHost(durable.Host):
    """A Host that starts no dispatcher or timer threads."""

    def _run(self):
        pass


def required_values(condition: dict, field: str) -> frozenset | None:
    """Return the values a condition requires of `field`, or None when it does not constrain it."""

    def of(c):
        if field in c and len(c) == 1:
            return frozenset([c[field]])
        if "$or" in c and len(c) == 1 and all(len(b) == 1 and field in b for b in c["$or"]):
            return frozenset(b[field] for b in c["$or"])
        return None

    found = of(condition)
    if found is None and "$and" in condition and len(condition) == 1:
        for part in condition["$and"]:
            found = of(part)
            if found is not None:
                break
    return found


class Matcher:
    """Rules compiled into durable-rules rulesets, built once per worker."""

    def __init__(self, rulesets: dict[str, list[tuple[str, dict]]], partition_by: str = "kind"):
        """Compile `{ruleset: [(rule_id, condition), …]}`; rule ids become durable rule names."""
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._partition_by = partition_by
        self._rule_ids = {}
        self._partitions: dict[str, dict] = {}  # ruleset -> {value or None: engine name}
        definitions = {}
        for name, rules in rulesets.items():
            self._rule_ids[name] = frozenset(rule_id for rule_id, _ in rules)
            required = {rule_id: required_values(cond, partition_by) for rule_id, cond in rules}
            values = sorted({v for vs in required.values() if vs for v in vs}, key=str)
            parts = {}
            for value in values + [None]:  # None: facts whose value no rule names
                engine_name = f"transfer_gate_{name}_{next(_ENGINE_NAMES)}"
                definition = {
                    rule_id: {"all": [{"m": cond}], "run": _never_called}
                    for rule_id, cond in rules
                    if required[rule_id] is None or value in required[rule_id]
                }
                definition[_SENTINEL] = {"all": [{"m": {_MARK: True}}], "run": _never_called}
                definitions[engine_name] = definition
                parts[value] = engine_name
            self._partitions[name] = parts
        self._host = _QuietHost()
        try:
            self._host.set_rulesets(definitions)
        except Exception as exc:  # the C side rejects a malformed condition with a bare code
            raise EngineFailure(f"durable-rules could not compile the rules: {exc}") from exc
        self._rulesets = {
            name: {value: self._host.get_ruleset(engine) for value, engine in parts.items()}
            for name, parts in self._partitions.items()
        }

    @staticmethod
    def _observe(message):
        """Return the engine's action as the matcher reads it (a seam for fault-injection tests)."""
        return message

    @staticmethod
    def _drain(engine, offset, sid: str, in_flight: bool) -> None:
        """Complete every action still in flight or queued, then delete the session."""
        native, handle = durable_rules_engine, engine._handle
        try:
            if in_flight:
                while native.complete_and_start_action(handle, offset):
                    pass
            if native.start_action_for_state(handle, offset):
                while native.complete_and_start_action(handle, offset):
                    pass
            engine.delete_state(sid)
        except Exception as exc:
            raise EngineFailure(f"durable-rules could not close the session: {exc!r}") from exc

    def _run_session(self, engine, facts: list[dict], fired: list) -> None:
        """Assert facts in a fresh session of one durable ruleset, record its actions, always close it."""
        native = durable_rules_engine
        handle = engine._handle
        sid = str(next(self._sessions))
        payload = [{"id": f["id"], **f, "sid": sid, _MARK: True} for f in facts]
        created = in_flight = False
        try:
            offset = engine.assert_facts(payload)
            created = True
            action = native.start_action_for_state(handle, offset)
            in_flight = action is not None
            message = self._observe(action[1] if action else None)
            while message:
                head, sep, rest = message.partition(_FACT_PREFIX)
                if not sep or not head.startswith('{"'):
                    raise EngineFailure(f"durable-rules answered with an unexpected action: {message[:200]}")
                fired.append((rest[: rest.index('"')], head[2:]))
                if not in_flight:  # completing an action that was never started segfaults
                    raise EngineFailure("durable-rules answered with an action it did not start")
                message = native.complete_and_start_action(handle, offset)
                in_flight = message is not None
                message = self._observe(message)
        except durable.MessageNotHandledException:
            # cannot happen while the sentinel matches every fact; never delete a session
            # that does not exist (it segfaults)
            raise EngineFailure("durable-rules handled none of the facts") from None
        except EngineFailure:
            raise
        except Exception as exc:
            raise EngineFailure(f"durable-rules raised: {exc!r}") from exc
        finally:
            if created:
                self._drain(engine, offset, sid, in_flight)

    def match(self, ruleset: str, facts: list[dict]) -> list[tuple[str, str]]:
        """Assert facts (each with a unique "id") in a fresh session; return (fact id, rule id) fired, in order.

        Raises EngineFailure when the engine raises, returns nothing for a fact, answers with an
        unknown rule or fact, or fires no rule for some fact.
        """
        partitions = self._rulesets.get(ruleset)
        if partitions is None:
            raise EngineFailure(f"no compiled ruleset named {ruleset!r}")
        fact_ids = [f["id"] for f in facts]
        if len(set(fact_ids)) != len(fact_ids) or any('"' in i or "\\" in i for i in fact_ids):
            raise EngineFailure(f"fact ids must be unique plain strings: {fact_ids}")
        known_rules = self._rule_ids[ruleset]
        groups: dict = {}
        for f in facts:
            value = f.get(self._partition_by)
            groups.setdefault(value if value in partitions else None, []).append(f)
        fired = []
        with self._lock:
            for value, group in groups.items():
                self._run_session(partitions[value], group, fired)
        seen_by_engine = {fid for fid, rid in fired if rid == _SENTINEL}
        lost = [i for i in fact_ids if i not in seen_by_engine]
        if lost:
            raise EngineFailure(f"durable-rules returned nothing for fact(s) {lost}")
        result, seen = [], set()
        for pair in fired:
            if pair[1] == _SENTINEL or pair in seen:  # a rule with an $or fires once per true branch
                continue
            if pair[1] not in known_rules or pair[0] not in fact_ids:
                raise EngineFailure(f"durable-rules answered with an unknown rule or fact: {pair}")
            seen.add(pair)
            result.append(pair)
        matched = {fid for fid, _ in result}
        missing = [i for i in fact_ids if i not in matched]
        if missing:
            raise EngineFailure(f"durable-rules fired no rule for fact(s) {missing}: the ruleset has a gap")
        return result
