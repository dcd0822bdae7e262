"""Retainage (holdback): a contract line may hold back a percentage of each invoice line it bills until the
project is accepted (construction and engineering contracts).

- At issue, each line of a contract line with a retainage percent holds back round(net x percent / 100) in the
  invoice's currency (`InvoiceLine.retainage`, `Invoice.retainage_total`). VAT is due on the full invoice at
  issue (the supply is made; retainage is a payment term, not a price reduction), so the invoice bills the full
  net and the full VAT; only the payment of the held-back part waits.
- Posting (DESIGN.md section 10): Dr AR (gross - retainage), Dr retainage receivable (retainage) / Cr tax
  payable / Cr contract position (net). The invoice's balance, what a payment may settle and what dunning asks
  for, is the part on AR: retainage is owed but not due.
- A release invoice (`retainage_release_create`, then the ordinary issue) bills the retainage still held on the
  contract's invoices, one line per invoice: Dr AR / Cr retainage receivable; no revenue and no VAT (both were
  booked by the invoices that held it back). Each invoice's retainage is released at most once (a partial unique
  index on RetainageRelease.held_on); discarding the release draft or crediting its line undoes the release.
- A credit note of a retainage invoice takes back the retainage of what it credits (the same share of each
  credited line), while it is still held: Cr AR (its gross - retainage), Cr retainage receivable / Dr tax, Dr
  contract position. Once released, the retainage is on AR and a credit note credits AR only.

Retainage is held only in the functional currency of the books: the receivable is then never revalued and the
release moves exactly the booked value (a foreign-currency contract line refuses a retainage percent).
"""

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billing.choices import InvoiceKind, InvoiceStatus, TaxKind
from billing.models import Invoice, InvoiceLine, RetainageRelease, TaxCategory
from billing.services._common import history, require_finance
from billing.services.tax import invoice_totals_write
from projects.models import Contract
from psa.core.audit import audit_record
from psa.core.currency import functional_currency
from psa.core.entities import seller_snapshot
from psa.core.exceptions import ConflictError, NotFoundError, ValidationFailed
from psa.core.money import ZERO, round_amount

# The VAT category of a release line: exempt at 0 %, with the reason in words (EN 16931 BT-120, BR-E-10). The
# release bills no new supply; the VAT on the amount was charged by the invoices that held it back.
RELEASE_CATEGORY = "RET"
RELEASE_REASON = "Retainage release: VAT was charged on the invoices that held this amount back"
NOT_SUBJECT_CATEGORY = "O"


def retainage_of(net: Decimal, percent: Decimal, currency: str) -> Decimal:
    """The held-back part of a line: round(net x percent / 100) to the currency's minor unit, half up."""
    return round_amount(net * percent / Decimal(100), currency) if percent else ZERO


def invoice_retainage_apply(invoice: Invoice) -> Decimal:
    """Fix the retainage of a draft invoice at issue, from its lines' contract lines (two queries when none
    holds back; one update more when some do). Called by `invoice_issue` while the draft may still change."""
    if invoice.kind != InvoiceKind.INVOICE or invoice.retainage_release:
        return invoice.retainage_total
    rows = list(
        invoice.lines.filter(contract_line__retainage_percent__gt=0).values_list(
            "pk", "net", "contract_line__retainage_percent"
        )
    )
    held = [(pk, retainage_of(net, percent, invoice.currency)) for pk, net, percent in rows]
    held = [(pk, amount) for pk, amount in held if amount > 0]
    if held and invoice.currency != functional_currency():
        raise ValidationFailed(
            f"Retainage is held only on invoices in {functional_currency()}; this one is in {invoice.currency}. "
            "Set the contract line's retainage to 0 or bill the contract in the books' currency.",
            fields={"retainage_percent": ["Only in the functional currency."]},
        )
    if held:
        InvoiceLine.objects.bulk_update([InvoiceLine(pk=pk, retainage=amount) for pk, amount in held], ["retainage"])
    invoice.retainage_total = sum((amount for _, amount in held), ZERO)
    return invoice.retainage_total


def credit_retainage(original: Invoice, credit_lines: list[InvoiceLine]) -> Decimal:
    """Set the retainage each new credit line takes back (the same share of its credited line's retainage; a
    plain amount: the same share of the invoice's) and return their sum, never more than is still held. None
    once the retainage was released (it is on AR), and a refusal while a release draft holds it."""
    if original.retainage_total == 0:
        return ZERO
    active = RetainageRelease.objects.filter(held_on=original, undone_at__isnull=True).select_related("line__invoice")
    release = active.first()
    if release is not None:
        if release.line.invoice.status == InvoiceStatus.DRAFT:
            raise ConflictError(
                f"The retainage of {original.number} is on draft release invoice #{release.line.invoice_id}: issue "
                "or discard that draft first.",
                fields={"invoice": ["Retainage release pending."]},
                code="retainage_release_pending",
            )
        return ZERO
    by_line = {ln.pk: ln for ln in original.lines.all()}
    total = ZERO
    for line in credit_lines:
        base = by_line.get(line.credited_line_id) if line.credited_line_id else None
        if base is not None:
            share = round_amount(base.retainage * line.net / base.net, original.currency) if base.net else ZERO
        else:
            share = (
                round_amount(original.retainage_total * line.net / original.net_total, original.currency)
                if original.net_total
                else ZERO
            )
        line.retainage = min(share, line.net)
        total += line.retainage
    excess = total - original.retainage_held
    for line in reversed(credit_lines):  # never take back more than is held: the last lines give way
        if excess <= 0:
            break
        cut = min(excess, line.retainage)
        line.retainage -= cut
        excess -= cut
        total -= cut
    return total


