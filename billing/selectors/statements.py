"""The statement of account: what a client owes and has paid, as of a date (one account, a fixed query count)."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from billing.choices import OPEN_STATUSES, InvoiceKind
from billing.models import Invoice, Payment
from billing.selectors import AgingRow, ar_aging
from billing.selectors.retainage import retainage_held_by_account
from crm.models import Account
from psa.core.money import ZERO

PAYMENTS_SHOWN_DAYS = 365


@dataclass
class Statement:
    account: Account
    as_of: date
    open_invoices: list[Invoice] = field(default_factory=list)
    open_credits: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    aging: list[AgingRow] = field(default_factory=list)
    retainage: dict[str, Decimal] = field(default_factory=dict)

    @property
    def balances(self) -> dict[str, Decimal]:
        """Per currency: open invoices less open credit notes and unapplied payments (what is owed now)."""
        out: dict[str, Decimal] = {}
        for inv in self.open_invoices:
            out[inv.currency] = out.get(inv.currency, ZERO) + inv.balance
        for note in self.open_credits:
            out[note.currency] = out.get(note.currency, ZERO) - note.balance
        for p in self.payments:
            out[p.currency] = out.get(p.currency, ZERO) - (p.amount - p.amount_allocated)
        return dict(sorted(out.items()))


def account_statement(*, account: Account, as_of: date) -> Statement:
    """Open invoices (their part on AR; retainage shown apart), open credit notes, the payments of the last
    year, the aging buckets per currency and the retainage held. Eight queries whatever the data size."""
    issued = Invoice.objects.filter(account=account, number__isnull=False, issue_date__lte=as_of)
    open_invoices = list(
        issued.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES).order_by("due_date", "number")
    )
    open_credits = list(
        issued.filter(kind=InvoiceKind.CREDIT_NOTE, status__in=OPEN_STATUSES).order_by("issue_date", "number")
    )
    payments = list(
        Payment.objects.filter(
            account=account, received_on__lte=as_of, received_on__gt=as_of - timedelta(days=PAYMENTS_SHOWN_DAYS)
        ).order_by("-received_on", "-id")
    )
    held = retainage_held_by_account(account_ids=[account.pk], as_of=as_of)
    return Statement(
        account=account,
        as_of=as_of,
        open_invoices=open_invoices,
        open_credits=open_credits,
        payments=payments,
        aging=ar_aging(as_of=as_of, account_id=account.pk).rows,
        retainage={currency: amount for (_, currency), amount in sorted(held.items())},
    )
