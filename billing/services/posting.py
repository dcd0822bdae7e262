"""Ledger postings of billing documents (DESIGN.md section 6), through ledger.services.entry_post.

- Invoice issued: Dr AR (gross) / Cr tax payable (tax) / Cr contract position (net), where the contract
  position first relieves the unbilled receivable of the contract's project and the rest goes to deferred
  revenue. Credit note: the mirror (first reduces deferred revenue, the rest increases unbilled receivable).
  The split is the ledger's one rule (ledger.services.contract_position), the same recognition posts by.
  The whole net goes through the contract position, re-billed expense lines included: revenue recognition
  (ledger.services.recognition) recognises approved billable expenses with the T&M work they belong to, so the invoice
  only settles the contract position (DESIGN.md section 6; issue: T&M as delivered "plus billable expenses").
- Payment: Dr cash / Cr AR. Write-off: Dr write-offs / Cr AR.
Every line carries the client dimension; contract-position and AR lines carry the project too.
"""

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from billing.models import Invoice, Payment, WriteOff
from ledger.choices import SystemAccount
from ledger.models import JournalEntry
from ledger.services import (
    EntrySpec,
    LineSpec,
    account_code_for,
    contract_position_split,
    entry_post,
    price_reduction_record,
)


def _side(amount: Decimal, *, debit: bool) -> dict:
    return {"debit": amount} if debit else {"credit": amount}


def invoice_spec(invoice: Invoice) -> EntrySpec:
    assert invoice.issue_date is not None  # issued
    """The entry for an issued invoice or credit note (credit note = every side swapped)."""
    is_invoice = not invoice.is_credit_note
    client, project = invoice.account_id, invoice.project_id
    # An invoice credits the contract position, a credit note debits it; the ledger decides the split.
    net = invoice.net_total
    position = contract_position_split(project_id=project, on=invoice.issue_date, amount=-net if is_invoice else net)
    lines = [
        LineSpec(
            account=account_code_for(SystemAccount.RECEIVABLE),
            client_id=client,
            project_id=project,
            memo=str(invoice.number),
            **_side(invoice.gross_total, debit=is_invoice),
        )
    ]
    if invoice.tax_total > 0:
        lines.append(
            LineSpec(
                account=account_code_for(SystemAccount.TAX_PAYABLE),
                client_id=client,
                memo="Tax",
                **_side(invoice.tax_total, debit=not is_invoice),
            )
        )
    for part in position:
        lines.append(
            LineSpec(
                account=account_code_for(part.role),
                client_id=client,
                project_id=project,
                memo="Contract position",
                **_side(part.amount, debit=part.debit),
            )
        )
    label = "Credit note" if invoice.is_credit_note else "Invoice"
    return EntrySpec(
        date=invoice.issue_date,
        memo=f"{label} {invoice.number} — {invoice.buyer_name}"[:300],
        source=f"invoice:{invoice.pk}",
        lines=tuple(lines),
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
    spec = EntrySpec(
        date=payment.received_on,
        memo=f"Payment {payment.reference or payment.pk} — {payment.account}"[:300],
        source=f"payment:{payment.pk}",
        lines=(
            LineSpec(account=account_code_for(SystemAccount.CASH), debit=payment.amount, client_id=payment.account_id),
            LineSpec(
                account=account_code_for(SystemAccount.RECEIVABLE), credit=payment.amount, client_id=payment.account_id
            ),
        ),
    )
    return entry_post(spec=spec, key=f"billing:payment:{payment.pk}")


def write_off_post(write_off: WriteOff, on: date) -> JournalEntry:
    invoice = write_off.invoice
    spec = EntrySpec(
        date=on,
        memo=f"Write-off on {invoice.number}: {write_off.reason}"[:300],
        source=f"writeoff:{write_off.pk}",
        lines=(
            LineSpec(
                account=account_code_for(SystemAccount.WRITE_OFFS),
                debit=write_off.amount,
                client_id=invoice.account_id,
                project_id=invoice.project_id,
            ),
            LineSpec(
                account=account_code_for(SystemAccount.RECEIVABLE),
                credit=write_off.amount,
                client_id=invoice.account_id,
                project_id=invoice.project_id,
            ),
        ),
    )
    return entry_post(spec=spec, key=f"billing:writeoff:{write_off.pk}")
