"""One deal's events share one correlation id from opportunity to cash."""

import datetime as dt

import pytest
from django.db import transaction

from billing.services import invoice_draft_for_contract, invoice_issue, payment_record
from ledger.models import AccountingPeriod
from projects.models import Contract
from projects.services import time as ts
from psa.core.models import Event
from psa.core.webhooks import event_emit
from tests.billing.factories import make_periods
from tests.factories import UserFactory
from tests.ledger.factories import close_month
from tests.projects.time_factories import MONDAY, consultant_on, won_project

pytestmark = pytest.mark.django_db


def _one_deal_to_cash():
    make_periods(start=dt.date(2025, 1, 1), through=dt.date(2027, 12, 31))
    setup = won_project()
    consultant = consultant_on(setup)
    entry = ts.time_entry_put(
        by=consultant.user, consultant_id=consultant.pk, project_id=setup.project.pk, task_id=None, day=MONDAY,
        hours="8",
    )  # fmt: skip
    ts.timesheet_submit(by=consultant.user, consultant_id=consultant.pk, week=MONDAY)
    ts.time_entries_approve(by=setup.pm, entry_ids=[entry.pk])
    finance = UserFactory(roles=["finance"])
    contract = Contract.objects.get(project=setup.project)
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=dt.date(2027, 1, 31))
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=dt.date(2027, 2, 1))
    payment_record(
        by=finance, account_id=invoice.account_id, amount=invoice.gross_total, received_on=dt.date(2027, 2, 20)
    )
    return contract


def test_every_event_of_one_deal_carries_the_deals_correlation_id():
    contract = _one_deal_to_cash()
    expected = f"opp-{contract.opportunity_id}"
    by_type = dict(Event.objects.values_list("type", "correlation_id"))
    assert by_type == {
        "opportunity.won": expected,
        "project.created": expected,
        "time.approved": expected,
        "invoice.issued": expected,
        "payment.received": expected,
    }


def test_a_second_deal_gets_its_own_id_and_an_event_outside_any_deal_none():
    first = _one_deal_to_cash()
    second = won_project()
    ids = set(Event.objects.filter(type="opportunity.won").values_list("correlation_id", flat=True))
    assert ids == {f"opp-{first.opportunity_id}", f"opp-{second.project.contracts.get().opportunity_id}"}
    with transaction.atomic():
        event = event_emit(type="invoice.issued", key="manual", data={"id": 987654})
    assert event.correlation_id == ""


def test_closing_a_period_emits_period_closed_without_a_deal():
    make_periods(start=dt.date(2026, 1, 1), through=dt.date(2026, 2, 28))
    jan = AccountingPeriod.objects.get(start=dt.date(2026, 1, 1))
    close_month(period_id=jan.pk, by=UserFactory(roles=["finance"]), reason="January done")
    event = Event.objects.get(type="period.closed")
    assert event.data["start"] == "2026-01-01" and event.correlation_id == ""


def test_a_batch_approval_spanning_two_deals_carries_no_correlation_id():
    make_periods(start=dt.date(2025, 1, 1), through=dt.date(2027, 12, 31))
    first = won_project()
    second = won_project(pm=first.pm)
    ids = []
    for setup in (first, second):
        consultant = consultant_on(setup)
        entry = ts.time_entry_put(
            by=consultant.user, consultant_id=consultant.pk, project_id=setup.project.pk, task_id=None, day=MONDAY,
            hours="4",
        )  # fmt: skip
        ts.timesheet_submit(by=consultant.user, consultant_id=consultant.pk, week=MONDAY)
        ids.append(entry.pk)
    ts.time_entries_approve(by=first.pm, entry_ids=ids)
    assert Event.objects.get(type="time.approved").correlation_id == ""
