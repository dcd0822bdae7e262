"""Payments, allocations, write-offs and the bank CSV import.

A payment posts Dr cash / Cr AR for its full amount in the transaction that records it, converted at the rate
of its received date (a missing rate is a 409 naming currency and date; nothing is recorded); the part not
allocated to invoices stays on the payment as unapplied credit for the account (AR in the GL then equals
open invoice balances minus unapplied credits, in the functional currency at the booked rates). A payment
settles invoices in its own currency only: one in another currency is refused, never converted implicitly.
Allocating to a foreign-currency invoice takes the invoice's share off AR at its booked rate and realises the
difference against the payment's rate (billing.services.posting.settlement_post). Allocation locks the payment
and the invoices in primary-key order. A write-off is requested by one finance user and approved by another
(Dr write-offs / Cr AR).
"""

import re
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.choices import (
    OPEN_STATUSES,
    WRITE_OFF_TRANSITIONS,
    DisputeStatus,
    InvoiceKind,
    PaymentMethod,
    WriteOffStatus,
)
from billing.models import Dispute, Invoice, Payment, PaymentAllocation, WriteOff
from billing.services._common import locked, require_finance
from billing.services.bank_transfer import references_in
from billing.services.invoices import invoice_settle_share, settle_status
from billing.services.posting import (
    Settlement,
    booked_rate,
    payment_post,
    settled_share,
    settlement_post,
    write_off_post,
)
from crm.models import Account
from projects.selectors import deal_correlation_id
from psa.core.audit import audit_record
from psa.core.currency import currency_check, minor_unit, quantum
from psa.core.entities import cutover_refuse, entity_default_id
from psa.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed, ensure_transition
from psa.core.fx import convert, rate_for
from psa.core.history import history_context
from psa.core.imports import ROW, AmountReader, ImportReport, RowResult, csv_rows, max_lengths, too_long
from psa.core.money import DecimalInput, to_decimal
from psa.core.roles import Role, has_role
from psa.core.uploads import MB, UploadLimit
from psa.core.webhooks import event_emit

_PAYMENT_LENGTHS = max_lengths(Payment, {"reference": "reference", "bank_ref": "bank_ref"})


def _amount(value: DecimalInput, name: str, currency: str) -> Decimal:
    """A positive amount in whole minor units of `currency` (cents; whole yen for JPY)."""
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError):
        raise ValidationFailed("Enter an amount.", fields={name: ["Enter a decimal amount."]}) from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(quantum(currency)):
        places = minor_unit(currency)
        raise ValidationFailed(
            f"Amounts are positive, in whole {currency} minor units ({places} decimal places at most).",
            fields={name: [f"Positive, at most {places} decimals."]},
        )
    return amount


