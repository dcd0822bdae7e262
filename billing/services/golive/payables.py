"""Go-live import of open vendor bills, so AP aging and payment runs work on them from day one.

Columns: vendor (its external id, tax id or name), number (the vendor's bill number), bill date, due date,
currency (default the vendor's), amount (gross: what the firm owes, VAT included), amount paid (default 0), and
optionally net amount and tax amount (net + tax = amount; default net = amount), PO number, notes.

Rules (each bad row is named with its rule): a vendor PSA knows (rule: unknown_vendor; import parties first); a bill
number new for that vendor, whatever its letter case, in PSA and in the file (rule: duplicate_bill_number; a
re-imported opening bill with the same amounts is "unchanged"); dated before the cut-over (rule:
on_or_after_cutover: later bills are entered in PSA); due on or after its date (rule: due_before_bill_date); a
positive amount, partly paid at most (rule: amount_paid: a paid bill is not open); net + tax = amount (rule:
amounts); a known currency with a rate on the bill date when foreign (rule: missing_rate).

A bill is created posted (or partly paid) and flagged `opening`, without a journal entry: the previous system
posted it and the opening trial balance carries it in accounts payable (2000). Its functional value is its gross
at the rate of its bill date, as for a bill posted in PSA; the go-live reconciliation compares the open bills with
the AP control account. Paying it through PSA (a payment or a payment run) posts Dr AP / Cr cash as for any bill.
"""

from datetime import date

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower, Upper
from django.utils import timezone

from billing.choices import VendorBillStatus
from billing.models import VendorBill
from billing.services.golive.base import GoLiveContext, amount_reader, new_report, read_amount, read_date, row_error
from billing.services.golive.parties import tax_key
from crm.models import Vendor
from psa.core.currency import CURRENCY_CODES
from psa.core.fx import MissingRate, Rate, convert, rate_for
from psa.core.imports import ROW, ImportReport, RowResult, max_lengths, too_long
from psa.core.money import ZERO, round_amount


def _cell(row: dict, column: str) -> str:
    return str(row.get(column, "") or "").strip()


