"""Ledger postings of billing documents (DESIGN.md section 6), through ledger.services.entry_post.

- Invoice issued: Dr AR (gross) / Cr tax payable (tax) / Cr contract position (net), where the contract
  position first relieves the unbilled receivable of the contract's project and the rest goes to deferred
  revenue. Credit note: the mirror (first reduces deferred revenue, the rest increases unbilled receivable).
  The whole net goes through the contract position, re-billed expense lines included: revenue recognition
  (ledger.recognition) recognises approved billable expenses with the T&M work they belong to, so the invoice
  only settles the contract position (DESIGN.md section 6; issue: T&M as delivered "plus billable expenses").
- Payment: Dr cash / Cr AR. Write-off: Dr write-offs / Cr AR.
Every line carries the client dimension; contract-position and AR lines carry the project too.
"""

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from billing.models import Invoice, Payment, WriteOff
from ledger.choices import SystemAccount
from ledger.models import JournalEntry, JournalLine
from ledger.services import EntrySpec, LineSpec, account_code_for, entry_post
from psa.core.money import ZERO


def project_position(*, project_id: int | None, at: date) -> tuple[Decimal, Decimal]:
    """(unbilled receivable debit balance, deferred revenue credit balance) of a project through `at`."""
    if project_id is None:
        return ZERO, ZERO
    # Journal lines are never deleted (closing a month only adds stored balances), so summing the project's
    # lines through `at` is exact; one indexed query (ledger_line_project_idx).
    rows = (
        JournalLine.objects.filter(
            project_id=project_id,
            date__lte=at,
            account__system_role__in=[SystemAccount.UNBILLED, SystemAccount.DEFERRED],
        )
        .values("account__system_role")
        .annotate(d=Sum("debit"), c=Sum("credit"))
        .order_by()
    )
    totals = {r["account__system_role"]: (r["d"] or ZERO, r["c"] or ZERO) for r in rows}
    unbilled = totals.get(SystemAccount.UNBILLED.value, (ZERO, ZERO))
    deferred = totals.get(SystemAccount.DEFERRED.value, (ZERO, ZERO))
    return max(unbilled[0] - unbilled[1], ZERO), max(deferred[1] - deferred[0], ZERO)


def _side(amount: Decimal, *, debit: bool) -> dict:
    return {"debit": amount} if debit else {"credit": amount}


def invoice_spec(invoice: Invoice) -> EntrySpec:
    assert invoice.issue_date is not None  # issued
    """The entry for an issued invoice or credit note (credit note = every side swapped)."""
    is_invoice = not invoice.is_credit_note
    client, project = invoice.account_id, invoice.project_id
    unbilled_bal, deferred_bal = project_position(project_id=project, at=invoice.issue_date)
    net = invoice.net_total
    if is_invoice:
        first_code, first_amount = account_code_for(SystemAccount.UNBILLED), min(net, unbilled_bal)
        rest_code = account_code_for(SystemAccount.DEFERRED)
    else:
        first_code, first_amount = account_code_for(SystemAccount.DEFERRED), min(net, deferred_bal)
        rest_code = account_code_for(SystemAccount.UNBILLED)
    rest_amount = net - first_amount
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
    credits = [
        (first_code, first_amount, "Contract position"),
        (rest_code, rest_amount, "Contract position"),
    ]
    for code, amount, memo in credits:
        if amount > 0:
            lines.append(
                LineSpec(
                    account=code,
                    client_id=client,
                    project_id=project,
                    memo=memo,
                    **_side(amount, debit=not is_invoice),
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
    return entry_post(spec=invoice_spec(invoice), key=f"billing:invoice:{invoice.pk}:issue")


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
