"""The demo: past months invoiced through runs, some paid, some overdue, the client sees real invoices; the
GL reconciles; seeding twice changes nothing."""

import pytest

from billing import demo
from billing.models import BillingRun, Invoice, Payment
from billing.selectors import invoices_for, ledger_reconciliation
from psa.web.demo import seed_users

pytestmark = pytest.mark.django_db


def test_the_demo_bills_past_months_and_the_client_sees_its_invoices():
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
    rec = ledger_reconciliation()
    assert rec["gl_receivable"] == rec["open_balances"] and rec["gl_tax_payable"] == rec["invoiced_tax"]
    demo.seed()
    assert (BillingRun.objects.count(), Invoice.objects.count(), Payment.objects.count()) == counts
