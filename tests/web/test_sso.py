"""Single sign-on through OpenID Connect against a real OpenID provider: django-oidc-provider, started by these
tests as a second Django server on 127.0.0.1 with its own settings (tests/oidc_provider/) and its own SQLite
database. The browser's part is played by `requests` (provider sign-in, authorization redirect); PSA's side
exchanges the code, checks the ID token against the provider's keys and reads its userinfo, all over HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model

from psa.core.roles import Role, user_roles

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET = "psa-tests", "psa-tests-client-secret-0123456789"
PASSWORD = "provider-pass-6620"
PROVIDER_USERS = [
    {"username": "fiona", "email": "Fiona@northwind.test", "verified": True, "roles": ["finance"]},
    {"username": "uma", "email": "uma@northwind.test", "verified": False, "roles": ["finance"]},
    {"username": "nobody", "email": "nobody@northwind.test", "verified": True, "roles": ["finance"]},
    {"username": "cara", "email": "cara@northwind.test", "verified": True, "roles": ["client"]},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")},
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "OIDC_PROVIDER_DB": str(tmp_path_factory.mktemp("oidc") / "provider.sqlite3"),
        "OIDC_PROVIDER_URL": base,
    }
    spec = {
        "client": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": "http://testserver/accounts/sso/callback/",
        },
        "users": [{**u, "password": PASSWORD} for u in PROVIDER_USERS],
    }
    subprocess.run(
        [sys.executable, "-m", "tests.oidc_provider.bootstrap"],
        input=json.dumps(spec),
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/openid/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the OpenID provider did not start")
            time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def sso(settings, provider):
    discovery = requests.get(f"{provider}/openid/.well-known/openid-configuration", timeout=5).json()
    settings.PSA_SSO_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = discovery["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = discovery["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = discovery["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = discovery["jwks_uri"]
    settings.OIDC_RP_SCOPES = "openid email profile roles"
    return provider


def _sign_in_through_the_provider(client, provider: str, username: str):
    start = client.get("/accounts/sso/start/")
    assert start.status_code == 302 and start["Location"].startswith(f"{provider}/openid/authorize")
    browser = requests.Session()
    to_login = browser.get(start["Location"], allow_redirects=False, timeout=10)
    login_url = urljoin(provider, to_login.headers["Location"])
    browser.get(login_url, timeout=10)
    signed_in = browser.post(
        login_url,
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            "next": parse_qs(urlsplit(login_url).query)["next"][0],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text[:300]
    authorized = browser.get(urljoin(provider, signed_in.headers["Location"]), allow_redirects=False, timeout=10)
    callback = urlsplit(authorized.headers["Location"])
    assert callback.path == "/accounts/sso/callback/", authorized.headers["Location"]
    assert "code" in parse_qs(callback.query)
    return client.get(f"{callback.path}?{callback.query}")


def test_a_verified_email_signs_in_the_matching_user_with_roles_from_the_claim(sso, client, make_user):
    user = make_user(Role.SALES, email="fiona@northwind.test")
    response = _sign_in_through_the_provider(client, sso, "fiona")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    user = get_user_model().objects.get(pk=user.pk)
    assert user_roles(user) == {Role.FINANCE}
    assert client.get("/dashboard/").status_code == 200


def test_an_unverified_email_signs_nobody_in(sso, client, make_user):
    make_user(Role.SALES, email="uma@northwind.test")
    response = _sign_in_through_the_provider(client, sso, "uma")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?sso=failed"
    assert "_auth_user_id" not in client.session


def test_an_email_without_a_psa_user_creates_nobody(sso, client):
    users_before = get_user_model().objects.count()
    response = _sign_in_through_the_provider(client, sso, "nobody")
    assert response["Location"] == "/accounts/login/?sso=failed"
    assert "_auth_user_id" not in client.session
    assert get_user_model().objects.count() == users_before


def test_a_claim_that_maps_to_no_staff_role_is_refused(sso, client, make_user):
    make_user(Role.CLIENT, email="cara@northwind.test")
    response = _sign_in_through_the_provider(client, sso, "cara")
    assert response["Location"] == "/accounts/login/?sso=failed"
    assert "_auth_user_id" not in client.session


def test_the_login_page_offers_single_sign_on_only_when_configured(sso, client, settings):
    assert b'data-testid="sso-start"' in client.get("/accounts/login/").content
    settings.PSA_SSO_ENABLED = False
    assert b'data-testid="sso-start"' not in client.get("/accounts/login/").content
    assert client.get("/accounts/sso/start/").status_code == 404
