"""Invoice disputes: opened by the client in the portal or by finance, resolved by finance.

- Opening: an issued, open invoice of the client's own account (a client user can dispute nothing else), the
  whole invoice or some of its lines, with a reason, a gross amount (at most the open balance; per line at most
  the line's gross) and an owner (the finance user who resolves it: the opener when finance opens it, else the
  user who issued the invoice when that user is finance, else nobody until finance assigns one). One open
  dispute per invoice. Emits `invoice.disputed`.
- While open, dunning leaves the disputed amount out (billing.services.dunning): a wholly disputed invoice gets
  no reminder; a partly disputed one is reminded of its undisputed part only.
- Resolution, each audited: a credit note (whole or partial: the part not credited is due again), through the
  credit-note service and issued at once; a rejection with a reason (the whole amount is due again); or a
  write-off of the disputed amount, which another finance user approves as any write-off
  (billing.services.payments: Dr write-offs / Cr AR through the ledger service); a refused write-off puts the
  dispute back to open.
"""

from decimal import ROUND_DOWN, Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billing.choices import (
    DISPUTE_TRANSITIONS,
    OPEN_STATUSES,
    DisputeChannel,
    DisputeReason,
    DisputeStatus,
    InvoiceKind,
)
from billing.models import Dispute, DisputeLine, Invoice, InvoiceLine
from billing.services._common import FINANCE_ROLES, locked, require_finance
from billing.services.invoices import credit_note_create, invoice_issue
from billing.services.payments import write_off_request
from crm.selectors import account_for_client_user
from psa.core.audit import audit_record
from psa.core.currency import minor_unit, quantum
from psa.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed, ensure_transition
from psa.core.money import ZERO, DecimalInput, round_amount, to_decimal
from psa.core.roles import Role, has_role
from psa.core.webhooks import event_emit


def _money(value: DecimalInput, field: str, currency: str) -> Decimal:
    try:
        amount = to_decimal(value)
    except (ValueError, ArithmeticError, TypeError):
        raise ValidationFailed("Enter the amount as a number.", fields={field: ["A number."]}) from None
    if amount <= 0 or amount != round_amount(amount, currency):
        raise ValidationFailed(
            f"Enter a positive amount with at most {minor_unit(currency)} decimals.",
            fields={field: ["A positive amount."]},
        )
    return amount


def line_gross(line: InvoiceLine, currency: str) -> Decimal:
    """What a line costs the client with its tax (the most that can be disputed on it)."""
    return line.net + round_amount(line.net * line.tax_rate / Decimal(100), currency)


def _channel_for(by: User) -> str:
    if has_role(by, *FINANCE_ROLES):
        return DisputeChannel.FINANCE
    if has_role(by, Role.CLIENT):
        return DisputeChannel.PORTAL
    raise PermissionDeniedError("Only finance or the client may dispute an invoice.")


