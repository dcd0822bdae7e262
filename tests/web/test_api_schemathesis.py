"""The API holds to its own OpenAPI schema under generated input: schemathesis reads `/api/schema/` as a
signed-in user and calls every operation in it (whatever the schema lists when the test runs) on a seeded
firm, as an administrator and as a client-portal user. Every answer must be a non-5xx response whose status,
content type, headers and body the schema documents.

It runs in-process against the WSGI application, inside the test's transaction (no network, nothing left
behind), with a fixed seed so a failure reproduces. Operations that would reach outside the machine
(webhook subscriptions and their deliveries: a test ping, a replay) are excluded by name.
"""

import pytest
import schemathesis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from psa.core.roles import ensure_role_groups
from psa.web.demo import seed_all
from tests.crm.factories import ensure_default_stages

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# Webhook operations that change state can send HTTP requests to the receivers they name.
EXCLUDED_OPERATIONS = r"^(POST|PUT|PATCH|DELETE) /api/v1/webhook"

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

CSRF_SECRET = "schemathesisCsrfSecretAbcdef0123"  # 32 letters and digits, as Django's CSRF cookie holds


class InTransactionWSGI:
    """Django's WSGI handler, minus the connection clean-up around each request, which would close the
    test's connection in the middle of its transaction (Django's own test client does the same)."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.handler(environ, start_response)
            try:
                body = b"".join(response)
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]


def _signed_in(username: str) -> dict[str, dict[str, str]]:
    """Session and CSRF cookies of a signed-in user, with the CSRF header DRF asks of session writes."""
    browser = Client()
    browser.force_login(get_user_model().objects.get(username=username))
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "cookies": {settings.SESSION_COOKIE_NAME: session, settings.CSRF_COOKIE_NAME: CSRF_SECRET},
        "headers": {"X-CSRFToken": CSRF_SECRET},
    }


def _api_schema_document() -> dict:
    """The document `/api/schema/` serves (a test below holds the two equal), built without a request so the
    operations are known when pytest collects."""
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def seeded_firm(django_db_setup, django_db_blocker):
    """The demo firm, seeded once per module inside a transaction that is rolled back at the end; each test
    runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        # what the data migrations seeded, in case a transactional test on this worker flushed it
        ensure_default_stages()
        ensure_role_groups()
        seed_all()
        yield
        transaction.set_rollback(True)


@pytest.fixture(params=["admin", "client"])
def signed_in(request, seeded_firm, db):
    return _signed_in(request.param)


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260101,
        "generation": {"mode": "all", "deterministic": True, "with-security-parameters": False},
        # Examples, boundary values (coverage) and 10 generated cases per operation; no stateful sequences
        # and no repeated query parameters keep the whole run within a few minutes on two cores.
        "phases": {"stateful": {"enabled": False}, "coverage": {"generate-duplicate-query-parameters": False}},
    }
)
schema = schemathesis.openapi.from_dict(_api_schema_document(), config=CONFIG).exclude(name_regex=EXCLUDED_OPERATIONS)
schema.app = InTransactionWSGI()


@schema.parametrize()
@hypothesis_settings(
    max_examples=10,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says(case, signed_in):
    case.call_and_validate(**signed_in, checks=CHECKS)


def _operations(document: dict) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item if method != "parameters"}


@pytest.mark.parametrize("username", ["admin", "client"])
def test_the_schema_under_test_is_the_one_api_schema_serves(seeded_firm, db, username):
    browser = Client()
    browser.force_login(get_user_model().objects.get(username=username))
    served = browser.get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    assert _operations(served.json()) == _operations(_api_schema_document())
