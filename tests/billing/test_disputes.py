"""Disputes: opening one (finance or the client in the portal) pauses dunning for the disputed amount; each
resolution path (credit note, rejection, write-off) resumes it for what is due again, and is audited."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.choices import DisputeStatus, InvoiceStatus, WriteOffStatus
from billing.models import Dispute, Invoice, WriteOff
from billing.services import dunning_send, payment_record, write_off_approve, write_off_reject
from billing.services.disputes import (
    dispute_assign,
    dispute_open,
    dispute_reject,
    dispute_resolve_credit,
    dispute_resolve_write_off,
)
from ledger.choices import SystemAccount
from ledger.models import JournalLine
from psa.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.models import AuditEvent, Event, OutboxMessage
from tests.billing.factories import issued_invoice, make_account, portal_user

pytestmark = pytest.mark.django_db
DUE = date(2026, 3, 3)  # issued 1 Feb, 30 days net
LATE = DUE + timedelta(days=10)  # level 1 reached


def _reminded(invoice: Invoice) -> list[tuple[int, Decimal, Decimal]]:
    return list(invoice.reminders.order_by("level").values_list("level", "balance", "disputed"))


def _audited(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


# --- dunning paused and resumed -------------------------------------------------------------------------
def test_a_wholly_disputed_invoice_gets_no_reminder_and_a_rejection_resumes_dunning(periods, finance):
    invoice = issued_invoice(finance, "1000.00")  # 1,200.00 gross
    dispute = dispute_open(invoice_id=invoice.pk, by=finance, reason="hours", description="Too many hours")
    assert dispute.amount == Decimal("1200.00") and dispute.owner == finance and dispute.status == DisputeStatus.OPEN
    assert Event.objects.filter(type="invoice.disputed", key=f"invoice.disputed:{dispute.pk}").exists()

    assert dunning_send(by=finance, as_of=LATE).sent == [], "paused: the whole open amount is disputed"
    assert _reminded(invoice) == []

    dispute_reject(dispute_id=dispute.pk, by=finance, reason="The hours match the approved timesheets.")
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.REJECTED and dispute.resolved_by == finance
    (sent,) = dunning_send(by=finance, as_of=LATE).sent
    assert (sent.level, sent.balance, sent.disputed) == (1, Decimal("1200.00"), Decimal("0.00"))
    assert _audited("billing.dispute_reject") == 1


def test_a_partly_disputed_invoice_is_reminded_of_its_undisputed_part_only(periods, finance):
    invoice = issued_invoice(finance, "400.00", "600.00")  # two lines, 480.00 + 720.00 gross
    small = invoice.lines.get(position=1)
    dispute = dispute_open(invoice_id=invoice.pk, by=finance, reason="pricing", lines={small.pk: None})
    assert dispute.amount == Decimal("480.00") and [ln.amount for ln in dispute.lines.all()] == [Decimal("480.00")]

    (sent,) = dunning_send(by=finance, as_of=LATE).sent
    assert (sent.balance, sent.disputed) == (Decimal("720.00"), Decimal("480.00"))
    body = OutboxMessage.objects.get(pk=sent.outbox_message).payload["body"]
    assert "Under dispute (not claimed while we look into it): 480.00 EUR" in body
    assert "Please pay now: 720.00 EUR" in body


def test_a_whole_credit_resolves_the_dispute_and_leaves_nothing_to_remind(periods, finance):
    invoice = issued_invoice(finance, "1000.00")
    dispute = dispute_open(invoice_id=invoice.pk, by=finance, reason="quality", amount="600.00")
    dispute_resolve_credit(dispute_id=dispute.pk, by=finance)  # default: the disputed amount

    dispute.refresh_from_db()
    note = dispute.credit_note
    assert dispute.status == DisputeStatus.CREDITED and note is not None and note.number.startswith("CN")
    assert (note.net_total, note.gross_total) == (Decimal("500.00"), Decimal("600.00"))
    assert dispute.credited == Decimal("600.00")
    invoice.refresh_from_db()
    assert invoice.amount_credited == Decimal("600.00") and invoice.status == InvoiceStatus.PARTLY_CREDITED
    (sent,) = dunning_send(by=finance, as_of=LATE).sent
    assert (sent.balance, sent.disputed) == (Decimal("600.00"), Decimal("0.00")), "the undisputed rest is due"
    assert _audited("billing.dispute_credit") == 1


def test_a_partial_credit_puts_the_rest_of_the_disputed_amount_back_into_dunning(periods, finance):
    invoice = issued_invoice(finance, "1000.00")
    dispute = dispute_open(invoice_id=invoice.pk, by=finance, reason="pricing")  # all 1,200.00
    assert dunning_send(by=finance, as_of=LATE).sent == []

    dispute_resolve_credit(dispute_id=dispute.pk, by=finance, amount="250.00", note="Rate cut agreed")
    dispute.refresh_from_db()
    assert (dispute.status, dispute.credited) == (DisputeStatus.CREDITED, Decimal("300.00"))
    (sent,) = dunning_send(by=finance, as_of=LATE).sent
    assert (sent.balance, sent.disputed) == (Decimal("900.00"), Decimal("0.00"))


def test_a_credit_larger_than_the_dispute_is_refused_and_nothing_is_issued(periods, finance):
    invoice = issued_invoice(finance, "1000.00")
    dispute = dispute_open(invoice_id=invoice.pk, by=finance, reason="pricing", amount="120.00")
    with pytest.raises(ValidationFailed, match="more than the"):
        dispute_resolve_credit(dispute_id=dispute.pk, by=finance, amount="200.00")
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.OPEN
    assert not Invoice.objects.filter(credited_invoice=invoice).exists()


def test_a_write_off_approved_by_another_finance_user_resolves_the_dispute_through_the_ledger(
    periods, finance, finance2
):
    invoice = issued_invoice(finance, "1000.00")
    dispute = dispute_open(invoice_id=invoice.pk, by=finance, reason="quality", amount="240.00")
    dispute_resolve_write_off(dispute_id=dispute.pk, by=finance, note="Goodwill after the outage")
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.WRITE_OFF_PENDING and dispute.write_off.amount == Decimal("240.00")
    (paused,) = dunning_send(by=finance, as_of=LATE).sent
    assert (paused.balance, paused.disputed) == (Decimal("960.00"), Decimal("240.00")), "still paused while pending"

    with pytest.raises(PermissionDeniedError):
        write_off_approve(write_off_id=dispute.write_off_id, by=finance)  # four eyes
    write_off_approve(write_off_id=dispute.write_off_id, by=finance2, on=LATE)
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.WRITTEN_OFF and dispute.resolved_by == finance2
    lines = JournalLine.objects.filter(entry=dispute.write_off.journal_entry)
    assert {(ln.account.system_role, ln.debit, ln.credit) for ln in lines} == {
        (SystemAccount.WRITE_OFFS, Decimal("240.00"), Decimal("0.00")),
        (SystemAccount.RECEIVABLE, Decimal("0.00"), Decimal("240.00")),
    }
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("960.00")
    assert _audited("billing.dispute_write_off_decided") == 1
    (second,) = dunning_send(by=finance, as_of=DUE + timedelta(days=31)).sent
    assert (second.level, second.balance, second.disputed) == (2, Decimal("960.00"), Decimal("0.00"))


def test_a_refused_write_off_puts_the_dispute_back_to_open(periods, finance, finance2):
    invoice = issued_invoice(finance, "1000.00")
    dispute = dispute_open(invoice_id=invoice.pk, by=finance, reason="other")
    write_off_id = dispute_resolve_write_off(dispute_id=dispute.pk, by=finance).write_off_id
    assert write_off_id is not None
    write_off_reject(write_off_id=write_off_id, by=finance2)
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.OPEN and dispute.write_off is None
    assert WriteOff.objects.get(pk=write_off_id).status == WriteOffStatus.REJECTED
    assert dunning_send(by=finance, as_of=LATE).sent == [], "still paused: the dispute is open again"


# --- refusals -------------------------------------------------------------------------------------------
def test_a_client_may_dispute_only_its_own_accounts_invoices(periods, finance, make_user):
    mine = issued_invoice(finance, "1000.00")
    theirs = issued_invoice(finance, "1000.00")
    client = portal_user(mine.account, make_user)
    dispute = dispute_open(invoice_id=mine.pk, by=client, reason="hours", amount="100.00")
    assert dispute.channel == "portal" and dispute.owner == finance, "the issuer (finance) owns it"
    with pytest.raises(NotFoundError):
        dispute_open(invoice_id=theirs.pk, by=client, reason="hours")
    with pytest.raises(PermissionDeniedError):
        dispute_open(invoice_id=theirs.pk, by=make_user("sales"), reason="hours")
    with pytest.raises(PermissionDeniedError):
        dispute_reject(dispute_id=dispute.pk, by=client, reason="no")


def test_amounts_over_the_open_balance_or_a_line_and_a_second_open_dispute_are_refused(periods, finance):
    invoice = issued_invoice(finance, "400.00", "600.00")
    line = invoice.lines.get(position=1)
    with pytest.raises(ValidationFailed, match="still open"):
        dispute_open(invoice_id=invoice.pk, by=finance, reason="pricing", amount="1200.01")
    with pytest.raises(ValidationFailed, match="with its tax"):
        dispute_open(invoice_id=invoice.pk, by=finance, reason="pricing", lines={line.pk: "480.01"})
    with pytest.raises(ValidationFailed, match="reason"):
        dispute_open(invoice_id=invoice.pk, by=finance, reason="mood")
    dispute_open(invoice_id=invoice.pk, by=finance, reason="pricing", amount="10.00")
    with pytest.raises(ConflictError, match="already under dispute"):
        dispute_open(invoice_id=invoice.pk, by=finance, reason="hours", amount="10.00")
    paid = issued_invoice(finance, "100.00")
    payment_record(by=finance, account_id=paid.account_id, amount=Decimal("120.00"), received_on=DUE)
    with pytest.raises(ConflictError, match="not an open invoice"):
        dispute_open(invoice_id=paid.pk, by=finance, reason="hours")


def test_a_resolved_dispute_cannot_be_resolved_again_and_the_owner_must_be_finance(periods, finance, make_user):
    invoice = issued_invoice(finance, "1000.00")
    dispute = dispute_open(invoice_id=invoice.pk, by=finance, reason="pricing")
    with pytest.raises(ValidationFailed, match="finance user"):
        dispute_assign(dispute_id=dispute.pk, by=finance, owner_id=make_user("sales").pk)
    with pytest.raises(ValidationFailed, match="Say why"):
        dispute_reject(dispute_id=dispute.pk, by=finance, reason=" ")
    dispute_reject(dispute_id=dispute.pk, by=finance, reason="As agreed in the SOW")
    with pytest.raises(ConflictError):
        dispute_resolve_credit(dispute_id=dispute.pk, by=finance)


def test_the_database_holds_one_open_dispute_per_invoice_and_a_reason_for_a_rejection(periods, finance):
    invoice = issued_invoice(finance, "1000.00")
    dispute = dispute_open(invoice_id=invoice.pk, by=finance, reason="pricing", amount="10.00")
    fields = {"invoice": invoice, "account": invoice.account, "reason": "hours", "amount": Decimal("1.00")}
    with pytest.raises(IntegrityError), transaction.atomic():
        Dispute.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Dispute.objects.filter(pk=dispute.pk).update(status=DisputeStatus.REJECTED, resolved_at=dispute.opened_at)


# --- pages ----------------------------------------------------------------------------------------------
def test_the_portal_lets_a_client_dispute_its_invoice_and_see_its_disputes_only(periods, finance, client, make_user):
    mine = issued_invoice(finance, "1000.00")
    theirs = issued_invoice(finance, "1000.00")
    dispute_open(invoice_id=theirs.pk, by=finance, reason="po", amount="5.00")
    url = reverse("billing:portal-dispute-new", args=[mine.pk])
    assert client.get(url).status_code == 302, "anonymous: to the sign-in page"
    client.force_login(portal_user(mine.account, make_user))
    assert client.get(reverse("billing:portal-dispute-new", args=[theirs.pk])).status_code == 404
    assert client.post(url, {"reason": "hours", "amount": "99999.00"}).status_code == 400
    response = client.post(url, {"reason": "hours", "amount": "120.00", "description": "Two days too many"})
    assert response.status_code == 302
    page = client.get(reverse("billing:portal-disputes"))
    assert page.status_code == 200
    assert mine.number.encode() in page.content and theirs.number.encode() not in page.content
    assert b"Being reviewed" in page.content
    assert client.get(reverse("billing:dispute-list")).status_code == 403, "the finance list is not the client's"


def test_finance_resolves_a_dispute_from_its_page(periods, finance, client, make_user):
    invoice = issued_invoice(finance, "1000.00")
    dispute = dispute_open(invoice_id=invoice.pk, by=finance, reason="hours", amount="120.00")
    client.force_login(finance)
    page = client.get(reverse("billing:dispute-detail", args=[dispute.pk]))
    assert page.status_code == 200 and b'data-testid="dispute-credit-form"' in page.content
    response = client.post(reverse("billing:dispute-credit", args=[dispute.pk]), {"amount": "", "note": ""})
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.CREDITED
    client.force_login(make_user("sales"))
    assert client.get(reverse("billing:dispute-detail", args=[dispute.pk])).status_code == 403


def _disputes(finance, n: int) -> None:
    account = make_account()
    for i in range(n):
        invoice = issued_invoice(finance, "100.00", account=account if i % 2 else None)
        dispute_open(invoice_id=invoice.pk, by=finance, reason="pricing", amount="10.00")


@pytest.mark.parametrize("url_name", ["billing:dispute-list", "billing:portal-disputes"])
def test_the_dispute_lists_cost_the_same_queries_at_two_sizes(periods, finance, client, make_user, url_name):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse(url_name), {"state": "open"} if url_name.endswith("list") else {})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    account = make_account()
    viewer = finance if url_name == "billing:dispute-list" else portal_user(account, make_user)
    client.force_login(viewer)
    for _ in range(2):
        _disputes(finance, 1)
        dispute_open(invoice_id=issued_invoice(finance, "50.00", account=account).pk, by=finance, reason="po")
    small = count()
    for _ in range(8):
        _disputes(finance, 1)
        dispute_open(invoice_id=issued_invoice(finance, "50.00", account=account).pk, by=finance, reason="po")
    assert count() == small


def test_the_dispute_list_filters_by_state_and_client(periods, finance, client):
    a = issued_invoice(finance, "100.00")
    b = issued_invoice(finance, "100.00")
    dispute_open(invoice_id=a.pk, by=finance, reason="pricing")
    rejected = dispute_open(invoice_id=b.pk, by=finance, reason="hours")
    dispute_reject(dispute_id=rejected.pk, by=finance, reason="Agreed rate")
    client.force_login(finance)
    page = client.get(reverse("billing:dispute-list"), {"state": "open"}).content.decode()
    assert a.number in page and b.number not in page
    page = client.get(reverse("billing:dispute-list"), {"account": b.account_id}).content.decode()
    assert b.number in page and a.number not in page
