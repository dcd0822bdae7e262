"""The application's PostgreSQL sessions run without JIT compilation unless DB_JIT turns it on: compiling a
report's query on a large ledger cost more than running it (settings, "Database")."""

import pytest
from django.db import connection

from tests.core.test_replica_settings import _settings_process

# PostgreSQL's setting: the project's marker fails the test when PostgreSQL is required and missing (CI).
pytestmark = pytest.mark.postgres


@pytest.mark.django_db
def test_the_applications_sessions_run_without_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_db_jit_turns_it_back_on_and_options_in_the_url_are_kept():
    show = "from django.conf import settings as s; print(repr(s.DATABASES['default'].get('OPTIONS', {})))"
    assert "-c jit=off" in _settings_process(show).stdout
    assert "jit" not in _settings_process(show, DB_JIT="true").stdout
    both = _settings_process(show, DATABASE_URL="postgres://psa@127.0.0.1:5432/psa?options=-c%20work_mem%3D8MB")
    assert "-c work_mem=8MB -c jit=off" in both.stdout, both.stdout + both.stderr
    replica = "from django.conf import settings as s; print(repr(s.DATABASES['replica'].get('OPTIONS', {})))"
    shown = _settings_process(replica, DATABASE_REPLICA_URL="postgres://psa@replica.internal:5433/psa")
    assert "-c jit=off" in shown.stdout, shown.stdout + shown.stderr
