"""CSV exports for the systems firms keep beside us: invoices and time. The GL journal CSV is the ledger's own
export (`ledger:export`, format csv; columns in ledger/exports.py CSV_HEADER) and is linked, not duplicated.

Streamed (StreamingHttpResponse over `QuerySet.iterator()`), filtered by a date range, scoped by role. Every
file is UTF-8 with a header row; amounts are plain decimals with a dot and two places (rates four), dates ISO
8601, booleans `true`/`false`, empty cells for "none".

Invoices (finance, admin): one row per issued invoice or credit note with `issue_date` in the range.
Time (finance and admin: all entries; project managers: their projects' entries and their own): one row per
time entry with `date` in the range; bill rate and amount only for rate roles, cost rate only for finance/admin.
The columns, in file order, with their meaning: INVOICE_COLUMN_DOCS and TIME_COLUMN_DOCS below (the exports page
shows the same table). The GL journal's columns: ledger/exports.py CSV_HEADER.
"""

from collections.abc import Iterable, Iterator
from datetime import date

from django.db.models import OuterRef, Subquery

from billing.choices import InvoiceStatus, SourceKind
from billing.models import Invoice, SourceLink
from projects.selectors import time_entries_for
from psa.core.exports import csv_writer
from psa.core.money import round_money
from psa.core.roles import COST_ROLES, RATE_ROLES, has_role

CHUNK = 2000

# The documented columns, in file order: shown on the exports page and described in the module docstring.
INVOICE_COLUMN_DOCS = {
    "number": "Invoice or credit-note number (gapless per series)",
    "kind": "invoice or credit_note",
    "status": "issued, partly_credited (reduced by a credit note, nothing paid yet), partly_paid (a payment is "
    "allocated), paid, credited (settled by credit notes alone) or written_off",
    "issue_date": "Date issued",
    "due_date": "Payment due date",
    "period_start": "First day of the billed period (empty for manual documents)",
    "period_end": "Last day of the billed period",
    "account_id": "Our id of the client account",
    "account": "The client account's name",
    "buyer_name": "Legal name printed on the document",
    "buyer_tax_id": "The buyer's VAT or tax number",
    "currency": "ISO 4217 code of the document",
    "net_total": "Sum of the line nets",
    "tax_total": "Tax on the summed basis per category",
    "gross_total": "net_total + tax_total",
    "amount_paid": "Payments allocated to it",
    "amount_credited": "Credit notes allocated to it",
    "amount_written_off": "Written off",
    "open_balance": "gross_total - paid - credited - written off (0 for credit notes)",
    "credits_invoice": "For a credit note: the number of the invoice it credits",
    "contract": "Contract number",
    "project": "Project code",
}
TIME_COLUMN_DOCS = {
    "id": "Our id of the time entry",
    "date": "Day worked",
    "consultant": "Consultant's name",
    "consultant_username": "Consultant's login",
    "project": "Project code",
    "project_name": "Project name",
    "account": "Client account",
    "task": "Task name (empty: the project itself)",
    "hours": "Hours, two decimals",
    "status": "draft, submitted, approved or rejected",
    "billable": "true or false (set at approval)",
    "note": "The consultant's note",
    "approved_at": "When approved (ISO timestamp)",
    "invoice": "Number of the invoice that bills it, if any",
    "bill_rate": "Bill rate copied at approval (project managers, finance, admin)",
    "bill_amount": "hours x bill_rate, rounded half up to cents (project managers, finance, admin)",
    "cost_rate": "Cost rate copied at approval (finance, admin)",
}
INVOICE_COLUMNS = list(INVOICE_COLUMN_DOCS)
TIME_COLUMNS = list(TIME_COLUMN_DOCS)[:14]
RATE_COLUMNS = ["bill_rate", "bill_amount"]
COST_COLUMNS = ["cost_rate"]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def csv_rows(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv_writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([_cell(v) for v in row])


def invoices_csv(*, start: date, end: date) -> Iterator[str]:
    qs = (
        Invoice.objects.filter(number__isnull=False, issue_date__gte=start, issue_date__lte=end)
        .exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED])
        .order_by("issue_date", "number")
        .values_list(
            "number",
            "kind",
            "status",
            "issue_date",
            "due_date",
            "period_start",
            "period_end",
            "account_id",
            "account__name",
            "buyer_name",
            "buyer_tax_id",
            "currency",
            "net_total",
            "tax_total",
            "gross_total",
            "amount_paid",
            "amount_credited",
            "amount_written_off",
            "credited_invoice__number",
            "contract__number",
            "project__code",
        )
    )

    def rows():
        for r in qs.iterator(chunk_size=CHUNK):
            gross, paid, credited, written = r[14], r[15], r[16], r[17]
            open_balance = gross - paid - credited - written if r[1] == "invoice" else gross * 0
            yield [*r[:18], open_balance, *r[18:]]

    return csv_rows(INVOICE_COLUMNS, rows())


def time_columns(user) -> list[str]:
    columns = list(TIME_COLUMNS)
    if has_role(user, *RATE_ROLES):
        columns += RATE_COLUMNS
    if has_role(user, *COST_ROLES):
        columns += COST_COLUMNS
    return columns


def time_csv(*, user, start: date, end: date) -> Iterator[str]:
    columns = time_columns(user)
    invoice = SourceLink.objects.filter(
        kind=SourceKind.TIME_ENTRY, source_id=OuterRef("pk"), released_at__isnull=True
    ).values("line__invoice__number")[:1]
    qs = (
        time_entries_for(user)
        .filter(date__gte=start, date__lte=end)
        .annotate(invoice_number=Subquery(invoice))
        .order_by("date", "id")
        .values_list(
            "id",
            "date",
            "consultant__user__first_name",
            "consultant__user__last_name",
            "consultant__user__username",
            "project__code",
            "project__name",
            "project__account__name",
            "task__name",
            "hours",
            "status",
            "billable",
            "note",
            "approved_at",
            "invoice_number",
            "bill_rate",
            "cost_rate",
        )
    )
    rates, costs = "bill_rate" in columns, "cost_rate" in columns

    def rows():
        for r in qs.iterator(chunk_size=CHUNK):
            name = f"{r[2]} {r[3]}".strip() or r[4]
            row = [r[0], r[1], name, *r[4:15]]
            if rates:
                row += [r[15], round_money(r[9] * r[15]) if r[15] is not None else None]
            if costs:
                row.append(r[16])
            yield row

    return csv_rows(columns, rows())


__all__ = ["INVOICE_COLUMNS", "TIME_COLUMNS", "invoices_csv", "time_csv"]
