"""One project margin (DESIGN.md invariant 13; ledger.selectors.margin): GL revenue - GL project cost on the
project's dimension, the same to the cent on the margin report, the project page, the account page, the dashboard
and the month-end figures; reconciled to the P&L by project; intercompany eliminated in the group view and kept in
one entity's books.

The hand-computed case, March 2026, all in EUR: the DE project ACME-DE earns 3,000.00 of services revenue (DE's
books). A UK consultant works 16 h on it at a cost rate of 60.00: the cost run posts 960.00 of labour cost in
UK's books on the project; the intercompany recharge UK -> DE at cost + 10 % posts 1,056.00 (UK: intercompany
revenue, no project; DE: cost of services on the project). A vendor bill in DE puts 200.00 of re-billable cost on
the project.
- group view: revenue 3,000.00, cost 960.00 + 200.00 = 1,160.00 (the recharge eliminated), margin 1,840.00, 61.3 %
- DE's books: cost 1,056.00 + 200.00 = 1,256.00, margin 1,744.00; UK's books: cost 960.00, margin -960.00
- 16 approved hours: effective rate 3,000.00 / 16 = 187.5000
"""

from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from django.test import override_settings

from crm.choices import ServiceType
from ledger.selectors.margin import margin_report, project_margin, project_margin_by_month, realised_margins
from ledger.selectors.revenue import month_figures
from ledger.services.intercompany import recharge_run, transfer_rate_create
from ledger.services.posting import EntrySpec, LineSpec, entry_post
from projects.models import Project, ProjectTemplate
from psa.core.kpis import KPIS
from psa.web.dashboard import executive_dashboard
from tests.crm.factories import make_deal
from tests.ledger.intercompany_factories import approved, three_entities
from tests.querycount import count_queries

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("functional_eur")]

D = Decimal
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
_n = count(1)


@pytest.fixture
def functional_eur():
    with override_settings(PSA_FUNCTIONAL_CURRENCY="EUR"):
        yield


def _post(entity, on, source, *lines):
    entry_post(
        spec=EntrySpec(date=on, memo=source, source=source, entity_id=entity.pk, lines=tuple(lines)),
        key=f"{source}:{next(_n)}",
    )


def revenue(entity, project, amount: str, on=date(2026, 3, 20)):
    dims = {"project_id": project.pk, "client_id": project.account_id}
    _post(entity, on, f"test-revenue:{project.pk}", LineSpec("1100", debit=D(amount)),
          LineSpec("4000", credit=D(amount), **dims))  # fmt: skip


def labour_cost(entity, project, amount: str, on=date(2026, 3, 31)):
    """What the month-end cost run posts (ledger.services.cost_posting): Dr cost of services on the project."""
    dims = {"project_id": project.pk, "client_id": project.account_id}
    _post(entity, on, f"labour-cost:2026-03:{entity.code}:{project.pk}", LineSpec("5000", debit=D(amount), **dims),
          LineSpec("5150", credit=D(amount)))  # fmt: skip


def vendor_bill(entity, project, amount: str, on=date(2026, 3, 25)):
    dims = {"project_id": project.pk, "client_id": project.account_id}
    _post(entity, on, f"vendor-bill:{next(_n)}", LineSpec("5050", debit=D(amount), **dims),
          LineSpec("2000", credit=D(amount)))  # fmt: skip


@pytest.fixture
def firm(periods, finance):
    firm = three_entities()
    approved(firm.uk_consultant, firm.project, date(2026, 3, 2), "8")
    approved(firm.uk_consultant, firm.project, date(2026, 3, 3), "8")
    transfer_rate_create(
        by=finance, supplier_id=firm.uk.pk, receiver_id=firm.de.pk, markup_percent="10", valid_from=date(2026, 1, 1)
    )
    revenue(firm.de, firm.project, "3000.00")
    labour_cost(firm.uk, firm.project, "960.00")
    vendor_bill(firm.de, firm.project, "200.00")
    recharge_run(month=MARCH[0])
    return firm


def test_the_margin_is_gl_revenue_less_gl_project_cost_with_intercompany_eliminated(firm):
    report = margin_report(start=MARCH[0], end=MARCH[1])
    (row,) = report.rows
    assert (row.revenue, row.cost, row.margin, row.margin_pct) == (D("3000.00"), D("1160.00"), D("1840.00"), D("61.3"))
    assert row.hours == D("16.00") and row.effective_rate == D("187.5000")
    assert row.unposted == D("0.00")  # the cost run posted the 16 h x 60.00 the approvals stand for


def test_one_entitys_books_keep_the_intercompany_recharge(firm):
    de = margin_report(start=MARCH[0], end=MARCH[1], entity_id=firm.de.pk)
    assert (de.totals.revenue, de.totals.cost, de.totals.margin) == (D("3000.00"), D("1256.00"), D("1744.00"))
    uk = margin_report(start=MARCH[0], end=MARCH[1], entity_id=firm.uk.pk)
    assert (uk.totals.revenue, uk.totals.cost, uk.totals.margin) == (D("0.00"), D("960.00"), D("-960.00"))


