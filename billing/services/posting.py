"""Ledger postings of billing documents (DESIGN.md sections 6 and 10), through ledger.services.entry_post.

- Invoice issued: Dr AR (gross) / Cr tax payable (tax) / Cr contract position (net), where the contract
  position first relieves the unbilled receivable of the contract's project and the rest goes to deferred
  revenue. Credit note: the mirror (first reduces deferred revenue, the rest increases unbilled receivable).
  The split is the ledger's one rule (ledger.services.contract_position), the same recognition posts by.
  The whole net goes through the contract position, re-billed expense lines included: revenue recognition
  (ledger.services.recognition) recognises approved billable expenses with the T&M work they belong to, so the invoice
  only settles the contract position (DESIGN.md section 6; issue: T&M as delivered "plus billable expenses").
- Payment: Dr cash / Cr AR. Write-off: Dr write-offs / Cr AR.
- Retainage (DESIGN.md section 10, billing.services.retainage): the held-back part of an invoice goes to the
  retainage receivable instead of AR (Dr AR gross - retainage, Dr retainage receivable); a release invoice moves
  it to AR (Dr AR / Cr retainage receivable: no tax, no contract position). Credit notes mirror both.
Every line carries the client dimension; contract-position and AR lines carry the project too.

Two currencies (DESIGN.md invariant 11). A document converts at the rate of its own date: an invoice or credit
note at its issue date, a payment at its received date (`psa.core.fx.rate_for`; a missing rate is a 409 and
nothing is written). On an invoice, AR = convert(gross) and tax payable = convert(tax), both in the invoice's
currency; the net is AR - tax, so the entry balances exactly. The contract-position parts relieve a side at its
booked value (IFRIC 22, ledger.services.contract_position) and the rest goes in at the invoice's rate; what the
net and the parts differ by is a realised exchange gain or loss (client and project dimensions).

A payment's AR credit has the client only (it is unapplied credit until allocated). Allocating it to a foreign
invoice posts a settlement entry: Dr AR (the payment's client, no project: its part at the payment's rate) /
Cr AR (the invoice's client, project and currency: its part at the invoice's booked rate) and the difference
to realised exchange gain or loss. A credit note applied to its invoice settles the same way, its own part at
the credit note's booked rate. Each part is a share of the document's functional value, the last one the
remainder (`settled_share`), so a settled invoice leaves exactly 0 on AR in both currencies. A write-off takes
its share at the invoice's booked rate off AR and expenses the same value: no exchange difference. Documents in
the functional currency post no settlement entry (the parts are the amounts).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from billing.models import Invoice, Payment, WriteOff
from ledger.choices import SystemAccount
from ledger.models import JournalEntry
from ledger.services import EntrySpec, account_code_for, entry_post, price_reduction_record
from ledger.services.contract_position import (
    POSITION_ROLES,
    contract_position_split,
    position_fx_difference,
    position_lines,
)
from ledger.services.posting import LineSpec, fx_difference_line, fx_line
from psa.core.currency import functional_currency
from psa.core.fx import Rate, convert
from psa.core.money import ZERO, round_amount


def _side(amount: Decimal, *, debit: bool) -> dict:
    return {"debit": amount} if debit else {"credit": amount}


def booked_rate(currency: str, rate: Decimal | None, on: date | None) -> Rate:
    """The rate a document was converted at, as a Rate (rate 1 and no date in the functional currency)."""
    quote = functional_currency()
    if currency == quote:
        return Rate(currency=currency, quote=quote, rate=Decimal(1), date=None)
    assert rate is not None  # a foreign document keeps the rate it was converted at
    return Rate(currency=currency, quote=quote, rate=rate, date=on)


def invoice_rate(invoice: Invoice) -> Rate:
    return booked_rate(invoice.currency, invoice.fx_rate, invoice.fx_rate_date)


@dataclass(frozen=True)
class FunctionalTotals:
    net: Decimal
    tax: Decimal
    gross: Decimal


def invoice_functional(invoice: Invoice, rate: Rate) -> FunctionalTotals:
    """An invoice's totals in the functional currency: gross and tax converted, the net their difference (so
    the issue entry balances to the cent)."""
    gross = convert(amount=invoice.gross_total, rate=rate)
    tax = convert(amount=invoice.tax_total, rate=rate)
    return FunctionalTotals(net=gross - tax, tax=tax, gross=gross)


def settled_share(
    *, functional: Decimal, total: Decimal, settled_after: Decimal, functional_before: Decimal
) -> Decimal:
    """The functional value a settlement takes off a document booked at `functional` for `total` in its own
    currency: the cumulative share round(functional x settled_after / total) less what earlier settlements took,
    so the shares sum to `functional` exactly once `settled_after` reaches `total` (the last takes the rest)."""
    if settled_after >= total:
        return functional - functional_before
    target = round_amount(functional * settled_after / total, functional_currency()) if total else ZERO
    return target - functional_before


def _dr_cr(
    debit_account: str,
    credit_account: str,
    amount: Decimal,
    *,
    rate: Rate,
    functional: Decimal,
    client_id: int,
    project_id: int | None,
) -> tuple[LineSpec, LineSpec]:
    """Two lines of `amount` in `rate.currency` worth `functional`: a debit and a credit."""
    return (
        fx_line(debit_account, rate=rate, debit=amount, functional=functional, client_id=client_id,
                project_id=project_id),
        fx_line(credit_account, rate=rate, credit=amount, functional=functional, client_id=client_id,
                project_id=project_id),
    )  # fmt: skip


def invoice_spec(invoice: Invoice) -> EntrySpec:
    """The entry for an issued invoice or credit note (credit note = every side swapped), at the rate stored on
    it at issue."""
    assert invoice.issue_date is not None and invoice.functional_gross is not None  # issued
    assert invoice.functional_net is not None and invoice.functional_tax is not None
    is_invoice = not invoice.is_credit_note
    client, project = invoice.account_id, invoice.project_id
    rate = invoice_rate(invoice)
    if invoice.retainage_release:
        return _release_spec(invoice, rate=rate, is_invoice=is_invoice)
    # An invoice credits the contract position, a credit note debits it; the ledger decides the split.
    net = invoice.net_total
    parts = contract_position_split(
        project_id=project, on=invoice.issue_date, amount=-net if is_invoice else net, rate=rate
    )
    lines = []
    if invoice.receivable > 0:
        lines.append(
            fx_line(
                account_code_for(SystemAccount.RECEIVABLE),
                rate=rate,
                functional=invoice.functional_gross - invoice.functional_retainage,
                client_id=client,
                project_id=project,
                memo=str(invoice.number),
                **_side(invoice.receivable, debit=is_invoice),
            )
        )
    if invoice.retainage_total > 0:
        lines.append(
            fx_line(
                account_code_for(SystemAccount.RETAINAGE_RECEIVABLE),
                rate=rate,
                functional=invoice.functional_retainage,
                client_id=client,
                project_id=project,
                memo=f"Retainage held back on {invoice.number}",
                **_side(invoice.retainage_total, debit=is_invoice),
            )
        )
    if invoice.tax_total > 0:
        lines.append(
            fx_line(
                account_code_for(SystemAccount.TAX_PAYABLE),
                rate=rate,
                functional=invoice.functional_tax,
                client_id=client,
                memo="Tax",
                **_side(invoice.tax_total, debit=not is_invoice),
            )
        )
    codes = {role.value: account_code_for(role) for role in POSITION_ROLES}
    lines += position_lines(parts, codes=codes, client_id=client, project_id=project, currency=invoice.currency)
    difference = position_fx_difference(parts=parts, functional_net=invoice.functional_net, debit=not is_invoice)
    if difference is not None:
        role, amount, debit = difference
        lines.append(
            fx_difference_line(
                account_code_for(role),
                currency=invoice.currency,
                client_id=client,
                project_id=project,
                memo="Exchange difference on the contract position",
                **_side(amount, debit=debit),
            )
        )
    label = "Credit note" if invoice.is_credit_note else "Invoice"
    return EntrySpec(
        date=invoice.issue_date,
        memo=f"{label} {invoice.number} — {invoice.buyer_name}"[:300],
        source=f"invoice:{invoice.pk}",
        lines=tuple(lines),
        entity_id=invoice.entity_id,
    )


def _release_spec(invoice: Invoice, *, rate: Rate, is_invoice: bool) -> EntrySpec:
    """A retainage release invoice: Dr AR / Cr retainage receivable (its credit note: the mirror). Retainage is
    held only in the functional currency, so the booked value moves as it is."""
    assert invoice.issue_date is not None and invoice.functional_gross is not None
    receivable = account_code_for(SystemAccount.RECEIVABLE)
    retainage = account_code_for(SystemAccount.RETAINAGE_RECEIVABLE)
    debit, credit = (receivable, retainage) if is_invoice else (retainage, receivable)
    lines = _dr_cr(
        debit,
        credit,
        invoice.gross_total,
        rate=rate,
        functional=invoice.functional_gross,
        client_id=invoice.account_id,
        project_id=invoice.project_id,
    )
    label = "Retainage release" if is_invoice else "Credit note on a retainage release"
    return EntrySpec(
        date=invoice.issue_date,
        memo=f"{label} {invoice.number} — {invoice.buyer_name}"[:300],
        source=f"invoice:{invoice.pk}",
        lines=lines,
        entity_id=invoice.entity_id,
    )


def invoice_post(invoice: Invoice) -> JournalEntry:
    """Post an issued invoice or credit note. A credit note that credits a plain amount (not sources or lines,
    which become billable again) cuts the project's price: the ledger is told here, in the issuing transaction,
    so recognition lowers the effective price of the project's fixed-price lines (ledger.services.recognition)."""
    entry = entry_post(spec=invoice_spec(invoice), key=f"billing:invoice:{invoice.pk}:issue")
    if invoice.is_credit_note and invoice.project_id is not None:
        cut = invoice.lines.filter(credited_line__isnull=True).aggregate(total=Sum("net"))["total"]
        if cut:
            assert invoice.issue_date is not None  # posted when issued: invoice_issue sets the date first
            price_reduction_record(
                project_id=invoice.project_id, on=invoice.issue_date, amount=cut, source=f"invoice:{invoice.pk}"
            )
    return entry


