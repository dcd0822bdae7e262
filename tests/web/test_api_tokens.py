"""Per-integration API tokens: named, scoped, expiring, hashed at rest, revocable by their owner and by admins,
revoked by a password change, the secret shown once; and throttling with 429 in the error format."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from psa.core.models import ApiToken
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _issue(api_client, user, **extra):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD, **extra}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def _get(api_client, path, secret):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = api_client.get(path)
    api_client.credentials()
    return response


def test_the_token_endpoint_issues_a_named_expiring_token_that_works(make_user, api_client):
    user = make_user("finance")
    body = _issue(api_client, user, name="Bank sync")
    assert body["name"] == "Bank sync"
    assert body["access"] == "write"
    expiry = timezone.datetime.fromisoformat(body["expiry"])
    assert timezone.now() + timedelta(days=80) < expiry < timezone.now() + timedelta(days=100)
    response = _get(api_client, "/api/v1/me/", body["token"])
    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_a_token_is_stored_only_as_a_hash(make_user, api_client):
    user = make_user("finance")
    secret = _issue(api_client, user, name="ERP")["token"]
    token = ApiToken.objects.get(user=user)
    assert token.digest != secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM core_apitoken")
        rows = cursor.fetchall()
    assert rows
    assert not any(secret in str(value) for row in rows for value in row)


def test_an_expired_token_is_refused(make_user, api_client):
    user = make_user("finance")
    secret = _issue(api_client, user, name="Old")["token"]
    ApiToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    response = _get(api_client, "/api/v1/me/", secret)
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message", "fields"}


def test_a_password_change_revokes_every_token_of_the_user(make_user, api_client, client):
    user = make_user("consultant")
    secret = _issue(api_client, user, name="Timer app")["token"]
    client.force_login(user)
    response = client.post(
        "/accounts/password/",
        {"old_password": TEST_PASSWORD, "new_password1": "Fresh-Pass-9731", "new_password2": "Fresh-Pass-9731"},
    )
    assert response.status_code == 302
    assert _get(api_client, "/api/v1/me/", secret).status_code == 401
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_password_set_anywhere_else_also_ends_the_tokens(make_user, api_client):
    user = make_user("consultant")
    secret = _issue(api_client, user, name="Timer app")["token"]
    user.set_password("Another-Pass-5512")
    user.save()
    assert _get(api_client, "/api/v1/me/", secret).status_code == 401


def test_the_owner_lists_tokens_without_secrets_and_revokes_one(make_user, api_client):
    user = make_user("finance")
    keep = _issue(api_client, user, name="Keep")["token"]
    drop = _issue(api_client, user, name="Drop")["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {keep}")
    listing = api_client.get("/api/v1/auth/tokens/")
    assert listing.status_code == 200
    rows = listing.json()["results"]
    assert sorted(r["name"] for r in rows) == ["Drop", "Keep"]
    assert all("token" not in r and "digest" not in r for r in rows)
    assert keep not in listing.content.decode() and drop not in listing.content.decode()
    drop_id = next(r["id"] for r in rows if r["name"] == "Drop")
    assert api_client.delete(f"/api/v1/auth/tokens/{drop_id}/").status_code == 204
    api_client.credentials()
    assert _get(api_client, "/api/v1/me/", drop).status_code == 401
    assert _get(api_client, "/api/v1/me/", keep).status_code == 200


def test_another_user_can_neither_see_nor_revoke_my_token(make_user, api_client):
    owner, other = make_user("finance"), make_user("finance")
    _issue(api_client, owner, name="Mine")
    token_id = ApiToken.objects.get(user=owner).pk
    api_client.force_authenticate(other)
    assert api_client.get("/api/v1/auth/tokens/").json()["results"] == []
    response = api_client.delete(f"/api/v1/auth/tokens/{token_id}/")
    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token_id).exists()


def test_an_admin_lists_and_revokes_anyones_token(make_user, api_client):
    owner, admin = make_user("sales"), make_user("admin")
    secret = _issue(api_client, owner, name="CRM sync")["token"]
    api_client.force_authenticate(admin)
    rows = api_client.get("/api/v1/auth/tokens/").json()["results"]
    row = next(r for r in rows if r["name"] == "CRM sync")
    assert row["user"] == owner.username
    assert api_client.delete(f"/api/v1/auth/tokens/{row['id']}/").status_code == 204
    api_client.force_authenticate(None)
    assert _get(api_client, "/api/v1/me/", secret).status_code == 401


def test_a_read_only_token_reads_but_cannot_write(make_user, api_client):
    user = make_user("sales")
    secret = _issue(api_client, user, name="BI", access="read")["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api_client.get("/api/v1/accounts/").status_code == 200
    response = api_client.post("/api/v1/accounts/", {"name": "Acme"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "read-only" in response.json()["message"]


def test_a_token_scoped_to_one_app_is_refused_elsewhere(make_user, api_client):
    user = make_user("finance")
    secret = _issue(api_client, user, name="CRM only", apps=["crm"])["token"]
    assert _get(api_client, "/api/v1/accounts/", secret).status_code == 200
    response = _get(api_client, "/api/v1/billing/invoices/", secret)
    assert response.status_code == 403
    assert "billing" in response.json()["message"]


def test_an_unknown_scope_is_a_400_naming_the_field(make_user, api_client):
    user = make_user("finance")
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": TEST_PASSWORD, "name": "x", "apps": ["payroll"]},
        format="json",
    )
    assert response.status_code == 400
    assert "apps" in response.json()["fields"]


def test_the_settings_page_shows_a_new_secret_once_and_revokes(client_as, api_client):
    client = client_as("project_manager")
    response = client.post("/settings/api-tokens/", {"name": "Planner", "access": "read", "expires_in_days": "30"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=client.user)
    secret = response.context["new_secret"]
    assert secret.encode() in response.content
    assert token.name == "Planner" and token.access == "read"
    assert _get(api_client, "/api/v1/me/", secret).status_code == 200
    again = client.get("/settings/api-tokens/")
    assert b"Planner" in again.content and secret.encode() not in again.content
    assert client.post(f"/settings/api-tokens/{token.pk}/revoke/").status_code == 302
    assert _get(api_client, "/api/v1/me/", secret).status_code == 401


def test_the_settings_page_refuses_another_users_token(client_as, make_user):
    owner = make_user("finance")
    token, _ = ApiToken.objects.create(user=owner, name="Theirs")
    client = client_as("project_manager")
    assert client.post(f"/settings/api-tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_the_token_endpoint_is_throttled_with_429_in_the_error_format(make_user, api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "token": "3/minute"},
    }
    user = make_user("sales")
    for _ in range(3):
        api_client.post("/api/v1/auth/token/", {"username": user.username, "password": "wrong"})
    response = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert set(response.json()) == {"code", "message", "fields"}
    assert int(response["Retry-After"]) > 0


def test_signed_in_api_users_are_throttled_per_user(api_as, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2/minute"},
    }
    client = api_as("finance")
    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
    response = client.get("/api/v1/me/")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
