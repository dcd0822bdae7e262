"""Sign-in lockout: per username (from any address) with a cool-down, per client address separately with its own
limit, the client address read through the configured trusted proxies only, and the lockout shown on the token
endpoint as a 429 in the error format."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.utils import timezone

from psa.core.clientip import client_ip
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

A, B, C = "203.0.113.5", "198.51.100.7", "192.0.2.44"


@pytest.fixture
def lockout(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    settings.PSA_LOCKOUT_IP_FAILURE_LIMIT = 6
    return settings


def _login(client, username, password, ip, **meta):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **meta)


def test_failures_for_one_username_lock_it_from_every_address(lockout, client, make_user):
    user = make_user("sales")
    for _ in range(3):
        _login(client, user.username, "wrong", A)
    response = _login(client, user.username, TEST_PASSWORD, B)
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_one_users_failures_do_not_lock_out_others_at_the_same_address(lockout, client, make_user):
    victim, colleague = make_user("sales"), make_user("finance")
    for _ in range(3):
        _login(client, victim.username, "wrong", A)
    response = _login(client, colleague.username, TEST_PASSWORD, A)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(colleague.pk)


def test_an_address_that_fails_for_many_usernames_is_locked_for_everyone(lockout, client, make_user):
    user = make_user("sales")
    for i in range(6):
        _login(client, f"guess{i}", "wrong", A)
    assert _login(client, user.username, TEST_PASSWORD, A).status_code == 429
    assert _login(client, user.username, TEST_PASSWORD, B).status_code == 302


def test_the_lock_ends_after_the_cool_down(lockout, client, make_user):
    user = make_user("sales")
    for _ in range(3):
        _login(client, user.username, "wrong", A)
    assert _login(client, user.username, TEST_PASSWORD, A).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - lockout.AXES_COOLOFF_TIME * timedelta(hours=1) * 1.01)
    assert _login(client, user.username, TEST_PASSWORD, A).status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_counted(lockout, client, make_user):
    lockout.PSA_TRUSTED_PROXY_COUNT = 1
    user = make_user("sales")
    proxy = "10.0.0.2"
    for i in range(6):
        _login(client, f"guess{i}", "wrong", proxy, HTTP_X_FORWARDED_FOR=A)
    assert _login(client, user.username, TEST_PASSWORD, proxy, HTTP_X_FORWARDED_FOR=A).status_code == 429
    assert _login(client, user.username, TEST_PASSWORD, proxy, HTTP_X_FORWARDED_FOR=B).status_code == 302


def test_without_a_trusted_proxy_a_forged_forwarded_header_changes_nothing(lockout, client, make_user):
    user = make_user("sales")
    for i in range(6):
        _login(client, f"guess{i}", "wrong", A, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert _login(client, user.username, TEST_PASSWORD, A, HTTP_X_FORWARDED_FOR=C).status_code == 429


def test_the_token_endpoint_answers_a_lockout_with_429_in_the_error_format(lockout, api_client, make_user):
    user = make_user("sales")
    for _ in range(3):
        api_client.post("/api/v1/auth/token/", {"username": user.username, "password": "wrong"}, REMOTE_ADDR=A)
    response = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, REMOTE_ADDR=B
    )
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == "locked_out"
    assert "Too many failed sign-ins" in body["message"]


@pytest.mark.parametrize(
    ("count", "trusted", "remote", "forwarded", "expected"),
    [
        (0, [], A, "", A),
        (0, [], A, B, A),  # no proxy configured: the header is ignored
        (1, [], "10.0.0.2", B, B),
        (1, [], "10.0.0.2", f"{C}, {B}", B),  # the left entry was sent by the client: not believed
        (2, [], "10.0.0.2", f"{C}, {B}", C),
        (1, [], A, "", A),  # not through the proxy at all
        (0, ["10.0.0.0/8"], "10.0.0.2", f"{C}, 10.1.1.1", C),
        (0, ["10.0.0.0/8"], A, B, A),  # the peer is not a trusted proxy
        (1, [], "10.0.0.2", "not-an-address", "10.0.0.2"),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(settings, count, trusted, remote, forwarded, expected):
    settings.PSA_TRUSTED_PROXY_COUNT = count
    settings.PSA_TRUSTED_PROXY_IPS = trusted
    meta = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_ip(RequestFactory().get("/", **meta)) == expected