def _release_category(kind: str) -> TaxCategory:
    if kind == TaxKind.NOT_SUBJECT:
        category = TaxCategory.objects.filter(code=NOT_SUBJECT_CATEGORY).first()
        if category is not None:
            return category
    category, _ = TaxCategory.objects.get_or_create(
        code=RELEASE_CATEGORY,
        defaults={
            "name": "Retainage release (VAT charged on the original invoices)",
            "kind": TaxKind.EXEMPT,
            "rate": Decimal("0.00"),
            "exemption_reason": RELEASE_REASON,
        },
    )
    return category


def retainage_held_invoices(*, contract_id: int, lock: bool = False) -> list[Invoice]:
    """The contract's issued invoices with retainage still held (oldest first); the caller drops those already
    on a release."""
    qs = (
        Invoice.objects.filter(
            contract_id=contract_id,
            kind=InvoiceKind.INVOICE,
            number__isnull=False,
            retainage_total__gt=0,
        )
        .exclude(status=InvoiceStatus.CANCELLED)
        .order_by("pk")
    )
    if lock:
        qs = qs.select_for_update(of=("self",))
    return [inv for inv in qs if inv.retainage_held > 0]


@transaction.atomic
def retainage_release_create(*, contract_id: int, by: User, accepted_on: date, note: str = "") -> Invoice:
    """On acceptance of the project, a draft release invoice for all the retainage still held on the contract's
    invoices: one line per invoice, exempt of VAT (charged already), payable on the contract's terms. The held
    invoices are locked in id order, so two concurrent releases bill it once: the second finds nothing held."""
    require_finance(by)
    contract = Contract.objects.select_related("account", "entity").filter(pk=contract_id).first()
    if contract is None:
        raise NotFoundError(f"No contract with id {contract_id}.")
    held = retainage_held_invoices(contract_id=contract.pk, lock=True)
    # Re-read after the locks: a release committed while this one waited is seen now.
    released = set(
        RetainageRelease.objects.filter(held_on__in=held, undone_at__isnull=True).values_list("held_on_id", flat=True)
    )
    held = [inv for inv in held if inv.pk not in released]
    if not held:
        raise ConflictError(
            f"No retainage is held on {contract.number}: nothing to release.",
            fields={"contract": ["Nothing held."]},
            code="nothing_to_release",
        )
    account = contract.account
    kinds = dict(
        Invoice.objects.filter(pk__in=[inv.pk for inv in held])
        .values_list("pk", "taxes__kind")
        .order_by("pk", "taxes__kind")
    )
    text = note.strip() or f"Project accepted on {accepted_on:%Y-%m-%d}: release of the retainage held back."
    release = Invoice.objects.create(
        kind=InvoiceKind.INVOICE,
        retainage_release=True,
        account=account,
        contract=contract,
        entity_id=contract.entity_id,
        project_id=contract.project_id,
        currency=contract.currency,
        payment_terms_days=contract.payment_terms_days,
        period_start=min((inv.period_start or inv.issue_date or accepted_on) for inv in held),
        period_end=accepted_on,
        buyer_name=account.legal_name or account.name,
        buyer_address=account.billing_address,
        buyer_tax_id=account.tax_id,
        buyer_country=account.country,
        buyer_email=account.billing_email,
        buyer_reference=contract.number,
        seller=seller_snapshot(contract.entity, contract.currency),
        tax_rule="retainage_release",
        tax_why="The retainage was invoiced with its VAT on the invoices that held it back; its release bills no "
        "new supply.",
        note=text[:2000],
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    lines = []
    for position, inv in enumerate(held, start=1):
        category = _release_category(kinds.get(inv.pk) or "")
        amount = inv.retainage_held
        lines.append(
            InvoiceLine(
                invoice=release,
                position=position,
                description=f"Retainage released: held back on invoice {inv.number} of {inv.issue_date:%Y-%m-%d}",
                quantity=Decimal("1"),
                unit="C62",
                unit_price=amount,
                net=amount,
                tax_category=category,
                tax_rate=category.rate,
                period_start=inv.period_start,
                period_end=inv.period_end,
            )
        )
    InvoiceLine.objects.bulk_create(lines)
    RetainageRelease.objects.bulk_create(
        [RetainageRelease(line=line, held_on=inv, amount=line.net) for line, inv in zip(lines, held, strict=True)]
    )
    invoice_totals_write(release)
    history(release, by=by, from_status="", note=f"Retainage release for {contract.number}")
    audit_record(
        actor=by,
        action="billing.retainage_release_create",
        obj=release,
        summary=f"Retainage of {len(held)} invoice(s) on {contract.number} released: "
        f"{release.gross_total:,.2f} {release.currency}",
    )
    return release


def releases_undo(*, invoice: Invoice, reason: str, credited_line_ids: list[int] | None = None) -> int:
    """Undo the releases of a discarded release draft, or those whose line a credit note credits, so that
    retainage may be released again (once)."""
    qs = RetainageRelease.objects.filter(undone_at__isnull=True)
    qs = qs.filter(line_id__in=credited_line_ids) if credited_line_ids is not None else qs.filter(line__invoice=invoice)
    return qs.update(undone_at=timezone.now(), undone_reason=reason[:200])
