"""Line nets, tax per category on the summed basis, and document totals (EN 16931).

- line net (BT-131) = round(quantity x unit price, half up), once;
- per category: basis (BT-116) = sum of its line nets, tax (BT-117) = round(basis x rate / 100) — three lines
  of 10.04 at 20 % give 30.12 x 20 % = 6.02, not 3 x 2.01;
- every rounding is to the document currency's minor unit (psa.core.money.round_amount): whole yen for JPY;
- sum of line nets (BT-106) = tax basis total (BT-109) = sum of bases; tax total (BT-110) = sum of category
  taxes; total with tax (BT-112) = BT-109 + BT-110; amount due (BT-115) = BT-112 - paid. Nothing is rounded
  twice: totals are sums of rounded parts.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal

from billing.models import Invoice, InvoiceTax, TaxCategory
from billing.services.vat import vat_rates_ensure_default
from psa.core.money import ZERO, round_amount, sum_money


@dataclass
class TaxRow:
    category: TaxCategory
    basis: Decimal = ZERO
    amount: Decimal = ZERO


@dataclass
class Totals:
    net: Decimal = ZERO
    tax: Decimal = ZERO
    gross: Decimal = ZERO
    rows: list[TaxRow] = field(default_factory=list)


def category_tax(basis: Decimal, rate: Decimal, currency: str) -> Decimal:
    return round_amount(basis * rate / Decimal(100), currency)


def totals_for(lines: list[tuple[Decimal, TaxCategory]], *, currency: str) -> Totals:
    """Totals of (net, category) pairs in `currency`: one tax row per category on the summed basis."""
    rows: OrderedDict[int, TaxRow] = OrderedDict()
    for net, category in lines:
        row = rows.setdefault(category.pk, TaxRow(category=category))
        row.basis += net
    for row in rows.values():
        row.amount = category_tax(row.basis, row.category.rate, currency)
    net = sum_money(r.basis for r in rows.values())
    tax = sum_money(r.amount for r in rows.values())
    return Totals(net=net, tax=tax, gross=net + tax, rows=list(rows.values()))


def invoice_totals_write(invoice: Invoice) -> Totals:
    """Recompute a draft's tax rows and totals from its lines (two writes, whatever the line count)."""
    lines = [(ln.net, ln.tax_category) for ln in invoice.lines.select_related("tax_category").order_by("position")]
    totals = totals_for(lines, currency=invoice.currency)
    InvoiceTax.objects.filter(invoice=invoice).delete()
    invoice_taxes_create(invoice, totals)
    invoice.net_total, invoice.tax_total, invoice.gross_total = totals.net, totals.tax, totals.gross
    Invoice.objects.filter(pk=invoice.pk).update(net_total=totals.net, tax_total=totals.tax, gross_total=totals.gross)
    return totals


def invoice_taxes_create(invoice: Invoice, totals: Totals) -> None:
    """Write the tax rows of a document whose totals were just computed (one insert)."""
    InvoiceTax.objects.bulk_create(
        [
            InvoiceTax(
                invoice=invoice,
                tax_category=r.category,
                kind=r.category.kind,
                rate=r.category.rate,
                basis=r.basis,
                amount=r.amount,
                exemption_reason=r.category.exemption_reason,
                exemption_code=r.category.exemption_code,
            )
            for r in totals.rows
        ]
    )


DEFAULT_CATEGORIES = [
    ("S20", "Standard rate 20%", "S", "20.00", "", True),
    ("S10", "Reduced rate 10%", "S", "10.00", "", False),
    ("Z", "Zero rated", "Z", "0.00", "", False),
    ("AE", "Reverse charge", "AE", "0.00", "Reverse charge", False),
    ("O", "Not subject to VAT", "O", "0.00", "Not subject to VAT", False),
]
EXEMPTION_CODES = {"AE": "VATEX-EU-AE", "O": "VATEX-EU-O"}


def tax_categories_ensure_default() -> int:
    """Create the default tax categories and the seeded VAT rates that are missing (migrations 0002 and 0015 made
    them; a flushed test database or a fresh demo may not have them). Returns how many categories were created."""
    vat_rates_ensure_default()
    created = 0
    has_default = TaxCategory.objects.filter(is_default=True).exists()
    for code, name, kind, rate, reason, default in DEFAULT_CATEGORIES:
        _, was_created = TaxCategory.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "rate": Decimal(rate),
                "exemption_reason": reason,
                "exemption_code": EXEMPTION_CODES.get(code, ""),
                "is_default": default and not has_default,
            },
        )
        created += was_created
    return created
