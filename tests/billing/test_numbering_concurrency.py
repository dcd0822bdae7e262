"""Chronological invoice numbers under concurrency (DESIGN.md section 5, invariant 4), on PostgreSQL.

Two finance users issue at the same moment: A dates its invoice 10 March, B back-dates its own to 5 March.
Whichever order the database serialises them in, the numbers must follow the issue dates; the issue-date check
therefore has to read the latest issue date while holding the series lock, not before taking it.
"""

import threading
from datetime import date

import pytest
from django.db import connection, transaction

from billing.models import Invoice
from billing.services import invoice_draft_for_contract, invoice_issue
from psa.core.exceptions import ValidationFailed
from psa.core.models import NumberSeries
from tests.billing.factories import make_periods, milestone_contract
from tests.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _draft():
    contract, _, _ = milestone_contract("100.00")
    with transaction.atomic():
        return invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))


def _waiting_on_a_lock(timeout: float = 10.0) -> bool:
    """True once another session of this database waits on a lock (B queued behind A's series row)."""

    def waiting() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            return bool(cursor.fetchone()[0])

    return wait_for(waiting, timeout=timeout, step=0.02)


def test_a_back_dated_issue_racing_a_later_one_never_takes_a_number_out_of_date_order(make_user):
    make_periods()
    finance = make_user("finance")
    invoice_issue(invoice_id=_draft().pk, by=finance, on=date(2026, 2, 1))  # INV-2026-000001
    later, back_dated = _draft(), _draft()
    a_issued, a_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def issue_later():
        try:
            with transaction.atomic():
                invoice_issue(invoice_id=later.pk, by=finance, on=date(2026, 3, 10))
                a_issued.set()
                a_may_commit.wait(timeout=15)
            outcome["a"] = "issued"
        except Exception as exc:  # collected and asserted below
            outcome["a"] = exc
        finally:
            a_issued.set()
            connection.close()

    def issue_back_dated():
        try:
            a_issued.wait(timeout=15)
            invoice_issue(invoice_id=back_dated.pk, by=finance, on=date(2026, 3, 5))
            outcome["b"] = "issued"
        except Exception as exc:  # collected and asserted below
            outcome["b"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=issue_later), threading.Thread(target=issue_back_dated)]
    for t in threads:
        t.start()
    assert a_issued.wait(timeout=15)
    assert _waiting_on_a_lock(), "B should queue behind A's lock on the series"
    a_may_commit.set()
    for t in threads:
        t.join(timeout=30)

    assert outcome["a"] == "issued"
    assert isinstance(outcome["b"], ValidationFailed) and "issue_date" in outcome["b"].fields
    issued = list(Invoice.objects.filter(number__isnull=False).order_by("number").values_list("number", "issue_date"))
    assert [d for _, d in issued] == sorted(d for _, d in issued), f"numbers out of date order: {issued}"
    assert issued == [("INV-2026-000001", date(2026, 2, 1)), ("INV-2026-000002", date(2026, 3, 10))]
    assert NumberSeries.objects.get(series="INV", year=2026).last == 2, "the refused issue gave its number back"
    assert Invoice.objects.get(pk=back_dated.pk).status == "draft"
