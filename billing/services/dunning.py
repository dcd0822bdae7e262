"""Dunning: payment reminders for overdue invoices, by level, through the outbox.

An open invoice past its due date reaches level 1 after 7 days, 2 after 30 and 3 (final notice) after 60
(billing.choices.DUNNING_LEVELS). `dunning_send` sends each invoice the highest level it has reached when that
level is above every level already sent: a level is never sent twice (unique row per invoice and level, and the
outbox dedupe key), and a skipped lower level is never sent late. Invoices are claimed with
`SELECT ... FOR UPDATE SKIP LOCKED`, so the beat job and the button may run at once without a double send.
The e-mail leaves only after commit (outbox), to the billing e-mail snapshotted on the invoice (a complete
billing entity, e-mail included, is required before any invoice is drafted).

Disputes pause dunning for their amount (billing.services.disputes): the reminder claims the open balance less
what is under an open dispute, and says so; an invoice whose whole open balance is disputed gets no reminder, and
its level is not used up, so the reminder it has reached by its due date is sent once the dispute is rejected or
only partly credited (the clock runs from the due date: a dispute that is rejected was owed all along).
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.choices import DISPUTE_OPEN_STATUSES, DUNNING_LEVELS, OPEN_STATUSES, InvoiceKind
from billing.models import Dispute, DunningReminder, Invoice
from billing.services._common import require_finance
from psa.core.audit import audit_record
from psa.core.money import ZERO
from psa.core.outbox import outbox_enqueue


def dunning_level(days_overdue: int) -> int:
    """The dunning level an invoice this many days past due has reached (0 = none yet)."""
    reached = [level for level, days, _ in DUNNING_LEVELS if days_overdue >= days]
    return max(reached, default=0)


LEVEL_NAMES = {level: name for level, _, name in DUNNING_LEVELS}


@dataclass
class DunningResult:
    sent: list[DunningReminder] = field(default_factory=list)


def _body(invoice: Invoice, level: int, days: int, disputed: Decimal = ZERO) -> str:
    s = invoice.seller
    opening = {
        1: "this is a friendly reminder that the invoice below is past its due date.",
        2: "we have not yet received payment of the invoice below, although we reminded you of it.",
        3: "this is our final notice: the invoice below is still unpaid. Please settle it within 7 days.",
    }[level]
    return (
        f"Dear {invoice.buyer_name},\n\n{opening}\n\n"
        f"Invoice: {invoice.number} of {invoice.issue_date:%d %B %Y}\n"
        f"Due: {invoice.due_date:%d %B %Y} ({days} days ago)\n"
        f"Open: {invoice.balance:,.2f} {invoice.currency}\n"
        + (
            f"Under dispute (not claimed while we look into it): {disputed:,.2f} {invoice.currency}\n"
            f"Please pay now: {invoice.balance - disputed:,.2f} {invoice.currency}\n\n"
            if disputed
            else "\n"
        )
        + f"Please transfer the {'undisputed' if disputed else 'open'} amount to {s.get('legal_name', '')}, "
        f"IBAN {s.get('iban', '')}, BIC {s.get('bic', '')}, quoting {invoice.number}. "
        "If you have paid in the meantime, please ignore this message."
        f"\n\nKind regards,\n{s.get('name', '')}\n"
    )


@dataclass(frozen=True)
class DueReminder:
    """A reminder that `dunning_send` would send: what the preview shows and the confirm names."""

    invoice_id: int
    number: str
    client: str
    to: str
    level: int
    days_overdue: int
    amount: Decimal
    disputed: Decimal
    currency: str

    @property
    def key(self) -> str:
        return f"{self.invoice_id}:{self.level}"

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]


def _overdue(as_of: date) -> QuerySet[Invoice]:
    last_sent = DunningReminder.objects.filter(invoice=OuterRef("pk")).order_by("-level").values("level")[:1]
    disputed = (
        Dispute.objects.filter(invoice=OuterRef("pk"), status__in=DISPUTE_OPEN_STATUSES)
        .values("invoice")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    money = DecimalField(max_digits=18, decimal_places=2)
    return (
        Invoice.objects.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES, due_date__lt=as_of)
        .annotate(
            last_level=Subquery(last_sent),
            disputed=Coalesce(Subquery(disputed, output_field=money), Value(ZERO), output_field=money),
        )
        .order_by("due_date", "pk")
    )


def _due(invoice: Invoice, as_of: date) -> DueReminder | None:
    assert invoice.due_date is not None  # filtered on it
    days = (as_of - invoice.due_date).days
    level = dunning_level(days)
    disputed = min(invoice.disputed, invoice.balance)  # type: ignore[attr-defined]  # annotated
    if level == 0 or level <= (invoice.last_level or 0) or invoice.balance - disputed <= 0:  # type: ignore[attr-defined]
        return None
    return DueReminder(
        invoice_id=invoice.pk,
        number=invoice.number or "",
        client=invoice.buyer_name,
        to=invoice.buyer_email,
        level=level,
        days_overdue=days,
        amount=invoice.balance - disputed,
        disputed=disputed,
        currency=invoice.currency,
    )


def dunning_due(*, by: User | None = None, as_of: date | None = None) -> list[DueReminder]:
    """The reminders `dunning_send` would send on `as_of` (default today), oldest due date first. Sends nothing."""
    require_finance(by)
    as_of = as_of or timezone.localdate()
    return [due for invoice in _overdue(as_of) if (due := _due(invoice, as_of)) is not None]


@transaction.atomic
def dunning_send(
    *, by: User | None = None, as_of: date | None = None, only: Collection[str] | None = None
) -> DunningResult:
    """Send the reminders due on `as_of` (default today). Safe to run any number of times. `only` (the keys of a
    confirmed preview, "invoice_id:level") limits the send to those reminders that are still due: a confirm
    never sends what the user did not see, and a second confirm sends nothing."""
    require_finance(by)
    as_of = as_of or timezone.localdate()
    invoices = list(_overdue(as_of).select_for_update(skip_locked=True, of=("self",)))
    result = DunningResult()
    actor = by if getattr(by, "is_authenticated", False) else None
    for invoice in invoices:
        due = _due(invoice, as_of)
        if due is None or (only is not None and due.key not in only):
            continue
        level, days, disputed = due.level, due.days_overdue, due.disputed
        message = outbox_enqueue(
            kind="email",
            dedupe_key=f"billing:dunning:{invoice.pk}:{level}",
            payload={
                "subject": f"{LEVEL_NAMES[level]}: invoice {invoice.number} is {days} days overdue",
                "body": _body(invoice, level, days, disputed),
                "to": [invoice.buyer_email],
                "attachments": [
                    {"path": invoice.pdf.name, "filename": f"{invoice.number}.pdf", "mimetype": "application/pdf"}
                ]
                if invoice.pdf
                else [],
            },
        )
        result.sent.append(
            DunningReminder.objects.create(
                invoice=invoice,
                level=level,
                days_overdue=days,
                balance=invoice.balance - disputed,
                disputed=disputed,
                sent_to=invoice.buyer_email,
                outbox_message=message.id,
                sent_by=actor,
            )
        )
    if result.sent:
        audit_record(
            actor=by,
            action="billing.dunning_send",
            obj=None,
            summary=f"Sent {len(result.sent)} payment reminders ({as_of:%Y-%m-%d})",
        )
    return result
