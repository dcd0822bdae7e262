"""The one contract-position rule (ledger.services.contract_position): how a posting splits between unbilled
receivable and deferred revenue, the price cuts billing tells the ledger about, and the month-end checks supplied
from above instead of registered at start-up."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.services import credit_note_create, invoice_issue
from ledger.choices import SystemAccount
from ledger.models import PriceReduction
from ledger.selectors.close import Check, CheckResult, close_blockers, close_checklist
from ledger.services.contract_position import (
    ContractPosition,
    contract_position_split,
    contract_positions,
    position_split,
)
from ledger.services.price_reductions import price_reduction_record
from psa.core.exceptions import IdempotencyConflict
from tests.billing.factories import accept_milestone, make_contract, make_line
from tests.ledger.revenue_factories import D, books, invoice, period, zero_tax_account

UNBILLED, DEFERRED = SystemAccount.UNBILLED, SystemAccount.DEFERRED
cents = st.decimals(min_value=D("0.00"), max_value=D("100000.00"), places=2)


def _parts(parts) -> list[tuple[str, str, bool]]:
    return [(p.role.value, str(p.amount), p.debit) for p in parts]


# --- the split ------------------------------------------------------------------------------------------------


def test_revenue_first_relieves_deferred_revenue_and_the_rest_is_unbilled_receivable():
    parts = position_split(amount=D("100.00"), position=ContractPosition(unbilled=D("5.00"), deferred=D("30.00")))
    assert _parts(parts) == [("deferred", "30.00", True), ("unbilled", "70.00", True)]


def test_an_invoice_first_relieves_unbilled_receivable_and_the_rest_is_deferred_revenue():
    parts = position_split(amount=D("-100.00"), position=ContractPosition(unbilled=D("40.00"), deferred=D("9.00")))
    assert _parts(parts) == [("unbilled", "40.00", False), ("deferred", "60.00", False)]


def test_a_posting_that_the_position_covers_has_one_line_and_zero_has_none():
    assert _parts(position_split(amount=D("-10.00"), position=ContractPosition(unbilled=D("40.00")))) == [
        ("unbilled", "10.00", False)
    ]
    assert position_split(amount=D("0.00"), position=ContractPosition(unbilled=D("1.00"))) == []


@given(amount=cents, unbilled=cents, deferred=cents, debit=st.booleans())
def test_the_parts_always_sum_to_the_amount_on_one_side(amount, unbilled, deferred, debit):
    signed = amount if debit else -amount
    parts = position_split(amount=signed, position=ContractPosition(unbilled=unbilled, deferred=deferred))
    assert sum((p.amount for p in parts), D("0.00")) == amount
    assert all(p.amount > 0 and p.debit == debit for p in parts)
    relieving = DEFERRED if debit else UNBILLED
    relieved = sum((p.amount for p in parts if p.role == relieving), D("0.00"))
    assert relieved == min(amount, deferred if debit else unbilled)


# --- the position read from the books -------------------------------------------------------------------------


@pytest.fixture
def finance(make_user):
    books()
    return make_user("finance")


@pytest.mark.django_db
def test_the_position_never_relieves_more_than_the_books_hold_at_the_date_or_today(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "milestone", price="1000.00")
    accept_milestone(line, "1000.00", on=date(2026, 1, 10))
    invoice(contract, date(2026, 1, 31), date(2026, 2, 10), finance)  # Cr deferred 1000.00, dated 10 February
    project = contract.project.pk

    def sides(on):
        p = contract_positions(project_ids=[project], on=on)[project]
        return p.unbilled, p.deferred, p.booked(UNBILLED)[1], p.booked(DEFERRED)[1]

    assert sides(date(2026, 1, 31)) == (0, 0, 0, 0)
    assert sides(date(2026, 2, 28)) == (0, D("1000.00"), 0, D("1000.00"))
    (part,) = contract_position_split(project_id=project, on=date(2026, 3, 1), amount=D("400.00"))
    assert (part.role, part.amount, part.debit) == (DEFERRED, D("400.00"), True)


@pytest.mark.django_db
def test_without_a_project_the_whole_amount_takes_the_non_relieving_side():
    (part,) = contract_position_split(project_id=None, on=date(2026, 1, 1), amount=D("-50.00"))
    assert (part.role, part.amount) == (DEFERRED, D("50.00"))


# --- price cuts: billing tells the ledger -----------------------------------------------------------------------


@pytest.mark.django_db
def test_issuing_a_price_cutting_credit_note_tells_the_ledger_once(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "milestone", price="1000.00")
    accept_milestone(line, "1000.00", on=date(2026, 1, 10))
    issued = invoice(contract, date(2026, 1, 31), date(2026, 1, 20), finance)
    period(date(2026, 2, 1))

    note = credit_note_create(invoice_id=issued.pk, by=finance, amount=D("150.00"), reason="Discount agreed")
    invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 3))

    cut = PriceReduction.objects.get()
    assert (cut.project_id, cut.on, cut.amount, cut.source) == (
        contract.project.pk,
        date(2026, 2, 3),
        D("150.00"),
        f"invoice:{note.pk}",
    )
    again = price_reduction_record(project_id=cut.project_id, on=cut.on, amount=cut.amount, source=cut.source)
    assert again.pk == cut.pk and PriceReduction.objects.count() == 1
    with pytest.raises(IdempotencyConflict):
        price_reduction_record(project_id=cut.project_id, on=cut.on, amount=D("1.00"), source=cut.source)


@pytest.mark.django_db
def test_a_credit_note_that_releases_lines_is_not_a_price_cut(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "milestone", price="1000.00")
    accept_milestone(line, "1000.00", on=date(2026, 1, 10))
    issued = invoice(contract, date(2026, 1, 31), date(2026, 1, 20), finance)
    period(date(2026, 2, 1))

    note = credit_note_create(invoice_id=issued.pk, by=finance, line_ids=[issued.lines.first().pk])
    invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 3))

    assert not PriceReduction.objects.exists()


# --- the month-end checks come from above, not from a registry ------------------------------------------------


@pytest.mark.django_db
def test_the_checklist_shows_the_checks_the_composition_names_and_those_a_caller_passes(finance, settings):
    january = period(date(2026, 1, 1))
    keys = [row.key for row in close_checklist(january)]
    assert keys == [
        "unapproved_time", "unbilled_time", "draft_invoices", "labour_cost", "recognition", "fx_revaluation",
        "unallocated_payments", "vendor_bills_waiting", "ap_control",
    ]  # fmt: skip

    extra = Check(key="custom", label="Custom", order=45, check=lambda p: CheckResult(count=2))
    settings.PSA_CLOSE_CHECKS = []
    assert [row.key for row in close_checklist(january, extra_checks=[extra])] == [
        "unapproved_time",
        "labour_cost",
        "recognition",
        "custom",
        "fx_revaluation",
    ]
    assert [row.key for row in close_blockers(january, extra_checks=[extra])] == ["recognition"]
