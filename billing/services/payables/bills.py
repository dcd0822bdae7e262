"""Vendor bills as entered: create and correct a draft, its lines, its tax on purchases and its PDF.

Rules:
- finance and administrators enter and correct bills; a bill changes only while draft or rejected (a corrected
  rejected bill is a draft again); a posted bill never changes (migration 0020's trigger holds it).
- One bill per vendor and number, whatever the letter case: a duplicate is a 409 naming the bill already there.
- The currency defaults to the vendor's; the due date to the bill date plus the vendor's payment terms.
- Lines by kind: project cost and re-billable cost need a project; a re-billable line needs a contract line of
  that project (its expense policy prices the re-bill); subcontractor hours need a consultant supplied by this
  vendor, the hours and the service period; overhead needs an active expense account that is not a control
  account. Amounts are rounded to the bill currency's minor unit once; totals are sums of the lines.
- Tax on purchases (`purchase_tax_decide`): a vendor in the entity's country with a VAT id charges VAT (standard:
  each line's input VAT as on the bill, its rate or amount); a vendor in another country supplying services to
  the business is reverse charge (the entity self-assesses its own country's standard rate at the bill date,
  billing.models.VatRate); a vendor without a VAT id, or an entity in a country without VAT rates, is no VAT.
  An explicit `purchase_tax` different from that needs `purchase_tax_reason` (the override, as the sales side's
  account override).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models.functions import Upper

from billing.choices import PurchaseTax, VendorBillLineKind, VendorBillStatus
from billing.models import VendorBill, VendorBillLine
from billing.services._common import require_finance
from billing.services.vat import RateTable
from crm.models import Vendor
from ledger.choices import AccountType
from ledger.models import LedgerAccount
from projects.models import Consultant, ContractLine, Project
from psa.core.audit import audit_record
from psa.core.currency import currency_check
from psa.core.entities import cutover_refuse, entity_default
from psa.core.exceptions import ConflictError, InvalidTransition, NotFoundError, ValidationFailed
from psa.core.files import StoredFile
from psa.core.models import LegalEntity
from psa.core.money import ZERO, round_amount, round_to, to_decimal
from psa.core.uploads import MB, UploadLimit

K = VendorBillLineKind
EDITABLE = (VendorBillStatus.DRAFT, VendorBillStatus.REJECTED)
PDF_LIMIT = UploadLimit(kind="vendor-bill", label="vendor bill PDFs", max_bytes=10 * MB, field="pdf")
HEADER_FIELDS = ("number", "po_number", "bill_date", "due_date", "currency", "notes", "entity_id")
LINE_FIELDS = (
    "kind",
    "description",
    "project_id",
    "contract_line_id",
    "consultant_id",
    "ledger_account_id",
    "hours",
    "period_start",
    "period_end",
    "net_amount",
    "tax_rate",
    "tax_amount",
)


@dataclass(frozen=True)
class TaxDecision:
    purchase_tax: str
    rate: Decimal  # the self-assessed rate under reverse charge, else 0
    why: str


def purchase_tax_decide(
    *, vendor: Vendor, entity: LegalEntity, on: date, rates: RateTable | None = None
) -> TaxDecision:
    """The tax treatment of a purchase from `vendor` by `entity` on `on` (rules in the module docstring)."""
    rates = rates or RateTable.load()
    own = rates.standard(entity.country, on)
    if own is None:
        return TaxDecision(PurchaseTax.NONE, ZERO, f"{entity.country or 'The entity'} has no VAT rate: no VAT.")
    if vendor.country != entity.country:
        return TaxDecision(
            PurchaseTax.REVERSE_CHARGE,
            own,
            f"Services bought from {vendor.country}: the buyer self-assesses {entity.country} VAT at {own} %.",
        )
    if not vendor.tax_id:
        return TaxDecision(PurchaseTax.NONE, ZERO, "The vendor has no VAT id: it charges no VAT.")
    return TaxDecision(PurchaseTax.STANDARD, ZERO, f"A {entity.country} vendor charges {entity.country} VAT.")


def _refuse(field: str, message: str, index: int | None = None) -> ValidationFailed:
    name = f"lines.{index}.{field}" if index is not None else field  # as the API names a nested field
    return ValidationFailed(message, fields={name: [message]})


def _amount(value: Any, field: str, index: int | None, *, places: Decimal | None = None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = to_decimal(value)
    except (TypeError, ValueError, ArithmeticError):
        raise _refuse(field, f"'{value}' is not a number.", index) from None
    return round_to(number, places) if places is not None else number


def _line(bill: VendorBill, raw: dict[str, Any], index: int) -> VendorBillLine:
    """One line, checked for its kind (rules in the module docstring); amounts rounded once."""
    unknown = set(raw) - set(LINE_FIELDS)
    if unknown:
        raise _refuse(sorted(unknown)[0], "Unknown line field.", index)
    kind = raw.get("kind") or ""
    if kind not in K.values:
        raise _refuse("kind", f"Choose one of: {', '.join(K.values)}.", index)
    description = (raw.get("description") or "").strip()
    if not description:
        raise _refuse("description", "Say what was bought.", index)
    net = _amount(raw.get("net_amount"), "net_amount", index)
    if net is None or net <= 0:
        raise _refuse("net_amount", "The net amount must be greater than zero.", index)
    line = VendorBillLine(bill=bill, kind=kind, description=description[:300])
    line.net_amount = round_amount(net, bill.currency)
    project_id = raw.get("project_id")
    if kind != K.OVERHEAD:
        project = Project.objects.filter(pk=project_id).first() if project_id else None
        if project is None:
            raise _refuse("project_id", "A project cost needs the project it is for.", index)
        line.project = project
    elif project_id:
        raise _refuse("project_id", "An overhead line is not on a project: choose another kind.", index)
    if kind == K.REBILLABLE:
        contract_line_id = raw.get("contract_line_id")
        contract_line = (
            ContractLine.objects.select_related("contract").filter(pk=contract_line_id).first()
            if contract_line_id
            else None
        )
        if contract_line is None or contract_line.contract.project_id != line.project_id:
            raise _refuse("contract_line_id", "A re-billable cost needs a contract line of its project.", index)
        line.contract_line = contract_line
    if kind == K.SUBCONTRACT:
        consultant = Consultant.objects.filter(pk=raw.get("consultant_id") or 0).first()
        if consultant is None or consultant.vendor_id != bill.vendor_id:
            raise _refuse("consultant_id", "Subcontractor hours need a person supplied by this vendor.", index)
        hours = _amount(raw.get("hours"), "hours", index, places=Decimal("0.01"))
        if hours is None or hours <= 0:
            raise _refuse("hours", "Enter the hours the vendor bills.", index)
        start, end = raw.get("period_start"), raw.get("period_end")
        if not isinstance(start, date) or not isinstance(end, date):
            raise _refuse("period_start", "Enter the service period the hours were worked in.", index)
        if end < start:
            raise _refuse("period_end", "The period ends before it starts.", index)
        line.consultant, line.hours, line.period_start, line.period_end = consultant, hours, start, end
    if kind == K.OVERHEAD:
        account = LedgerAccount.objects.filter(pk=raw.get("ledger_account_id") or 0).first()
        if account is None or account.type != AccountType.EXPENSE or account.is_control or not account.is_active:
            raise _refuse(
                "ledger_account_id", "Overhead needs an active expense account (not a control account).", index
            )
        line.ledger_account = account
    rate = _amount(raw.get("tax_rate"), "tax_rate", index, places=Decimal("0.01"))
    tax = _amount(raw.get("tax_amount"), "tax_amount", index)
    if bill.purchase_tax != PurchaseTax.STANDARD:
        if (rate or ZERO) != 0 or (tax or ZERO) != 0:
            raise _refuse("tax_rate", "This bill carries no input VAT from the vendor (see its tax treatment).", index)
        rate, tax = ZERO, ZERO
    rate = rate if rate is not None else ZERO
    if not ZERO <= rate < 100:
        raise _refuse("tax_rate", "A VAT rate is between 0 and 100 %.", index)
    if tax is None:
        tax = round_amount(line.net_amount * rate / 100, bill.currency)
    if tax < 0:
        raise _refuse("tax_amount", "The VAT cannot be negative.", index)
    line.tax_rate, line.tax_amount = rate, round_amount(tax, bill.currency)
    return line


def _duplicate(bill: VendorBill) -> VendorBill | None:
    return (
        VendorBill.objects.exclude(pk=bill.pk)
        .filter(vendor_id=bill.vendor_id)
        .annotate(n=Upper("number"))
        .filter(n=bill.number.upper())
        .first()
    )


def _duplicate_error(bill: VendorBill, twin: VendorBill) -> ConflictError:
    return ConflictError(
        f"{bill.vendor.name}'s bill {twin.number} is already entered (bill id {twin.pk}, {twin.get_status_display()}).",
        fields={"number": [f"Already entered as bill {twin.pk}."]},
        code="duplicate_bill",
    )


def _apply(
    bill: VendorBill,
    header: dict[str, Any],
    lines: list[dict[str, Any]] | None,
    *,
    purchase_tax: str | None,
    reason: str | None,
) -> list[VendorBillLine] | None:
    unknown = set(header) - set(HEADER_FIELDS)
    if unknown:
        raise _refuse(sorted(unknown)[0], "Unknown bill field.")
    for name, value in header.items():
        setattr(bill, name, value)
    bill.number = (bill.number or "").strip()
    if not bill.number:
        raise _refuse("number", "Enter the vendor's bill number.")
    if not isinstance(bill.bill_date, date):
        raise _refuse("bill_date", "Enter the bill's date.")
    bill.currency = currency_check(bill.currency)
    if not header.get("due_date") and (bill._state.adding or "bill_date" in header):
        bill.due_date = bill.bill_date + timedelta(days=bill.vendor.payment_terms_days)
    cutover_refuse(entity_id=bill.entity_id, on=bill.bill_date, what="A vendor bill", field="bill_date")
    if bill.due_date < bill.bill_date:
        raise _refuse("due_date", "The due date is before the bill date.")
    decision = purchase_tax_decide(vendor=bill.vendor, entity=bill.entity, on=bill.bill_date)
    if purchase_tax is not None:
        chosen = purchase_tax
    elif not bill._state.adding and bill.purchase_tax_reason:
        chosen = bill.purchase_tax  # an override in force stays until changed
    else:
        chosen = decision.purchase_tax
    if chosen not in PurchaseTax.values:
        raise _refuse("purchase_tax", f"Choose one of: {', '.join(PurchaseTax.values)}.")
    if reason is not None:
        bill.purchase_tax_reason = reason.strip()[:300]
    if chosen == decision.purchase_tax:
        bill.purchase_tax_reason = ""
    elif not bill.purchase_tax_reason:
        raise _refuse(
            "purchase_tax_reason",
            f"The rules give '{PurchaseTax(decision.purchase_tax).label}' ({decision.why}) Say why this bill differs.",
        )
    bill.purchase_tax = chosen
    if (twin := _duplicate(bill)) is not None:
        raise _duplicate_error(bill, twin)
    if lines is None:
        return None
    if not lines:
        raise _refuse("lines", "A bill needs at least one line.")
    built, errors, first = [], {}, ""
    for i, raw in enumerate(lines):
        try:
            built.append(_line(bill, raw, i))
        except ValidationFailed as exc:  # every bad line is named at once, not only the first
            errors.update(exc.fields)
            first = first or exc.message
    if errors:
        more = f" ({len(errors)} fields)" if len(errors) > 1 else ""
        raise ValidationFailed(f"{first}{more}", fields=errors)
    bill.net_total = sum((ln.net_amount for ln in built), ZERO)
    bill.tax_total = sum((ln.tax_amount for ln in built), ZERO)
    bill.gross_total = bill.net_total + bill.tax_total
    self_assessed = decision.rate if bill.purchase_tax == PurchaseTax.REVERSE_CHARGE else ZERO
    if bill.purchase_tax == PurchaseTax.REVERSE_CHARGE and not self_assessed:
        own = RateTable.load().standard(bill.entity.country, bill.bill_date)
        if own is None:
            raise _refuse("purchase_tax", f"No standard VAT rate for {bill.entity.country}: no reverse charge.")
        self_assessed = own
    bill.reverse_charge_tax = round_amount(bill.net_total * self_assessed / 100, bill.currency)
    return built


def _save(bill: VendorBill, built: list[VendorBillLine] | None) -> None:
    try:
        with transaction.atomic():
            bill.save()
    except IntegrityError:
        twin = _duplicate(bill)
        if twin is None:
            raise
        raise _duplicate_error(bill, twin) from None
    if built is not None:
        bill.lines.all().delete()
        for line in built:
            line.bill = bill
        VendorBillLine.objects.bulk_create(built)


@transaction.atomic
def bill_create(
    *,
    by: User | None,
    vendor_id: int,
    number: str,
    bill_date: date,
    lines: list[dict[str, Any]],
    purchase_tax: str | None = None,
    purchase_tax_reason: str | None = None,
    **header: Any,
) -> VendorBill:
    """A draft bill with its lines (rules in the module docstring)."""
    require_finance(by)
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if vendor is None:
        raise _refuse("vendor_id", f"No vendor with id {vendor_id}.")
    entity_id = header.pop("entity_id", None)
    entity = LegalEntity.objects.filter(pk=entity_id).first() if entity_id else entity_default()
    if entity is None:
        raise _refuse("entity_id", f"No legal entity with id {entity_id}.")
    bill = VendorBill(vendor=vendor, entity=entity, status=VendorBillStatus.DRAFT)
    header["currency"] = header.get("currency") or vendor.currency
    bill.created_by = by if getattr(by, "is_authenticated", False) else None
    built = _apply(
        bill,
        {"number": number, "bill_date": bill_date, **header},
        lines,
        purchase_tax=purchase_tax,
        reason=purchase_tax_reason,
    )
    _save(bill, built)
    audit_record(actor=by, action="billing.vendor_bill.create", obj=bill, summary=f"Entered vendor bill {bill}")
    return bill


def locked_bill(bill_id: int) -> VendorBill:
    bill = VendorBill.objects.select_for_update().select_related("vendor", "entity").filter(pk=bill_id).first()
    if bill is None:
        raise NotFoundError(f"No vendor bill with id {bill_id}.")
    return bill


@transaction.atomic
def bill_update(
    *,
    bill_id: int,
    by: User | None,
    lines: list[dict[str, Any]] | None = None,
    purchase_tax: str | None = None,
    purchase_tax_reason: str | None = None,
    **header: Any,
) -> VendorBill:
    """Correct a draft or rejected bill (a rejected one becomes a draft again); `lines`, when given, replace
    the bill's lines. Totals and the self-assessed tax are recomputed."""
    require_finance(by)
    bill = locked_bill(bill_id)
    if bill.status not in EDITABLE:
        raise InvalidTransition(
            f"Bill {bill.number} is {bill.get_status_display().lower()}: only a draft or rejected bill changes.",
            fields={"status": ["Not editable."]},
        )
    if "entity_id" in header and header["entity_id"] is None:
        header.pop("entity_id")
    if lines is None:
        lines = [
            {f: getattr(ln, f) for f in LINE_FIELDS if f != "tax_amount"} | {"tax_amount": ln.tax_amount}
            for ln in bill.lines.all()
        ]
    built = _apply(bill, header, lines, purchase_tax=purchase_tax, reason=purchase_tax_reason)
    bill.status = VendorBillStatus.DRAFT
    _save(bill, built)
    audit_record(actor=by, action="billing.vendor_bill.update", obj=bill, summary=f"Corrected vendor bill {bill}")
    return bill