def _finance_user(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not has_role(user, *FINANCE_ROLES):
        raise ValidationFailed("The owner must be a finance user.", fields={"owner": ["Pick a finance user."]})
    return user


@transaction.atomic
def dispute_open(
    *,
    invoice_id: int,
    by: User,
    reason: str,
    description: str = "",
    amount: DecimalInput | None = None,
    lines: dict[int, DecimalInput | None] | None = None,
    owner_id: int | None = None,
    channel: str | None = None,
) -> Dispute:
    """Dispute an open invoice (`amount`, default its open balance) or some of its lines (`lines`: line id ->
    gross amount, None = the whole line)."""
    detected = _channel_for(by)
    channel = channel if channel and detected == DisputeChannel.FINANCE else detected
    invoice = locked(Invoice, invoice_id, "invoice")
    if detected == DisputeChannel.PORTAL:
        account = account_for_client_user(by)
        # Another account's invoice is "not found" to a client, as everywhere in the portal.
        if account is None or invoice.account_id != account.pk or invoice.number is None:
            raise NotFoundError(f"No invoice with id {invoice_id}.")
        if owner_id is not None:
            raise PermissionDeniedError("Finance assigns the owner of a dispute.")
    if invoice.kind != InvoiceKind.INVOICE or invoice.status not in OPEN_STATUSES:
        raise ConflictError(
            f"{invoice} is not an open invoice: only an issued, unpaid invoice can be disputed.",
            fields={"invoice": ["Not open."]},
        )
    if reason not in DisputeReason.values:
        raise ValidationFailed("Pick the reason of the dispute.", fields={"reason": ["Pick a reason."]})
    if Dispute.objects.filter(invoice=invoice, status__in=[DisputeStatus.OPEN, DisputeStatus.WRITE_OFF_PENDING]):
        raise ConflictError(
            f"{invoice} is already under dispute: add to that dispute instead.",
            fields={"invoice": ["Already disputed."]},
            code="already_disputed",
        )
    chosen: list[tuple[InvoiceLine, Decimal]] = []
    if lines:
        on_invoice = {ln.pk: ln for ln in InvoiceLine.objects.filter(invoice=invoice, pk__in=list(lines))}
        if len(on_invoice) != len(lines):
            raise ValidationFailed("Some lines are not on this invoice.", fields={"lines": ["Not on this invoice."]})
        for line_id, value in sorted(lines.items()):
            line = on_invoice[line_id]
            most = line_gross(line, invoice.currency)
            part = most if value in (None, "") else _money(value, "lines", invoice.currency)
            if part > most:
                raise ValidationFailed(
                    f"Line {line.position} ({line.description}) is {most:,.2f} {invoice.currency} with its tax: "
                    "dispute at most that.",
                    fields={"lines": [f"Line {line.position}: at most {most}."]},
                )
            chosen.append((line, part))
        total = sum((part for _, part in chosen), ZERO)
        if amount not in (None, "") and _money(amount, "amount", invoice.currency) != total:
            raise ValidationFailed(
                "The amount must be the sum of the disputed lines (or leave it empty).",
                fields={"amount": [f"The lines add up to {total}."]},
            )
    else:
        total = invoice.balance if amount in (None, "") else _money(amount, "amount", invoice.currency)
    if total > invoice.balance:
        raise ValidationFailed(
            f"Only {invoice.balance:,.2f} {invoice.currency} is still open on {invoice}: dispute at most that.",
            fields={"amount": [f"At most {invoice.balance}."]},
        )
    if detected == DisputeChannel.FINANCE:
        owner = _finance_user(owner_id) if owner_id is not None else by
    else:
        issuer = invoice.issued_by
        owner = issuer if issuer is not None and has_role(issuer, *FINANCE_ROLES) else None
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                invoice=invoice,
                account_id=invoice.account_id,
                reason=reason,
                description=(description or "").strip()[:4000],
                amount=total,
                currency=invoice.currency,
                channel=channel,
                owner=owner,
                opened_by=by,
            )
    except IntegrityError:  # a concurrent dispute of the same invoice won the partial unique index
        raise ConflictError(f"{invoice} is already under dispute.", code="already_disputed") from None
    DisputeLine.objects.bulk_create([DisputeLine(dispute=dispute, invoice_line=ln, amount=p) for ln, p in chosen])
    audit_record(
        actor=by,
        action="billing.dispute_open",
        obj=invoice,
        summary=f"{invoice} disputed: {total:,.2f} {invoice.currency} ({dispute.get_reason_display()})",
        data={"dispute_id": dispute.pk, "channel": channel},
    )
    event_emit(
        type="invoice.disputed",
        key=f"invoice.disputed:{dispute.pk}",
        data={
            "dispute_id": dispute.pk,
            "invoice_id": invoice.pk,
            "number": invoice.number,
            "account_id": invoice.account_id,
            "amount": str(total),
            "currency": invoice.currency,
            "reason": reason,
            "line_ids": [ln.pk for ln, _ in chosen],
            "channel": channel,
        },
    )
    return dispute


def _locked_dispute(dispute_id: int, by: User) -> Dispute:
    require_finance(by)
    return locked(Dispute, dispute_id, "dispute")


def _resolve(dispute: Dispute, target: str, *, by: User, note: str) -> None:
    ensure_transition(dispute.status, target, DISPUTE_TRANSITIONS)
    dispute.status = target
    dispute.resolution_note = note[:500]
    dispute.resolved_by = by if getattr(by, "is_authenticated", False) else None
    dispute.resolved_at = timezone.now()


@transaction.atomic
def dispute_assign(*, dispute_id: int, by: User, owner_id: int) -> Dispute:
    dispute = _locked_dispute(dispute_id, by)
    if not dispute.is_open:
        raise ConflictError("A resolved dispute keeps its owner.", fields={"owner": ["Resolved."]})
    dispute.owner = _finance_user(owner_id)
    dispute.save(update_fields=["owner"])
    audit_record(
        actor=by, action="billing.dispute_assign", obj=dispute, summary=f"{dispute} assigned to {dispute.owner}"
    )
    return dispute