class VendorBillsImporter:
    kind: str = "vendor_bills"
    label: str = "Open vendor bills"
    columns: tuple[str, ...] = ("vendor", "number", "bill_date", "due_date", "amount")
    optional_columns: tuple[str, ...] = ("currency", "amount_paid", "net_amount", "tax_amount", "po_number", "notes")
    aliases: dict[str, str] = {
        "supplier": "vendor",
        "vendor_id": "vendor",
        "bill_number": "number",
        "invoice_number": "number",
        "date": "bill_date",
        "invoice_date": "bill_date",
        "due": "due_date",
        "gross": "amount",
        "gross_amount": "amount",
        "total": "amount",
        "paid": "amount_paid",
        "net": "net_amount",
        "tax": "tax_amount",
        "vat": "tax_amount",
        "po": "po_number",
    }

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        return self._plan(rows, ctx)[0]

    @transaction.atomic
    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        report, bills = self._plan(rows, ctx)
        if report.errors or not bills:
            return report
        VendorBill.objects.bulk_create(bills)
        ctx.record_many(bills)
        return report

    def _plan(self, rows: list[dict], ctx: GoLiveContext) -> tuple[ImportReport, list[VendorBill]]:
        report = new_report(self, ctx)
        cutover = ctx.golive.cutover_date
        refs = {_cell(r, "vendor") for r in rows if _cell(r, "vendor")}
        vendors: dict[str, Vendor] = {}
        for v in Vendor.objects.annotate(lname=Lower("name"), llegal=Lower("legal_name")).filter(
            Q(external_id__in=refs)
            | Q(tax_id__in={tax_key(x) for x in refs})
            | Q(lname__in={x.lower() for x in refs})
            | Q(llegal__in={x.lower() for x in refs})
        ):
            for ref_key in (v.external_id or "", tax_key(v.tax_id), v.name.lower(), v.legal_name.lower()):
                if ref_key:
                    vendors.setdefault(ref_key, v)
        numbers = {_cell(r, "number").upper() for r in rows if _cell(r, "number")}
        stored = {
            (b.vendor_id, b.number.upper()): b
            for b in VendorBill.objects.annotate(unumber=Upper("number")).filter(
                unumber__in=numbers, vendor__in={v.pk for v in vendors.values()}
            )
        }
        amounts = amount_reader(rows, ["amount", "amount_paid", "net_amount", "tax_amount"])
        lengths = max_lengths(VendorBill, {"number": "number", "po_number": "po_number"})
        rates: dict[tuple[str, date], Rate | MissingRate] = {}
        seen: dict[tuple[int, str], int] = {}
        bills: list[VendorBill] = []
        now = timezone.now()
        for r in rows:
            n, number = int(r[ROW]), _cell(r, "number")
            ref = _cell(r, "vendor")
            name = f"{ref} {number}".strip()
            problems: list[tuple[str, str]] = []
            texts = too_long(r, lengths)
            vendor = vendors.get(ref) or vendors.get(tax_key(ref)) or vendors.get(ref.lower())
            if vendor is None:
                problems.append(("unknown_vendor", f"no vendor '{ref}' (external id, tax id or name): import it first"))
            if not number:
                texts.append("column 'number' is empty")
            bill_date = read_date(r, "bill_date", texts)
            due_date = read_date(r, "due_date", texts)
            gross = read_amount(amounts, r, "amount", texts, blank_zero=False)
            paid = read_amount(amounts, r, "amount_paid", texts)
            net = read_amount(amounts, r, "net_amount", texts) if _cell(r, "net_amount") else None
            tax = read_amount(amounts, r, "tax_amount", texts) if _cell(r, "tax_amount") else ZERO
            currency = (_cell(r, "currency") or (vendor.currency if vendor else "")).upper()
            if currency not in CURRENCY_CODES:
                texts.append(f"unknown currency '{currency}'")
            if texts:
                problems.append(("invalid_value", "; ".join(texts)))
            if bill_date and bill_date >= cutover:
                problems.append(
                    ("on_or_after_cutover", f"dated {bill_date} on or after the cut-over {cutover}: enter it in PSA")
                )
            if bill_date and due_date and due_date < bill_date:
                problems.append(("due_before_bill_date", f"due {due_date}, before its date {bill_date}"))
            if gross <= 0:
                problems.append(("amount_paid", "the amount is not positive"))
            elif not ZERO <= paid < gross:
                problems.append(("amount_paid", f"{paid} paid of {gross}: an open bill is unpaid or partly paid"))
            net = gross - tax if net is None else net
            if net + tax != gross or net < 0 or tax < 0:
                problems.append(("amounts", f"net {net} + tax {tax} is not the amount {gross}"))
            if vendor is not None and number:
                key = (vendor.pk, number.upper())
                if key in seen:
                    problems.append(
                        ("duplicate_bill_number", f"bill {number} of {vendor.name} is also on row {seen[key]}")
                    )
                else:
                    seen[key] = n
                twin = stored.get(key)
                if twin is not None:
                    if twin.opening and twin.gross_total == gross and twin.bill_date == bill_date and not problems:
                        report.rows.append(RowResult(n, name, number, "unchanged", "already imported"))
                        continue
                    problems.append(
                        ("duplicate_bill_number", f"{vendor.name} already has bill {twin.number} in PSA (id {twin.pk})")
                    )
            rate: Rate | MissingRate | None = None
            if not problems and currency and bill_date:
                if (currency, bill_date) not in rates:
                    try:
                        rates[(currency, bill_date)] = rate_for(currency=currency, on=bill_date)
                    except MissingRate as exc:
                        rates[(currency, bill_date)] = exc
                rate = rates[(currency, bill_date)]
                if isinstance(rate, MissingRate):
                    problems.append(("missing_rate", rate.message))
            if problems:
                report.rows.append(
                    row_error(r, problems[0][0], "; ".join(p for _, p in problems), name=name, external_id=number)
                )
                continue
            assert vendor is not None and isinstance(rate, Rate) and bill_date is not None and due_date is not None
            gross, paid = round_amount(gross, currency), round_amount(paid, currency)
            bills.append(
                VendorBill(
                    vendor=vendor,
                    entity_id=ctx.golive.entity_id,
                    number=number,
                    po_number=_cell(r, "po_number"),
                    bill_date=bill_date,
                    due_date=due_date,
                    currency=currency,
                    net_total=round_amount(net, currency),
                    tax_total=round_amount(tax, currency),
                    gross_total=gross,
                    amount_paid=paid,
                    fx_rate=rate.rate if rate.date else None,
                    fx_rate_date=rate.date,
                    functional_gross=convert(amount=gross, rate=rate),
                    status=VendorBillStatus.PARTLY_PAID if paid else VendorBillStatus.POSTED,
                    notes=_cell(r, "notes") or f"Open at go-live {cutover:%Y-%m-%d} (imported).",
                    approved_by=ctx.user,
                    approved_at=now,
                    created_by=ctx.user,
                    opening=True,
                )
            )
            report.rows.append(RowResult(n, name, number, "create"))
        return report, bills


VENDOR_BILLS = VendorBillsImporter()
