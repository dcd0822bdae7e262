"""Disputes and credit-hold demo: the demo client contests part of an open invoice in the portal, finance disputes
another (and rejected an older one), and the client with the oldest unpaid invoice is on credit hold. Idempotent:
nothing is added when the demo's disputes exist."""

from django.contrib.auth import get_user_model

from billing.choices import OPEN_STATUSES, DisputeReason, InvoiceKind
from billing.models import Dispute, Invoice
from billing.services.disputes import dispute_open, dispute_reject
from crm.models import Contact, CreditHold
from crm.services import credit_hold_place
from psa.core.exceptions import DomainError
from psa.core.money import round_amount

MARK = "(demo)"


def seed() -> list[str]:
    if Dispute.objects.filter(description__endswith=MARK).exists():
        return ["billing: demo disputes already there"]
    users = get_user_model().objects
    finance = users.filter(username="finance").first()
    if finance is None:
        return ["billing: no disputes seeded (no finance user)"]
    open_invoices = list(
        Invoice.objects.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES).order_by("due_date", "pk")
    )
    made = 0
    client = Contact.objects.filter(user__username="client").select_related("user").first()
    by_client = next((i for i in open_invoices if client and i.account_id == client.account_id), None)
    try:
        if by_client and client and client.user:
            line = by_client.lines.order_by("position").first()
            dispute_open(
                invoice_id=by_client.pk,
                by=client.user,
                reason=DisputeReason.HOURS,
                lines={line.pk: None} if line else None,
                description=f"The hours of the second week were not agreed with our project lead. {MARK}",
            )
            made += 1
        others = [i for i in open_invoices if i is not by_client]
        if others:
            target = others[-1]
            half = round_amount(target.balance / 2, target.currency)
            dispute_open(
                invoice_id=target.pk,
                by=finance,
                reason=DisputeReason.PO,
                amount=half,
                description=f"The client's accounts payable asks for a new purchase order number. {MARK}",
            )
            made += 1
        if len(others) > 1:
            old = dispute_open(
                invoice_id=others[-2].pk,
                by=finance,
                reason=DisputeReason.PRICING,
                amount=round_amount(others[-2].balance / 10, others[-2].currency),
                description=f"Rate questioned by the client. {MARK}",
            )
            dispute_reject(dispute_id=old.pk, by=finance, reason="The rate is the one in the signed rate card.")
            made += 1
    except DomainError as exc:
        return [f"billing: demo disputes stopped: {exc.message}"]
    held = ""
    oldest = next((i for i in open_invoices if i.account_id != getattr(client, "account_id", None)), None)
    if oldest and not CreditHold.objects.filter(account_id=oldest.account_id, released_at__isnull=True).exists():
        credit_hold_place(
            account_id=oldest.account_id,
            by=finance,
            reason=f"{oldest.number} is long overdue and the client has not answered two reminders.",
        )
        held = f", {oldest.account} on credit hold"
    return [f"billing: {made} demo disputes{held}"]
