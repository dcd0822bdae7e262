"""Revenue reports against hand-computed figures: revenue by method, project margin reconciling to the P&L by
project, backlog by month and the forecast's scheduled revenue."""

from datetime import date, datetime

import pytest
from django.utils import timezone

from ledger.selectors.margin import margin_report
from ledger.selectors.revenue import backlog, revenue_by, revenue_forecast
from ledger.services.revenue import recognition_run
from projects.models import Milestone
from tests.billing.factories import accept_milestone, make_contract, make_line
from tests.ledger.revenue_factories import D, approved_expense, approved_time, books, period, zero_tax_account

pytestmark = pytest.mark.django_db
JAN = (date(2026, 1, 1), date(2026, 1, 31))


@pytest.fixture
def january(make_user):
    """T&M 2 h x 150 (cost 60) + an 80.00 expense re-billed at cost; a 1,000 milestone line, 400 accepted;
    signed on 5 January; recognised for January."""
    books()
    finance = make_user("finance")
    signed = timezone.make_aware(datetime(2026, 1, 5, 9, 0))
    contract = make_contract(zero_tax_account(name="Contoso"), signed_at=signed)
    tm = make_line(contract, "tm", price="0.00")
    ms = make_line(contract, "milestone", price="1000.00")
    approved_time(contract.project, tm, date(2026, 1, 12), "2.00", rate="150", cost="60")
    approved_expense(contract.project, tm, date(2026, 1, 13), "80.00")
    accept_milestone(ms, "400.00", on=date(2026, 1, 20))
    Milestone.objects.create(
        project=contract.project, contract_line=ms, name="Go-live", amount=D("600.00"), due_date=date(2026, 3, 10)
    )
    recognition_run(period_id=period(date(2026, 1, 1)).pk, by=finance)
    return contract


def test_revenue_by_method_and_by_month(january):
    by_method = revenue_by(start=JAN[0], end=JAN[1], by="method")
    assert {r["key"]: r["amount"] for r in by_method.rows} == {"as_delivered": D("380.00"), "milestone": D("400.00")}
    assert by_method.total == by_method.gl_total == D("780.00") and by_method.reconciles
    by_month = revenue_by(start=date(2026, 1, 1), end=date(2026, 3, 31), by="month")
    assert [(r["label"], r["amount"]) for r in by_month.rows] == [("2026-01", D("780.00"))]


def test_project_margin_is_gl_revenue_less_gl_cost_and_flags_cost_not_yet_posted(january):
    report = margin_report(start=JAN[0], end=JAN[1])
    (row,) = report.rows
    # no cost run has posted January's cost: the GL holds revenue only, and the 2 h x 60 + 80.00 expense the
    # approvals stand for show as cost not yet posted (never as margin)
    assert (row.revenue, row.cost, row.margin, row.margin_pct) == (D("780.00"), D("0.00"), D("780.00"), D("100.0"))
    assert row.unposted == D("200.00") and row.hours == D("2.00") and row.effective_rate == D("390.0000")
    assert report.reconciles and report.pnl_revenue == D("780.00")


def test_backlog_is_what_each_signed_line_has_left_at_each_month_end(january):
    rows = backlog(start=date(2025, 12, 1), end=date(2026, 2, 28))
    # the milestone line has 600 of its 1000 left; the T&M line has no price, so its 380 delivered takes
    # nothing off the milestone line's backlog (a line counts max(0, price - recognised))
    assert [(r["contracted"], r["recognised"], r["backlog"]) for r in rows] == [
        (D("0.00"), D("0.00"), D("0.00")),  # not signed yet
        (D("1000.00"), D("780.00"), D("600.00")),
        (D("1000.00"), D("780.00"), D("600.00")),
    ]


def test_the_forecast_adds_scheduled_revenue_to_recognised(january):
    sub = make_contract(zero_tax_account(), start=date(2026, 1, 1), end=date(2026, 4, 30))
    make_line(sub, "subscription", price="1000.00")
    recognition_run(period_id=period(date(2026, 1, 1)).pk)
    report = revenue_forecast(start=date(2026, 1, 1), end=date(2026, 4, 30), today=date(2026, 1, 20))
    assert report.recognised == [D("1030.00"), D("0.00"), D("0.00"), D("0.00")]  # 780 + 250
    assert report.scheduled == [D("0.00"), D("250.00"), D("850.00"), D("250.00")]  # + the 600 milestone in March
    assert report.totals[2] == D("850.00")


def test_the_forecast_chart_carries_exact_decimal_strings(january, client_as):
    """Chart data goes through json_script as exact decimal strings (Chart.js parses them), never floats."""
    import json
    import re

    page = client_as("finance").get("/ledger/revenue/reports/forecast/?start=2026-01-01&end=2026-03-31")
    assert page.status_code == 200
    raw = re.search(r'<script id="forecast-chart" type="application/json">(.*?)</script>', page.content.decode(), re.S)
    datasets = {d["label"]: d["data"] for d in json.loads(raw.group(1))["data"]["datasets"]}
    assert datasets["Recognised (EUR)"][0] == "780.00"