@transaction.atomic
def dispute_reject(*, dispute_id: int, by: User, reason: str) -> Dispute:
    """Reject the dispute: the amount is due as invoiced and dunning resumes for it."""
    dispute = _locked_dispute(dispute_id, by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the dispute is rejected.", fields={"reason": ["A reason is required."]})
    _resolve(dispute, DisputeStatus.REJECTED, by=by, note=reason)
    dispute.save()
    audit_record(
        actor=by, action="billing.dispute_reject", obj=dispute.invoice, summary=f"{dispute} rejected: {reason}"
    )
    return dispute


def _credit_amount_for(dispute: Dispute, invoice: Invoice) -> Decimal:
    """The net credit whose gross (net + its tax) is as close to the disputed amount as can be without passing it
    (a single tax category; the rounding of the tax decides the last cent)."""
    rates = set(invoice.lines.values_list("tax_rate", flat=True))
    if len(rates) != 1:
        raise ValidationFailed(
            "This invoice has several tax rates: name the net amount to credit.", fields={"amount": ["Required."]}
        )
    rate = rates.pop()
    step = quantum(invoice.currency)
    net = (dispute.amount * 100 / (100 + rate)).quantize(step, rounding=ROUND_DOWN)
    while net + round_amount(net * rate / 100, invoice.currency) < dispute.amount:
        net += step
    while net > 0 and net + round_amount(net * rate / 100, invoice.currency) > dispute.amount:
        net -= step
    return net


@transaction.atomic
def dispute_resolve_credit(
    *,
    dispute_id: int,
    by: User,
    amount: DecimalInput | None = None,
    line_ids: list[int] | None = None,
    note: str = "",
) -> Dispute:
    """Resolve by a credit note, issued at once: a net `amount` (a price reduction), whole `line_ids`, or by
    default the disputed amount. Its gross may not exceed the disputed amount; a smaller credit is a partial
    resolution: the rest is due again and dunning resumes for it."""
    dispute = _locked_dispute(dispute_id, by)
    ensure_transition(dispute.status, DisputeStatus.CREDITED, DISPUTE_TRANSITIONS)
    invoice = dispute.invoice
    reason = (note or "").strip() or f"Dispute {dispute.pk} on {invoice.number}: {dispute.get_reason_display()}"
    if line_ids:
        draft = credit_note_create(invoice_id=invoice.pk, by=by, line_ids=line_ids, reason=reason)
    else:
        net = (
            _money(amount, "amount", invoice.currency)
            if amount not in (None, "")
            else _credit_amount_for(dispute, invoice)
        )
        draft = credit_note_create(invoice_id=invoice.pk, by=by, amount=net, reason=reason)
    if draft.gross_total > dispute.amount:
        raise ValidationFailed(
            f"The credit note would be {draft.gross_total:,.2f} {invoice.currency} with its tax, more than the "
            f"{dispute.amount:,.2f} disputed.",
            fields={"amount": [f"At most {dispute.amount} with tax."]},
        )
    note_doc = invoice_issue(invoice_id=draft.pk, by=by)
    _resolve(dispute, DisputeStatus.CREDITED, by=by, note=reason)
    dispute.credit_note = note_doc
    dispute.credited = note_doc.gross_total
    dispute.save()
    partial = note_doc.gross_total < dispute.amount
    audit_record(
        actor=by,
        action="billing.dispute_credit",
        obj=invoice,
        summary=f"{dispute} resolved by {note_doc.number} ({note_doc.gross_total:,.2f} of {dispute.amount:,.2f}"
        f"{', partly' if partial else ''})",
    )
    return dispute


@transaction.atomic
def dispute_resolve_write_off(*, dispute_id: int, by: User, note: str = "") -> Dispute:
    """Ask to write off the disputed amount (at most what is still open); another finance user approves it
    (billing.services.payments.write_off_approve), which resolves the dispute as written off."""
    dispute = _locked_dispute(dispute_id, by)
    ensure_transition(dispute.status, DisputeStatus.WRITE_OFF_PENDING, DISPUTE_TRANSITIONS)
    invoice = Invoice.objects.get(pk=dispute.invoice_id)
    amount = min(dispute.amount, invoice.balance)
    if amount <= 0:
        raise ConflictError("Nothing is open on the invoice any more: reject the dispute instead.")
    reason = (note or "").strip() or f"Dispute {dispute.pk}: {dispute.get_reason_display()}"
    write_off = write_off_request(invoice_id=invoice.pk, by=by, reason=reason, amount=amount)
    dispute.status = DisputeStatus.WRITE_OFF_PENDING
    dispute.write_off = write_off
    dispute.save(update_fields=["status", "write_off"])
    audit_record(
        actor=by,
        action="billing.dispute_write_off",
        obj=invoice,
        summary=f"{dispute}: write-off of {amount:,.2f} requested",
    )
    return dispute


def disputed_open_amount(invoice_id: int) -> Decimal:
    return (
        Dispute.objects.filter(
            invoice_id=invoice_id, status__in=[DisputeStatus.OPEN, DisputeStatus.WRITE_OFF_PENDING]
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
