"""Paying vendors: a payment recorded by hand, and the settlement shared with payment runs.

A payment settles the vendor's open posted bills of one legal entity in the payment's own currency (never
converted implicitly): as allocated (`[{"bill_id", "amount"}]`) or, by default, oldest due first. It posts
Dr accounts payable / Cr cash in the transaction that records it (source and key "vendor-payment:<id>", the
entity's books, caught up to the next open period when its date is closed). A foreign-currency payment converts
at the rate of its paid-on date; each bill's share leaves AP at the bill's booked value (its functional gross,
shared out cumulatively so the shares of a bill sum to it exactly) and the difference against the cash paid is
a realised exchange gain or loss.

Over-payment is refused: a payment is allocated in full to open bills, so AP in the GL always equals the open
bills' functional open amount (no vendor credit is kept; a refund or credit from the vendor is a credit note
to enter against a bill). Bills are locked in primary-key order before their open amounts are read, so two
payments racing for the same bill cannot over-pay it: the second one sees what the first paid.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from billing.choices import (
    VENDOR_BILL_OPEN_STATUSES,
    VENDOR_BILL_TRANSITIONS,
    PaymentRunStatus,
    VendorBillStatus,
)
from billing.models import VendorBill, VendorPayment, VendorPaymentAllocation
from billing.services._common import require_finance
from billing.services.posting import booked_rate
from crm.models import Vendor
from ledger.choices import SystemAccount
from ledger.models import JournalEntry
from ledger.services import account_code_for, entry_post
from ledger.services.posting import EntrySpec, LineSpec, fx_difference_line, fx_line
from psa.core.audit import audit_record
from psa.core.currency import currency_check, functional_currency, minor_unit, quantum
from psa.core.exceptions import ConflictError, ValidationFailed, ensure_transition
from psa.core.fx import Rate, convert, rate_for
from psa.core.models import LegalEntity
from psa.core.money import ZERO, DecimalInput, round_amount, to_decimal

# Runs whose bills are spoken for: their payments are not booked yet and the run may still be booked.
ACTIVE_RUN_STATUSES = (PaymentRunStatus.DRAFT, PaymentRunStatus.EXPORTED)
REFERENCE_MAX = 140


def new_end_to_end_id() -> str:
    """A unique EndToEndId (ISO 20022: at most 35 characters)."""
    return f"VP-{uuid.uuid4().hex}"


def positive_amount(value: DecimalInput, name: str, currency: str) -> Decimal:
    """A positive amount in whole minor units of `currency`, else a ValidationFailed naming `name`."""
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


def reserved_bill_ids() -> QuerySet:
    """Ids of bills in a payment run that is not booked or cancelled yet (their payment is on its way)."""
    return VendorPaymentAllocation.objects.filter(payment__run__status__in=ACTIVE_RUN_STATUSES).values("bill_id")


def open_bills(*, vendor_id: int, entity_id: int, currency: str) -> QuerySet[VendorBill]:
    return VendorBill.objects.filter(
        vendor_id=vendor_id, entity_id=entity_id, currency=currency, status__in=VENDOR_BILL_OPEN_STATUSES
    )


def _functional_gross(bill: VendorBill) -> Decimal:
    if bill.functional_gross is not None:
        return bill.functional_gross
    if bill.currency == functional_currency():
        return bill.gross_total
    raise ConflictError(
        f"Bill {bill} has no booked functional amount: it was not posted.", fields={"bill": ["Not posted."]}
    )


def bill_share(bill: VendorBill, amount: Decimal) -> Decimal:
    """The functional value `amount` more paid on `bill` takes off AP: the cumulative share of its booked
    functional gross after the payment less the one before (the last payment takes the remainder)."""
    functional = _functional_gross(bill)

    def target(paid: Decimal) -> Decimal:
        if paid >= bill.gross_total:
            return functional
        return round_amount(functional * paid / bill.gross_total, functional_currency())

    return target(bill.amount_paid + amount) - target(bill.amount_paid)


@dataclass(frozen=True)
class Share:
    bill: VendorBill
    amount: Decimal


def settlement_post(payment: VendorPayment, shares: list[Share], rate: Rate) -> JournalEntry:
    """Post the payment (Dr AP per bill at its booked value / Cr cash at the payment's rate / the realised
    exchange difference) and settle the bills (amount paid, status). The bills are locked by the caller."""
    payable, cash = account_code_for(SystemAccount.PAYABLE), account_code_for(SystemAccount.CASH)
    label = payment.reference or payment.end_to_end_id
    lines: list[LineSpec] = []
    relieved_total = ZERO
    for share in shares:
        bill = share.bill
        relieved = bill_share(bill, share.amount)
        relieved_total += relieved
        if relieved > 0:
            lines.append(
                fx_line(
                    payable,
                    rate=booked_rate(bill.currency, bill.fx_rate, bill.fx_rate_date),
                    debit=share.amount,
                    functional=relieved,
                    memo=f"{bill.vendor.name} bill {bill.number}"[:200],
                )
            )
        _settle(bill, share.amount)
    paid = convert(amount=payment.amount, rate=rate)
    lines.append(fx_line(cash, rate=rate, credit=payment.amount, functional=paid, memo=label[:200]))
    difference = relieved_total - paid
    if difference:
        role = SystemAccount.FX_REALISED_GAIN if difference > 0 else SystemAccount.FX_REALISED_LOSS
        lines.append(
            fx_difference_line(
                account_code_for(role),
                currency=payment.currency,
                debit=-difference if difference < 0 else ZERO,
                credit=difference if difference > 0 else ZERO,
                memo=f"Realised exchange difference on payment {label}"[:200],
            )
        )
    key = f"vendor-payment:{payment.pk}"
    spec = EntrySpec(
        date=payment.paid_on,
        memo=f"Payment to {payment.vendor.name} {label}"[:300],
        source=key,
        lines=tuple(lines),
        entity_id=payment.entity_id,
    )
    entry = entry_post(spec=spec, key=key, catch_up=True)
    payment.fx_rate = rate.rate if rate.date else None
    payment.fx_rate_date = rate.date
    payment.functional_amount = paid
    payment.journal_entry = entry
    VendorPayment.objects.filter(pk=payment.pk).update(
        fx_rate=payment.fx_rate, fx_rate_date=rate.date, functional_amount=paid, journal_entry=entry
    )
    return entry


def _settle(bill: VendorBill, amount: Decimal) -> None:
    if amount > bill.open_amount:
        raise ConflictError(
            f"Bill {bill.number} of {bill.vendor.name} has {bill.open_amount} {bill.currency} open; it cannot be "
            f"paid {amount} (over-payment).",
            fields={"amount": [f"At most {bill.open_amount} on bill {bill.number}."]},
        )
    bill.amount_paid += amount
    target = VendorBillStatus.PAID if bill.amount_paid == bill.gross_total else VendorBillStatus.PARTLY_PAID
    ensure_transition(bill.status, target, VENDOR_BILL_TRANSITIONS)
    bill.status = target
    VendorBill.objects.filter(pk=bill.pk).update(amount_paid=bill.amount_paid, status=target)


def _explicit_shares(allocations: list[dict], bills: dict[int, VendorBill], currency: str) -> list[Share]:
    shares: list[Share] = []
    seen: set[int] = set()
    for i, a in enumerate(allocations):
        raw = str(a.get("bill_id", ""))
        bill = bills.get(int(raw)) if raw.isdigit() else None
        if bill is None:
            raise ValidationFailed(
                "No such open bill of this vendor, entity and currency.",
                fields={f"allocations[{i}].bill_id": ["Not an open bill of this vendor, entity and currency."]},
            )
        if bill.pk in seen:
            raise ValidationFailed("A bill is named twice.", fields={f"allocations[{i}].bill_id": ["Named twice."]})
        seen.add(bill.pk)
        amount = positive_amount(a.get("amount", ""), f"allocations[{i}].amount", currency)
        if amount > bill.open_amount:
            raise ValidationFailed(
                f"Bill {bill.number} has {bill.open_amount} {currency} open; over-payments are refused.",
                fields={f"allocations[{i}].amount": [f"At most {bill.open_amount}."]},
            )
        shares.append(Share(bill, amount))
    return shares


def _oldest_first(bills: list[VendorBill], amount: Decimal) -> list[Share]:
    shares: list[Share] = []
    left = amount
    for bill in sorted(bills, key=lambda b: (b.due_date, b.bill_date, b.pk)):
        if left <= 0:
            break
        take = min(bill.open_amount, left)
        if take > 0:
            shares.append(Share(bill, take))
            left -= take
    return shares


def lock_bills(bills: QuerySet[VendorBill]) -> list[VendorBill]:
    """The bills, locked in primary-key order (a stable order: concurrent payments queue, never deadlock)."""
    return list(bills.select_for_update(of=("self",)).select_related("vendor").order_by("pk"))


@transaction.atomic
def vendor_payment_record(
    *,
    vendor: Vendor,
    entity: LegalEntity,
    paid_on: date,
    amount: DecimalInput,
    currency: str | None = None,
    allocations: list[dict] | None = None,
    reference: str = "",
    by: User | None,
) -> VendorPayment:
    """Record money paid to a vendor and post it. `allocations` (`[{"bill_id", "amount"}]`) must add up to the
    amount; without them the amount goes to the vendor's open bills of that entity and currency, oldest due
    first. Bills waiting in an unbooked payment run are left to that run. Over-payment is refused."""
    require_finance(by)
    reference = (reference or "").strip()
    if len(reference) > REFERENCE_MAX:
        raise ValidationFailed(
            f"The reference is longer than {REFERENCE_MAX} characters.",
            fields={"reference": [f"At most {REFERENCE_MAX} characters."]},
        )
    currency = currency_check(currency or vendor.currency)
    amount = positive_amount(amount, "amount", currency)
    rate = rate_for(currency=currency, on=paid_on)  # a missing rate refuses before anything is written
    candidates = open_bills(vendor_id=vendor.pk, entity_id=entity.pk, currency=currency)
    if allocations:
        ids = sorted({int(a["bill_id"]) for a in allocations if str(a.get("bill_id", "")).isdigit()})
        locked = lock_bills(candidates.filter(pk__in=ids))
        reserved = set(reserved_bill_ids().filter(bill_id__in=ids).values_list("bill_id", flat=True))
        if reserved:
            raise ConflictError(
                "A bill named is in a payment run that is not booked yet; book or cancel the run first.",
                fields={"allocations": [f"Bill ids in a run: {', '.join(map(str, sorted(reserved)))}."]},
            )
        shares = _explicit_shares(allocations, {b.pk: b for b in locked}, currency)
        allocated = sum((s.amount for s in shares), ZERO)
        if allocated != amount:
            raise ValidationFailed(
                f"The allocations add up to {allocated} {currency}, the payment is {amount} {currency}.",
                fields={"allocations": ["They must add up to the amount."]},
            )
    else:
        locked = lock_bills(candidates)
        # Read after the locks: a payment run proposed meanwhile has committed its bills by now.
        reserved = set(reserved_bill_ids().filter(bill_id__in=[b.pk for b in locked]).values_list("bill_id", flat=True))
        locked = [b for b in locked if b.pk not in reserved]
        open_total = sum((b.open_amount for b in locked), ZERO)
        if amount > open_total:
            raise ValidationFailed(
                f"{vendor.name} has {open_total} {currency} open at {entity.code} (bills not in a payment run); "
                f"a payment of {amount} {currency} would over-pay: over-payments are refused.",
                fields={"amount": [f"At most {open_total} (the open bills)."]},
            )
        shares = _oldest_first(locked, amount)
    payment = VendorPayment.objects.create(
        vendor=vendor,
        entity=entity,
        paid_on=paid_on,
        amount=amount,
        currency=currency,
        reference=reference,
        end_to_end_id=new_end_to_end_id(),
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    VendorPaymentAllocation.objects.bulk_create(
        [VendorPaymentAllocation(payment=payment, bill=s.bill, amount=s.amount) for s in shares]
    )
    settlement_post(payment, shares, rate)
    audit_record(
        actor=by,
        action="billing.vendor_payment_record",
        obj=payment,
        summary=f"Payment {amount:,.2f} {currency} to {vendor.name}",
    )
    return payment
