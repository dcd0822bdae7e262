"""CSV exports for the systems firms keep beside us: invoices and time. The GL journal CSV is the ledger's own
export (`ledger:export`, format csv; columns in ledger/exports.py CSV_HEADER) and is linked, not duplicated.

Streamed (StreamingHttpResponse over `QuerySet.iterator()`), filtered by a date range, scoped by role. Every
file is UTF-8 with a header row; amounts are plain decimals with a dot and two places (rates four), dates ISO
8601, booleans `true`/`false`, empty cells for "none".

Invoices (finance, admin), one row per issued invoice or credit note with `issue_date` in the range:
    number            invoice or credit-note number (gapless per series)
    kind              invoice | credit_note
    status            issued | partly_paid | paid | credited | written_off
    issue_date        date issued
    due_date          payment due date
    period_start      first day of the billed period (empty for manual documents)
    period_end        last day of the billed period
    account_id        our id of the client account
    account           the client account's name
    buyer_name        legal name printed on the document
    buyer_tax_id      the buyer's VAT/tax number
    currency          ISO 4217 code of the document
    net_total         sum of the line nets
    tax_total         tax on the summed basis per category
    gross_total       net_total + tax_total
    amount_paid       payments allocated to it
    amount_credited   credit notes allocated to it
    amount_written_off  written off
    open_balance      gross_total - paid - credited - written off (0 for credit notes)
    credits_invoice   for a credit note: the number of the invoice it credits
    contract          contract number
    project           project code

Time (finance and admin: all entries; project managers: their projects' entries and their own), one row per
time entry with `date` in the range:
    id, date, consultant, consultant_username, project, project_name, account, task, hours, status,
    billable, note, approved_at (ISO timestamp), invoice (number of the invoice that bills it, if any),
    bill_rate and bill_amount (hours x bill rate, rounded; for rate roles only: project managers, finance,
    admin), cost_rate (finance and admin only). Rates are the snapshot copied at approval (empty before).
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import date

from django.db.models import OuterRef, Subquery

from billing.choices import InvoiceStatus, SourceKind
from billing.models import Invoice, SourceLink
from projects.selectors_time import time_entries_for
from psa.core.money import round_money
from psa.core.roles import COST_ROLES, RATE_ROLES, has_role

CHUNK = 2000

INVOICE_COLUMNS = [
    "number", "kind", "status", "issue_date", "due_date", "period_start", "period_end", "account_id", "account",
    "buyer_name", "buyer_tax_id", "currency", "net_total", "tax_total", "gross_total", "amount_paid",
    "amount_credited", "amount_written_off", "open_balance", "credits_invoice", "contract", "project",
]  # fmt: skip
TIME_COLUMNS = [
    "id", "date", "consultant", "consultant_username", "project", "project_name", "account", "task", "hours",
    "status", "billable", "note", "approved_at", "invoice",
]  # fmt: skip
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
    writer = csv.writer(_Echo())
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
