"""Payment runs: pay the vendors' due bills from one bank account with one pain.001 file.

- `payment_run_propose` picks the entity's open posted bills in the bank account's currency due by a date (bills
  already in a run that is not booked or cancelled are left out), one payment per vendor (its EndToEndId
  unique), under a unique MsgId. A vendor without a valid IBAN refuses the proposal, naming the vendor.
- `payment_run_export` writes the ISO 20022 pain.001.001.09 file (billing.services.pain001), validated against
  the XSD before it is stored; the run is then exported.
- `payment_run_book` records the bank's execution: each payment posts Dr AP / Cr cash (and its realised exchange
  difference) as a payment recorded by hand does, and settles its bills. Booking a booked run does nothing
  (posted once).
- `payment_run_cancel` drops a run that is not booked; its bills are free for another run. Its payments stay
  (unposted) as the record of what was proposed or sent.
"""

import uuid
from collections import defaultdict
from datetime import date

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from billing.choices import VENDOR_BILL_OPEN_STATUSES, PaymentRunStatus
from billing.models import PaymentRun, VendorBill, VendorPayment, VendorPaymentAllocation
from billing.services._common import locked, require_finance
from billing.services.pain001 import Debtor, Transfer, pain001_build
from billing.services.vendor_payments import (
    REFERENCE_MAX,
    Share,
    lock_bills,
    new_end_to_end_id,
    reserved_bill_ids,
    settlement_post,
)
from crm.models import Vendor
from psa.core.audit import audit_record
from psa.core.countries import iban_error
from psa.core.exceptions import ValidationFailed, ensure_transition
from psa.core.files import StoredFile
from psa.core.fx import rate_for
from psa.core.models import EntityBankAccount, LegalEntity
from psa.core.money import ZERO

RS = PaymentRunStatus
PAYMENT_RUN_TRANSITIONS: dict[str, tuple[str, ...]] = {
    RS.DRAFT: (RS.EXPORTED, RS.CANCELLED),
    RS.EXPORTED: (RS.BOOKED, RS.CANCELLED),
    RS.BOOKED: (),
    RS.CANCELLED: (),
}


def _message_id(entity: LegalEntity, on: date) -> str:
    """A unique MsgId (at most 35 characters): PSA-<entity>-<execution date>-<random>."""
    return f"PSA-{entity.code[:10]}-{on:%Y%m%d}-{uuid.uuid4().hex[:10]}"


def _no_valid_iban(vendors: list[Vendor]) -> list[str]:
    return [
        f"{v.name}: {iban_error(v.iban) if v.iban else 'no IBAN'}" for v in vendors if not v.iban or iban_error(v.iban)
    ]


def _remittance(bills: list[VendorBill]) -> str:
    text = "Bills " + ", ".join(b.number for b in bills)
    return text if len(text) <= REFERENCE_MAX else text[: REFERENCE_MAX - 1] + "…"


