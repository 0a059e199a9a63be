"""Cerbos as a side-by-side peer: our own rules translated to a Cerbos policy, and a server to run it.

The policy is generated from the loaded APPI ruleset, so the peer evaluates exactly the rules
transfer-gate evaluates — every rule, not a hand-picked subset — in Cerbos's CEL:

- a rule that satisfies a route allows the action named after that route;
- a rule with a deny effect denies every action (a deny beats any route, as in our engine);
- every other rule (conditions, records, missing facts, remedies) allows the action `explain`
  and names itself in an output, so Cerbos reports the rules that apply, as our trace does.

The caller sends one resource per kind of data with the same facts our matcher sees
(`transfer_gate.facts.base_facts`), and picks the outcome as our engine does: per kind, the
first allowed route in the ruleset's order, none → deny; across kinds the most restrictive.
Rules tied to a law change that is not in force, or outside their dates, are left out: the
bench decides as of one date.

Cerbos ships as a static Linux binary inside the `cerbos` npm package; `ensure_binary()`
installs it into a scratch folder (`npm install cerbos`) once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import yaml

VERSION = "0.51.0"


def _cel_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def to_cel(condition: dict) -> str:
    """Translate a durable-rules JSON condition (as rules.compile_when builds it) to CEL over R.attr."""
    parts = []
    for key, value in condition.items():
        if key == "$and":
            parts.append("(" + " && ".join(to_cel(c) for c in value) + ")")
        elif key == "$or":
            parts.append("(" + " || ".join(to_cel(c) for c in value) + ")")
        elif key == "$neq":
            (field, v), = value.items()
            parts.append(f"R.attr.{field} != {_cel_value(v)}")
        elif key == "$ex":
            parts.append("true")
        else:
            parts.append(f"R.attr.{key} == {_cel_value(value)}")
    return " && ".join(parts) if len(parts) > 1 else parts[0]


def policy(ruleset, on: date) -> dict:
    """A Cerbos resource policy (kind `transfer`) mirroring every rule of `ruleset` in force on `on`."""
    rules = []
    for rule in ruleset.rules:
        if not rule.in_force(on):
            continue
        expr = to_cel(rule.condition)
        name = rule.id.replace(".", "_").replace("-", "_")
        if rule.deny:
            rules.append({"name": name, "actions": ["*"], "effect": "EFFECT_DENY", "roles": ["*"],
                          "condition": {"match": {"expr": expr}}})
        if rule.route:
            rules.append({"name": name + "_route", "actions": [rule.route], "effect": "EFFECT_ALLOW",
                          "roles": ["*"], "condition": {"match": {"expr": expr}}})
        if not rule.deny and not rule.route:
            rules.append({"name": name, "actions": ["explain"], "effect": "EFFECT_ALLOW", "roles": ["*"],
                          "condition": {"match": {"expr": expr}},
                          "output": {"when": {"ruleActivated": json.dumps(rule.id)}}})
    return {"apiVersion": "api.cerbos.dev/v1",
            "resourcePolicy": {"version": "default", "resource": "transfer", "rules": rules}}


def check_body(facts_per_kind: list[dict], routes: list[str], request_id: str = "bench") -> dict:
    """The CheckResources request for one transfer: one resource per kind, every route plus `explain`."""
    return {
        "requestId": request_id,
        "principal": {"id": "bench-app", "roles": ["app"]},
        "resources": [{"actions": routes + ["explain"],
                       "resource": {"kind": "transfer", "id": f["kind"], "attr": {k: v for k, v in f.items()
                                                                                   if k != "id"}}}
                      for f in facts_per_kind],
    }


SEVERITY = {"allow": 0, "conditional": 1, "deny": 2}


def outcome(answer: dict, routes: list[str]) -> tuple[str, str]:
    """(lawful or deny, route) from a CheckResources answer, combined as our engine combines kinds."""
    worst = ("lawful", "")
    rank = {r: i for i, r in enumerate(routes)}
    for result in answer["results"]:
        actions = result["actions"]
        route = next((r for r in routes if actions.get(r) == "EFFECT_ALLOW"), None)
        here = ("deny", "none") if route is None else ("lawful", route)
        if here[0] == "deny" or (worst[0] != "deny" and rank.get(here[1], -1) > rank.get(worst[1], -1)):
            worst = here if worst[0] != "deny" else worst
    return worst


def ensure_binary(scratch: Path) -> Path:
    """Return the Cerbos binary, installing the npm package into `scratch` if needed."""
    binary = scratch / "node_modules" / "@cerbos" / "cerbos-linux-x64" / "cerbos-linux-x64"
    if not binary.exists():
        scratch.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(scratch), f"cerbos@{VERSION}"],
                       check=True, stdout=subprocess.DEVNULL)
    return binary


def write_config(directory: Path, ruleset, on: date, http_port: int, grpc_port: int) -> Path:
    """Write the policy and a server configuration with the audit decision log on; return the config path."""
    policies = directory / "policies"
    if policies.exists():
        shutil.rmtree(policies)
    policies.mkdir(parents=True)
    (policies / "transfer.yaml").write_text(yaml.safe_dump(policy(ruleset, on), sort_keys=False, allow_unicode=True))
    config = {
        "server": {"httpListenAddr": f"127.0.0.1:{http_port}", "grpcListenAddr": f"127.0.0.1:{grpc_port}",
                   # room for batches of 100 transfers of up to three kinds of data each
                   "requestLimits": {"maxActionsPerResource": 50, "maxResourcesPerRequest": 500}},
        "storage": {"driver": "disk", "disk": {"directory": str(policies), "watchForChanges": False}},
        # The peer's audit decision log, as the comparison asks: Cerbos writes it in the background,
        # after it has answered, to a local file.
        "audit": {"enabled": True, "accessLogsEnabled": False, "decisionLogsEnabled": True, "backend": "file",
                  "file": {"path": str(directory / "decisions.log")}},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start(binary: Path, config: Path) -> subprocess.Popen:
    env = dict(os.environ, CERBOS_NO_TELEMETRY="1")
    return subprocess.Popen([str(binary), "server", f"--config={config}", "--log-level=error"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
