"""The auditors' pages in Japanese: every interface text translated, dates and labels in Japanese."""

import csv
import io
import re
from html import unescape

import pytest

from tests.conftest import SignedInClient
from tests.test_audit_pages import DENIED, RECORDED, log_at
from tests.test_api import EXAMPLE


@pytest.fixture(autouse=True)
def _clients_present_credentials(request):
    if "app" in request.fixturenames:
        request.getfixturevalue("app").test_client_class = SignedInClient


@pytest.fixture
def logged(app):
    return [log_at(app, f"2026-11-0{i + 1}T10:00:00+00:00", body) for i, body in enumerate([EXAMPLE, RECORDED, DENIED])]


@pytest.fixture
def ja(client):
    client.set_cookie("lang", "ja")
    return client


def text_of(client, path, status=200):
    resp = client.get(path)
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    html = unescape(resp.get_data(as_text=True))
    assert '<html lang="ja">' in html
    main = html.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]
    main = re.sub(r'<details class="raw">.*?</details>', "", main, flags=re.S)
    main = re.sub(r"<(code|pre)\b.*?</\1>", "", main, flags=re.S)
    # A citation's notation is the registry's (ref_ja where it has one), not an interface text.
    main = re.sub(r'<span class="citation__ref">.*?</span>', "", main, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


# Words that may stay in Latin letters on a Japanese page: ids, codes, names of things.
ALLOWED = re.compile(r"^(No\.|CSV|JSON|Lines|GDPR|EU|APPI|PPC|UK|JST|UTC|Asia/Tokyo|app-1|app|env-\w+-\d|CBPR|APEC|"
                     r"HR-2026-11|crm-export-4711|Acme|Cloud|Inc\.|ID|YYYY-MM-DD|TRANSFER_GATE_\w+|transfer-gate|"
                     r"verify-log|anchor|FILE|HYPERLINK\(1\)|Rules|QA|GL|Offshore|sha256:\w+|[0-9A-Z]{20,26}|=HYPERLINK\(1\)|FTC|"
                     r"HIPAA|GLBA|COPPA|OECD8?|EEA|A|sec\.|Q&A)$")


def english_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z.&/:()\-_0-9]*", text) if not (ALLOWED.match(w) or ALLOWED.match(w.strip("(),.:;")))]


@pytest.mark.parametrize("path", ["/audit", "/audit/overview?from=2026-11-01&to=2026-11-03", "/audit/records",
                                  "/audit/chain", "/audit/replay", "/audit/replay?under=current", "/audit/no-such-page",
                                  "/audit?outcome=maybe"])
def test_japanese_audit_pages_show_no_english_interface_text(ja, logged, path):
    status = 404 if "no-such" in path else 422 if "maybe" in path else 200
    text = text_of(ja, path, status)
    assert english_words(text) == []


def test_the_japanese_decision_page_reads_in_japanese(ja, logged):
    text = text_of(ja, f"/audit/decisions/{logged[1]}")
    assert "判定 No. 2" in text and "条件付きで提供可" in text and "アメリカ合衆国" in text
    assert "2026/11/02 19:00:00" in text  # local time, Japanese format
    assert "2029年11月2日" in text and "3年間" in text
    html = ja.get(f"/audit/decisions/{logged[1]}").get_data(as_text=True)
    assert '<span class="citation__ref">法第28条第1項</span>' in html  # citations in Japanese notation


def test_a_japanese_denial_says_why_first(ja, logged):
    text = text_of(ja, f"/audit/decisions/{logged[2]}")
    assert "提供不可" in text and "提供できない理由" in text
    assert text.index("提供できない理由") < text.index("照会の内容")


def test_the_japanese_overview_and_csv_use_japanese_labels(ja, logged):
    text = text_of(ja, "/audit/overview?from=2026-11-01&to=2026-11-03")
    assert "2026年11月1日から2026年11月3日までの判定3件" in text and "提供不可" in text and "個人情報保護法" in text
    body = ja.get("/audit/export.csv").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert "日時（Asia/Tokyo）" in rows[0] and rows[2]["判定結果"] == "提供不可" and rows[2]["提供先の国"] == "中国 (CN)"


def test_japanese_decision_and_country_pages_show_no_english_interface_text(ja, logged):
    for decision_id in logged:
        assert english_words(text_of(ja, f"/audit/decisions/{decision_id}")) == []
    # The profile's own texts (law names, sources) are data in their own languages; its labels are interface.
    html = unescape(ja.get("/audit/countries/DE?as_of=2026-11-27").get_data(as_text=True))
    labels = " ".join(re.findall(r"<(?:dt|h2|label|button)\b[^>]*>(.*?)</", html, flags=re.S))
    assert "連邦" in html and english_words(labels) == []
    assert english_words(text_of(ja, "/audit/decisions/01JD3Q8Z5T6W8Y9C0V1B2N3M4K", 404)) == []


@pytest.mark.parametrize("statements,found", [
    (["UPDATE decision_log SET outcome = 'allow' WHERE seq = 2"], "内容がハッシュと一致しません（改ざん）"),
    (["DELETE FROM decision_log WHERE seq = 2"], "この記録の前の記録 2 が欠けています（削除）"),
    (["DELETE FROM decision_log WHERE seq = 3"], "チェーンは記録 2 で終わっています（ログが切り詰められています）"),
])
def test_a_broken_chain_is_explained_in_japanese(ja, app, logged, statements, found):
    from tests.test_decision_log import tamper

    tamper(app.config["DATABASE_URL"], *statements)
    text = text_of(ja, "/audit/chain")
    assert found in text and english_words(text) == []


def test_a_request_the_candidate_cannot_decide_is_explained_in_japanese(make_app, tmp_path):
    """Replayed under rules that no longer know a kind of data: said in Japanese, no field path shown."""
    from tests.test_replay import rules_without_medical_history

    candidate = rules_without_medical_history(tmp_path)
    app = make_app(f"sqlite:///{tmp_path / 'replay.sqlite3'}", CANDIDATE_RULESETS_DIR=str(candidate))
    client = app.test_client()
    assert client.post("/v1/decisions", json=EXAMPLE).status_code == 200  # names medical history
    client.set_cookie("lang", "ja")
    text = text_of(client, "/audit/replay?under=candidate")
    assert "記録された依頼が有効な依頼ではなくなっています" in text
    assert "data_categories" not in text and english_words(text) == []
