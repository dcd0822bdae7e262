import pytest

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_renders_with_a_form(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_login_with_the_right_password_lands_on_home(client, make_user):
    user = make_user("sales")
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_shows_an_inline_error(client, make_user):
    user = make_user("sales")
    response = client.post("/accounts/login/", {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, make_user, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    user = make_user("sales")
    for _ in range(3):
        client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(client_as):
    client = client_as("finance")
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_password_change_requires_the_old_password(client_as):
    client = client_as("consultant")
    response = client.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": "Fresh-Pass-9731", "new_password2": "Fresh-Pass-9731"},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    response = client.post(
        "/accounts/password/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "Fresh-Pass-9731",
            "new_password2": "Fresh-Pass-9731",
        },
    )
    assert response.status_code == 302
    client.user.refresh_from_db()
    assert client.user.check_password("Fresh-Pass-9731")
