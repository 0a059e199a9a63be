"""The only module that imports durable-rules: compile rules into rulesets, run facts through them.

What durable-rules 2.0.28 does that this module is built around (see the project's research notes):

* `post` fires only the first matching rule; `assert_fact` fires every rule that matches, so
  facts are asserted, never posted.
* The stock `Host` starts two background dispatcher threads that race with callers (empty
  results single-threaded, segfaults at 2–4 threads). `_QuietHost` starts none: every action
  runs synchronously inside the caller's `assert_facts`.
* The C extension has no locks and never releases the GIL, so one lock serialises the calls on
  a matcher; it costs nothing measurable.
* Exceptions raised in consequents are swallowed into the session state (`state["exception"]`);
  they are checked and turned into `EngineFailure` — a decision is never made from a partial run.
* A ruleset holds at most 1,024 live sessions; every decision gets a fresh session that is
  deleted in `finally`, whatever happened.
* Deleting a session that was never created (when no rule matched any fact) segfaults. A
  sentinel rule that matches every asserted fact guarantees the session exists, and doubles as
  proof that the engine saw each fact: a fact the sentinel did not see fails the decision.
* A rule testing only the reserved `id` key (`$ex id`) re-fires forever; the sentinel tests a
  field of its own.
* A registered ruleset cannot be replaced: a new set of rules means a new `Matcher` (and Host).
"""

from __future__ import annotations

import itertools
import threading

import durable.engine as durable

from .errors import EngineFailure


_ENGINE_NAMES = itertools.count(1)  # durable-rules registers ruleset names process-wide
_SENTINEL = "transfer_gate.sentinel"
_MARK = "tg_fact"


class _QuietHost(durable.Host):
    """A Host that starts no dispatcher or timer threads."""

    def _run(self):
        pass


class Matcher:
    """Rules compiled into durable-rules rulesets, one per ruleset name, built once per worker."""

    def __init__(self, rulesets: dict[str, list[tuple[str, dict]]]):
        """Compile `{ruleset: [(rule_id, condition), …]}`; rule ids become durable rule names."""
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions = itertools.count(1)
        self._names = {}
        definitions = {}
        for name, rules in rulesets.items():
            engine_name = f"transfer_gate_{name}_{next(_ENGINE_NAMES)}"
            self._names[name] = engine_name
            definition = {
                rule_id: {"all": [{"m": condition}], "run": self._recorder(rule_id)}
                for rule_id, condition in rules
            }
            definition[_SENTINEL] = {"all": [{"m": {_MARK: True}}], "run": self._recorder(_SENTINEL)}
            definitions[engine_name] = definition
        self._host = _QuietHost()
        try:
            self._host.set_rulesets(definitions)
        except Exception as exc:  # the C side rejects a malformed condition with a bare code
            raise EngineFailure(f"durable-rules could not compile the rules: {exc}") from exc

    def _recorder(self, rule_id: str):
        local = self._local

        def record(c):
            local.fired.append((c.m["id"], rule_id))

        return record

    def match(self, ruleset: str, facts: list[dict]) -> list[tuple[str, str]]:
        """Assert facts (each with a unique "id") in a fresh session; return (fact id, rule id) fired, in order.

        Raises EngineFailure when the engine raises, swallows an error in a consequent, or fires
        nothing for some fact.
        """
        engine_name = self._names.get(ruleset)
        if engine_name is None:
            raise EngineFailure(f"no compiled ruleset named {ruleset!r}")
        with self._lock:
            sid = str(next(self._sessions))
            self._local.fired = fired = []
            payload = [dict(f, sid=sid, **{_MARK: True}) for f in facts]
            created = False
            try:
                state = self._host.assert_facts(engine_name, payload)
                created = True
            except durable.MessageNotHandledException:
                # cannot happen while the sentinel matches every fact; never delete a session
                # that does not exist (it segfaults)
                raise EngineFailure("durable-rules handled none of the facts") from None
            except Exception as exc:
                created = True
                raise EngineFailure(f"durable-rules raised: {exc!r}") from exc
            finally:
                self._local.fired = None
                if created:
                    try:
                        self._host.delete_state(engine_name, sid)
                    except Exception as exc:
                        raise EngineFailure(f"durable-rules could not delete session {sid}: {exc!r}") from exc
        if isinstance(state, dict) and state.get("exception"):
            raise EngineFailure(f"a rule consequent failed inside durable-rules: {state['exception']}")
        seen_by_engine = {fid for fid, rid in fired if rid == _SENTINEL}
        lost = [f["id"] for f in facts if f["id"] not in seen_by_engine]
        if lost:
            raise EngineFailure(f"durable-rules returned nothing for fact(s) {lost}")
        fired = [pair for pair in fired if pair[1] != _SENTINEL]
        seen = set()
        result = []
        for pair in fired:  # a rule with an $or fires once per true branch
            if pair not in seen:
                seen.add(pair)
                result.append(pair)
        matched_facts = {fid for fid, _ in result}
        missing = [f["id"] for f in facts if f["id"] not in matched_facts]
        if missing:
            raise EngineFailure(f"durable-rules fired no rule for fact(s) {missing}: the ruleset has a gap")
        return result