def _allocate(
    payment: Payment, invoice: Invoice, amount: Decimal, *, by: User, on: date | None = None
) -> PaymentAllocation:
    """Apply `amount` of a payment to an invoice of the same account and currency. The invoice's share of its
    booked functional value and the payment's share of its own are stored on the allocation; for a foreign
    invoice their difference is posted as a realised exchange gain or loss, dated `on` (default today; never
    before the payment or the invoice)."""
    if invoice.account_id != payment.account_id:
        raise ValidationFailed(
            f"{invoice} belongs to another account.", fields={"invoice": ["Belongs to another account."]}
        )
    if invoice.kind != InvoiceKind.INVOICE or invoice.status not in OPEN_STATUSES:
        raise ConflictError(f"{invoice} is not open for payment.", fields={"invoice": ["Not open."]})
    if invoice.entity_id != payment.entity_id:
        raise ValidationFailed(
            f"{invoice} was issued by another legal entity than the one the payment was received by: a payment "
            "settles its own entity's invoices only.",
            fields={"invoice": ["Issued by another legal entity."]},
        )
    if invoice.currency != payment.currency:
        raise ValidationFailed(
            f"{invoice} is in {invoice.currency} and the payment in {payment.currency}: a payment settles invoices "
            "in its own currency only (no implicit exchange).",
            fields={"invoice": [f"In {invoice.currency}, not {payment.currency}."]},
        )
    if amount > invoice.balance:
        raise ValidationFailed(
            f"{invoice} has {invoice.balance:,.2f} open; allocate at most that.",
            fields={"amount": [f"At most {invoice.balance}."]},
        )
    if amount > payment.unapplied:
        raise ValidationFailed(
            f"The payment has {payment.unapplied:,.2f} left to allocate.",
            fields={"amount": [f"At most {payment.unapplied}."]},
        )
    assert payment.functional_amount is not None and invoice.issue_date is not None  # recorded, issued
    relieved = invoice_settle_share(invoice, amount)
    paid = settled_share(
        functional=payment.functional_amount,
        total=payment.amount,
        settled_after=payment.amount_allocated + amount,
        functional_before=payment.functional_allocated,
    )
    allocation = PaymentAllocation.objects.create(
        invoice=invoice, payment=payment, amount=amount, functional=relieved, source_functional=paid
    )
    entry = settlement_post(
        Settlement(
            invoice=invoice,
            amount=amount,
            relieved=relieved,
            source_relieved=paid,
            source_rate=booked_rate(payment.currency, payment.fx_rate, payment.fx_rate_date),
            source_project_id=None,
            on=max(on or timezone.localdate(), payment.received_on, invoice.issue_date),
            key=f"billing:allocation:{allocation.pk}",
            memo=f"Payment {payment.reference or payment.pk} allocated to {invoice.number}",
        )
    )
    if entry is not None:
        allocation.journal_entry = entry
        PaymentAllocation.objects.filter(pk=allocation.pk).update(journal_entry=entry)
    invoice.amount_paid += amount
    invoice.functional_settled += relieved
    Invoice.objects.filter(pk=invoice.pk).update(
        amount_paid=invoice.amount_paid, functional_settled=invoice.functional_settled
    )
    payment.amount_allocated += amount
    payment.functional_allocated += paid
    Payment.objects.filter(pk=payment.pk).update(
        amount_allocated=payment.amount_allocated, functional_allocated=payment.functional_allocated
    )
    settle_status(invoice, by=by, note=f"Payment {payment.reference or payment.pk}")
    return allocation


def _auto_allocate(payment: Payment, *, by: User, on: date | None = None) -> None:
    invoices = list(
        Invoice.objects.select_for_update()
        .filter(
            account_id=payment.account_id,
            entity_id=payment.entity_id,
            kind=InvoiceKind.INVOICE,
            status__in=OPEN_STATUSES,
            currency=payment.currency,
        )
        .order_by("due_date", "pk")
    )
    for invoice in invoices:
        if payment.unapplied <= 0:
            break
        take = min(invoice.balance, payment.unapplied)
        if take > 0:
            _allocate(payment, invoice, take, by=by, on=on)


