"""The cash forecast on a small firm, figure by figure against numbers worked out by hand, and what a scenario
changes (exactly the pipeline figures of the deal it touches), the missing rate named, snapshots and accuracy.

The firm, seen on Monday 2 March 2026 (no payment history yet, so every client's expected days late is 0):
- one open invoice: 1,000.00 net + 20 % GB VAT = 1,200.00 EUR, issued 1 Feb, due 3 Mar → received 3 Mar;
- a signed milestone of 5,000.00 EUR due 10 Apr, not billed, terms 30 → received 10 May;
- a T&M line at 100.00/h with 10 h/week staffed 2-31 Mar: 22 weekdays → 44 h → 4,400.00 billed 1 Apr, received
  1 May;
- an open deal in USD at 50 %: one fixed-fee line of 2,000.00 over 1 Apr-31 May, by calendar days 30:31 →
  983.61 (April) and 1,016.39 (May) → weighted 491.81 and 508.20 USD, billed 1 May and 1 Jun, received 31 May and
  1 Jul; at 0.92 EUR per USD (rate of 1 Mar): 452.47 and 467.54 EUR;
- a posted vendor bill of 100.00 + 20 % = 120.00 EUR, due 12 Mar;
- one employee, 40 h/week at a cost of 50.00/h: March and April have 22 weekdays each → 176 h → 8,800.00 on
  31 Mar and 30 Apr (May 21 weekdays → 8,400.00 on 31 May).
"""

from datetime import date
from decimal import Decimal

import pytest

from billing.choices import CashFlowKind
from billing.models import CashForecastLine
from billing.selectors.cash_forecast import Scenario, cash_forecast
from billing.selectors.cash_snapshots import snapshot_accuracy
from billing.services import payment_record
from billing.services.cash import cash_forecast_snapshot_save
from crm import services as crm_services
from crm.choices import BillingModel
from projects.models import Allocation, CostRate, Milestone
from psa.core.exceptions import PermissionDeniedError
from psa.core.models import ExchangeRate
from tests.billing.factories import issued_invoice, make_account, make_consultant, make_contract, make_line, tm_contract
from tests.billing.payables_factories import (
    cost_accounts,
    cost_line,
    gb_entity,
    make_vendor,
    managed_project,
    posted_bill,
)
from tests.crm.factories import ensure_default_stages
from tests.factories import UserFactory

D = Decimal
AS_OF = date(2026, 3, 2)
pytestmark = pytest.mark.django_db


@pytest.fixture
def firm(periods, finance):
    cost_accounts()
    gb_entity()
    ensure_default_stages()
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 3, 1), rate=D("0.92"))
    invoice = issued_invoice(finance, "1000.00", on=date(2026, 2, 1))
    assert (invoice.gross_total, invoice.due_date) == (D("1200.00"), date(2026, 3, 3))
    contract = make_contract()
    line = make_line(contract, "milestone", price="5000.00")
    Milestone.objects.create(
        project=contract.project, contract_line=line, name="Design", amount=D("5000.00"), due_date=date(2026, 4, 10)
    )
    tm, _ = tm_contract()
    Allocation.objects.create(
        project=tm.project,
        consultant=make_consultant(),
        kind="hard",
        hours_per_week=D("10.00"),
        start_date=date(2026, 3, 2),
        end_date=date(2026, 3, 31),
    )
    sales = UserFactory(roles=["sales"])
    deal = crm_services.opportunity_create(
        by=sales,
        account=make_account(currency="USD"),
        name="Analytics roll-out",
        expected_close_date=date(2026, 3, 20),
        probability=50,
        currency="USD",
        service_start=date(2026, 4, 1),
        service_end=date(2026, 5, 31),
        payment_terms_days=30,
        lines=[{"description": "Roll-out", "billing_model": BillingModel.FIXED_FEE, "price": D("2000.00")}],
    )
    project, _, _ = managed_project()
    posted_bill(finance, make_vendor(name="Alpha"), [cost_line(project, "100.00", tax_rate="20")])
    employee = make_consultant(first="Erin", last="Employee")
    CostRate.objects.create(consultant=employee, rate=D("50.00"), valid_from=date(2026, 1, 1))
    return {"invoice": invoice, "deal": deal}


