"""Reports: trial balance, P&L and balance sheet agree, and read closed months from stored balances."""

from datetime import date
from decimal import Decimal

import pytest

from crm.models import Account as Client
from ledger.models import LedgerAccount
from ledger.selectors import balance_sheet, general_ledger, pnl, trial_balance
from ledger.services import period_reopen
from projects.models import Project
from tests.ledger.factories import balanced, close_month, post, spec
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(periods, finance):
    acme = Client.objects.create(name="Acme")
    globex = Client.objects.create(name="Globex")
    roll_out = Project.objects.create(code="ACME-1", name="Roll-out", account=acme)
    post(balanced("10000.00", debit="1000", credit="3000", on=date(2026, 1, 2)))
    post(spec(("1000", "3000.00", ""), ("4000", "", "3000.00", {"project_id": roll_out.pk}), on=date(2026, 1, 20)))
    post(spec(("1000", "1200.00", ""), ("4000", "", "1200.00", {"client_id": globex.pk}), on=date(2026, 2, 10)))
    post(balanced("800.00", debit="6000", credit="1000", on=date(2026, 2, 28)))
    post(balanced("250.00", debit="5100", credit="1000", on=date(2026, 3, 3)))
    return {"acme": acme, "globex": globex, "project": roll_out, "finance": finance, "periods": periods}


def closing(tb, code):
    return next(r.closing for r in tb.rows if r.account.code == code)


def test_the_trial_balance_nets_to_zero_at_any_date(books):
    tb = trial_balance(at=date(2026, 3, 31))
    assert tb.balanced and tb.debit == tb.credit
    assert closing(tb, "1000") == Decimal("13150.00")
    assert closing(tb, "4000") == Decimal("-4200.00")


def test_closed_months_read_from_stored_balances_give_the_same_figures(books):
    before = trial_balance(at=date(2026, 3, 31))
    before_feb = trial_balance(at=date(2026, 2, 15))
    close_month(period_id=books["periods"][0].pk, by=books["finance"], reason="x")
    close_month(period_id=books["periods"][1].pk, by=books["finance"], reason="x")
    after = trial_balance(at=date(2026, 3, 31))
    assert after.closed_through == books["periods"][1]
    assert [(r.account.code, r.closing) for r in after.rows] == [(r.account.code, r.closing) for r in before.rows]
    mid = trial_balance(at=date(2026, 2, 15))  # inside a closed month: January stored + February's lines
    assert [(r.account.code, r.closing) for r in mid.rows] == [(r.account.code, r.closing) for r in before_feb.rows]
    period_reopen(period_id=books["periods"][1].pk, by=books["finance"], reason="x")
    assert [r.closing for r in trial_balance(at=date(2026, 3, 31)).rows] == [r.closing for r in before.rows]


def test_a_period_trial_balance_has_opening_movement_and_closing(books):
    close_month(period_id=books["periods"][0].pk, by=books["finance"], reason="x")
    tb = trial_balance(period=books["periods"][1])
    cash = next(r for r in tb.rows if r.account.code == "1000")
    assert (cash.opening, cash.debit, cash.credit, cash.closing) == (
        Decimal("13000.00"),
        Decimal("1200.00"),
        Decimal("800.00"),
        Decimal("13400.00"),
    )
    assert tb.balanced


def test_pnl_by_month_client_and_project(books):
    close_month(period_id=books["periods"][0].pk, by=books["finance"], reason="x")
    by_month = pnl(start=date(2026, 1, 1), end=date(2026, 3, 31), by="period")
    assert by_month.columns == ["2026-01", "2026-02", "2026-03"]
    assert by_month.net == [Decimal("3000.00"), Decimal("400.00"), Decimal("-250.00")]
    by_client = pnl(start=date(2026, 1, 1), end=date(2026, 3, 31), by="client")
    assert by_client.columns == ["Acme", "Globex", "No client"]
    assert by_client.income_totals == [Decimal("3000.00"), Decimal("1200.00"), Decimal("0")]
    by_project = pnl(start=date(2026, 1, 1), end=date(2026, 3, 31), by="project")
    assert by_project.columns[0] == "ACME-1" and by_project.net[0] == Decimal("3000.00")
    assert by_month.net_total == by_client.net_total == by_project.net_total == Decimal("3150.00")


def test_trial_balance_pnl_and_balance_sheet_agree(books):
    close_month(period_id=books["periods"][0].pk, by=books["finance"], reason="x")
    at = date(2026, 3, 31)
    sheet = balance_sheet(at=at)
    income = pnl(start=date(2000, 1, 1), end=at)
    tb = trial_balance(at=at)
    assert sheet.balanced
    assert sheet.current_earnings == income.net_total == Decimal("3150.00")
    assert sheet.total_assets == sum(r.closing for r in tb.rows if r.account.type == "asset")
    assert tb.balanced


def test_the_general_ledger_pages_with_a_running_balance(books):
    first = general_ledger(account=LedgerAccount.objects.get(code="1000"), limit=2)
    assert [row.balance for row in first.lines] == [Decimal("10000.00"), Decimal("13000.00")]
    assert first.next_cursor
    second = general_ledger(account=first.account, after=first.next_cursor, limit=2)
    assert second.opening == Decimal("13000.00")
    assert [row.balance for row in second.lines] == [Decimal("14200.00"), Decimal("13400.00")]
    third = general_ledger(account=first.account, after=second.next_cursor, limit=2)
    assert [row.balance for row in third.lines] == [Decimal("13150.00")] and third.next_cursor is None


def test_report_queries_do_not_grow_with_lines(books):
    def run():
        trial_balance(at=date(2026, 3, 31))
        pnl(start=date(2026, 1, 1), end=date(2026, 3, 31), by="client")
        balance_sheet(at=date(2026, 3, 31))

    small, _ = count_queries(run)
    for i in range(30):
        post(balanced("1.00", on=date(2026, 3, 1 + i % 28)))
    large, _ = count_queries(run)
    assert large == small


def test_cumulative_groups_by_lookups_and_filters_for_higher_layers(books):
    from django.db.models import Q

    from ledger.selectors import cumulative

    close_month(period_id=books["periods"][0].pk, by=books["finance"], reason="x")
    totals = cumulative(at=date(2026, 3, 31), group=("account__type",), filters=Q(project_id=books["project"].pk))
    assert totals == {("income",): [Decimal("0.00"), Decimal("3000.00")]}
    assert cumulative(at=date(2026, 3, 31), group=("account",), account_id=LedgerAccount.objects.get(code="4000").pk)