@transaction.atomic
def payment_record(
    *,
    by: User,
    account_id: int,
    amount: DecimalInput,
    received_on: date,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    currency: str | None = None,
    bank_ref: str | None = None,
    allocations: list[dict] | None = None,
    auto_allocate: bool = True,
    entity_id: int | None = None,
) -> Payment:
    """Record money received and post it; allocate it as given (`[{"invoice_id", "amount"}]`) or, by
    default, to the account's oldest open invoices of the receiving entity. What is left is unapplied credit.
    The receiving legal entity is `entity_id`, else the entity of the first invoice allocated, else the account's
    default entity, else the firm's default one."""
    require_finance(by)
    for name, value in (("reference", reference or ""), ("bank_ref", bank_ref or "")):
        if len(value) > (most := _PAYMENT_LENGTHS[name]):
            raise ValidationFailed(
                f"The {name} is longer than {most} characters.", fields={name: [f"At most {most} characters."]}
            )
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise ValidationFailed("No such account.", fields={"account": ["Pick an account."]})
    if method not in PaymentMethod.values:
        raise ValidationFailed(
            "Unknown payment method.", fields={"method": [f"One of {', '.join(PaymentMethod.values)}."]}
        )
    currency = currency_check(currency or account.currency)
    amount = _amount(amount, "amount", currency)
    # Converted at the rate of the received date; a missing rate refuses the payment before anything is written.
    rate = rate_for(currency=currency, on=received_on)
    if entity_id is None and allocations:
        first = str(allocations[0].get("invoice_id", ""))
        entity_id = (
            Invoice.objects.filter(pk=int(first) if first.isdigit() else 0).values_list("entity_id", flat=True).first()
        )
    entity_id = entity_id or account.entity_id or entity_default_id()
    cutover_refuse(entity_id=entity_id, on=received_on, what="A payment", field="received_on")
    payment = Payment(
        account=account,
        entity_id=entity_id,
        amount=amount,
        received_on=received_on,
        method=method,
        reference=reference or "",
        currency=currency,
        fx_rate=rate.rate,
        fx_rate_date=rate.date,
        functional_amount=convert(amount=amount, rate=rate),
        bank_ref=bank_ref or None,
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    try:
        with transaction.atomic():
            payment.save(force_insert=True)
    except IntegrityError:
        raise ConflictError(
            f"The bank transaction {bank_ref} was already imported.", fields={"bank_ref": ["Already imported."]}
        ) from None
    entry = payment_post(payment)
    Payment.objects.filter(pk=payment.pk).update(journal_entry=entry)
    payment.journal_entry = entry
    if allocations:
        ids = sorted({int(a["invoice_id"]) for a in allocations})
        invoices = {i.pk: i for i in Invoice.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
        for i, a in enumerate(allocations):
            invoice = invoices.get(int(a["invoice_id"]))
            if invoice is None:
                raise ValidationFailed("No such invoice.", fields={f"allocations[{i}].invoice_id": ["Not found."]})
            amount_i = _amount(a["amount"], f"allocations[{i}].amount", currency)
            _allocate(payment, invoice, amount_i, by=by, on=received_on)
    elif auto_allocate:
        _auto_allocate(payment, by=by, on=received_on)
    paid = list(
        PaymentAllocation.objects.filter(payment=payment).values_list("invoice__contract_id", "invoice__project_id")
    )
    event_emit(
        type="payment.received",
        key=f"payment.received:{payment.pk}",
        data={"id": payment.pk, "account_id": account.pk, "amount": str(amount), "currency": payment.currency},
        # the paid invoices' contracts (or their projects' contracts): one deal, or none
        correlation_id=deal_correlation_id(
            contract_ids=[c for c, _p in paid if c], project_ids=[p for c, p in paid if not c]
        ),
    )
    audit_record(
        actor=by, action="billing.payment_record", obj=payment, summary=f"Payment {amount:,.2f} from {account}"
    )
    return payment


@transaction.atomic
def payment_allocate(*, payment_id: int, invoice_id: int, amount: DecimalInput, by: User) -> PaymentAllocation:
    """Apply unapplied credit of a payment to an open invoice of the same account."""
    require_finance(by)
    payment = locked(Payment, payment_id, "payment")
    invoice = locked(Invoice, invoice_id, "invoice")
    return _allocate(payment, invoice, _amount(amount, "amount", payment.currency), by=by)


# --- write-offs ------------------------------------------------------------------------------------------
@transaction.atomic
def write_off_request(*, invoice_id: int, by: User, reason: str, amount: DecimalInput | None = None) -> WriteOff:
    """Ask to write off (part of) an open invoice's balance; another finance user approves it."""
    require_finance(by)
    invoice = locked(Invoice, invoice_id, "invoice")
    if invoice.kind != InvoiceKind.INVOICE or invoice.status not in OPEN_STATUSES:
        raise ConflictError(f"{invoice} is not open.", fields={"invoice": ["Not open."]})
    amount = invoice.balance if amount in (None, "") else _amount(amount, "amount", invoice.currency)
    if amount > invoice.balance:
        raise ValidationFailed(
            f"At most {invoice.balance:,.2f} is open.", fields={"amount": [f"At most {invoice.balance}."]}
        )
    if not (reason or "").strip():
        raise ValidationFailed("Say why.", fields={"reason": ["Required."]})
    if WriteOff.objects.filter(invoice=invoice, status=WriteOffStatus.REQUESTED).exists():
        raise ConflictError(
            "A write-off of this invoice is already awaiting approval.", fields={"invoice": ["Pending."]}
        )
    return WriteOff.objects.create(invoice=invoice, amount=amount, reason=reason.strip()[:300], requested_by=by)


def _decide(write_off_id: int, by: User, target: str) -> WriteOff:
    require_finance(by)
    write_off = locked(WriteOff, write_off_id, "write-off")
    ensure_transition(write_off.status, target, WRITE_OFF_TRANSITIONS)
    if write_off.requested_by_id == getattr(by, "pk", None) and not has_role(by, Role.ADMIN):
        raise PermissionDeniedError("Another finance user must approve a write-off you requested (four eyes).")
    write_off.status = target
    write_off.decided_by = by
    write_off.decided_at = timezone.now()
    return write_off


@transaction.atomic
def write_off_approve(*, write_off_id: int, by: User, on: date | None = None) -> WriteOff:
    write_off = _decide(write_off_id, by, WriteOffStatus.APPROVED)
    invoice = locked(Invoice, write_off.invoice_id, "invoice")
    if write_off.amount > invoice.balance:
        raise ConflictError("The invoice was paid meanwhile; reject this write-off.", fields={"amount": ["Too much."]})
    # The written-off part leaves AR at the invoice's booked rate (its share of the functional gross) and is
    # expensed at that same value: a write-off realises no exchange difference.
    write_off.functional = invoice_settle_share(invoice, write_off.amount)
    write_off.journal_entry = write_off_post(write_off, on or timezone.localdate())
    write_off.save()
    invoice.amount_written_off += write_off.amount
    invoice.functional_settled += write_off.functional
    Invoice.objects.filter(pk=invoice.pk).update(
        amount_written_off=invoice.amount_written_off, functional_settled=invoice.functional_settled
    )
    settle_status(invoice, by=by, note=f"Write-off: {write_off.reason}")
    audit_record(
        actor=by, action="billing.write_off", obj=invoice, summary=f"{invoice} written off {write_off.amount:,.2f}"
    )
    _dispute_follows(write_off, by=by, approved=True)
    return write_off


@transaction.atomic
def write_off_reject(*, write_off_id: int, by: User) -> WriteOff:
    write_off = _decide(write_off_id, by, WriteOffStatus.REJECTED)
    write_off.save()
    _dispute_follows(write_off, by=by, approved=False)
    return write_off


def _dispute_follows(write_off: WriteOff, *, by: User, approved: bool) -> None:
    """A write-off asked for to resolve a dispute decides it: approved, the dispute is written off; refused, the
    dispute is open again (billing.services.disputes)."""
    dispute = Dispute.objects.select_for_update().filter(write_off=write_off).first()
    if dispute is None:
        return
    if approved:
        dispute.status = DisputeStatus.WRITTEN_OFF
        dispute.resolved_by = by
        dispute.resolved_at = timezone.now()
        dispute.resolution_note = f"Written off: {write_off.reason}"[:500]
        dispute.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note"])
        summary = f"{dispute} resolved by a write-off of {write_off.amount:,.2f}"
    else:
        # Back to open; the refused write-off stays in the invoice's history, the dispute forgets it.
        dispute.status = DisputeStatus.OPEN
        dispute.write_off = None
        dispute.save(update_fields=["status", "write_off"])
        summary = f"{dispute} open again: the write-off was refused"
    audit_record(actor=by, action="billing.dispute_write_off_decided", obj=dispute.invoice, summary=summary)


# --- bank CSV import -------------------------------------------------------------------------------------
BANK_ALIASES = {
    "date": "date",
    "booking_date": "date",
    "value_date": "date",
    "amount": "amount",
    "reference": "reference",
    "description": "reference",
    "bank_ref": "bank_ref",
    "transaction_id": "bank_ref",
    "invoice": "invoice",
    "invoice_number": "invoice",
    "account": "account",
}
BANK_COLUMNS = ("date", "amount", "reference", "bank_ref")
# Each row records and posts a payment (about 40 ms a row measured on the shared test machine), so a file is
# capped where a dry run still answers within a request's time.
BANK_UPLOAD_LIMIT = UploadLimit(kind="bank", label="bank statements", max_bytes=1 * MB, max_rows=500)
_TOKEN = re.compile(r"[\w/.-]+")


def _parse_date(text: str) -> date:
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"date '{text}' is not a date (YYYY-MM-DD, DD.MM.YYYY or DD/MM/YYYY)")


def _tokens(reference: str) -> list[str]:
    return [t.strip("./-") for t in _TOKEN.findall(reference)]


def _invoices_named(rows: list[dict]) -> dict[str, int]:
    """Invoice id by number and by payment reference (ISO 11649), for every number or reference a row names in
    `invoice` or in its reference (one query)."""
    wanted = {r["invoice"] for r in rows if r.get("invoice")}
    wanted.update(t for r in rows for t in _tokens(r.get("reference", "")) if t)
    refs = {ref for r in rows for ref in references_in(r.get("reference", ""))}
    found = Invoice.objects.filter(
        Q(number__in=wanted) | Q(payment_reference__in=refs), kind=InvoiceKind.INVOICE
    ).values_list("number", "payment_reference", "pk")
    named: dict[str, int] = {}
    for number, reference, pk in found:
        if number and number in wanted:
            named[number] = pk
        if reference and reference in refs:
            named[reference] = pk
    return named


def _import_row(*, by: User, row: dict, amount: Decimal, numbers: dict[str, int]) -> Payment:
    if problems := too_long(row, _PAYMENT_LENGTHS):
        raise ValueError("; ".join(problems))
    on = _parse_date(row["date"])
    quoted = [*references_in(row["reference"]), *_tokens(row["reference"])]
    number = row.get("invoice") or next((t for t in quoted if t in numbers), "")
    allocations = None
    if number:
        invoice = Invoice.objects.filter(pk=numbers.get(number, 0)).first()
        if invoice is None:
            raise NotFoundError(f"no invoice {number}")
        account_id = invoice.account_id
        if invoice.balance > 0:
            allocations = [{"invoice_id": invoice.pk, "amount": min(amount, invoice.balance)}]
    elif row.get("account"):
        if not row["account"].isdigit():
            raise ValueError(f"account '{row['account']}' is not an account id")
        account_id = int(row["account"])
    else:
        raise ValueError("no invoice number or account to match")
    payment = payment_record(
        by=by,
        account_id=account_id,
        amount=amount,
        received_on=on,
        reference=row["reference"],
        bank_ref=row["bank_ref"] or None,
        allocations=allocations,
    )
    if allocations and payment.unapplied > 0:
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        _auto_allocate(payment, by=by, on=on)
    return payment


def _outcome(payment: Payment) -> str:
    parts = [
        f"{a.invoice.number} {a.amount:,.2f}"
        for a in payment.allocations.select_related("invoice").order_by("pk")
        if a.invoice.number
    ]
    if payment.unapplied > 0:
        parts.append(f"{payment.unapplied:,.2f} unapplied credit")
    return f"{payment.amount:,.2f} {payment.currency} from {payment.account}: " + ", ".join(parts)


def _import_rows(*, by: User, rows: list[dict], amounts: AmountReader, report: ImportReport) -> None:
    numbers = _invoices_named(rows)
    for row in rows:
        n = row[ROW]
        result = RowResult(
            row=n,
            name=f"{row.get('date', '')} · {row.get('amount', '')} · {row.get('reference', '')}",
            external_id=row.get("bank_ref", ""),
            action="create",
        )
        report.rows.append(result)
        try:
            amount = amounts.read(row.get("amount", ""))
            with transaction.atomic():
                result.reason = _outcome(_import_row(by=by, row=row, amount=amount, numbers=numbers))
        except ConflictError as exc:
            if "bank_ref" in exc.fields:
                result.action, result.reason = "unchanged", f"already imported (bank ref {row.get('bank_ref', '')})"
            else:
                result.action, result.reason = "error", exc.message
        except (ValidationFailed, NotFoundError) as exc:
            result.action, result.reason = "error", exc.message
        except ValueError as exc:
            result.action, result.reason = "error", str(exc)


@history_context("payment-import", by="by")
def payments_import_csv(*, by: User, content: str | bytes, dry_run: bool = True, decimal: str = "auto") -> ImportReport:
    """Import a bank statement CSV with columns `date, amount, reference, bank_ref` and optionally
    `invoice` (a number) or `account` (an id). The account is found from the invoice number (in `invoice` or
    anywhere in the reference); payments go to that invoice first, the rest to the oldest open ones.

    Amounts are read by the `decimal` convention ("point": 1,234.56, "comma": 1.234,56), or with "auto" by the
    one the file's unambiguous cells show; a cell that could be read both ways is refused, never guessed.
    Each row is its own transaction; rows already imported (same `bank_ref`) are reported, not duplicated.
    A dry run does every row's work in a transaction it then rolls back, so it reports exactly what the
    import would do (the allocations included) and writes nothing."""
    require_finance(by)
    rows = csv_rows(content, aliases=BANK_ALIASES, required=BANK_COLUMNS, limit=BANK_UPLOAD_LIMIT)
    amounts = AmountReader.for_cells(decimal, ((r[ROW], r.get("amount", "")) for r in rows))
    report = ImportReport(kind="bank", dry_run=dry_run, options={"decimal": decimal})
    if note := amounts.describe():
        report.notes.append(note)
    if not dry_run:
        _import_rows(by=by, rows=rows, amounts=amounts, report=report)
        return report
    with transaction.atomic():
        _import_rows(by=by, rows=rows, amounts=amounts, report=report)
        transaction.set_rollback(True)
    return report
