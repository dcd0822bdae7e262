"""The daily credit jobs: `invoice.overdue` once per invoice, and the credit-hold rule.

The rule (billing owns the receivables it reads; the hold itself is crm's, placed and lifted through
crm.services): an account goes on hold when an invoice of it has an undisputed open balance more than
PSA_CREDIT_HOLD_OVERDUE_DAYS past due, or when its open receivables (in its currency, undisputed) exceed its
credit limit. Disputed amounts do not count: a client contesting an invoice in good faith is not a bad payer
until the dispute is decided. The rule lifts the holds it placed once the account no longer meets it; it never
lifts a hold finance placed, and after finance lifts a hold it waits PSA_CREDIT_HOLD_GRACE_DAYS before placing
one again (finance's judgement is not overruled the next morning).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import CharField, DecimalField, Exists, F, OuterRef, Subquery, Sum, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from billing.choices import DISPUTE_OPEN_STATUSES, OPEN_STATUSES, InvoiceKind
from billing.models import Dispute, Invoice
from billing.services._common import require_finance
from crm import services as crm_services
from crm.choices import CreditHoldSource
from crm.models import CreditHold
from psa.core.models import Event
from psa.core.money import ZERO
from psa.core.webhooks import event_emit

MONEY = DecimalField(max_digits=18, decimal_places=2)


def _undisputed_balance() -> CombinedExpression:
    disputed = (
        Dispute.objects.filter(invoice=OuterRef("pk"), status__in=DISPUTE_OPEN_STATUSES)
        .values("invoice")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    return (
        F("gross_total")
        - F("amount_paid")
        - F("amount_credited")
        - F("amount_written_off")
        - Coalesce(Subquery(disputed, output_field=MONEY), Value(ZERO), output_field=MONEY)
    )


@transaction.atomic
def invoices_overdue_emit(*, as_of: date | None = None) -> int:
    """Emit `invoice.overdue` for every open invoice past its due date that has not had it yet (once per
    invoice: the event key is the invoice's). Two queries plus the events written."""
    as_of = as_of or timezone.localdate()
    seen = Event.objects.filter(key=Concat(Value("invoice.overdue:"), Cast(OuterRef("pk"), output_field=CharField())))
    due = (
        Invoice.objects.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES, due_date__lt=as_of)
        .filter(~Exists(seen))
        .order_by("due_date", "pk")
        .values("pk", "number", "account_id", "currency", "due_date", "gross_total", "amount_paid",
                "amount_credited", "amount_written_off")
    )  # fmt: skip
    n = 0
    for inv in due:
        assert inv["due_date"] is not None  # filtered on it
        balance = inv["gross_total"] - inv["amount_paid"] - inv["amount_credited"] - inv["amount_written_off"]
        event_emit(
            type="invoice.overdue",
            key=f"invoice.overdue:{inv['pk']}",
            data={
                "id": inv["pk"],
                "number": inv["number"],
                "account_id": inv["account_id"],
                "currency": inv["currency"],
                "balance": str(balance),
                "due_date": inv["due_date"].isoformat(),
            },
        )
        n += 1
    return n


@dataclass
class HoldRuleResult:
    placed: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)


def accounts_meeting_hold_rule(*, as_of: date) -> dict[int, str]:
    """{account id: why} for the accounts the rule would put on hold today. Two queries."""
    days = settings.PSA_CREDIT_HOLD_OVERDUE_DAYS
    open_invoices = Invoice.objects.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES).annotate(
        undisputed=_undisputed_balance()
    )
    why: dict[int, str] = {}
    late = (
        open_invoices.filter(due_date__lt=as_of - timedelta(days=days), undisputed__gt=0)
        .order_by("account_id", "due_date", "pk")
        .values("account_id", "number", "due_date")
    )
    for row in late:
        assert row["due_date"] is not None  # filtered on it
        if row["account_id"] not in why:
            overdue = (as_of - row["due_date"]).days
            why[row["account_id"]] = f"{row['number']} is {overdue} days overdue (rule: more than {days} days)."
    over = (
        open_invoices.filter(account__credit_limit__isnull=False, currency=F("account__currency"))
        .values("account_id", "account__credit_limit", "account__currency")
        .annotate(ar=Sum("undisputed"))
        .filter(ar__gt=F("account__credit_limit"))
        .order_by()
    )
    for limit in over:
        why.setdefault(
            limit["account_id"],
            f"Open receivables of {limit['ar']:,.2f} {limit['account__currency']} exceed the credit limit of "
            f"{limit['account__credit_limit']:,.2f}.",
        )
    return why


def credit_holds_apply(*, as_of: date | None = None, by: User | None = None) -> HoldRuleResult:
    """Run the hold rule: place holds where it is met, lift the rule's own holds where it no longer is. Each
    account in its own transaction (crm.services), so one refusal does not undo the others."""
    require_finance(by)
    as_of = as_of or timezone.localdate()
    meeting = accounts_meeting_hold_rule(as_of=as_of)
    active = dict(CreditHold.objects.filter(released_at__isnull=True).values_list("account_id", "source"))
    grace_from = timezone.now() - timedelta(days=settings.PSA_CREDIT_HOLD_GRACE_DAYS)
    lifted_lately = set(
        CreditHold.objects.filter(released_at__gte=grace_from, released_by__isnull=False).values_list(
            "account_id", flat=True
        )
    )
    result = HoldRuleResult()
    for account_id in sorted(meeting):
        if account_id in active or account_id in lifted_lately:
            continue
        crm_services.credit_hold_place(
            account_id=account_id, by=None, reason=meeting[account_id], source=CreditHoldSource.RULE
        )
        result.placed.append(account_id)
    for account_id, source in sorted(active.items()):
        if source == CreditHoldSource.RULE and account_id not in meeting:
            crm_services.credit_hold_release(
                account_id=account_id, by=None, note="The account no longer meets the hold rule."
            )
            result.released.append(account_id)
    return result
