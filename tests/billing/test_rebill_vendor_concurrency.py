"""Two runs drafting the same contract at once on PostgreSQL: the vendor costs are claimed with SKIP LOCKED, so
each re-billable line lands on exactly one draft (and the partial unique index would refuse a second link)."""

import threading
from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Count

from billing.choices import SourceKind
from billing.models import SourceLink
from billing.services import invoice_draft_for_contract
from projects.models import Contract
from tests.billing.factories import make_periods, tm_contract
from tests.billing.rebill_factories import make_vendor, posted_bill, rebillable_line

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
END = date(2026, 1, 31)


def _race(*fns):
    barrier = threading.Barrier(len(fns))
    outcomes: list = [None] * len(fns)

    def run(i, fn):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = fn()
        except Exception as exc:  # collected and asserted by the caller
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _draft(contract_id):
    def go():
        with transaction.atomic():
            contract = Contract.objects.select_related("account").get(pk=contract_id)
            invoice = invoice_draft_for_contract(contract=contract, period_end=END)
            return invoice.pk if invoice else None

    return go


def test_two_concurrent_drafts_of_one_contract_bill_each_vendor_cost_once():
    make_periods()
    contract, line = tm_contract()
    vendor = make_vendor(subcontractor=False)
    costs = [rebillable_line(posted_bill(vendor, on=date(2026, 1, d)), line, f"{d}0.00") for d in range(2, 12)]

    outcomes = _race(_draft(contract.pk), _draft(contract.pk))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    links = SourceLink.objects.filter(kind=SourceKind.VENDOR_COST, released_at__isnull=True)
    assert sorted(links.values_list("source_id", flat=True)) == sorted(c.pk for c in costs)
    assert not links.values("source_id").annotate(n=Count("id")).filter(n__gt=1).exists()


def test_the_database_refuses_a_second_active_link_of_one_vendor_cost():
    make_periods()
    contract, line = tm_contract()
    rebillable_line(posted_bill(make_vendor(subcontractor=False)), line, "10.00")
    _draft(contract.pk)()
    link = SourceLink.objects.get(kind=SourceKind.VENDOR_COST)
    with pytest.raises(IntegrityError), transaction.atomic():
        SourceLink.objects.create(
            line=link.line, kind=SourceKind.VENDOR_COST, source_id=link.source_id, amount=link.amount
        )
