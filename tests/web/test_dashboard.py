"""Executive dashboard: series and KPIs against hand-built ledger, billing and time data; roles; bad ranges;
a constant query count at two data sizes."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.services import invoice_draft_for_contract, invoice_issue, payment_record
from ledger.models import AccountingPeriod
from ledger.services.periods import period_close
from projects.models import Contract
from psa.core.exceptions import ValidationFailed
from psa.web.dashboard import dashboard_range, executive_dashboard
from tests.billing.factories import (
    approved_entry,
    make_consultant,
    make_line,
    make_periods,
    milestone_contract,
    tm_contract,
)
from tests.ledger.factories import post, spec
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

START, END = date(2026, 1, 1), date(2026, 3, 31)
D = Decimal


def _build(finance, *, suffix=""):
    """Jan: revenue 1000 (unbilled), cost 400 paid in cash. Feb: revenue 500. Mar: invoice 1000 net + 20 % tax
    issued on 5 Mar for February, 600 paid on 10 Mar, 100 written off. Contract worth 6000 signed 5 Jan."""
    post(spec(("1150", "1000.00", ""), ("4000", "", "1000.00"), on=date(2026, 1, 20)), key=f"rev-jan{suffix}")
    post(spec(("5000", "400.00", ""), ("1000", "", "400.00"), on=date(2026, 1, 25)), key=f"cost-jan{suffix}")
    post(spec(("1150", "500.00", ""), ("4000", "", "500.00"), on=date(2026, 2, 20)), key=f"rev-feb{suffix}")
    contract, _line, _ms = milestone_contract("1000.00", on=date(2026, 2, 10))
    make_line(contract, "tm", price="5000.00", rate=D("100"))
    Contract.objects.filter(pk=contract.pk).update(signed_at=contract.signed_at.replace(year=2026, month=1, day=5))
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 2, 28))
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 3, 5))
    payment_record(by=finance, account_id=invoice.account_id, amount=D("600.00"), received_on=date(2026, 3, 10))
    post(spec(("6900", "100.00", ""), ("1100", "", "100.00"), on=date(2026, 3, 12)), key=f"wo-mar{suffix}")
    return contract


@pytest.fixture
def data(make_user):
    make_periods(start=date(2025, 12, 1), through=date(2026, 12, 31))
    finance = make_user("finance")
    _build(finance)
    # January closes: its figures now come from the stored balances. These hand-built books run no recognition,
    # so an administrator closes the months over the checklist (with the audited reason the rule asks for).
    admin = make_user("admin")
    for start in (date(2025, 12, 1), START):
        period = AccountingPeriod.objects.get(start=start)
        period_close(period_id=period.pk, by=admin, reason="done", override_reason="hand-built books, no recognition")
    return finance


def test_the_monthly_series_match_the_hand_computed_books(data):
    dash = executive_dashboard(start=START, end=END)
    s = dash.series
    assert dash.months == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert s["revenue"] == [D("1000.00"), D("500.00"), D("0.00")]
    assert s["cost"] == [D("400.00"), D("0.00"), D("0.00")]
    # project margin: none of these hand-built entries carries a project
    assert s["project_margin"] == [D("0.00"), D("0.00"), D("0.00")]
    assert s["billed"] == [D("0"), D("0"), D("1000.00")]
    assert s["collected"] == [D("0.00"), D("0.00"), D("600.00")]
    assert s["write_offs"] == [D("0.00"), D("0.00"), D("100.00")]
    assert s["ar"] == [D("0.00"), D("0.00"), D("500.00")]  # 1200 - 600 - 100
    assert s["unbilled"] == [D("1000.00"), D("1500.00"), D("1500.00")]  # the invoice went to deferred revenue
    # DSO in March: AR 500 over gross billed 1200 in Jan..Mar (90 days) = 37.5 days; nothing billed before
    assert s["dso"] == [None, None, D("37.5")]
    # backlog: 6000 signed in January; the GL revenue above is no contract's (no recognition ran): nothing off
    assert s["backlog"] == [D("6000.00"), D("6000.00"), D("6000.00")]


def test_the_kpis_match_the_hand_computed_values(data):
    _c, line = tm_contract()
    ada = make_consultant()
    approved_entry(line, ada, date(2026, 3, 20), "3", "100")  # 11 days old at 31 Mar
    approved_entry(line, ada, date(2026, 1, 15), "2", "100")  # 75 days old
    k = executive_dashboard(start=START, end=END).kpis
    # made outside a run: from the last day of service it bills (the milestone, 10 Feb) to 5 Mar
    assert k["invoice_cycle"] == {"average_days": D("23.0"), "invoices": 1}
    assert k["unbilled_age"]["buckets"] == {
        "0-30": D("300.00"), "31-60": D("0.00"), "61-90": D("200.00"), "90+": D("0.00")
    }  # fmt: skip
    assert k["write_off_rate"]["rate"] == D("8.3")  # 100 / 1200
    assert k["leakage"] == {
        "capped": D("0"), "written_off": D("100.00"), "aged_unbilled": D("200.00"), "total": D("300.00")
    }  # fmt: skip


def test_forecast_accuracy_compares_planned_and_actual_revenue_per_month(data):
    dash = executive_dashboard(start=START, end=END)
    # lines of 1000 + 5000 over 2026 (261 weekdays): January has 22 -> 6000 x 22 / 261 = 505.75
    assert dash.series["forecast_revenue"][0] == D("505.75")
    # actual 1000 against 505.75: |494.25| / 505.75 = 97.7 % off -> 2.3 %
    assert dash.kpis["forecast_accuracy"]["months"][0]["revenue"] == D("2.3")


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [("2026-03-01", "2026-01-31", "end"), ("2026-13-01", "", "start"), ("2020-01-01", "2026-01-31", "start")],
)
def test_impossible_ranges_are_refused_naming_the_field(start, end, field):
    with pytest.raises(ValidationFailed) as exc:
        dashboard_range(start=start, end=end, today=date(2026, 6, 1))
    assert field in exc.value.fields


def test_the_api_answers_400_on_a_reversed_range_and_the_page_shows_the_message(api_as, client_as):
    response = api_as("finance").get("/api/v1/dashboard/?start=2026-03-01&end=2026-01-31")
    assert response.status_code == 400
    assert "end" in response.json()["fields"]
    page = client_as("finance").get("/dashboard/?start=2026-03-01&end=2026-01-31")
    assert page.status_code == 400
    assert "The range ends before it starts." in page.content.decode()


def test_pms_and_sales_get_a_trimmed_dashboard_without_costs_and_margins(data, api_as):
    full = api_as("finance").get("/api/v1/dashboard/?start=2026-01-01&end=2026-03-31").json()
    assert full["series"]["project_margin"] == ["0.00", "0.00", "0.00"]
    pm = api_as("project_manager").get("/api/v1/dashboard/?start=2026-01-01&end=2026-03-31").json()
    assert "project_margin" not in pm["series"]
    assert "cost" not in pm["series"] and "write_off_rate" not in pm["kpis"]
    assert pm["series"]["backlog"] == ["6000.00", "6000.00", "6000.00"]
    sales = api_as("sales").get("/api/v1/dashboard/?start=2026-01-01&end=2026-03-31").json()
    assert set(sales["series"]) == {"backlog", "weighted_pipeline", "utilization", "billed"}
    assert api_as("consultant").get("/api/v1/dashboard/").status_code == 403


def test_the_page_renders_charts_without_inline_scripts(data, client_as):
    html = client_as("finance").get("/dashboard/?start=2026-01-01&end=2026-03-31").content.decode()
    assert 'data-chart="dash-money"' in html and 'type="application/json"' in html
    assert "<script>" not in html
    pm_html = client_as("project_manager").get("/dashboard/?start=2026-01-01&end=2026-03-31").content.decode()
    assert "margin" not in pm_html.lower() and "cost of services" not in pm_html.lower()


def test_the_dashboard_query_count_does_not_grow_with_data(data):
    _c, line = tm_contract()
    approved_entry(line, make_consultant(), date(2026, 2, 2), "4", "100")
    small, _ = count_queries(lambda: executive_dashboard(start=START, end=END))
    for i in range(4):
        _c, line = tm_contract()
        ada = make_consultant()
        for day in (3, 4, 5):
            approved_entry(line, ada, date(2026, 3, day), "4", "100")
        post(spec(("1150", "10.00", ""), ("4000", "", "10.00"), on=date(2026, 3, 2 + i)), key=f"more{i}")
    large, _ = count_queries(lambda: executive_dashboard(start=START, end=END))
    print(f"dashboard queries: {small} small, {large} large")
    assert large == small
