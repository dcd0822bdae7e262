"""Without DATABASE_REPLICA_URL nothing of the read replica runs; with it, the settings parse it like
DATABASE_URL and refuse a read-your-writes window shorter than the lag bound; an unreachable replica hands the
reports to the primary."""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from psa.core.replica import REPLICA, STICKY_COOKIE, choose_read, replica_lag_forget
from tests.ledger.factories import make_periods

SHOW = "from django.conf import settings as s; print(s.DATABASES['replica']['PORT'], s.DATABASE_ROUTERS)"


def _settings_process(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**os.environ, "DATABASE_URL": "postgres://psa@127.0.0.1:5432/psa", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_a_replica_no_router_no_cookie_and_no_note(client_as):
    assert REPLICA not in connections
    assert settings.DATABASE_ROUTERS == []
    make_periods()
    client = client_as("finance")
    response = client.post("/ledger/accounts/new/", {"code": "6790", "name": "No replica", "type": "expense"})
    assert response.status_code == 302
    assert STICKY_COOKIE not in response.cookies
    page = client.get("/ledger/reports/trial-balance/")
    assert page.status_code == 200 and "Figures as of" not in page.content.decode()


def test_the_replica_url_is_parsed_like_database_url_and_turns_the_router_on():
    shown = _settings_process(SHOW, DATABASE_REPLICA_URL="postgres://psa@replica.internal:5433/psa")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["5433", "['psa.core.replica.ReplicaRouter']"]


def test_a_sticky_window_not_longer_than_the_lag_bound_is_refused():
    refused = _settings_process(
        "", DATABASE_REPLICA_URL="postgres://psa@replica.internal:5433/psa", PSA_REPLICA_STICKY_SECONDS="10"
    )
    assert refused.returncode != 0
    assert "PSA_REPLICA_STICKY_SECONDS must be greater than PSA_REPLICA_MAX_LAG_SECONDS" in refused.stderr


@pytest.fixture(scope="module")
def dead_replica() -> Iterator[int]:
    """A "replica" alias at a port where nothing listens (registered before the tests' database set-up)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    primary = connections.settings[DEFAULT_DB_ALIAS]
    connections.settings[REPLICA] = {
        **primary, "HOST": "127.0.0.1", "PORT": port, "OPTIONS": {**primary.get("OPTIONS", {}), "connect_timeout": 2},
        "TEST": {**primary.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS},
    }  # fmt: skip
    try:
        yield port
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]
        replica_lag_forget()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_an_unreachable_replica_hands_reports_to_the_primary(dead_replica, client_as, settings):
    settings.DATABASE_ROUTERS = ["psa.core.replica.ReplicaRouter"]
    settings.PSA_REPLICA_LAG_CHECK_MS = 0
    replica_lag_forget()
    assert choose_read().reason == "replica unavailable"
    make_periods()
    page = client_as("finance").get("/ledger/reports/trial-balance/")
    assert page.status_code == 200 and "Figures as of" not in page.content.decode()