def check_pdf(upload: UploadedFile) -> None:
    """A vendor bill's attachment is a PDF (by its first bytes and its name) within PDF_LIMIT."""
    name = (upload.name or "").lower()
    if not name.endswith(".pdf"):
        raise _refuse("pdf", "Attach the bill as a PDF file (.pdf).")
    PDF_LIMIT.check(upload.size or 0)
    head = upload.read(5)
    upload.seek(0)
    if head != b"%PDF-":
        raise _refuse("pdf", "The file's content is not a PDF.")


@transaction.atomic
def bill_attach_pdf(*, bill_id: int, by: User | None, pdf: UploadedFile) -> VendorBill:
    """Attach (or replace) the vendor's PDF; allowed in every status (the document as received is evidence)."""
    require_finance(by)
    check_pdf(pdf)
    bill = locked_bill(bill_id)
    bill.pdf.save(pdf.name.rsplit("/", 1)[-1] if pdf.name else "bill.pdf", pdf, save=False)
    VendorBill.objects.filter(pk=bill.pk).update(pdf=bill.pdf.name)
    audit_record(actor=by, action="billing.vendor_bill.pdf", obj=bill, summary=f"Attached the PDF of {bill}")
    return bill


def vendor_bill_pdf_file(bill: VendorBill) -> StoredFile:
    """The vendor's PDF as its reader opens it (inline: its content was checked to be a PDF on upload). The
    caller has checked who may read `bill` (psa/web/files.py)."""
    return StoredFile(
        name=bill.pdf.name or "",
        filename=(bill.pdf.name or "bill.pdf").rsplit("/", 1)[-1],
        content_type="application/pdf",
        as_attachment=False,
    )
