"""Playwright on Debian's Chromium (no browser downloads: `executable_path` points at the system binary).

Screenshots go to tests/browser/screenshots/ (gitignored) so a person can look at every page a test walks.
"""

import os
import re
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parent / "browser" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM

    if not CHROMIUM:
        pytest.skip("needs Chromium")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page):
    """Log in through the real form."""

    def do(username: str, password: str):
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("[data-testid=login-submit]")
        page.wait_for_load_state("networkidle")
        return page

    return do


@pytest.fixture
def nav_to():
    """Follow a main-menu entry by its label, opening its dropdown first when the menu is grouped."""

    def go(page, label: str):
        # By text, not accessible name: the icon font's glyph is part of a link's accessible name.
        text = re.compile(rf"^\s*{re.escape(label)}\s*$")
        link = page.locator("[data-testid=main-nav] a", has_text=text).first
        if not link.is_visible():
            group = page.locator("[data-testid=main-nav] [data-testid=nav-group]", has=page.locator("a", has_text=text))
            group.locator(".dropdown-toggle").click()
        # Wait for the new page: a locator read right after the click could still see the page we left.
        with page.expect_navigation():
            link.click()
        return page

    return go
