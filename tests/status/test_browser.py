"""The page in a real browser (Debian's headless Chromium driven by Playwright): what a merchant
sees, in Swedish and in English, and through the merchant login. Screenshots are saved to
test-artifacts/ for a person to look at.

Without Chromium the tests skip, naming the missing browser; on CI (CI=true) they fail instead,
so they can never be skipped there unnoticed."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import pytest
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    candidates = [
        os.environ.get("CHROMIUM_PATH", ""),
        "/usr/bin/chromium",
        shutil.which("chromium") or "",
    ]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def packages(transactional_db):
    """The packages come from a data migration; an earlier transactional test (live server,
    real worker) empties every table when it ends, so they are loaded again here."""
    from django.apps import apps

    importlib.import_module("billing.migrations.0002_packages").load_packages(apps, None)


@pytest.fixture
def browser(monkeypatch):
    executable = chromium_path()
    if executable is None:
        reason = "Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)"
        if on_ci():
            pytest.fail(f"{reason}: the browser tests must run on CI")
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if on_ci():
            pytest.fail("playwright is not installed (requirements-dev.txt)")
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
            # ORM calls made while Playwright runs may have opened connections of their own
            # context; closed here, or PostgreSQL refuses to drop the test database.
            connections.close_all()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
    opened = context.new_page()
    yield opened
    context.close()


@pytest.mark.django_db(transaction=True)
def test_it_shows_the_merchant_their_status_in_swedish_then_english(
    live_server, page, kaffe, rival
):
    response = page.goto(live_server.url + kaffe.status_url)
    assert response.status == 200
    assert response.headers["cache-control"].startswith("private, no-store")
    # Swedish by default, even for a browser that asks for English.
    assert page.locator("html").get_attribute("lang") == "sv"
    page.screenshot(path=str(ARTIFACTS / "status-page-sv.png"), full_page=True)
    text = page.inner_text("main")
    assert "Kaffebönan AB" in page.inner_text("header")
    assert "KAFFE Jetshop → Visma" in text
    assert "Konkurrenten" not in text and "RIVAL" not in text
    assert "rt-SECRET" not in page.content()
    # The charts are drawn by the server, with their words for a screen reader.
    assert page.locator("svg[role=img] title").count() == 2
    assert page.locator("script").count() == 0

    page.click("text=English")
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=str(ARTIFACTS / "status-page-en.png"), full_page=True)
    english = " ".join(page.inner_text("main").split())
    assert "Reconnect Visma eEkonomi: the authorisation expired" in english
    assert "0 of 200 orders used (0 %)" in english
    assert "1 payouts with a discrepancy" in english
    assert "Felsökning av lagersaldo KAFFE" in english
    assert "An upgrade to Paket 400 would add" in english
    # The choice sticks: the plain link is English now too.
    page.goto(live_server.url + kaffe.status_url)
    assert page.locator("html").get_attribute("lang") == "en"


@pytest.mark.django_db(transaction=True)
def test_it_lets_a_merchant_sign_in_to_their_own_page(kaffe, rival, live_server, page):
    from tests.status.builders import merchant_login

    merchant_login(kaffe, "kaffe-ekonomi", password="rätt-lösenord-77")
    page.goto(live_server.url + "/status/?lang=en")
    assert "/status/login/" in page.url
    page.fill("input[name=username]", "kaffe-ekonomi")
    page.fill("input[name=password]", "rätt-lösenord-77")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/status/?lang=en")  # back where the merchant started
    page.screenshot(path=str(ARTIFACTS / "status-page-merchant-login.png"), full_page=True)
    text = page.inner_text("main")
    assert "KAFFE Jetshop → Visma" in text
    assert "RIVAL" not in text

    page.goto(live_server.url + "/admin/")
    assert "/admin/login/" in page.url  # a merchant is never let into the admin
