"""Payments, allocation, unapplied credit, write-offs with approval, the bank CSV import, AR aging, DSO, and
the GL reconciliation (AR = open balances, tax payable = invoiced tax, to the cent)."""

from datetime import date
from decimal import Decimal

import pytest

from billing.choices import InvoiceStatus
from billing.models import Payment
from billing.selectors import ar_aging, dso, ledger_reconciliation, overdue_invoices
from billing.services import (
    credit_note_create,
    invoice_issue,
    payment_allocate,
    payment_record,
    payments_import_csv,
    write_off_approve,
    write_off_request,
)
from psa.core.exceptions import ConflictError, PermissionDeniedError, ValidationFailed
from tests.billing.factories import issued_invoice, make_account

pytestmark = pytest.mark.django_db


def test_a_credit_note_alone_leaves_the_invoice_partly_credited_and_only_a_payment_makes_it_partly_paid(
    periods, finance
):
    invoice = issued_invoice(finance, "100.00", "900.00")  # 1,200.00 with 20 % VAT
    line = invoice.lines.get(net=Decimal("100.00"))
    note = credit_note_create(invoice_id=invoice.pk, by=finance, line_ids=[line.pk], reason="Wrong milestone")
    invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 2))
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.amount_credited, invoice.balance) == (0, Decimal("120.00"), 1080)
    assert invoice.status == "partly_credited"
    assert invoice.get_status_display() == "Partly credited"
    assert invoice.history.order_by("-pk").first().to_status == "partly_credited"

    payment_record(by=finance, account_id=invoice.account_id, amount="80.00", received_on=date(2026, 2, 10))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTLY_PAID and invoice.balance == Decimal("1000.00")
    payment_record(by=finance, account_id=invoice.account_id, amount="1000.00", received_on=date(2026, 2, 20))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0


def test_a_partly_credited_invoice_stays_open_for_payment_aging_and_dunning(periods, finance):
    invoice = issued_invoice(finance, "100.00", "900.00")
    line = invoice.lines.get(net=Decimal("100.00"))
    note = credit_note_create(invoice_id=invoice.pk, by=finance, line_ids=[line.pk], reason="Wrong milestone")
    invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 2))
    assert [i.pk for i in overdue_invoices(as_of=date(2026, 6, 30))] == [invoice.pk]
    payment = payment_record(by=finance, account_id=invoice.account_id, amount="1080.00", received_on=date(2026, 3, 1))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and payment.unapplied == 0


def test_a_partial_payment_then_the_rest_settles_the_invoice(periods, finance):
    invoice = issued_invoice(finance, "1000.00")
    payment_record(by=finance, account_id=invoice.account_id, amount="500.00", received_on=date(2026, 2, 10))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTLY_PAID and invoice.balance == Decimal("700.00")
    payment_record(by=finance, account_id=invoice.account_id, amount="700.00", received_on=date(2026, 2, 20))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0


def test_an_overpayment_is_kept_as_unapplied_credit_and_applied_later(periods, finance):
    account = make_account()
    first = issued_invoice(finance, "100.00", account=account)
    payment = payment_record(by=finance, account_id=account.pk, amount="200.00", received_on=date(2026, 2, 5))
    assert payment.unapplied == Decimal("80.00")
    second = issued_invoice(finance, "50.00", account=account, on=date(2026, 2, 6))
    payment_allocate(payment_id=payment.pk, invoice_id=second.pk, amount="60.00", by=finance)
    second.refresh_from_db()
    first.refresh_from_db()
    assert first.status == second.status == InvoiceStatus.PAID
    assert Payment.objects.get(pk=payment.pk).unapplied == Decimal("20.00")
    with pytest.raises(ConflictError):
        payment_allocate(payment_id=payment.pk, invoice_id=second.pk, amount="1.00", by=finance)


def test_explicit_allocations_refuse_another_accounts_invoice(periods, finance):
    mine = issued_invoice(finance, "100.00")
    other = issued_invoice(finance, "100.00", on=date(2026, 2, 2))
    with pytest.raises(ValidationFailed):
        payment_record(
            by=finance,
            account_id=mine.account_id,
            amount="120.00",
            received_on=date(2026, 2, 5),
            allocations=[{"invoice_id": other.pk, "amount": "120.00"}],
        )