def payment_post(payment: Payment) -> JournalEntry:
    """Dr cash / Cr AR (client only) in the payment's currency at the rate stored on it."""
    assert payment.functional_amount is not None  # converted when recorded
    spec = EntrySpec(
        date=payment.received_on,
        memo=f"Payment {payment.reference or payment.pk} — {payment.account}"[:300],
        source=f"payment:{payment.pk}",
        entity_id=payment.entity_id,
        lines=_dr_cr(
            account_code_for(SystemAccount.CASH),
            account_code_for(SystemAccount.RECEIVABLE),
            payment.amount,
            rate=booked_rate(payment.currency, payment.fx_rate, payment.fx_rate_date),
            functional=payment.functional_amount,
            client_id=payment.account_id,
            project_id=None,
        ),
    )
    return entry_post(spec=spec, key=f"billing:payment:{payment.pk}")


@dataclass(frozen=True)
class Settlement:
    """`amount` of an invoice settled by a payment or credit note (the source) on `on`: the invoice's part at its
    booked value (`relieved`), the source's at its own (`source_relieved`), and the source's AR dimensions."""

    invoice: Invoice
    amount: Decimal
    relieved: Decimal
    source_relieved: Decimal
    source_rate: Rate
    source_project_id: int | None
    on: date
    key: str
    memo: str


