"""Dunning: one reminder per overdue invoice per level (7 / 30 / 60 days), never twice, through the outbox;
the daily beat job and the button on the overdue list."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from billing.models import DunningReminder
from billing.services import dunning_due, dunning_send, payment_record
from billing.services.dunning import dunning_level
from psa.core.exceptions import PermissionDeniedError
from psa.core.models import OutboxMessage
from tests.billing.factories import issued_invoice

pytestmark = pytest.mark.django_db
ISSUED = date(2026, 2, 1)
DUE = date(2026, 3, 3)  # 30 days net


def _reminders():
    return list(DunningReminder.objects.order_by("invoice_id", "level").values_list("invoice_id", "level"))


@pytest.mark.parametrize(("days", "level"), [(0, 0), (6, 0), (7, 1), (29, 1), (30, 2), (59, 2), (60, 3), (400, 3)])
def test_the_level_follows_the_days_overdue(days, level):
    assert dunning_level(days) == level


def test_each_level_is_sent_once_and_only_when_reached(periods, finance):
    invoice = issued_invoice(finance, "1000.00")
    assert invoice.due_date == DUE
    assert dunning_send(by=finance, as_of=DUE + timedelta(days=6)).sent == []
    (first,) = dunning_send(by=finance, as_of=DUE + timedelta(days=8)).sent
    assert (first.level, first.days_overdue, first.balance) == (1, 8, Decimal("1200.00"))
    message = OutboxMessage.objects.get(pk=first.outbox_message)
    assert message.kind == "email" and message.payload["to"] == [invoice.buyer_email]
    assert message.payload["subject"] == f"First reminder: invoice {invoice.number} is 8 days overdue"
    assert "Open: 1,200.00 EUR" in message.payload["body"] and invoice.seller["iban"] in message.payload["body"]
    assert dunning_send(by=finance, as_of=DUE + timedelta(days=9)).sent == [], "level 1 is never sent twice"
    assert [r.level for r in dunning_send(by=finance, as_of=DUE + timedelta(days=31)).sent] == [2]
    assert [r.level for r in dunning_send(by=finance, as_of=DUE + timedelta(days=61)).sent] == [3]
    assert dunning_send(by=finance, as_of=DUE + timedelta(days=120)).sent == []
    assert _reminders() == [(invoice.pk, 1), (invoice.pk, 2), (invoice.pk, 3)]
    assert OutboxMessage.objects.filter(dedupe_key__startswith="billing:dunning:").count() == 3


def test_a_late_first_run_sends_the_reached_level_only_and_paid_invoices_get_nothing(periods, finance):
    late = issued_invoice(finance, "1000.00")
    paid = issued_invoice(finance, "1000.00")
    payment_record(by=finance, account_id=paid.account_id, amount=Decimal("1200.00"), received_on=DUE)
    result = dunning_send(by=finance, as_of=DUE + timedelta(days=65))
    assert [(r.invoice_id, r.level) for r in result.sent] == [(late.pk, 3)]
    assert dunning_send(by=finance, as_of=DUE + timedelta(days=66)).sent == []
    assert _reminders() == [(late.pk, 3)], "the skipped levels 1 and 2 are never sent late"


def test_only_finance_sends_reminders(periods, finance, make_user):
    with pytest.raises(PermissionDeniedError):
        dunning_send(by=make_user("consultant"))


def test_the_beat_runs_dunning_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["billing-dunning"]
    assert entry["task"] == "billing.tasks.dunning_send_task"
    from billing.tasks import dunning_send_task

    assert dunning_send_task.name == entry["task"]


def test_the_button_on_the_overdue_list_previews_and_the_confirm_sends_what_was_shown(
    periods, finance, client_as, make_user
):
    invoice = issued_invoice(finance, "1000.00")
    url = reverse("billing:dunning-send")
    assert client_as("consultant").get(url).status_code == 403
    assert client_as("consultant").post(url).status_code == 403
    c = client_as("finance")
    assert b'data-testid="dunning-send"' in c.get(reverse("billing:ar")).content
    preview = c.get(url)  # today is long after the due date in 2026-03
    assert preview.status_code == 200
    body = preview.content.decode()
    assert invoice.number in body and invoice.buyer_email in body and "Final notice" in body and "1,200.00" in body
    assert not DunningReminder.objects.exists() and not OutboxMessage.objects.exists(), "a preview sends nothing"
    keys = [r.key for r in preview.context["due"]]
    assert keys == [f"{invoice.pk}:3"]
    # Another invoice falls due after the preview: the confirm does not send what the user did not see.
    later = issued_invoice(finance, "500.00")
    response = c.post(url, {"reminder": keys}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("billing:ar")
    assert "Sent 1 payment reminder." in response.content.decode()
    (reminder,) = DunningReminder.objects.all()
    assert reminder.invoice_id == invoice.pk and reminder.sent_by == c.user
    assert "Final notice" in response.content.decode(), "the overdue list shows the level sent"
    again = c.post(url, {"reminder": keys}, follow=True)
    assert "1 previewed reminder no longer due" in again.content.decode()
    assert DunningReminder.objects.count() == 1 and OutboxMessage.objects.count() == 1, "no double send"
    assert [r.invoice_id for r in dunning_due(by=finance)] == [later.pk]
