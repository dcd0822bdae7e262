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

Legal entities: a return is one entity's (one VAT registration): both queries are filtered by it (the documents
it issued, the movements of its own tax-payable account), so each entity's return reconciles to its own books.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Q

from billing.choices import InvoiceKind, InvoiceStatus, TaxKind
from billing.models import InvoiceTax
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
    return result


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
