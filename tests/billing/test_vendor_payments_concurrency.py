"""Payments racing on PostgreSQL. Two finance users pay the same vendor bill at the same moment: A locks the
bill and pays it in full; B, asking for the same amount, queues behind A's lock and then sees the bill paid: its
payment is refused as an over-payment, so the bill is paid once and AP holds no debit balance."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction

from billing.choices import VendorBillStatus
from billing.models import PaymentRun, VendorBill, VendorPayment
from billing.services.payment_runs import payment_run_book, payment_run_export, payment_run_propose
from billing.services.vendor_payments import vendor_payment_record
from ledger.choices import SystemAccount
from psa.core.entities import entity_default
from psa.core.exceptions import ValidationFailed
from tests.billing.factories import make_periods
from tests.billing.test_numbering_concurrency import _waiting_on_a_lock
from tests.billing.vendor_payment_factories import gl_balance, make_bank_account, make_vendor, posted_bill

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


def test_a_payment_racing_a_run_proposal_leaves_the_runs_bills_alone(make_user):
    """A proposes a run (its bills locked, not committed yet); B pays the vendor by hand meanwhile. B queues behind
    A's locks and, once A commits, finds the bill spoken for by the run: refused, so the run can still be booked."""
    make_periods()
    finance = make_user("finance")
    vendor = make_vendor()
    posted_bill(vendor, "500.00")
    entity = entity_default()
    account = make_bank_account()
    a_proposed, a_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def propose():
        try:
            with transaction.atomic():
                payment_run_propose(entity=entity, bank_account=account, execution_date=date(2026, 3, 5),
                                    due_by=date(2026, 12, 31), by=finance)  # fmt: skip
                a_proposed.set()
                a_may_commit.wait(timeout=15)
            outcome["a"] = "proposed"
        except Exception as exc:  # collected and asserted below
            outcome["a"] = exc
        finally:
            a_proposed.set()
            connection.close()

    def pay():
        try:
            a_proposed.wait(timeout=15)
            vendor_payment_record(vendor=vendor, entity=entity, paid_on=date(2026, 3, 1), amount="500.00", by=finance)
            outcome["b"] = "paid"
        except Exception as exc:  # collected and asserted below
            outcome["b"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=propose), threading.Thread(target=pay)]
    for t in threads:
        t.start()
    assert a_proposed.wait(timeout=15)
    assert _waiting_on_a_lock(), "B should queue behind the run's locks on the bills"
    a_may_commit.set()
    for t in threads:
        t.join(timeout=30)

    assert outcome["a"] == "proposed"
    assert isinstance(outcome["b"], ValidationFailed), outcome["b"]
    run = PaymentRun.objects.get()
    payment_run_export(run_id=run.pk, by=finance)
    payment_run_book(run_id=run.pk, by=finance)
    assert VendorBill.objects.get().status == VendorBillStatus.PAID
    assert gl_balance(SystemAccount.PAYABLE) == 0
