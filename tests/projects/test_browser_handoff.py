"""The sales-to-delivery journey in Chromium: a rep opens a deal with a T&M line, a fixed-fee line and role
demand, moves it across the board, wins it; the PM then finds the project with tasks, milestones, budget and
resource requests."""

import re

import pytest

from crm.models import Opportunity
from tests.crm.factories import AccountFactory, RoleFactory
from tests.factories import TEST_PASSWORD, UserFactory
from tests.projects.factories import make_template

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def firm(transactional_db):
    make_template()
    return {
        "rep": UserFactory(username="rita", first_name="Rita", last_name="Rep", roles=["sales"]),
        "pm": UserFactory(username="pete", first_name="Pete", last_name="Manager", roles=["project_manager"]),
        "account": AccountFactory(name="Acme Corp", currency="EUR"),
        "role": RoleFactory(name="Senior consultant", code="senior"),
    }


def test_a_rep_sells_and_wins_a_deal_and_the_pm_finds_the_project(page, login, screenshot, firm):
    page.on("dialog", lambda dialog: dialog.accept())
    login("rita", TEST_PASSWORD)

    # Create the opportunity.
    page.goto("/crm/pipeline/")
    page.click("[data-testid=new-opportunity]")
    page.fill("#id_name", "Acme data platform")
    page.select_option("#id_account", label="Acme Corp")
    page.fill("#id_expected_close_date", "2027-01-15")
    page.fill("#id_service_start", "2027-02-01")
    page.fill("#id_service_end", "2027-04-30")
    page.select_option("#id_service_type", "implementation")
    page.select_option("#id_delivery_manager", label="Pete Manager")
    page.click("[data-testid=save]")
    page.wait_for_url(re.compile(r"/crm/opportunities/\d+/$"))
    deal = Opportunity.objects.get(name="Acme data platform")

    # A T&M line, a fixed-fee line, then role demand.
    page.fill("#id_line-description", "Build team")
    page.select_option("#id_line-billing_model", "tm")
    page.fill("#id_line-hours", "120")
    page.fill("#id_line-rate", "150")
    page.click("[data-testid=add-line]")
    page.wait_for_selector("text=Added the line")
    page.fill("#id_line-description", "Discovery workshop")
    page.select_option("#id_line-billing_model", "fixed_fee")
    page.fill("#id_line-price", "6000")
    page.click("[data-testid=add-line]")
    page.wait_for_selector("text=Discovery workshop")
    page.select_option("#id_demand-line", label="Build team")
    page.select_option("#id_demand-role", label="Senior consultant")
    page.fill("#id_demand-hours", "120")
    page.fill("#id_demand-start_date", "2027-02-01")
    page.fill("#id_demand-end_date", "2027-04-30")
    page.click("[data-testid=add-demand]")
    page.wait_for_selector("text=Added 120")
    assert page.locator("[data-testid=opportunity-amount]").inner_text() == "24,000.00"
    screenshot(page, "pipeline-opportunity")

    # Across the board, one stage at a time (HTMX swaps the board in place).
    page.goto("/crm/pipeline/")
    for column in ("qualified", "proposal", "negotiation"):
        page.click(f"[data-testid=move-next-{deal.pk}]")
        page.wait_for_selector(f"[data-testid=column-{column}] [data-testid=card-{deal.pk}]")
    screenshot(page, "pipeline-board")
    deal.refresh_from_db()
    assert deal.stage.name == "Negotiation" and deal.probability == 75
    assert deal.history.count() == 4

    # Win it: the handoff opens the new project.
    page.goto(f"/crm/opportunities/{deal.pk}/")
    page.click("[data-testid=win]")
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    assert "Contract C-" in page.locator(".alert-success").inner_text()
    assert page.js_errors == [], page.js_errors
    page.click("[data-testid=user-menu]")
    page.click("[data-testid=logout]")

    # The PM finds the project with tasks, milestones, budget and resource requests.
    login("pete", TEST_PASSWORD)
    page.goto("/projects/")
    page.click(f"text=IMP-{deal.pk:05d}")
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    assert page.locator("[data-testid=budget-amount]").inner_text() == "24,000.00"
    assert page.locator("[data-testid=budget-hours]").inner_text() == "120.00"
    tasks = page.locator("[data-testid=tasks]").inner_text()
    assert "Analysis" in tasks and "Build" in tasks and "Go-live" in tasks
    milestones = page.locator("[data-testid=milestones]").inner_text()
    assert "Kick-off" in milestones and "Go-live review" in milestones
    requests = page.locator("[data-testid=resource-requests]").inner_text()
    assert "Senior consultant" in requests and "120.00" in requests
    lines = page.locator("[data-testid=contract-lines]").inner_text()
    assert "Build team" in lines and "Discovery workshop" in lines
    screenshot(page, "project-after-win")
    assert page.js_errors == [], page.js_errors