def test_intercompany_revenue_on_a_project_is_eliminated_in_the_group_view_only(firm):
    dims = {"project_id": firm.project.pk, "client_id": firm.client.pk}
    _post(firm.uk, date(2026, 3, 31), "manual", LineSpec("1300", debit=D("50.00")),
          LineSpec("4200", credit=D("50.00"), **dims))  # fmt: skip
    assert margin_report(start=MARCH[0], end=MARCH[1]).totals.revenue == D("3000.00")
    assert margin_report(start=MARCH[0], end=MARCH[1], entity_id=firm.uk.pk).totals.revenue == D("50.00")


@pytest.mark.parametrize("entity", [None, "de", "uk"])
def test_the_report_reconciles_to_the_pnl_by_project(firm, entity):
    entity_id = getattr(firm, entity).pk if entity else None
    report = margin_report(start=MARCH[0], end=MARCH[1], entity_id=entity_id)
    assert report.reconciles
    if entity is None:
        # the P&L sums every entity's books: the recharge's cost is in it, and the report takes it out
        assert (report.pnl_revenue, report.pnl_cost) == (D("3000.00"), D("2216.00"))
        assert (report.eliminated_revenue, report.eliminated_cost) == (D("0.00"), D("1056.00"))


def test_a_line_the_report_missed_would_break_the_reconciliation(firm):
    report = margin_report(start=MARCH[0], end=MARCH[1])
    report.totals.cost -= D("0.01")
    assert not report.reconciles


def test_approved_cost_the_cost_run_has_not_posted_shows_as_not_yet_posted(firm):
    approved(firm.uk_consultant, firm.project, date(2026, 3, 4), "2", cost="55.50")
    report = margin_report(start=MARCH[0], end=MARCH[1])
    assert report.rows[0].unposted == report.unposted == D("111.00")
    assert report.rows[0].margin == D("1840.00")  # not part of the margin


def test_the_same_margin_on_every_page_to_the_cent(firm, client_as):
    finance = client_as("finance")
    expected = D("1840.00")
    assert margin_report(start=MARCH[0], end=MARCH[1]).totals.margin == expected
    assert project_margin(project_id=firm.project.pk, start=MARCH[0], end=MARCH[1]).margin == expected
    assert executive_dashboard(start=MARCH[0], end=MARCH[1]).series["project_margin"] == [expected]
    assert project_margin_by_month(start=MARCH[0], end=MARCH[1]) == {MARCH[0]: expected}
    assert month_figures(start=MARCH[0], end=MARCH[1]).project_margin == expected
    report = finance.get("/ledger/revenue/reports/margin/?start=2026-03-01&end=2026-03-31").content.decode()
    assert 'fw-semibold">1,840.00</td>' in report
    panel = finance.get(f"/ledger/revenue/projects/{firm.project.pk}/margin/").content.decode()
    assert 'data-testid="project-margin">1,840.00 <span class="small text-body-secondary">61.3%' in panel
    account = finance.get(f"/ledger/clients/{firm.client.pk}/margin/").content.decode()
    assert 'fw-semibold">1,840.00</td><td class="num">61.3</td>' in account
    dashboard = finance.get("/api/v1/dashboard/?start=2026-03-01&end=2026-03-31").json()
    assert dashboard["series"]["project_margin"] == ["1840.00"]


def test_the_report_page_filters_by_entity_and_shows_the_reconciliation(firm, client_as):
    finance = client_as("finance")
    page = finance.get(f"/ledger/revenue/reports/margin/?start=2026-03-01&end=2026-03-31&entity={firm.de.pk}")
    html = page.content.decode()
    assert page.status_code == 200 and 'fw-semibold">1,744.00</td>' in html
    assert "reconciles" in html and "does not reconcile" not in html
    assert KPIS["project_margin"].label in html and KPIS["cost_not_posted"].label in html
    csv = finance.get("/ledger/revenue/reports/margin/?start=2026-03-01&end=2026-03-31&format=csv").content.decode()
    assert "ACME-DE Acme rollout,Acme GmbH,3000.00,1160.00,1840.00,61.3,16.00,187.5000,0.00" in csv


def test_the_api_gives_the_same_margin(firm, api_as):
    body = api_as("finance").get("/api/v1/ledger/revenue-reports/margin/?start=2026-03-01&end=2026-03-31").json()
    assert body["totals"]["margin"] == "1840.00" and body["reconciles"] is True
    assert body["rows"][0]["effective_rate"] == "187.5000"


def test_the_client_filter_keeps_that_clients_projects(firm):
    other = Project.objects.create(code="OTHER", name="Other", account=make_deal().account, entity=firm.de)
    revenue(firm.de, other, "500.00")
    report = margin_report(start=MARCH[0], end=MARCH[1], client_id=firm.client.pk)
    assert [r.project_id for r in report.rows] == [firm.project.pk] and report.reconciles
    assert len(margin_report(start=MARCH[0], end=MARCH[1]).rows) == 2


