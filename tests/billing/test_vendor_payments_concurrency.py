"""Two finance users pay the same vendor bill at the same moment (PostgreSQL). A locks the bill and pays it in
full; B, asking for the same amount, queues behind A's lock and then sees the bill paid: its payment is refused
as an over-payment, so the bill is paid once and AP holds no debit balance."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction

from billing.choices import VendorBillStatus
from billing.models import VendorBill, VendorPayment
from billing.services.vendor_payments import vendor_payment_record
from ledger.choices import SystemAccount
from psa.core.entities import entity_default
from psa.core.exceptions import ValidationFailed
from tests.billing.factories import make_periods
from tests.billing.test_numbering_concurrency import _waiting_on_a_lock
from tests.billing.vendor_payment_factories import gl_balance, make_vendor, posted_bill

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("allocated", [False, True], ids=["oldest-first", "allocated"])
def test_two_payments_racing_for_one_bill_never_over_pay_it(make_user, allocated):
    make_periods()
    finance = make_user("finance")
    vendor = make_vendor()
    bill = posted_bill(vendor, "500.00")
    entity = entity_default()
    a_paid, a_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def pay(name: str) -> None:
        vendor_payment_record(
            vendor=vendor,
            entity=entity,
            paid_on=date(2026, 3, 1),
            amount="500.00",
            allocations=[{"bill_id": bill.pk, "amount": "500.00"}] if allocated else None,
            reference=name,
            by=finance,
        )

    def payer_a():
        try:
            with transaction.atomic():
                pay("A")
                a_paid.set()
                a_may_commit.wait(timeout=15)
            outcome["a"] = "paid"
        except Exception as exc:  # collected and asserted below
            outcome["a"] = exc
        finally:
            a_paid.set()
            connection.close()

    def payer_b():
        try:
            a_paid.wait(timeout=15)
            pay("B")
            outcome["b"] = "paid"
        except Exception as exc:  # collected and asserted below
            outcome["b"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=payer_a), threading.Thread(target=payer_b)]
    for t in threads:
        t.start()
    assert a_paid.wait(timeout=15)
    assert _waiting_on_a_lock(), "B should queue behind A's lock on the bill"
    a_may_commit.set()
    for t in threads:
        t.join(timeout=30)

    assert outcome["a"] == "paid"
    assert isinstance(outcome["b"], ValidationFailed), outcome["b"]
    bill.refresh_from_db()
    assert (bill.amount_paid, bill.status) == (Decimal("500.00"), VendorBillStatus.PAID)
    assert VendorPayment.objects.count() == 1
    assert gl_balance(SystemAccount.PAYABLE) == 0
    assert VendorBill.objects.filter(amount_paid__gt=500).count() == 0
