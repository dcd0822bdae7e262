"""The board in Chromium: drag a card onto another stage; a move the server refuses shows why in place."""

import pytest

from crm import services
from tests.crm.factories import AccountFactory, make_deal
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rep(transactional_db):
    return UserFactory(username="rosa", first_name="Rosa", roles=["sales"])


def test_dragging_a_card_onto_another_column_moves_the_deal(page, login, screenshot, rep):
    deal = make_deal(owner=rep, account=AccountFactory(name="Dragon Ltd"), ready=False, name="Drag me")
    login("rosa", TEST_PASSWORD)
    page.goto("/crm/pipeline/")
    page.drag_and_drop(f"[data-testid=card-{deal.pk}]", "[data-testid=column-proposal]")
    page.wait_for_selector(f"[data-testid=column-proposal] [data-testid=card-{deal.pk}]")
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal" and deal.probability == 50
    assert page.js_errors == [], page.js_errors


def test_a_refused_move_shows_the_reason_on_the_board(page, login, screenshot, rep):
    deal = make_deal(owner=rep, ready=False, name="Stale card")
    other = make_deal(ready=False, name="Someone else's")
    login("rosa", TEST_PASSWORD)
    page.goto("/crm/pipeline/")
    assert page.locator(f"[data-testid=move-next-{other.pk}]").count() == 0  # not hers: no move controls
    services.opportunity_lose(opportunity_id=deal.pk, by=rep, reason="Lost in another tab")
    page.click(f"[data-testid=move-next-{deal.pk}]")
    alert = page.wait_for_selector("[data-testid=board-error]")
    assert "only open deals can be changed" in alert.inner_text()
    screenshot(page, "pipeline-board-refused")
    deal.refresh_from_db()
    assert deal.status == "lost"
