"""The month-end checklist's blocking items hold on every way a month can close: the service, the month-end page,
the periods page and the API. Only an administrator may close over them, with a reason that is audited."""

from datetime import date

import pytest
from django.urls import reverse

from ledger.choices import PeriodStatus
from ledger.models import AccountBalance, AccountingPeriod
from ledger.services import period_close
from ledger.services.revenue import recognition_run
from psa.core.exceptions import ConflictError, PermissionDeniedError
from psa.core.models import AuditEvent
from tests.ledger.factories import balanced, post

pytestmark = pytest.mark.django_db

BLOCKER = "Revenue recognition run"  # the blocking item while January has no recognition run


@pytest.fixture
def january(periods):
    post(balanced("100.00", on=date(2026, 1, 5)))
    return periods[0]


def _still_open(period) -> bool:
    period.refresh_from_db()
    return period.status == PeriodStatus.OPEN and not AccountBalance.objects.filter(period=period).exists()


# --- the service ----------------------------------------------------------------------------------------------


def test_the_service_refuses_to_close_while_a_blocking_item_is_outstanding_and_names_it(january, finance):
    with pytest.raises(ConflictError) as refused:
        period_close(period_id=january.pk, by=finance, reason="Month end")
    assert refused.value.status == 409 and refused.value.code == "close_checklist_blocking"
    assert BLOCKER in refused.value.message
    assert any(BLOCKER in m for m in refused.value.fields["checklist"])
    assert _still_open(january)
    assert not AuditEvent.objects.filter(action="ledger.period_close").exists()


def test_a_finance_user_may_not_override_the_checklist(january, finance):
    with pytest.raises(PermissionDeniedError) as refused:
        period_close(period_id=january.pk, by=finance, reason="Month end", override_reason="Auditors waiting")
    assert refused.value.status == 403 and BLOCKER in refused.value.message
    assert any(BLOCKER in m for m in refused.value.fields["checklist"])
    assert _still_open(january)


def test_an_administrator_overrides_only_with_a_reason_and_the_override_is_audited(january, make_user):
    admin = make_user("admin")
    with pytest.raises(ConflictError):
        period_close(period_id=january.pk, by=admin, reason="Month end", override_reason="   ")
    assert _still_open(january)

    period = period_close(
        period_id=january.pk, by=admin, reason="Month end", override_reason="Recognition reviewed by hand"
    )

    assert period.status == PeriodStatus.CLOSED
    event = AuditEvent.objects.get(action="ledger.period_close")
    assert event.actor == admin
    assert "over the checklist" in event.summary and "Recognition reviewed by hand" in event.summary
    assert event.data["override"]["reason"] == "Recognition reviewed by hand"
    assert [item["label"] for item in event.data["override"]["items"]] == [BLOCKER]


def test_a_month_whose_checklist_is_clear_closes_without_an_override(january, finance):
    recognition_run(period_id=january.pk, by=finance)
    period = period_close(period_id=january.pk, by=finance, reason="Month end")
    assert period.status == PeriodStatus.CLOSED
    assert "override" not in AuditEvent.objects.get(action="ledger.period_close").data


# --- the pages and the API go through it ----------------------------------------------------------------------


def test_the_periods_page_cannot_close_past_the_checklist(client_as, january):
    client = client_as("finance")
    response = client.post(reverse("ledger:period_close", args=[january.pk]), {"reason": "Month end"}, follow=True)
    assert BLOCKER in response.content.decode()
    assert _still_open(january)


def test_the_month_end_page_lets_no_finance_user_past_the_checklist(client_as, january):
    client = client_as("finance")
    url = reverse("ledger:close_period", args=[january.pk])
    response = client.post(url, {"reason": "Month end", "override": "1"}, follow=True)
    assert _still_open(january)
    response = client.post(url, {"reason": "Month end", "override_reason": "Trust me"}, follow=True)
    assert _still_open(january)
    assert "administrator" in response.content.decode()


def test_an_administrator_closes_over_the_checklist_from_the_month_end_page(client_as, january):
    client = client_as("admin")
    page = client.get(reverse("ledger:close_checklist", args=[january.pk])).content.decode()
    assert 'name="override_reason"' in page
    client.post(
        reverse("ledger:close_period", args=[january.pk]),
        {"reason": "Month end", "override_reason": "Recognition reviewed by hand"},
    )
    january.refresh_from_db()
    assert january.status == PeriodStatus.CLOSED
    assert AuditEvent.objects.get(action="ledger.period_close").data["override"]["reason"]


def test_a_finance_user_sees_which_items_block_but_no_override(client_as, january):
    page = client_as("finance").get(reverse("ledger:close_checklist", args=[january.pk])).content.decode()
    assert 'name="override_reason"' not in page
    assert 'data-testid="blocking-items"' in page


def test_the_api_refuses_with_409_naming_the_items_and_403_for_a_non_admin_override(api_as, january):
    url = f"/api/v1/ledger/periods/{january.pk}/close/"
    finance = api_as("finance")
    response = finance.post(url, {"reason": "Month end"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "close_checklist_blocking"
    assert any(BLOCKER in m for m in response.json()["fields"]["checklist"])
    response = finance.post(url, {"reason": "Month end", "override_reason": "Trust me"}, format="json")
    assert response.status_code == 403 and BLOCKER in response.json()["message"]
    assert AccountingPeriod.objects.get(pk=january.pk).status == PeriodStatus.OPEN


def test_an_administrator_closes_over_the_checklist_through_the_api(api_as, january):
    response = api_as("admin").post(
        f"/api/v1/ledger/periods/{january.pk}/close/",
        {"reason": "Month end", "override_reason": "Recognition reviewed by hand"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "closed"