def test_a_write_off_needs_another_finance_user_and_posts_to_write_offs(periods, finance, finance2):
    invoice = issued_invoice(finance, "100.00")
    request = write_off_request(invoice_id=invoice.pk, by=finance, reason="Client insolvent")
    with pytest.raises(PermissionDeniedError):
        write_off_approve(write_off_id=request.pk, by=finance)
    approved = write_off_approve(write_off_id=request.pk, by=finance2, on=date(2026, 3, 1))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF and invoice.balance == 0
    roles = {ln.account.system_role for ln in approved.journal_entry.lines.select_related("account")}
    assert roles == {"write_offs", "receivable"}


def test_the_bank_csv_import_matches_invoice_numbers_and_skips_what_it_already_imported(periods, finance):
    invoice = issued_invoice(finance, "100.00")
    csv = (
        "date,amount,reference,bank_ref\n"
        f"2026-02-15,120.00,Payment {invoice.number} thanks,TX-1\n"
        "2026-02-16,5.00,unknown,TX-2\n"
    )
    result = payments_import_csv(by=finance, content=csv, dry_run=False)
    assert result.created == 1 and result.errors == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    again = payments_import_csv(by=finance, content=csv, dry_run=False)
    assert [r.external_id for r in again.rows if r.action == "unchanged"] == ["TX-1"] and not again.created


def test_aging_puts_balances_in_the_right_buckets_and_lists_the_overdue(periods, finance):
    account = make_account()
    issued_invoice(finance, "100.00", account=account, on=date(2026, 1, 1))  # due 31 Jan
    issued_invoice(finance, "200.00", account=account, on=date(2026, 3, 1))  # due 31 Mar
    aging = ar_aging(as_of=date(2026, 3, 15))
    (row,) = aging.rows
    assert row.d31_60 == Decimal("120.00") and row.current == Decimal("240.00") and row.d1_30 == 0
    assert aging.by_currency["EUR"]["overdue"] == Decimal("120.00") and aging.converted["overdue"].total == Decimal(
        "120.00"
    )
    assert [i.gross_total for i in overdue_invoices(as_of=date(2026, 3, 15))] == [Decimal("120.00")]
    assert dso(as_of=date(2026, 3, 15)) == Decimal("90.0")


def test_only_finance_records_payments(periods, make_user):
    with pytest.raises(PermissionDeniedError):
        payment_record(by=make_user("sales"), account_id=make_account().pk, amount="1.00", received_on=date(2026, 2, 1))


def test_a_bank_reference_is_imported_once(periods, finance):
    account = make_account()
    payment_record(by=finance, account_id=account.pk, amount="1.00", received_on=date(2026, 2, 1), bank_ref="B1")
    with pytest.raises(ConflictError):
        payment_record(by=finance, account_id=account.pk, amount="1.00", received_on=date(2026, 2, 1), bank_ref="B1")


def test_the_gl_reconciles_to_the_cent_after_invoices_credits_payments_and_write_offs(periods, finance, finance2):
    a, b = make_account(), make_account()
    i1 = issued_invoice(finance, "10.04", "10.04", "10.04", account=a)
    i2 = issued_invoice(finance, "333.33", "0.01", account=b, on=date(2026, 2, 2))
    i3 = issued_invoice(finance, "99.99", account=b, on=date(2026, 2, 3))
    invoice_issue(
        invoice_id=credit_note_create(invoice_id=i2.pk, by=finance, amount=Decimal("33.33")).pk,
        by=finance,
        on=date(2026, 2, 4),
    )
    payment_record(by=finance, account_id=a.pk, amount="50.00", received_on=date(2026, 2, 5))
    payment_record(by=finance, account_id=b.pk, amount="100.00", received_on=date(2026, 2, 6))
    write_off_approve(
        write_off_id=write_off_request(invoice_id=i3.pk, by=finance, reason="Goodwill").pk,
        by=finance2,
        on=date(2026, 2, 7),
    )
    rec = ledger_reconciliation()
    assert rec["gl_receivable"] == rec["open_balances"]
    assert rec["gl_tax_payable"] == rec["invoiced_tax"]
    assert rec["invoiced_tax"] == i1.tax_total + i2.tax_total + i3.tax_total - Decimal("6.67")
