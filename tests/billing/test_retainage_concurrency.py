"""Retainage is released at most once under concurrency, on PostgreSQL: two finance users bill the release of
the same contract at the same moment; the second waits on the first's lock on the held invoices and, once the
first commits, finds nothing left to release."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction

from billing.models import Invoice, RetainageRelease
from billing.services import invoice_draft_for_contract, invoice_issue
from billing.services.retainage import retainage_release_create
from psa.core.exceptions import ConflictError
from tests.billing.factories import make_periods, milestone_contract
from tests.billing.test_numbering_concurrency import _waiting_on_a_lock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_releases_bill_the_retainage_once(make_user):
    make_periods()
    finance = make_user("finance")
    contract, line, _ = milestone_contract("1000.00")
    line.retainage_percent = Decimal("10.00")
    line.save(update_fields=["retainage_percent"])
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    a_made, a_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def release_a():
        try:
            with transaction.atomic():
                outcome["a"] = retainage_release_create(
                    contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 1)
                )
                a_made.set()
                a_may_commit.wait(timeout=15)
        except Exception as exc:  # collected and asserted below
            outcome["a"] = exc
        finally:
            a_made.set()
            connection.close()

    def release_b():
        try:
            a_made.wait(timeout=15)
            outcome["b"] = retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 1))
        except Exception as exc:  # collected and asserted below
            outcome["b"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=release_a), threading.Thread(target=release_b)]
    for t in threads:
        t.start()
    assert a_made.wait(timeout=15)
    assert _waiting_on_a_lock(), "B should queue behind A's lock on the held invoice"
    a_may_commit.set()
    for t in threads:
        t.join(timeout=30)

    assert isinstance(outcome["a"], Invoice) and outcome["a"].gross_total == Decimal("100.00")
    assert isinstance(outcome["b"], ConflictError) and outcome["b"].code == "nothing_to_release"
    assert RetainageRelease.objects.count() == 1
    assert Invoice.objects.filter(retainage_release=True).count() == 1