def settlement_post(settlement: Settlement) -> JournalEntry | None:
    """The settlement entry of a foreign-currency invoice (none in the functional currency, where both parts
    are the amount): the source's part back on AR, the invoice's part off it, and the difference a realised
    exchange gain (the source worth more than the invoice's booked value) or loss."""
    s, invoice = settlement, settlement.invoice
    if invoice.currency == functional_currency():
        return None
    receivable = account_code_for(SystemAccount.RECEIVABLE)
    client = invoice.account_id
    lines = []
    if s.source_relieved > 0:
        lines.append(
            fx_line(
                receivable,
                rate=s.source_rate,
                debit=s.amount,
                functional=s.source_relieved,
                client_id=client,
                project_id=s.source_project_id,
                memo=s.memo,
            )
        )
    if s.relieved > 0:
        lines.append(
            fx_line(
                receivable,
                rate=invoice_rate(invoice),
                credit=s.amount,
                functional=s.relieved,
                client_id=client,
                project_id=invoice.project_id,
                memo=str(invoice.number),
            )
        )
    difference = s.source_relieved - s.relieved
    if difference:
        role = SystemAccount.FX_REALISED_GAIN if difference > 0 else SystemAccount.FX_REALISED_LOSS
        lines.append(
            fx_difference_line(
                account_code_for(role),
                currency=invoice.currency,
                client_id=client,
                project_id=invoice.project_id,
                memo=f"Realised exchange difference on {invoice.number}",
                **_side(abs(difference), debit=difference < 0),
            )
        )
    if len(lines) < 2:
        return None
    spec = EntrySpec(
        date=s.on, memo=s.memo[:300], source=f"invoice:{invoice.pk}", lines=tuple(lines), entity_id=invoice.entity_id
    )
    return entry_post(spec=spec, key=s.key)


def write_off_post(write_off: WriteOff, on: date) -> JournalEntry:
    """Dr write-offs / Cr AR at the invoice's booked value of the written-off part (`write_off.functional`)."""
    invoice = write_off.invoice
    assert write_off.functional is not None  # valued by the service before posting
    spec = EntrySpec(
        date=on,
        memo=f"Write-off on {invoice.number}: {write_off.reason}"[:300],
        source=f"writeoff:{write_off.pk}",
        entity_id=invoice.entity_id,
        lines=_dr_cr(
            account_code_for(SystemAccount.WRITE_OFFS),
            account_code_for(SystemAccount.RECEIVABLE),
            write_off.amount,
            rate=invoice_rate(invoice),
            functional=write_off.functional,
            client_id=invoice.account_id,
            project_id=invoice.project_id,
        ),
    )
    return entry_post(spec=spec, key=f"billing:writeoff:{write_off.pk}")
