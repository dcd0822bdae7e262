"""The one history (psa.core.history): PostgreSQL triggers record every write of an invoice, a rate and a billing
run's one-statement draft, with the acting user and the correlation id of the service that wrote it."""

import uuid
from datetime import date
from decimal import Decimal
from unittest import mock

import pytest

from billing.models import BillingRun, Invoice
from billing.services import billing_run_create, billing_run_execute, billing_run_start, invoice_issue, invoices
from billing.services.draft_write import time_draft_write
from crm.models import DeliveryRole
from projects.models import RateCard
from projects.services.rates import rate_card_line_create
from psa.web.audit_trail import event_model
from tests.billing.factories import approved_entry, make_consultant, milestone_contract, tm_contract

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
END = date(2026, 1, 31)


def _context(event) -> dict:
    return event.pgh_context.metadata if event.pgh_context_id else {}


def test_issuing_an_invoice_through_the_service_is_in_the_history_with_the_acting_user(periods, finance):
    # Given a draft invoice
    contract, _line, _milestones = milestone_contract("500.00")
    draft = invoices.invoice_draft_for_contract(contract=contract, period_end=END)

    # When finance issues it through the service (no request: the service names the user)
    invoice_issue(invoice_id=draft.pk, by=finance)

    # Then the history holds the draft's creation and the issue, the issue with its number, by finance
    events = list(event_model(Invoice).objects.filter(pgh_obj_id=draft.pk).order_by("pgh_id"))
    assert events[0].pgh_label == "insert"
    issued = [e for e in events if e.status == "issued"]
    assert issued and issued[0].number
    assert _context(issued[0])["user"] == finance.pk
    assert _context(issued[0])["correlation_id"] == f"invoice-issue:{draft.pk}"


def test_a_rate_change_is_in_the_history_with_the_acting_user(finance):
    card = RateCard.objects.create(name="Standard", currency="EUR")
    role = DeliveryRole.objects.create(name="Architect", code="architect")

    line = rate_card_line_create(
        by=finance, rate_card_id=card.pk, role=role, rate=Decimal("150"), valid_from=date(2026, 1, 1)
    )

    (event,) = event_model(type(line)).objects.filter(pgh_obj_id=line.pk)
    assert (event.pgh_label, event.rate, event.role_id) == ("insert", Decimal("150.0000"), role.pk)
    assert _context(event)["user"] == finance.pk


def test_a_billing_runs_one_statement_draft_is_in_the_history_with_the_user_who_ran_it(periods, finance, monkeypatch):
    # Given an uncapped T&M contract with approved time: a run bills it with one INSERT ... SELECT statement
    contract, line = tm_contract()
    ada = make_consultant()
    approved_entry(line, ada, date(2026, 1, 5), "2.50", "100.00")
    approved_entry(line, ada, date(2026, 1, 6), "1.50", "100.00")
    used = []
    monkeypatch.setattr(invoices, "time_draft_write", lambda *a, **kw: used.append(1) or time_draft_write(*a, **kw))

    # When finance runs the month (the job: no request, the run names its user)
    run = billing_run_create(by=finance, period_end=END, key=f"history-{uuid.uuid4()}")
    with mock.patch("billing.services.runs._enqueue"):
        billing_run_start(run_id=run.pk, by=finance)
    billing_run_execute(run_id=run.pk)

    # Then the draft written by the one statement is in the history, with its lines, by finance, under the run
    assert used == [1]
    invoice = Invoice.objects.get(run=BillingRun.objects.get(pk=run.pk), contract=contract)
    (created,) = event_model(Invoice).objects.filter(pgh_obj_id=invoice.pk, pgh_label="insert")
    assert created.gross_total == invoice.gross_total > 0
    assert _context(created)["user"] == finance.pk
    assert _context(created)["correlation_id"] == f"billing-run:{run.pk}"
    line_events = event_model(type(invoice.lines.first())).objects.filter(invoice_id=invoice.pk)
    assert line_events.count() == invoice.lines.count() and all(_context(e)["user"] == finance.pk for e in line_events)