def _row(table, kind, n):
    return table.converted.get(kind, [D("0")] * len(table.buckets))[:n]


def test_the_monthly_forecast_equals_the_hand_computed_one(firm):
    monthly = cash_forecast(as_of=AS_OF).monthly
    assert [start for start, _ in monthly.buckets[:5]] == [date(2026, m, 1) for m in (3, 4, 5, 6, 7)]
    z = D("0.00")
    assert _row(monthly, CashFlowKind.AR, 5) == [D("1200.00"), z, z, z, z]
    assert _row(monthly, CashFlowKind.SCHEDULED, 5) == [z, z, D("5000.00"), z, z]
    assert _row(monthly, CashFlowKind.TM, 5) == [z, z, D("4400.00"), z, z]
    assert _row(monthly, CashFlowKind.PIPELINE, 5) == [z, z, D("452.47"), z, D("467.54")]
    assert _row(monthly, CashFlowKind.PAYABLES, 5) == [D("120.00"), z, z, z, z]
    assert _row(monthly, CashFlowKind.PAYROLL, 3) == [D("8800.00"), D("8800.00"), D("8400.00")]
    assert monthly.cells["USD"][CashFlowKind.PIPELINE][2] == D("491.81")
    assert monthly.cells["USD"][CashFlowKind.PIPELINE][4] == D("508.20")
    # receipts - payments, March: 1,200.00 - 120.00 - 8,800.00
    assert monthly.net()[0] == D("-7720.00")
    assert "1 USD = 0.92 EUR (2026-03-01)" in monthly.rates_text


def test_the_weekly_forecast_puts_each_flow_in_its_week(firm):
    weekly = cash_forecast(as_of=AS_OF).weekly
    assert weekly.buckets[0] == (date(2026, 3, 2), date(2026, 3, 8)) and len(weekly.buckets) == 13
    assert weekly.converted[CashFlowKind.AR][0] == D("1200.00")  # 3 March
    assert weekly.converted[CashFlowKind.PAYABLES][1] == D("120.00")  # 12 March: the week of 9 March
    assert weekly.converted[CashFlowKind.PAYROLL][4] == D("8800.00")  # 31 March: the week of 30 March
    assert weekly.buckets[-1] == (date(2026, 5, 25), date(2026, 5, 31))
    assert weekly.converted[CashFlowKind.SCHEDULED][9] == D("5000.00")  # 10 May: the week of 4 May
    assert weekly.converted[CashFlowKind.TM][8] == D("4400.00")  # 1 May: the week of 27 April
    assert weekly.converted[CashFlowKind.PIPELINE][12] == D("452.47")  # 31 May: the last week
    assert sum(weekly.converted[CashFlowKind.PIPELINE]) == D("452.47")  # 1 July is past the 13 weeks
    assert sum(weekly.converted[CashFlowKind.PAYROLL]) == D("26000.00")  # 31 Mar, 30 Apr, 31 May: 8,800 + 8,800 + 8,400


def test_leaving_a_deal_out_changes_its_pipeline_figures_and_nothing_else(firm):
    base = cash_forecast(as_of=AS_OF)
    deal = firm["deal"]
    without = cash_forecast(as_of=AS_OF, scenario=Scenario(excluded=frozenset({deal.pk})))
    for table, other in ((base.monthly, without.monthly), (base.weekly, without.weekly)):
        for kind in CashFlowKind.values:
            if kind != CashFlowKind.PIPELINE:
                assert table.converted.get(kind) == other.converted.get(kind), kind
        assert not any(other.converted.get(CashFlowKind.PIPELINE, []))
    z = D("0")
    diff = [a - b for a, b in zip(base.monthly.net(), without.monthly.net(), strict=True)]
    assert diff == [z, z, D("452.47"), z, D("467.54"), z, z, z, z, z, z, z]


