"""In Chromium: the board's columns take drops below their last card and the Lost column asks why;
the invoice page's Explain panel opens in view; "/" and Ctrl-K reach the global search. Screenshots at 1440 and
390 px of each page."""

import datetime as dt

import pytest
from django.db import transaction

from billing.services import invoice_draft_for_contract
from tests.billing.factories import issued_invoice, make_periods, milestone_contract
from tests.crm.factories import AccountFactory, make_deal
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1440, 390)


def _shots(page, screenshot, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1440, "height": 900})


@pytest.fixture
def rep(transactional_db):
    return UserFactory(username="rosa", first_name="Rosa", roles=["sales"])


def test_a_drop_below_the_last_card_moves_the_deal(page, login, screenshot, rep):
    deal = make_deal(owner=rep, account=AccountFactory(name="Dragon Ltd"), ready=False, name="Drop low")
    login("rosa", TEST_PASSWORD)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/crm/pipeline/")
    column = page.locator("[data-testid=column-proposal]")
    box = column.bounding_box()
    assert box and box["height"] > 400  # the column fills the board, not just its header
    # drop in the column's empty lower part, below everything in it, at a point the window shows
    content_bottom = page.evaluate(
        "Math.max(...[...document.querySelector('[data-testid=column-proposal]').children]"
        ".map(el => el.getBoundingClientRect().bottom))"
    )
    y = min(box["height"] - 20, 900 - box["y"] - 20)
    assert box["y"] + y > content_bottom + 40, (box, y, content_bottom)
    page.drag_and_drop(
        f"[data-testid=card-{deal.pk}]",
        "[data-testid=column-proposal]",
        target_position={"x": box["width"] / 2, "y": y},
    )
    page.wait_for_selector(f"[data-testid=column-proposal] [data-testid=card-{deal.pk}]")
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    _shots(page, screenshot, "polish-pipeline-board")
    assert page.js_errors == [], page.js_errors


def test_dropping_on_lost_asks_why_and_closes_the_deal(page, login, screenshot, rep):
    deal = make_deal(owner=rep, ready=False, name="Lose me")
    login("rosa", TEST_PASSWORD)
    page.goto("/crm/pipeline/")
    page.drag_and_drop(f"[data-testid=card-{deal.pk}]", "[data-testid=drop-lost]")
    page.wait_for_selector("#board-lose-modal.show")
    assert "Lose me" in page.inner_text("#board-lose-title")
    screenshot(page, "polish-pipeline-lose-modal")
    page.fill("#board-lose-reason", "Budget frozen")
    page.click("[data-testid=lose-confirm]")
    page.wait_for_url("**/crm/pipeline/**")
    deal.refresh_from_db()
    assert deal.status == "lost" and deal.lost_reason == "Budget frozen"
    assert page.js_errors == [], page.js_errors


def test_the_list_edits_a_deal_inline(page, login, screenshot, rep):
    deal = make_deal(owner=rep, ready=False, name="Inline deal")
    login("rosa", TEST_PASSWORD)
    page.goto("/crm/opportunities/")
    page.click(f"[data-testid=inline-edit-{deal.pk}]")
    page.wait_for_selector(f"[data-testid=opp-row-form-{deal.pk}]")
    page.fill(f"[data-testid=opp-row-form-{deal.pk}] input[name=probability]", "150")
    page.click(f"[data-testid=inline-save-{deal.pk}]")
    page.wait_for_selector("[data-testid=inline-error-probability]")
    _shots(page, screenshot, "polish-pipeline-list-inline-error")
    page.fill(f"[data-testid=opp-row-form-{deal.pk}] input[name=probability]", "40")
    page.click(f"[data-testid=inline-save-{deal.pk}]")
    page.wait_for_selector(f"[data-testid=opp-row-{deal.pk}]")
    deal.refresh_from_db()
    assert deal.probability == 40
    # the refused save answered 400 on purpose (the form with its errors); nothing else went wrong
    assert [e for e in page.js_errors if "status of 400" not in e] == [], page.js_errors


def test_the_explain_panel_opens_in_view(page, login, screenshot, transactional_db):
    make_periods()
    finance = UserFactory(username="fiona", roles=["finance"])
    invoice = issued_invoice(finance, *["10.00"] * 25)
    login("fiona", TEST_PASSWORD)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/billing/invoices/{invoice.pk}/")
    _shots(page, screenshot, "polish-invoice")
    page.locator("[data-testid=explain]").first.click()
    panel = page.wait_for_selector("[data-testid=explain-panel]")
    page.wait_for_timeout(600)
    top = page.evaluate("document.querySelector('[data-testid=explain-panel]').getBoundingClientRect().top")
    assert 0 <= top < 900, top  # scrolled into view, below the sticky top bar
    assert panel.is_visible()
    screenshot(page, "polish-invoice-explain")
    contract, _, _ = milestone_contract("80.00")
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=dt.date(2026, 1, 31))
    page.goto(f"/billing/invoices/{draft.pk}/")
    assert page.inner_text("h1").startswith(f"Draft invoice #{draft.pk}")
    assert page.locator("[data-testid=preview-pdf]").is_visible()
    _shots(page, screenshot, "polish-invoice-draft")
    assert page.js_errors == [], page.js_errors


def test_slash_and_ctrl_k_reach_the_global_search(page, login, screenshot, rep):
    make_deal(owner=rep, account=AccountFactory(name="Searchable Ltd"), ready=False, name="Searchable deal")
    login("rosa", TEST_PASSWORD)
    page.goto("/crm/pipeline/")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "global-search"
    page.keyboard.press("Escape")
    page.locator("body").click()
    page.keyboard.press("Control+k")
    assert page.evaluate("document.activeElement.id") == "global-search"
    page.keyboard.type("searchable")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=search-group-accounts]")
    assert page.locator("[data-testid=search-group-opportunities] a").count() == 1
    _shots(page, screenshot, "polish-search")
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/crm/pipeline/")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "global-search"
    assert page.js_errors == [], page.js_errors
