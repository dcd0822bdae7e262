"""Periods: created ahead, closed in order with stored balances, reopened in reverse order; both audited."""

from datetime import date
from decimal import Decimal

import pytest

from ledger.choices import PeriodStatus
from ledger.models import AccountBalance, AccountingPeriod
from ledger.services import period_close, period_reopen, periods_ensure
from psa.core.exceptions import InvalidTransition, PeriodClosed, ValidationFailed
from psa.core.models import AuditEvent
from tests.ledger.factories import balanced, close_month, post

pytestmark = pytest.mark.django_db


def test_periods_are_created_ahead_contiguously_and_only_once(db):
    created = periods_ensure(start=date(2026, 11, 20), through=date(2027, 2, 3))
    assert [p.label for p in created] == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert AccountingPeriod.objects.get(start=date(2027, 2, 1)).end == date(2027, 2, 28)
    assert periods_ensure(through=date(2027, 2, 3)) == []
    assert [p.label for p in periods_ensure(through=date(2027, 4, 1))] == ["2027-03", "2027-04"]


def test_closing_writes_audited_stored_balances(periods, finance):
    post(balanced("100.00", on=date(2026, 1, 5)))
    post(balanced("40.00", debit="6000", credit="1000", on=date(2026, 1, 6)))
    period = close_month(period_id=periods[0].pk, by=finance, reason="Bank reconciled")
    assert period.status == PeriodStatus.CLOSED and period.closed_by == finance
    cash = AccountBalance.objects.get(period=period, account__code="1000")
    assert (cash.debit, cash.credit, cash.cum_debit, cash.cum_credit) == (
        Decimal("100.00"),
        Decimal("40.00"),
        Decimal("100.00"),
        Decimal("40.00"),
    )
    event = AuditEvent.objects.get(action="ledger.period_close")
    assert event.actor == finance and "Bank reconciled" in event.summary


def test_stored_balances_accumulate_across_closed_months(periods, finance):
    post(balanced("100.00", on=date(2026, 1, 5)))
    close_month(period_id=periods[0].pk, by=finance, reason="Jan")
    post(balanced("5.00", on=date(2026, 2, 5)))
    close_month(period_id=periods[1].pk, by=finance, reason="Feb")
    feb_cash = AccountBalance.objects.get(period=periods[1], account__code="1000")
    assert (feb_cash.debit, feb_cash.cum_debit) == (Decimal("5.00"), Decimal("105.00"))


def test_months_close_in_order_and_reopen_in_reverse(periods, finance):
    with pytest.raises(InvalidTransition, match="Close 2026-01 first"):
        period_close(period_id=periods[1].pk, by=finance, reason="x")
    close_month(period_id=periods[0].pk, by=finance, reason="x")
    close_month(period_id=periods[1].pk, by=finance, reason="x")
    with pytest.raises(InvalidTransition, match="Reopen 2026-02 first"):
        period_reopen(period_id=periods[0].pk, by=finance, reason="x")
    with pytest.raises(InvalidTransition):
        period_close(period_id=periods[1].pk, by=finance, reason="again")


def test_reopening_removes_the_stored_balances_and_accepts_postings_again(periods, finance):
    post(balanced("100.00", on=date(2026, 1, 5)))
    close_month(period_id=periods[0].pk, by=finance, reason="Jan")
    with pytest.raises(PeriodClosed):
        post(balanced(on=date(2026, 1, 7)), by=finance)
    period_reopen(period_id=periods[0].pk, by=finance, reason="Late supplier invoice")
    assert not AccountBalance.objects.exists()
    assert post(balanced(on=date(2026, 1, 7)), by=finance).period == periods[0]
    assert AuditEvent.objects.get(action="ledger.period_reopen").summary.endswith("Late supplier invoice")


def test_close_and_reopen_need_a_reason(periods, finance):
    with pytest.raises(ValidationFailed) as exc:
        period_close(period_id=periods[0].pk, by=finance, reason="  ")
    assert "reason" in exc.value.fields


def test_no_month_can_be_added_before_a_closed_one(periods, finance):
    close_month(period_id=periods[0].pk, by=finance, reason="x")
    with pytest.raises(ValidationFailed, match="closed months must come first"):
        periods_ensure(start=date(2025, 12, 1), through=date(2026, 1, 1))
