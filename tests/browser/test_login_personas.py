"""Every persona signs in through the real login form in Chromium and lands on its own home page."""

import pytest

from psa.web.demo import DEMO_PASSWORD, DEMO_USERS, seed_users

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_users(transactional_db):
    seed_users()


@pytest.mark.parametrize("username,role", [(u[0], u[3]) for u in DEMO_USERS])
def test_persona_logs_in_and_sees_its_home(page, login, screenshot, demo_users, username, role):
    login(username, DEMO_PASSWORD)
    assert page.url.endswith("/"), page.url
    assert page.locator("[data-testid=home-role]").inner_text() == role.label
    assert page.locator("[data-testid=panel]").count() >= 1
    nav = page.locator("[data-testid=main-nav]").text_content()
    assert ("Admin" in nav) == (username == "admin")
    screenshot(page, f"home-{username}")
    assert page.js_errors == [], page.js_errors
    page.click("[data-testid=user-menu]")
    page.click("[data-testid=logout]")
    page.wait_for_url("**/accounts/login/**")


def test_a_wrong_password_keeps_the_user_out(page, login, screenshot, demo_users):
    login("finance", "not-the-password")
    assert "/accounts/login/" in page.url
    assert "correct username and password" in page.locator("[data-testid=form-errors]").inner_text()
    screenshot(page, "login-error")
