"""Each KPI is defined once (psa/core/kpis.py), computed by one function, shown with its formula, and right on a
hand-built firm where the answer is known; the demo's figures are ones a finance user would trust."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.models import Opportunity
from ledger.selectors.margin import margin_report
from ledger.selectors.revenue import backlog
from ledger.services.revenue import recognition_run
from projects.models import Contract
from psa.core.kpis import KPIS
from psa.web.dashboard import executive_dashboard
from tests.billing.factories import make_contract, make_line
from tests.crm.factories import make_deal
from tests.ledger.factories import post, spec
from tests.ledger.revenue_factories import approved_time, books, period, zero_tax_account

pytestmark = pytest.mark.django_db

D = Decimal
START, END = date(2026, 1, 1), date(2026, 3, 31)


def _signed(contract: Contract, on: date) -> None:
    """The contract signed, and its deal won, on `on`."""
    at = timezone.make_aware(datetime(on.year, on.month, on.day, 12, 0))
    deal = make_deal(account=contract.account, ready=False)
    Opportunity.objects.filter(pk=deal.pk).update(status="won", closed_at=at)
    Contract.objects.filter(pk=contract.pk).update(signed_at=at, opportunity=deal)


@pytest.fixture
def firm(make_user):
    """Contract A (T&M, 6000) signed 5 Jan: 10 h in Jan, 5 h in Feb at 100 (cost 60). Contract B (T&M, 4000)
    signed 10 Mar, but 3 h were worked and recognised in Feb, before it was signed. A cash sale of 2000 in Jan
    with no contract, and 400 of cost of services in the GL in Jan."""
    books()
    finance = make_user("finance")
    a = make_contract(zero_tax_account(), start=date(2026, 1, 1), end=date(2026, 12, 31))
    a_line = make_line(a, "tm", price="6000.00", rate=D("100"))
    b = make_contract(zero_tax_account(), start=date(2026, 2, 1), end=date(2026, 12, 31))
    b_line = make_line(b, "tm", price="4000.00", rate=D("100"))
    _signed(a, date(2026, 1, 5))
    _signed(b, date(2026, 3, 10))
    approved_time(a.project, a_line, date(2026, 1, 15), "10", rate="100", cost="60")
    approved_time(a.project, a_line, date(2026, 2, 12), "5", rate="100", cost="60")
    approved_time(b.project, b_line, date(2026, 2, 20), "3", rate="100", cost="60")
    for month in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
        recognition_run(period_id=period(month).pk, by=finance)
    post(spec(("1000", "2000.00", ""), ("4000", "", "2000.00"), on=date(2026, 1, 18)), key="cash-sale")
    post(spec(("5000", "400.00", ""), ("1000", "", "400.00"), on=date(2026, 1, 25)), key="cost-jan")
    return finance


def test_backlog_is_what_signed_contracts_still_have_to_deliver(firm):
    # Jan: A 6000 - 1000. Feb: A 6000 - 1500 (B is not signed: neither its value nor its revenue count).
    # Mar: A 4500 + B 4000 - 300. The cash sale is revenue of no contract and takes nothing off.
    s = executive_dashboard(start=START, end=END).series
    assert s["backlog"] == [D("5000.00"), D("4500.00"), D("8200.00")]


def test_the_backlog_report_and_the_dashboard_share_one_definition(firm):
    rows = backlog(start=START, end=END)
    assert [r["backlog"] for r in rows] == executive_dashboard(start=START, end=END).series["backlog"]
    assert [r["contracted"] for r in rows] == [D("6000.00"), D("6000.00"), D("10000.00")]


def test_project_margin_is_one_figure_the_margin_report_shares(firm):
    s = executive_dashboard(start=START, end=END).series
    assert "gl_gross_margin" not in s and "delivery_margin" not in s, "one margin, never two"
    # project revenue (1000; 500 + 300) less GL project cost (none: the 400 of cost of services has no project,
    # and no cost run has posted the approved time's cost); the cash sale has no project either
    assert s["project_margin"] == [D("1000.00"), D("800.00"), D("0.00")]
    # the same definition as the margin report over the same dates
    assert sum(s["project_margin"], D(0)) == margin_report(start=START, end=END).totals.margin


def test_deal_close_to_first_approved_hour_counts_work_started_before_the_close(firm):
    k = executive_dashboard(start=START, end=END).kpis["kickoff"]
    # A: 5 Jan -> 15 Jan = 10 days; B: 10 Mar -> 20 Feb = -18 days (work started before the deal closed)
    assert k == {"average_days": D("-4.0"), "deals": 2, "waiting": 0, "started_before_close": 1}


def test_every_figure_on_the_dashboard_shows_its_formula(firm, client_as):
    html = client_as("finance").get("/dashboard/?start=2026-01-01&end=2026-03-31").content.decode()
    for key in ("backlog", "project_margin", "dso", "kickoff", "invoice_cycle", "leakage"):
        assert KPIS[key].label in html
        assert KPIS[key].formula in html, f"{key}'s formula is not on the page"
    assert 'data-testid="kpi-definitions"' in html


def test_the_margin_report_says_which_margin_it_is(firm, client_as):
    html = client_as("finance").get("/ledger/revenue/reports/margin/?start=2026-01-01&end=2026-03-31").content.decode()
    assert KPIS["project_margin"].label in html and KPIS["project_margin"].formula in html
    assert "Delivery margin" not in html and "GL gross margin" not in html


def test_the_month_end_page_says_what_each_figure_means(firm, client_as):
    html = client_as("finance").get(f"/ledger/month-end/{period(date(2026, 2, 1)).pk}/").content.decode()
    assert 'data-testid="kpi-definitions"' in html
    for key in ("revenue", "unbilled", "backlog", "project_margin"):
        assert KPIS[key].formula in html


@pytest.mark.slow  # seeds the whole demo firm
def test_the_demo_firm_shows_no_negative_backlog_and_no_work_before_its_deals_closed(make_user):
    call_command("seed_demo", "--quiet")
    today = timezone.localdate()
    dash = executive_dashboard(start=date(today.year - 1, today.month, 1), end=today)
    assert all(v >= 0 for v in dash.series["backlog"]), dash.series["backlog"]
    assert dash.series["backlog"][-1] > 0
    kickoff = dash.kpis["kickoff"]
    assert kickoff["deals"] > 0 and kickoff["started_before_close"] == 0
    assert kickoff["average_days"] >= 0


def test_the_project_page_shows_the_project_margin_to_finance(firm, client_as):
    project = Contract.objects.get(lines__price=D("6000.00")).project
    client = client_as("finance")
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert 'data-testid="margin-slot"' in page
    panel = client.get(f"/ledger/revenue/projects/{project.pk}/margin/").content.decode()
    # revenue 1500 recognised on the project; no GL cost on it (no cost run has posted its 15 h)
    assert KPIS["project_margin"].label in panel
    assert 'data-testid="project-margin">1,500.00 <span class="small text-body-secondary">100.0%' in panel
    assert "Delivery margin" not in panel and "GL gross margin" not in panel


def test_the_margins_panel_is_refused_to_roles_that_may_not_see_costs(firm, client_as):
    project = Contract.objects.get(lines__price=D("6000.00")).project
    pm = client_as("project_manager")
    assert pm.get(f"/ledger/revenue/projects/{project.pk}/margin/").status_code == 403
    assert 'data-testid="margin-slot"' not in pm.get(f"/projects/{project.pk}/").content.decode()
