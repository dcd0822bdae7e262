"""The demo: past months invoiced through runs, some paid, some overdue, the client sees real invoices; the
GL reconciles; seeding twice changes nothing."""

import pytest

from billing import demo
from billing.models import BillingRun, Invoice, InvoiceTax, Payment, SourceLink
from billing.selectors import invoices_for, ledger_reconciliation
from billing.services.documents import invoice_time_entries
from ledger.models import JournalLine
from psa.web.demo import seed_users

pytestmark = pytest.mark.django_db


def test_the_demo_bills_past_months_and_the_client_sees_its_invoices(de_seller):
    # The demo firm sells from Germany (psa/core/firm.py), as `de_seller` sets it.
    from django.contrib.auth import get_user_model

    seed_users()
    demo.seed()
    counts = (BillingRun.objects.count(), Invoice.objects.count(), Payment.objects.count())
    assert counts[0] >= 4 and counts[1] >= 10 and counts[2] >= 3
    assert Invoice.objects.filter(status="paid").exists()
    assert Invoice.objects.filter(status="partly_paid").exists()
    assert Invoice.objects.filter(status="issued").exists()
    client = get_user_model().objects.get(username="client")
    mine = invoices_for(client)
    assert mine.exists() and mine.values("account").distinct().count() == 1
    with_time = [i for i in mine.order_by("pk") if SourceLink.objects.filter(line__invoice=i, kind="time_entry")]
    assert with_time, "the client sees T&M invoices"
    assert invoice_time_entries(with_time[0]), "with their time appendix"
    assert SourceLink.objects.filter(line__invoice__in=mine, kind="expense").exists()
    # every approved entry of a past month is billed exactly once
    billed = SourceLink.objects.filter(kind="time_entry", released_at__isnull=True)
    assert billed.count() == billed.values("source_id").distinct().count()
    for currency in ("USD", "GBP"):  # a client billed in each, converted at the documents' rates, some paid
        foreign = Invoice.objects.filter(currency=currency, number__isnull=False)
        assert foreign.exists() and foreign.filter(status__in=["paid", "partly_paid"]).exists(), currency
        assert foreign.exclude(fx_rate_date=None).count() == foreign.count()
    assert JournalLine.objects.filter(account__system_role__startswith="fx_realised").exists()
    rec = ledger_reconciliation()
    assert rec["gl_receivable"] == rec["open_balances"] + rec["revaluation"] and rec["reconciled"]
    assert rec["gl_tax_payable"] == rec["invoiced_tax"]
    # one contract line holds back 10 % retainage: its milestone invoices hold some back, on its own account
    held = Invoice.objects.filter(number__isnull=False, retainage_total__gt=0)
    assert held.exists() and rec["gl_retainage"] == rec["retainage_held"] > 0
    demo.seed()
    assert (BillingRun.objects.count(), Invoice.objects.count(), Payment.objects.count()) == counts
    # German clients at 19 % (S), an EU business reverse charged (AE), US and UK businesses not subject (O)
    issued = InvoiceTax.objects.filter(invoice__number__isnull=False)
    assert issued.filter(kind="S", rate=19).exists() and not issued.filter(kind="S").exclude(rate=19).exists()
    assert issued.filter(kind="AE").exists() and issued.filter(kind="O").exists()
    assert Invoice.objects.filter(tax_rule="eu-b2b-reverse-charge", buyer_country="NL").exists()