def test_changing_a_probability_reweights_only_that_deal(firm):
    deal = firm["deal"]
    certain = cash_forecast(as_of=AS_OF, scenario=Scenario(probability={deal.pk: 100})).monthly
    base = cash_forecast(as_of=AS_OF).monthly
    assert certain.cells["USD"][CashFlowKind.PIPELINE][2] == D("983.61")
    assert certain.cells["USD"][CashFlowKind.PIPELINE][4] == D("1016.39")
    assert certain.converted[CashFlowKind.AR] == base.converted[CashFlowKind.AR]
    assert certain.converted[CashFlowKind.PAYROLL] == base.converted[CashFlowKind.PAYROLL]


def test_moving_a_close_date_moves_the_deals_receipts_by_the_same_days(firm):
    deal = firm["deal"]
    later = cash_forecast(as_of=AS_OF, scenario=Scenario(close={deal.pk: date(2026, 4, 20)})).monthly
    # 31 days later: service 2 May - 1 Jul, days 30 (May), 30 (June), 1 (July) of 61: 983.61, 983.61, 32.78
    # (the last takes the rounding), x 50 % = 491.81, 491.81, 16.39; billed 1 Jun, 1 Jul, 1 Aug and received 30
    # days later: 1 Jul, 31 Jul (both July) and 31 Aug.
    usd = later.cells["USD"][CashFlowKind.PIPELINE]
    z = D("0")
    assert usd[:6] == [z, z, z, z, D("983.62"), D("16.39")]


def test_a_currency_without_a_rate_is_named_and_nothing_is_converted(firm):
    ExchangeRate.objects.all().delete()
    monthly = cash_forecast(as_of=AS_OF).monthly
    assert monthly.converted is None and monthly.missing == ("USD",)
    assert monthly.cells["EUR"][CashFlowKind.AR][0] == D("1200.00")


def test_receipts_follow_the_clients_payment_history(firm, finance):
    """Once the client has paid an invoice 10 days late, its next ones are expected later than their due date."""
    invoice = firm["invoice"]
    payment_record(
        by=finance, account_id=invoice.account_id, amount=invoice.balance, received_on=date(2026, 3, 13),
        allocations=[{"invoice_id": invoice.pk, "amount": invoice.balance}],
    )  # fmt: skip
    second = issued_invoice(finance, "500.00", account=invoice.account, on=date(2026, 2, 20))
    flows = [f for f in cash_forecast(as_of=date(2026, 3, 16)).flows if f.kind == CashFlowKind.AR]
    assert [f.label.split(" ·")[0] for f in flows] == [second.number]
    # one invoice 10 days late, shrunk by 3 pseudo-invoices to the firm's mean (also 10): 10 days late
    assert flows[0].on == date(2026, 3, 22) + (date(2026, 4, 1) - date(2026, 3, 22))


def test_a_snapshot_keeps_every_figure_and_compares_with_actual_cash(firm, finance):
    snapshot = cash_forecast_snapshot_save(as_of=AS_OF, by=finance, note="Board pack")
    march = CashForecastLine.objects.get(
        snapshot=snapshot, granularity="month", bucket_start=date(2026, 3, 1), kind=CashFlowKind.AR
    )
    assert (march.amount, march.functional, march.currency) == (D("1200.00"), D("1200.00"), "EUR")
    usd = CashForecastLine.objects.get(
        snapshot=snapshot, granularity="month", currency="USD", bucket_start=date(2026, 5, 1)
    )
    assert (usd.amount, usd.functional) == (D("491.81"), D("452.47"))
    invoice = firm["invoice"]
    payment_record(
        by=finance, account_id=invoice.account_id, amount=D("1000.00"), received_on=date(2026, 3, 20),
        allocations=[{"invoice_id": invoice.pk, "amount": D("1000.00")}],
    )  # fmt: skip
    rows = snapshot_accuracy(snapshot, granularity="month", today=date(2026, 4, 15))
    assert [(r.start, r.receipts_forecast, r.receipts_actual, r.complete) for r in rows] == [
        (date(2026, 3, 1), D("1200.00"), D("1000.00"), True),
        (date(2026, 4, 1), D("0"), D("0"), False),
    ]
    assert rows[0].receipts_error == D("-200.00") and rows[0].payments_forecast == D("120.00")


def test_only_finance_saves_a_snapshot(firm, make_user):
    with pytest.raises(PermissionDeniedError):
        cash_forecast_snapshot_save(as_of=AS_OF, by=make_user("sales"))
