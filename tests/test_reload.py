"""SIGHUP to `serve`: rules and profiles reloaded without dropping a request; a bad file keeps the old set."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
import schemathesis

from tests.conftest import PROFILES, RULESETS, bearer
from tests.servers import Serve, fetch
from tests.test_api import with_
from tests.test_metrics import samples, value


class Traffic(threading.Thread):
    """Decisions and health checks asked for one after another until stopped; every answer is kept."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.answers, self.stopping = url, [], threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                status, _h, body = fetch(self.url + "/v1/decisions", method="POST", body=with_(),
                                         headers=bearer("app"), timeout=30)
                self.answers.append((status, json.loads(body).get("ruleset", {}).get("digest")))
                self.answers.append((fetch(self.url + "/healthz", timeout=30)[0], None))
            except OSError as exc:  # a refused or dropped connection is a failed answer
                self.answers.append((repr(exc), None))

    def stop(self):
        self.stopping.set()
        self.join(60)
        return self.answers


def readiness(serve) -> dict:
    status, _h, body = fetch(serve.url + "/readyz")
    assert status == 200
    return json.loads(body)


def reload(serve, expected_status: str, previous: dict | None) -> dict:
    """Send SIGHUP and wait until every worker answers after the reload."""
    serve.signal(signal.SIGHUP)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        states = [readiness(serve) for _ in range(6)]  # several answers: both workers
        if all(s.get("reload") and s.get("reload") != (previous or {}).get("reload") for s in states):
            assert {s["reload"]["status"] for s in states} == {expected_status}
            return states[-1]
        time.sleep(0.3)
    pytest.fail("the workers did not restart after SIGHUP")


@pytest.fixture
def data(tmp_path) -> tuple[Path, Path]:
    rulesets, profiles = tmp_path / "rulesets", tmp_path / "country_profiles"
    shutil.copytree(RULESETS, rulesets)
    shutil.copytree(PROFILES, profiles)
    return rulesets, profiles


def test_sighup_reloads_rules_without_dropping_a_request_and_a_bad_file_keeps_the_old_set(tmp_path, data):
    rulesets, profiles = data
    env = {"TRANSFER_GATE_RULESETS_DIR": str(rulesets), "TRANSFER_GATE_PROFILES_DIR": str(profiles)}
    meta = rulesets / "appi" / "ruleset.yaml"
    with Serve(tmp_path / "serve", "--workers", "2", env=env) as serve:
        before = readiness(serve)
        assert "reload" not in before
        traffic = Traffic(serve.url)
        traffic.start()
        try:
            meta.write_text(meta.read_text() + "\n# reviewed again\n")  # new bytes: a new digest
            andorra = profiles / "AD.yaml"
            andorra.write_text(andorra.read_text().replace("name_ja: アンドラ\n", "name_ja: アンドラ公国\n"))
            changed = reload(serve, "reloaded", before)
            assert changed["rulesets"]["appi"] != before["rulesets"]["appi"]
            assert changed["profiles"] != before["profiles"]
            assert json.loads(fetch(serve.url + "/v1/countries/AD", headers=bearer("app"))[2])["name_ja"] == "アンドラ公国"
            time.sleep(0.5)
            # A rule file that does not parse: the reload fails, the previous (good) rules stay loaded.
            broken = next((rulesets / "appi" / "rules").glob("*.yaml"))
            good_rules = broken.read_text()
            broken.write_text(good_rules + "\n  - id: [unclosed\n")
            failed = reload(serve, "failed", changed)
            assert (failed["rulesets"], failed["profiles"]) == (changed["rulesets"], changed["profiles"])
            time.sleep(0.5)
            # The same for a country profile that does not validate.
            broken.write_text(good_rules)
            andorra.write_text(andorra.read_text().replace("code: AD\n", "code: XX\n"))
            failed_again = reload(serve, "failed", failed)
            assert (failed_again["rulesets"], failed_again["profiles"]) == (changed["rulesets"], changed["profiles"])
            time.sleep(0.5)
        finally:
            answers = traffic.stop()
        metrics = samples(fetch(serve.url + "/metrics")[2].decode())
        status, _h, body = fetch(serve.url + "/v1/decisions", method="POST", body=with_(), headers=bearer("app"))
    assert status == 200 and json.loads(body)["ruleset"]["digest"] == changed["rulesets"]["appi"]
    # Every request asked for during both reloads was answered.
    assert len(answers) > 10 and {a for a, _d in answers} == {200}
    digests = [d for _a, d in answers if d]
    assert digests[0] == before["rulesets"]["appi"] and digests[-1] == changed["rulesets"]["appi"]
    assert set(digests) == {before["rulesets"]["appi"], changed["rulesets"]["appi"]}
    assert value(metrics, "transfer_gate_reloads_total", result="reloaded") == 1
    assert value(metrics, "transfer_gate_reloads_total", result="failed") == 2
    rules_line, profile_line = [line for line in serve.lines() if line["message"].startswith("reload failed")]
    assert rules_line["level"] == "error" and broken.name in rules_line["message"]
    assert profile_line["level"] == "error" and "AD.yaml" in profile_line["message"]


def test_readiness_after_a_failed_reload_says_so_and_conforms_to_the_document(app, anonymous):
    """/readyz of a worker started after a failed reload: ready (the old set answers), with the reload's outcome."""
    app.extensions["transfer_gate.reload"] = {"status": "failed", "at": "2026-12-02T06:00:00.000Z"}
    resp = anonymous.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["reload"] == {"status": "failed", "at": "2026-12-02T06:00:00.000Z"}
    schemathesis.openapi.from_wsgi("/openapi.json", app)["/readyz"]["GET"].validate_response(resp)
