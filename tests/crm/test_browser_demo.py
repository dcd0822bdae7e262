"""The demo pipeline in Chromium: a sales rep's board, list, forecast, staffing demand and an account page,
each screenshotted; plus the demo seeding is idempotent and covers every stage and billing model."""

import pytest

from crm import demo as crm_demo
from crm.models import Opportunity
from projects import demo as projects_demo
from projects.models import ContractLine, Project
from psa.web.demo import DEMO_PASSWORD, seed_users

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seed_all() -> None:
    """The demo logins and the crm and projects demo steps (the other apps' steps have their own tests)."""
    seed_users()
    crm_demo.seed()
    projects_demo.seed()


@pytest.fixture
def demo(transactional_db):
    seed_all()


def test_the_demo_is_a_living_pipeline_and_seeding_twice_adds_nothing(demo):
    assert Opportunity.objects.count() >= 40
    assert set(Opportunity.objects.values_list("stage__name", flat=True)) == {
        "Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost",
    }  # fmt: skip
    assert Opportunity.objects.values("account").distinct().count() >= 15
    assert set(ContractLine.objects.values_list("billing_model", flat=True)) == {
        "tm", "fixed_fee", "milestone", "retainer", "subscription",
    }  # fmt: skip
    before = (Opportunity.objects.count(), Project.objects.count())
    seed_all()
    assert (Opportunity.objects.count(), Project.objects.count()) == before


# Each page of the rep's demo tour: its screenshot name, URL and the element that shows it rendered. One test
# walks them all, so the demo is seeded once (seeding takes most of a case's time).
PAGES = [
    ("pipeline-demo-board", "/crm/pipeline/", "board"),
    ("pipeline-demo-list", "/crm/opportunities/?sort=-amount", "opportunity-table"),
    ("pipeline-demo-forecast", "/crm/forecast/", "forecast-months"),
    ("pipeline-demo-demand", "/crm/demand/", "demand-heatmap"),
    ("pipeline-demo-accounts", "/crm/accounts/", "account-table"),
]


def test_a_rep_browses_the_demo_pipeline_and_an_account_page(page, login, screenshot, demo):
    login("sales", DEMO_PASSWORD)
    for name, url, testid in PAGES:
        page.goto(url)
        page.wait_for_selector(f"[data-testid={testid}]")
        page.wait_for_load_state("networkidle")
        screenshot(page, name)
        assert page.js_errors == [], (url, page.js_errors)

    account = Project.objects.select_related("account").first().account
    page.goto(f"/crm/accounts/{account.pk}/")
    page.wait_for_selector("[data-testid=account-projects] table")
    assert (
        Project.objects.filter(account=account).first().code
        in page.locator("[data-testid=account-projects]").inner_text()
    )
    screenshot(page, "pipeline-demo-account")
    assert page.js_errors == [], page.js_errors