@transaction.atomic
def payment_run_propose(
    *,
    entity: LegalEntity,
    bank_account: EntityBankAccount,
    execution_date: date,
    due_by: date,
    vendor_ids: list[int] | None = None,
    by: User | None,
) -> PaymentRun:
    """A draft run paying every open posted bill of `entity` in the bank account's currency due on or before
    `due_by` (of `vendor_ids` only, when given), one payment per vendor for its bills' open amounts."""
    require_finance(by)
    if bank_account.entity_id != entity.pk:
        raise ValidationFailed(
            f"Bank account {bank_account} belongs to another entity than {entity.code}.",
            fields={"bank_account": [f"Not an account of {entity.code}."]},
        )
    candidates = VendorBill.objects.filter(
        entity=entity, currency=bank_account.currency, status__in=VENDOR_BILL_OPEN_STATUSES, due_date__lte=due_by
    )
    if vendor_ids is not None:
        candidates = candidates.filter(vendor_id__in=vendor_ids)
    bills = lock_bills(candidates)
    # Read after the locks: a run proposed concurrently has committed its bills by now.
    reserved = set(reserved_bill_ids().filter(bill_id__in=[b.pk for b in bills]).values_list("bill_id", flat=True))
    by_vendor: dict[int, list[VendorBill]] = defaultdict(list)
    for bill in bills:
        if bill.pk not in reserved and bill.open_amount > 0:
            by_vendor[bill.vendor_id].append(bill)
    if not by_vendor:
        raise ValidationFailed(
            f"No open bills in {bank_account.currency} of {entity.code} due by {due_by:%Y-%m-%d} outside other "
            "payment runs.",
            fields={"due_by": ["No bills to pay."]},
        )
    vendors = sorted({b.vendor for group in by_vendor.values() for b in group}, key=lambda v: (v.name, v.pk))
    if problems := _no_valid_iban(vendors):
        raise ValidationFailed(
            f"Vendors without a valid IBAN cannot be paid by transfer: {'; '.join(problems)}. Correct their bank "
            "details or leave them out of the run.",
            fields={"vendor_ids": problems},
        )
    run = PaymentRun.objects.create(
        entity=entity,
        bank_account=bank_account,
        currency=bank_account.currency,
        execution_date=execution_date,
        message_id=_message_id(entity, execution_date),
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    total = ZERO
    allocations = []
    for vendor in vendors:
        group = sorted(by_vendor[vendor.pk], key=lambda b: (b.due_date, b.pk))
        amount = sum((b.open_amount for b in group), ZERO)
        payment = VendorPayment.objects.create(
            vendor=vendor,
            entity=entity,
            run=run,
            paid_on=execution_date,
            amount=amount,
            currency=run.currency,
            reference=_remittance(group),
            end_to_end_id=new_end_to_end_id(),
            created_by=run.created_by,
        )
        allocations += [VendorPaymentAllocation(payment=payment, bill=b, amount=b.open_amount) for b in group]
        total += amount
    VendorPaymentAllocation.objects.bulk_create(allocations)
    run.total = total
    PaymentRun.objects.filter(pk=run.pk).update(total=total)
    audit_record(actor=by, action="billing.payment_run_propose", obj=run, summary=f"{run} {total:,.2f} {run.currency}")
    return run


@transaction.atomic
def payment_run_export(*, run_id: int, by: User | None) -> PaymentRun:
    """Write the run's pain.001 file, validated against the XSD, and store it (the run is then exported)."""
    require_finance(by)
    run = locked(PaymentRun, run_id, "payment run")
    ensure_transition(run.status, RS.EXPORTED, PAYMENT_RUN_TRANSITIONS)
    payments = list(run.payments.select_related("vendor").order_by("pk"))
    if problems := _no_valid_iban([p.vendor for p in payments]):
        raise ValidationFailed(
            f"Vendors without a valid IBAN cannot be paid by transfer: {'; '.join(problems)}.",
            fields={"vendor": problems},
        )
    entity = run.entity
    if entity is None or not (entity.legal_name or entity.name).strip():
        raise ValidationFailed(
            f"Entity {getattr(entity, 'code', '')} has no legal name: the bank needs the payer's name.",
            fields={"entity": ["Enter the entity's legal name."]},
        )
    account = EntityBankAccount.objects.get(pk=run.bank_account_id)
    xml = pain001_build(
        message_id=run.message_id,
        debtor=Debtor(
            name=(entity.legal_name or entity.name).strip(), iban=account.iban, bic=account.bic, currency=run.currency
        ),
        execution_date=run.execution_date,
        transfers=[
            Transfer(
                end_to_end_id=p.end_to_end_id,
                amount=p.amount,
                name=p.vendor.legal_name or p.vendor.name,
                iban=p.vendor.iban.replace(" ", "").upper(),
                bic=p.vendor.bic.replace(" ", "").upper(),
                remittance=p.reference or p.end_to_end_id,
            )
            for p in payments
        ],
    )
    run.file.save(f"{run.message_id}.xml", ContentFile(xml), save=False)
    run.status = RS.EXPORTED
    run.exported_at = timezone.now()
    run.save(update_fields=["file", "status", "exported_at"])
    audit_record(actor=by, action="billing.payment_run_export", obj=run, summary=f"{run} exported")
    return run


@transaction.atomic
def payment_run_book(*, run_id: int, by: User | None, on: date | None = None) -> PaymentRun:
    """Book the bank's execution of an exported run (on `on`, default its execution date): post every payment
    and settle its bills. A booked run is returned as it is (nothing posts twice)."""
    require_finance(by)
    run = locked(PaymentRun, run_id, "payment run")
    if run.status == RS.BOOKED:
        return run
    ensure_transition(run.status, RS.BOOKED, PAYMENT_RUN_TRANSITIONS)
    paid_on = on or run.execution_date
    payments = list(run.payments.select_related("vendor").prefetch_related("allocations").order_by("pk"))
    bill_ids = sorted({a.bill_id for p in payments for a in p.allocations.all()})
    bills = {b.pk: b for b in lock_bills(VendorBill.objects.filter(pk__in=bill_ids))}
    rate = rate_for(currency=run.currency, on=paid_on)
    for payment in payments:
        payment.paid_on = paid_on
        VendorPayment.objects.filter(pk=payment.pk).update(paid_on=paid_on)
        shares = [Share(bills[a.bill_id], a.amount) for a in sorted(payment.allocations.all(), key=lambda a: a.pk)]
        settlement_post(payment, shares, rate)
    run.status = RS.BOOKED
    run.booked_at = timezone.now()
    run.save(update_fields=["status", "booked_at"])
    audit_record(actor=by, action="billing.payment_run_book", obj=run, summary=f"{run} booked as paid on {paid_on}")
    return run


@transaction.atomic
def payment_run_cancel(*, run_id: int, by: User | None) -> PaymentRun:
    """Cancel a run that is not booked: its bills may go into another run or be paid by hand."""
    require_finance(by)
    run = locked(PaymentRun, run_id, "payment run")
    ensure_transition(run.status, RS.CANCELLED, PAYMENT_RUN_TRANSITIONS)
    run.status = RS.CANCELLED
    run.save(update_fields=["status"])
    audit_record(actor=by, action="billing.payment_run_cancel", obj=run, summary=f"{run} cancelled")
    return run


def payment_run_file(run: PaymentRun) -> StoredFile:
    """The run's pain.001 file as finance downloads it (the caller has checked who may read `run`)."""
    return StoredFile(name=run.file.name or "", filename=f"{run.message_id}.xml", content_type="application/xml")
