"""Shared test fixtures: users per role, API clients, a real Celery worker, and a real browser.

Tests that need PostgreSQL, Redis or Chromium are marked (`postgres`, `redis`/`worker`, `browser`). When the
service is missing they are skipped with the reason; with PSA_REQUIRE_FULL_STACK=1 (CI) a missing service
fails the run instead, so CI can never go green by skipping.
"""

import os
import shutil

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import override_settings

from psa.core.firm import firm_settings_read
from psa.core.roles import Role, ensure_role_groups
from tests.crm.factories import ensure_default_stages
from tests.factories import UserFactory

REQUIRE_FULL_STACK = os.environ.get("PSA_REQUIRE_FULL_STACK") == "1"
CHROMIUM = os.environ.get("PSA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _missing(reason: str):
    if REQUIRE_FULL_STACK:
        pytest.fail(f"{reason} (PSA_REQUIRE_FULL_STACK=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher():
    # Production hashes with PBKDF2 (~0.5 s a password on this machine's cores); every test user and every demo
    # login would pay that. Tests check who may sign in, not the hash's strength: MD5 is enough here.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _services_for_marks(request):
    node = request.node
    if node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL or run PostgreSQL on 127.0.0.1:5432")
    if (node.get_closest_marker("redis") or node.get_closest_marker("worker")) and not os.environ.get("REDIS_URL"):
        _missing("needs Redis: set REDIS_URL or run Redis on 127.0.0.1:6379")
    if node.get_closest_marker("browser") and not CHROMIUM:
        _missing("needs Chromium: install Debian's chromium package")


@pytest.fixture(autouse=True)
def _no_lockout_between_tests(settings):
    # Each test starts with a clean lockout state; the lockout test turns it on explicitly.
    settings.AXES_ENABLED = False
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture(autouse=True)
def _seller_details(settings):
    # The one place tests get the firm's seller details: the demo firm, asked for explicitly as `make run` does
    # (production has no default seller, psa/core/firm.py); a test of the refusal empties them itself.
    settings.PSA_DEMO_FIRM = True
    for name, value in firm_settings_read({}, demo=True).items():
        setattr(settings, name, value)
    # The tests' seller is in GB (20 % standard rate), and their clients too (the factories): an invoice of the
    # tests is a domestic supply at 20 %. Tests of the other VAT rules set their seller and clients themselves.
    settings.PSA_FIRM_COUNTRY = "GB"
    settings.PSA_FIRM_TAX_ID = "GB980780684"
    settings.PSA_FIRM_ADDRESS = "12 Harbour Street\nLondon EC1A 1BB"


@pytest.fixture(autouse=True)
def _no_counter_addresses_from_earlier_tests():
    # The posting statement notes where each journal counter's row is, per process (ledger.sql._COUNTER_AT); a note
    # from an earlier test points at a row its rollback took away, and would cost this test's first posting the
    # service's slower path (a query count measured here would then depend on the order the tests ran in).
    from ledger import sql as ledger_sql

    ledger_sql._COUNTER_AT.clear()


@pytest.fixture(autouse=True)
def _own_cache_per_test(settings, request):
    # Throttle counters live in the cache: each test gets an empty one of its own (never the shared Redis).
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }


@pytest.fixture
def make_user(db):
    def make(*roles, **kwargs):
        return UserFactory(roles=list(roles), **kwargs)

    return make


@pytest.fixture
def finance(make_user):
    """A fresh user holding the finance role."""
    return make_user("finance")


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def client_as(client, make_user):
    """`client_as("finance")` logs the Django test client in as a fresh user holding that role."""

    def login(*roles, **kwargs):
        user = make_user(*roles, **kwargs)
        client.force_login(user)
        client.user = user
        return client

    return login


@pytest.fixture
def api_as(api_client, make_user):
    def login(*roles, **kwargs):
        user = make_user(*roles, **kwargs)
        api_client.force_authenticate(user)
        api_client.user = user
        return api_client

    return login


pytest_plugins = ["tests.fixtures_worker", "tests.fixtures_browser", "tests.fixtures_replica"]


@pytest.fixture(autouse=True)
def _default_stages(request):
    """Stages and role groups are seeded by data migrations; restore them when an earlier transactional test
    flushed them."""
    if (
        "db" in request.fixturenames
        or "transactional_db" in request.fixturenames
        or request.node.get_closest_marker("django_db")
    ):
        request.getfixturevalue("transactional_db" if _transactional(request) else "db")
        ensure_default_stages()
        if not Group.objects.filter(name=Role.FINANCE.value).exists():
            ensure_role_groups()


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))
