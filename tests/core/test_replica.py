"""The read replica, against a real streaming replica (tests/fixtures_replica.py): reports read it, writes and
a user's next requests after a write read the primary, and a report never shows figures older than the bound
without saying how old they are."""

import time
from datetime import date, datetime

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ledger.models import JournalEntry, LedgerAccount
from psa.core.replica import REPLICA, STICKY_COOKIE, reads_from_replica, replica_as_of
from tests.ledger.factories import balanced, make_periods, post
from tests.waiting import wait_for

# Slow: taking the base backup and starting the second server costs ~30-40 s on a busy 2-core machine, and each
# transactional test flushes the tables; `make test-slow` runs it.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

TRIAL_BALANCE = "/ledger/reports/trial-balance/?at=2026-03-31"


def _ledger_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if "ledger_" in q["sql"]]


def _on_replica(model, pk: int) -> bool:
    return model.objects.using(REPLICA).filter(pk=pk).exists()


def _replicated(model, pk: int) -> None:
    assert wait_for(lambda: _on_replica(model, pk), timeout=30), f"{model.__name__} {pk} never reached the replica"


def _pause_replay(su) -> None:
    """Pause replay on the replica and wait until it has paused (the request takes effect asynchronously)."""
    su.execute("SELECT pg_wal_replay_pause()")

    def paused() -> bool:
        return su.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == "paused"

    assert wait_for(paused, timeout=30), "the replica did not pause its replay"


def _as_of(page: str) -> datetime:
    marker = 'data-replica-as-of="'
    start = page.index(marker) + len(marker)
    return datetime.fromisoformat(page[start : page.index('"', start)])


def test_a_report_reads_the_replica_and_says_as_of_when(replica_alias, client_as):
    make_periods()
    entry = post(balanced("123.45", on=date(2026, 3, 2)))
    client = client_as("finance")
    _replicated(JournalEntry, entry.pk)

    with CaptureQueriesContext(connections[REPLICA]) as on_replica, CaptureQueriesContext(connection) as on_primary:
        response = client.get(TRIAL_BALANCE)

    page = response.content.decode()
    assert response.status_code == 200
    assert "123.45" in page
    assert _ledger_reads(on_replica.captured_queries), "the trial balance did not read the replica"
    assert _ledger_reads(on_primary.captured_queries) == []
    assert "Figures as of" in page
    # Caught up, the replica holds every commit up to the moment the lag was measured.
    assert (datetime.now(_as_of(page).tzinfo) - _as_of(page)).total_seconds() < 5

    # A streamed download runs its queries while it is read, after the view returned: on the replica too.
    with CaptureQueriesContext(connections[REPLICA]) as on_replica, CaptureQueriesContext(connection) as on_primary:
        download = client.get("/ledger/export/?format=csv&start=2026-03-01&end=2026-03-31")
        body = b"".join(download.streaming_content).decode()
    assert download.status_code == 200 and "123.45" in body
    assert _ledger_reads(on_replica.captured_queries)
    assert _ledger_reads(on_primary.captured_queries) == []


def test_writes_and_locks_inside_a_replica_scope_go_to_the_primary(replica_alias):
    make_periods()
    with CaptureQueriesContext(connections[REPLICA]) as on_replica, reads_from_replica() as read:
        assert read.alias == REPLICA
        entry = post(balanced("55.00"))  # the posting service: one transaction, row locks, inserts
        assert JournalEntry.objects.db_manager(DEFAULT_DB_ALIAS).filter(pk=entry.pk).exists()
        assert JournalEntry.objects.all().db == REPLICA
        assert JournalEntry.objects.select_for_update().db == DEFAULT_DB_ALIAS

    sent = [q["sql"].lstrip().upper() for q in on_replica.captured_queries]
    assert [s for s in sent if s.startswith(("INSERT", "UPDATE", "DELETE")) or "FOR UPDATE" in s] == []
    _replicated(JournalEntry, entry.pk)  # and it streamed across


def test_after_a_write_the_users_reports_read_the_primary_for_the_window(replica_alias, client_as, make_user, settings):
    make_periods()
    settings.PSA_REPLICA_STICKY_SECONDS = 2
    settings.PSA_REPLICA_MAX_LAG_SECONDS = 60
    writer = client_as("finance")
    with replica_alias.superuser() as su:
        _pause_replay(su)  # nothing written from now on reaches the replica
        try:
            account_form = {"code": "6789", "name": "Replica probe", "type": "expense"}
            response = writer.post("/ledger/accounts/new/", account_form)
            assert response.status_code == 302
            assert STICKY_COOKIE in response.cookies
            account = LedgerAccount.objects.get(code="6789")

            with CaptureQueriesContext(connections[REPLICA]) as on_replica:
                own = writer.get(f"/ledger/accounts/{account.pk}/")
            assert own.status_code == 200 and "Replica probe" in own.content.decode()
            assert _ledger_reads(on_replica.captured_queries) == []
            assert "Figures as of" not in own.content.decode()

            # Another user, who wrote nothing, reads the replica: it does not hold the account yet.
            other = Client()
            other.force_login(make_user("finance"))
            assert other.get(f"/ledger/accounts/{account.pk}/").status_code == 404
        finally:
            su.execute("SELECT pg_wal_replay_resume()")

    _replicated(LedgerAccount, account.pk)
    time.sleep(2.1)  # past the window the writer reads the replica again, which now holds the write
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        later = writer.get(f"/ledger/accounts/{account.pk}/")
    assert later.status_code == 200 and "Replica probe" in later.content.decode()
    assert _ledger_reads(on_replica.captured_queries)


def test_a_lagging_replica_says_how_old_its_figures_are_then_hands_reports_to_the_primary(
    replica_alias, client_as, settings
):
    make_periods()
    first = post(balanced("100.00", on=date(2026, 3, 2)))
    client = client_as("finance")
    _replicated(JournalEntry, first.pk)
    with replica_alias.superuser() as su:
        _pause_replay(su)
        try:
            written_at = datetime.now().astimezone()
            post(balanced("777.77", debit="6000", credit="1000", on=date(2026, 3, 5)))

            # Within the bound the replica serves the report, and the page says up to when its figures run.
            settings.PSA_REPLICA_MAX_LAG_SECONDS = 60
            stale = client.get(TRIAL_BALANCE).content.decode()
            assert "777.77" not in stale
            assert "Figures as of" in stale and _as_of(stale) < written_at

            # Past the bound the report reads the primary, and shows the late entry.
            settings.PSA_REPLICA_MAX_LAG_SECONDS = 1
            assert wait_for(lambda: (as_of := replica_as_of()) is not None and as_of.timestamp() < time.time() - 1)
            with CaptureQueriesContext(connections[REPLICA]) as on_replica:
                fresh = client.get(TRIAL_BALANCE)
            page = fresh.content.decode()
            assert fresh.status_code == 200 and "777.77" in page
            assert "Figures as of" not in page
            assert _ledger_reads(on_replica.captured_queries) == []
        finally:
            su.execute("SELECT pg_wal_replay_resume()")
