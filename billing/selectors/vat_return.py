"""The VAT return of a period: output tax by category and rate, reverse-charge and not-subject turnover apart,
reconciled to the movements of the tax-payable ledger account.

What counts: every issued invoice and credit note (numbered, not cancelled) whose issue date lies in the period
(the date it is posted to the ledger on), credit notes negative. Figures are in the functional currency, from the
amounts fixed on each document at issue (`functional_net`, `functional_tax`, migration 0013), never re-converted:
a document's tax rows share its functional tax in proportion to their tax (its functional net in proportion to
their basis), the last row taking the remainder, so the rows of a document sum to what was posted exactly.

Reconciliation: the output tax equals the credits less the debits posted to the tax-payable account in the period
(ledger movements, read-only). A difference is shown, never hidden: it means a posting to tax payable that is not
an invoice's or credit note's tax (a manual journal) or a document posted outside its issue date.

Purchases (the cost side): the input VAT charged by vendors on bills posted in the period (deductible), and the
VAT the entity self-assessed under reverse charge on services bought from abroad (due and deductible at once), with
the reverse-charge purchases' net. Both in the functional currency at each bill's booked rate (as posted), by the
date of the bill's journal entry; reconciled to the movements of the input-VAT and reverse-charge-VAT accounts.
The net payable is output tax + reverse-charge VAT due - input VAT (vendors' plus reverse charge).

Legal entities: a return is one entity's (one VAT registration): both queries are filtered by it (the documents
it issued, the movements of its own tax-payable account), so each entity's return reconciles to its own books.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Round

from billing.choices import (
    VENDOR_BILL_OPEN_STATUSES,
    InvoiceKind,
    InvoiceStatus,
    PurchaseTax,
    TaxKind,
    VendorBillStatus,
)
from billing.models import InvoiceTax, VendorBill
from ledger.choices import SystemAccount
from ledger.selectors import movements
from psa.core.currency import functional_currency
from psa.core.dates import in_range, month_end, month_start
from psa.core.exceptions import ValidationFailed
from psa.core.money import ZERO, round_amount


@dataclass
class VatReturnRow:
    kind: str
    rate: Decimal
    basis: Decimal = ZERO
    tax: Decimal = ZERO
    documents: int = 0

    @property
    def label(self) -> str:
        return (
            f"{TaxKind(self.kind).label} {self.rate:.2f} %"
            if self.kind == TaxKind.STANDARD
            else TaxKind(self.kind).label
        )


@dataclass
class VatReturn:
    start: date
    end: date
    currency: str
    output: list[VatReturnRow] = field(default_factory=list)  # taxed supplies: S (and Z, E) per rate
    reverse_charge: VatReturnRow | None = None  # AE turnover: the buyers account for the VAT
    not_subject: VatReturnRow | None = None  # O turnover: outside the scope of the seller's VAT
    ledger_tax: Decimal = ZERO  # tax payable: credits - debits posted in the period
    documents: int = 0
    input_vat: Decimal = ZERO  # charged by vendors on bills posted in the period (deductible)
    reverse_charge_due: Decimal = ZERO  # self-assessed on services bought from abroad (due and deductible)
    reverse_charge_purchases: Decimal = ZERO  # their net
    bills: int = 0
    ledger_input_vat: Decimal = ZERO  # input VAT account: debits - credits in the period
    ledger_reverse_charge: Decimal = ZERO  # reverse-charge VAT account: credits - debits in the period

    @property
    def input_total(self) -> Decimal:
        """Deductible input VAT: the vendors' plus the reverse charge's."""
        return self.input_vat + self.reverse_charge_due

    @property
    def net_payable(self) -> Decimal:
        return self.output_tax + self.reverse_charge_due - self.input_total

    @property
    def input_difference(self) -> Decimal:
        return self.ledger_input_vat - self.input_total

    @property
    def reverse_charge_difference(self) -> Decimal:
        return self.ledger_reverse_charge - self.reverse_charge_due

    @property
    def purchases_reconciled(self) -> bool:
        return self.input_difference == 0 and self.reverse_charge_difference == 0

    @property
    def output_tax(self) -> Decimal:
        return sum((r.tax for r in self.output), ZERO)

    @property
    def output_basis(self) -> Decimal:
        return sum((r.basis for r in self.output), ZERO)

    @property
    def difference(self) -> Decimal:
        return self.ledger_tax - self.output_tax

    @property
    def reconciled(self) -> bool:
        return self.difference == 0


def _share(total: Decimal, part: Decimal, whole: Decimal, currency: str) -> Decimal:
    return round_amount(total * part / whole, currency) if whole else ZERO


def vat_return(*, start: date, end: date, entity_id: int) -> VatReturn:
    """The VAT return of one legal entity from `start` through `end` (see the module docstring). Two queries: the
    documents' tax rows and the tax-payable movements (with a third for the entity's closed months, if any)."""
    currency = functional_currency()
    result = VatReturn(start=start, end=end, currency=currency)
    rows = (
        InvoiceTax.objects.filter(
            invoice__number__isnull=False,
            invoice__entity_id=entity_id,
            invoice__issue_date__gte=start,
            invoice__issue_date__lte=end,
        )
        .exclude(invoice__status=InvoiceStatus.CANCELLED)
        # A retainage release bills no supply: its amount was declared with the invoices that held it back.
        .exclude(invoice__retainage_release=True)
        .order_by("invoice_id", "-rate", "kind", "pk")
        .values_list(
            "invoice_id",
            "invoice__kind",
            "invoice__net_total",
            "invoice__tax_total",
            "invoice__functional_net",
            "invoice__functional_tax",
            "kind",
            "rate",
            "basis",
            "amount",
        )
    )
    buckets: dict[tuple[str, Decimal], VatReturnRow] = {}
    seen: dict[tuple[str, Decimal], set[int]] = {}
    current, left_net, left_tax, doc_net, doc_tax, rows_left = None, ZERO, ZERO, ZERO, ZERO, 0
    data = list(rows)
    counts: dict[int, int] = {}
    for invoice_id, *_ in data:
        counts[invoice_id] = counts.get(invoice_id, 0) + 1
    for invoice_id, kind_doc, net, tax, f_net, f_tax, kind, rate, basis, amount in data:
        if invoice_id != current:
            current, rows_left = invoice_id, counts[invoice_id]
            left_net, left_tax = f_net if f_net is not None else net, f_tax if f_tax is not None else tax
            doc_net, doc_tax = left_net, left_tax
            result.documents += 1
        rows_left -= 1
        # The row's share of the document's functional figures; the last row takes what is left.
        row_net = left_net if rows_left == 0 else _share(doc_net, basis, net, currency)
        row_tax = left_tax if rows_left == 0 else _share(doc_tax, amount, tax, currency)
        left_net, left_tax = left_net - row_net, left_tax - row_tax
        sign = -1 if kind_doc == InvoiceKind.CREDIT_NOTE else 1
        key = (kind, rate)
        bucket = buckets.setdefault(key, VatReturnRow(kind=kind, rate=rate))
        bucket.basis += sign * row_net
        bucket.tax += sign * row_tax
        seen.setdefault(key, set()).add(invoice_id)
    for key, bucket in sorted(buckets.items(), key=lambda kv: (kv[0][0] != TaxKind.STANDARD, -kv[0][1], kv[0][0])):
        bucket.documents = len(seen[key])
        if bucket.kind == TaxKind.REVERSE_CHARGE:
            result.reverse_charge = bucket
        elif bucket.kind == TaxKind.NOT_SUBJECT:
            result.not_subject = bucket
        else:
            result.output.append(bucket)
    moved = movements(
        start=start, end=end, filters=Q(account__system_role=SystemAccount.TAX_PAYABLE), entity_id=entity_id
    )
    debit = sum((d for d, _ in moved.values()), ZERO)
    credit = sum((c for _, c in moved.values()), ZERO)
    result.ledger_tax = credit - debit
    _purchases(result, start=start, end=end, entity_id=entity_id)
    return result


MONEY = DecimalField(max_digits=18, decimal_places=2)


def _functional(field_name: str, q: Q | None = None) -> Coalesce:
    return Coalesce(Sum(Round(F(field_name) * F("fx_rate"), 2), filter=q), Value(ZERO), output_field=MONEY)


def _purchases(result: VatReturn, *, start: date, end: date, entity_id: int) -> None:
    """Input VAT and reverse charge of the bills posted in the period, and the two accounts' movements."""
    posted = (*VENDOR_BILL_OPEN_STATUSES, VendorBillStatus.PAID)
    rc = Q(purchase_tax=PurchaseTax.REVERSE_CHARGE)
    row = VendorBill.objects.filter(
        entity_id=entity_id,
        status__in=posted,
        journal_entry__date__gte=start,
        journal_entry__date__lte=end,
    ).aggregate(
        n=Count("id"),
        input_vat=_functional("tax_total"),
        rc_due=_functional("reverse_charge_tax", rc),
        rc_net=_functional("net_total", rc),
    )
    result.bills, result.input_vat = row["n"], row["input_vat"]
    result.reverse_charge_due, result.reverse_charge_purchases = row["rc_due"], row["rc_net"]
    moved = movements(
        start=start,
        end=end,
        group=("account__system_role",),
        filters=Q(account__system_role__in=(SystemAccount.INPUT_VAT, SystemAccount.REVERSE_CHARGE_VAT)),
        entity_id=entity_id,
    )
    d, c = moved.get((SystemAccount.INPUT_VAT,), (ZERO, ZERO))
    result.ledger_input_vat = d - c
    d, c = moved.get((SystemAccount.REVERSE_CHARGE_VAT,), (ZERO, ZERO))
    result.ledger_reverse_charge = c - d


def vat_return_month(raw: str | None, *, today: date) -> tuple[date, date]:
    """The first and last day of the month `raw` ("YYYY-MM"); the month before `today` when `raw` is empty.
    Refuses (ValidationFailed naming `month`) anything else."""
    if not raw:
        return month_start(month_start(today) - timedelta(days=1)), month_start(today) - timedelta(days=1)
    try:
        first = datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        raise ValidationFailed(
            f"'{raw}' is not a month: write it as YYYY-MM, e.g. 2026-01.", fields={"month": ["A month, YYYY-MM."]}
        ) from None
    if not in_range(first):
        raise ValidationFailed(f"'{raw}' is out of range.", fields={"month": ["Out of range."]})
    return first, month_end(first)