# --- what sales sees ----------------------------------------------------------------------------------------


def test_sales_sees_realised_margin_and_effective_rate_by_account_and_service_type(firm):
    template = ProjectTemplate.objects.create(name="Implementation", service_type=ServiceType.IMPLEMENTATION)
    Project.objects.filter(pk=firm.project.pk).update(template=template)
    other_client = Project.objects.create(
        code="OTHER", name="Other", account=make_deal().account, entity=firm.de, template=template
    )
    revenue(firm.de, other_client, "1000.00")
    vendor_bill(firm.de, other_client, "600.00")
    account, kind = realised_margins(
        account_id=firm.client.pk, service_type=ServiceType.IMPLEMENTATION, start=MARCH[0], end=MARCH[1]
    )
    assert (account.projects, account.margin_pct, account.effective_rate) == (1, D("61.3"), D("187.5000"))
    # both projects: (1840 + 400) / 4000 = 56 %; 4000 revenue over 16 hours (the other project logged none)
    assert (kind.projects, kind.margin_pct, kind.effective_rate) == (2, D("56.0"), D("250.0000"))


@pytest.fixture
def deal(firm):
    ProjectTemplate.objects.create(name="Implementation", service_type=ServiceType.IMPLEMENTATION)
    return make_deal(account=firm.client)


def test_the_opportunity_panel_shows_percentages_and_rates_never_cost(deal, client_as):
    page = client_as("sales").get(f"/crm/opportunities/{deal.pk}/")
    assert 'data-testid="realised-slot"' in page.content.decode()
    panel = client_as("sales").get(f"/ledger/opportunities/{deal.pk}/margin/")
    html = panel.content.decode()
    assert panel.status_code == 200
    assert '<td class="num">1</td><td class="num">61.3%</td><td class="num">187.50</td>' in html
    assert "1,160.00" not in html and "1,840.00" not in html and "3,000.00" not in html


@pytest.mark.parametrize("role", ["consultant", "client"])
def test_the_opportunity_panel_is_refused_outside_the_pipeline(deal, client_as, role):
    assert client_as(role).get(f"/ledger/opportunities/{deal.pk}/margin/").status_code == 403


# --- who may see cost ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["sales", "project_manager", "consultant", "client"])
def test_the_cost_panels_are_refused_to_roles_that_may_not_see_costs(firm, client_as, role):
    user = client_as(role)
    assert user.get(f"/ledger/clients/{firm.client.pk}/margin/").status_code == 403
    assert user.get(f"/ledger/revenue/projects/{firm.project.pk}/margin/").status_code == 403
    assert user.get("/ledger/revenue/reports/margin/").status_code == 403


def test_the_account_page_loads_the_margin_panel_for_finance_only(firm, client_as):
    assert (
        'data-testid="account-margin-slot"'
        in client_as("finance").get(f"/crm/accounts/{firm.client.pk}/").content.decode()
    )
    sales_page = client_as("sales").get(f"/crm/accounts/{firm.client.pk}/").content.decode()
    assert 'data-testid="account-margin-slot"' not in sales_page


def test_unknown_objects_are_404(firm, client_as):
    finance = client_as("finance")
    assert finance.get("/ledger/clients/999999/margin/").status_code == 404
    assert finance.get("/ledger/opportunities/999999/margin/").status_code == 404


# --- query counts -------------------------------------------------------------------------------------------


def _more(firm, n: int) -> None:
    for _ in range(n):
        k = next(_n)
        project = Project.objects.create(code=f"DE-{k}", name=f"Project {k}", account=firm.client, entity=firm.de)
        approved(firm.uk_consultant, project, date(2026, 3, 10), "2")
        revenue(firm.de, project, "400.00")
        labour_cost(firm.uk, project, "120.00")


@pytest.mark.parametrize(
    "url",
    [
        "/ledger/revenue/reports/margin/?start=2026-03-01&end=2026-03-31",
        "/ledger/revenue/reports/margin/?start=2026-03-01&end=2026-03-31&entity={de}",
        "/ledger/clients/{client}/margin/",
    ],
)
def test_the_margin_lists_query_count_does_not_grow_with_projects(firm, client_as, url):
    finance = client_as("finance")
    url = url.format(de=firm.de.pk, client=firm.client.pk)
    small, _ = count_queries(lambda: finance.get(url))
    _more(firm, 12)
    large, response = count_queries(lambda: finance.get(url))
    assert large == small
    assert response.content.decode().count("DE-") >= 12


def test_the_opportunity_panels_query_count_does_not_grow_with_projects(deal, firm, client_as):
    sales = client_as("sales")
    url = f"/ledger/opportunities/{deal.pk}/margin/"
    small, _ = count_queries(lambda: sales.get(url))
    _more(firm, 12)
    large, response = count_queries(lambda: sales.get(url))
    assert large == small and '<td class="num">13</td>' in response.content.decode()
