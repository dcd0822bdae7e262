"""Retainage (holdback): a contract line holds back a percentage of each invoice line until the project is
accepted. The held-back part goes to the retainage receivable instead of AR; a release invoice moves it to AR;
payments settle only the part on AR; credit notes take back the retainage of what they credit; each invoice's
retainage is released once."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.choices import InvoiceStatus
from billing.models import Invoice, RetainageRelease
from billing.selectors import ledger_reconciliation
from billing.selectors.retainage import contract_retainage_summary, retainage_held_by_account
from billing.services import credit_note_create, invoice_cancel, invoice_draft_for_contract, invoice_issue
from billing.services.payments import payment_allocate, payment_record
from billing.services.retainage import retainage_release_create
from ledger.choices import SystemAccount
from ledger.models import JournalLine
from psa.core.exceptions import ConflictError, ValidationFailed
from tests.billing.factories import accept_milestone, milestone_contract

pytestmark = pytest.mark.django_db

D = Decimal


def _retainage_contract(*amounts: str, percent: str = "10.00"):
    contract, line, milestones = milestone_contract(*amounts)
    line.retainage_percent = D(percent)
    line.save(update_fields=["retainage_percent"])
    return contract, line, milestones


def _issue(contract, by, *, period_end=date(2026, 1, 31), on=date(2026, 2, 1)) -> Invoice:
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=period_end)
    return invoice_issue(invoice_id=draft.pk, by=by, on=on)


def _gl(entry) -> set[tuple[str, Decimal, Decimal]]:
    return {
        (ln.account.system_role or ln.account.code, ln.debit, ln.credit)
        for ln in JournalLine.objects.filter(entry=entry).select_related("account")
    }


def _balance(role: str) -> Decimal:
    lines = JournalLine.objects.filter(account__system_role=role)
    return sum((ln.debit - ln.credit for ln in lines), D("0"))


def test_a_retainage_invoice_holds_back_the_percentage_on_the_retainage_receivable_and_charges_vat_in_full(
    periods, finance
):
    contract, _, _ = _retainage_contract("1000.00", "2000.00")
    invoice = _issue(contract, finance)

    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (D("3000.00"), D("600.00"), D("3600.00"))
    assert invoice.retainage_total == D("300.00") and invoice.functional_retainage == D("300.00")
    assert sorted(invoice.lines.values_list("retainage", flat=True)) == [D("100.00"), D("200.00")]
    assert invoice.balance == D("3300.00")
    assert _gl(invoice.journal_entry) == {
        (SystemAccount.RECEIVABLE, D("3300.00"), D("0")),
        (SystemAccount.RETAINAGE_RECEIVABLE, D("300.00"), D("0")),
        (SystemAccount.TAX_PAYABLE, D("0"), D("600.00")),
        (SystemAccount.DEFERRED, D("0"), D("3000.00")),
    }
    assert ledger_reconciliation()["reconciled"]


def test_a_payment_settles_only_the_due_part_and_the_invoice_is_paid_without_the_retainage(periods, finance):
    contract, _, _ = _retainage_contract("1000.00")
    invoice = _issue(contract, finance)
    payment = payment_record(
        account_id=invoice.account_id,
        amount="1200.00",
        received_on=date(2026, 2, 10),
        by=finance,
        reference="x",
        auto_allocate=False,
    )
    with pytest.raises(ValidationFailed):
        payment_allocate(payment_id=payment.pk, invoice_id=invoice.pk, amount="1200.00", by=finance)

    payment_allocate(payment_id=payment.pk, invoice_id=invoice.pk, amount="1100.00", by=finance)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0
    assert invoice.retainage_held == D("100.00")
    assert _balance(SystemAccount.RETAINAGE_RECEIVABLE) == D("100.00")
    assert ledger_reconciliation()["reconciled"]


def test_the_release_invoice_moves_the_retainage_to_ar_without_vat_or_revenue(periods, finance):
    contract, line, _ = _retainage_contract("1000.00")
    first = _issue(contract, finance)
    accept_milestone(line, "500.00", on=date(2026, 2, 20))
    second = _issue(contract, finance, period_end=date(2026, 2, 28), on=date(2026, 3, 1))
    assert second.retainage_total == D("50.00")

    draft = retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 15))
    assert draft.retainage_release and draft.status == InvoiceStatus.DRAFT
    assert (draft.net_total, draft.tax_total, draft.gross_total) == (D("150.00"), D("0.00"), D("150.00"))
    assert set(draft.lines.values_list("net", flat=True)) == {D("100.00"), D("50.00")}
    assert contract_retainage_summary(contract_id=contract.pk)["pending"] == D("150.00")

    release = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 3, 16))

    assert _gl(release.journal_entry) == {
        (SystemAccount.RECEIVABLE, D("150.00"), D("0")),
        (SystemAccount.RETAINAGE_RECEIVABLE, D("0"), D("150.00")),
    }
    assert _balance(SystemAccount.RETAINAGE_RECEIVABLE) == 0
    assert release.balance == D("150.00")
    summary = contract_retainage_summary(contract_id=contract.pk)
    assert (summary["total"], summary["released"], summary["held"]) == (D("150.00"), D("150.00"), D("0.00"))
    assert retainage_held_by_account() == {}
    assert ledger_reconciliation()["reconciled"]
    assert {first.pk, second.pk} == set(RetainageRelease.objects.values_list("held_on_id", flat=True))


def test_retainage_is_released_once_and_a_second_release_finds_nothing(periods, finance):
    contract, _, _ = _retainage_contract("1000.00")
    held_on = _issue(contract, finance)
    retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 15))
    with pytest.raises(ConflictError) as refused:
        retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 15))
    assert refused.value.code == "nothing_to_release"
    release_line = RetainageRelease.objects.get().line
    with pytest.raises(IntegrityError), transaction.atomic():
        RetainageRelease.objects.create(line=release_line, held_on=held_on, amount=D("1.00"))


def test_discarding_the_release_draft_lets_the_retainage_be_released_again(periods, finance):
    contract, _, _ = _retainage_contract("1000.00")
    _issue(contract, finance)
    draft = retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 15))
    invoice_cancel(invoice_id=draft.pk, by=finance)
    again = retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 20))
    assert again.gross_total == D("100.00")


def test_a_credit_note_of_a_retainage_invoice_takes_back_its_retainage(periods, finance):
    contract, _, _ = _retainage_contract("1000.00", "2000.00")
    invoice = _issue(contract, finance)
    small = invoice.lines.get(net=D("1000.00"))

    note = credit_note_create(invoice_id=invoice.pk, by=finance, line_ids=[small.pk])
    assert note.retainage_total == D("100.00")
    note = invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 5))

    assert _gl(note.journal_entry) == {
        (SystemAccount.RECEIVABLE, D("0"), D("1100.00")),
        (SystemAccount.RETAINAGE_RECEIVABLE, D("0"), D("100.00")),
        (SystemAccount.TAX_PAYABLE, D("200.00"), D("0")),
        (SystemAccount.DEFERRED, D("1000.00"), D("0")),
    }
    invoice.refresh_from_db()
    assert invoice.retainage_held == D("200.00") and invoice.balance == D("2200.00")
    assert _balance(SystemAccount.RETAINAGE_RECEIVABLE) == D("200.00")
    assert ledger_reconciliation()["reconciled"]
    release = retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 15))
    assert release.gross_total == D("200.00")


def test_a_credit_note_after_the_release_credits_ar_only(periods, finance):
    contract, _, _ = _retainage_contract("1000.00")
    invoice = _issue(contract, finance)
    draft = retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 15))
    with pytest.raises(ConflictError) as pending:
        credit_note_create(invoice_id=invoice.pk, by=finance)
    assert pending.value.code == "retainage_release_pending"
    invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 3, 16))

    note = credit_note_create(invoice_id=invoice.pk, by=finance)
    assert note.retainage_total == 0
    note = invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 3, 17))
    assert (SystemAccount.RECEIVABLE, D("0"), D("1200.00")) in _gl(note.journal_entry)
    assert _balance(SystemAccount.RETAINAGE_RECEIVABLE) == 0
    assert ledger_reconciliation()["reconciled"]


def test_crediting_a_release_holds_the_retainage_again(periods, finance):
    contract, _, _ = _retainage_contract("1000.00")
    _issue(contract, finance)
    release = retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 15))
    release = invoice_issue(invoice_id=release.pk, by=finance, on=date(2026, 3, 16))
    with pytest.raises(ValidationFailed):
        credit_note_create(invoice_id=release.pk, by=finance, amount=D("10.00"))

    note = invoice_issue(invoice_id=credit_note_create(invoice_id=release.pk, by=finance).pk, by=finance)

    assert _gl(note.journal_entry) == {
        (SystemAccount.RETAINAGE_RECEIVABLE, D("100.00"), D("0")),
        (SystemAccount.RECEIVABLE, D("0"), D("100.00")),
    }
    assert _balance(SystemAccount.RETAINAGE_RECEIVABLE) == D("100.00")
    assert retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 4, 1)).gross_total == D(
        "100.00"
    )
