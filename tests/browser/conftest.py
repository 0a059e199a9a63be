"""Browser tests: Debian's Chromium driven by Playwright against a live server on 127.0.0.1.

The browser is never downloaded (`playwright install` cannot reach its host); scripts/test
installs Debian's chromium. When it is missing these tests fail, they never skip. A failing
test leaves a full-page screenshot in test-artifacts/.
"""

import re
import threading
from pathlib import Path

import pytest

from tests.conftest import KEYS
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
# The policy the pages must live with: nothing inline, nothing from elsewhere.
STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'"
REPORTS = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def browser():
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does, as root)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def buffered(app):
    """The app with every answer read whole (and its file closed) before the test server sends it.

    Werkzeug's development server skips closing a file-backed answer (a static file) when the
    browser hangs up while it is being written — Chromium does so for the favicon — and the
    unclosed file then fails the test run as a ResourceWarning. gunicorn closes it.
    """

    def wsgi(environ, start_response):
        answer = app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            if hasattr(answer, "close"):
                answer.close()

    return wsgi


@pytest.fixture
def live_server(app):
    """Serve the test app (its own SQLite log in tmp_path) on a free port of 127.0.0.1."""

    @app.after_request
    def _strict_csp(response):
        response.headers.setdefault("Content-Security-Policy", STRICT_CSP)
        return response

    server = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def new_page(browser, live_server, request):
    """Open pages in fresh browser contexts, screenshotted on failure.

    Each page collects its problems: script errors, console errors (a CSP violation is one),
    and any sub-resource (stylesheet, icon) that failed to load. A page answering 4xx on
    purpose, such as a form with errors (422), is not a problem.
    """
    contexts = []

    def open_page(role="officer", **options):
        context = browser.new_context(base_url=live_server, locale="en-US", **options)
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda m: page.problems.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        page.on("pageerror", lambda exc: page.problems.append(str(exc)))
        page.on("response", lambda r: page.problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type != "document" else None)
        # a load the page's own navigation cancels (ERR_ABORTED) is not a broken asset
        page.on("requestfailed", lambda r: page.problems.append(f"failed {r.url}: {r.failure}")
                if r.failure != "net::ERR_ABORTED" else None)
        contexts.append((context, page))
        if role is not None:  # the officer pages are used signed in
            page.goto("/signin")
            page.fill("#key", KEYS[role])
            page.click("form[action='/signin'] button[type=submit]")
            page.wait_for_url(lambda url: "/signin" not in url)
        return page

    yield open_page
    call = request.node.stash.get(REPORTS, {}).get("call")
    for number, (context, page) in enumerate(contexts):
        if call is None or call.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            page.screenshot(path=str(ARTIFACTS / f"{name}-{number}.png"), full_page=True)
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
