"""Writing a draft invoice: the invoice, its lines, the source links, cap write-downs and tax rows.

A run writes one draft per contract, each with one link per billed source (a month of a consultant's time is
about twenty links), so this is the hot write of a billing run. On PostgreSQL it is one statement: data-modifying
CTEs insert the invoice, then the lines (arrays unnested, joined to the new invoice), then the links (joined to
their line by position), the write-downs (joined to their link by source) and the tax rows, in one round trip
and without a model instance per row. Elsewhere (SQLite, the zero-setup demo) the same rows go through the ORM.
Both write exactly the same rows; a test compares them.

Like the other set-based writes (psa/web/models.py), this sends no model signals, so the audit trail gets no
"created" row for a run's draft: the run item records it (run, contract, invoice, time), and every later save
of the invoice (issue, status changes) is in the trail.

The caller builds the rows once, as the named tuples below, whatever the database; their fields are the
columns written (`position` ties a link to its line), and the tax rows come from the draft's `Totals`.
"""

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db import connection

from billing.models import CapWriteDown, Invoice, InvoiceLine, InvoiceTax, SourceLink
from billing.services.tax import Totals, invoice_taxes_create


class LineRow(NamedTuple):
    position: int
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    net: Decimal
    tax_category_id: int
    tax_rate: Decimal
    contract_line_id: int | None
    period_start: date | None
    period_end: date | None
    written_down: Decimal


class LinkRow(NamedTuple):
    position: int
    kind: str
    source_id: int
    contract_line_id: int | None
    quantity: Decimal
    amount: Decimal
    written_down: Decimal
    source_date: date | None
    label: str


class DownRow(NamedTuple):
    kind: str
    source_id: int
    amount: Decimal
    cap: Decimal


class TaxRowOut(NamedTuple):
    tax_category_id: int
    kind: str
    rate: Decimal
    basis: Decimal
    amount: Decimal
    exemption_reason: str


# The PostgreSQL array type of each column the rows carry.
PG_TYPES = {
    int: "bigint", str: "text", Decimal: "numeric", date: "date",
    int | None: "bigint", date | None: "date",
}  # fmt: skip


def draft_write(
    invoice: Invoice, *, lines: list[LineRow], links: list[LinkRow], downs: list[DownRow], totals: Totals, run_id=None
) -> Invoice:
    """Insert the unsaved `invoice` and its rows (set-based, no model signals); the invoice comes back saved."""
    if connection.vendor == "postgresql":
        _write_one_statement(invoice, lines, links, downs, totals, run_id)
    else:
        _write_orm(invoice, lines, links, downs, totals, run_id)
    return invoice


def _tax_rows(totals: Totals) -> list[TaxRowOut]:
    return [
        TaxRowOut(r.category.pk, r.category.kind, r.category.rate, r.basis, r.amount, r.category.exemption_reason)
        for r in totals.rows
    ]


def _write_orm(invoice, lines: list[LineRow], links: list[LinkRow], downs: list[DownRow], totals, run_id) -> None:
    Invoice.objects.bulk_create([invoice])
    line_objs = [InvoiceLine(invoice=invoice, **row._asdict()) for row in lines]
    InvoiceLine.objects.bulk_create(line_objs)
    by_position = {ln.position: ln for ln in line_objs}
    link_objs = [
        SourceLink(line=by_position[row.position], **dict(zip(row._fields[1:], row[1:], strict=True))) for row in links
    ]
    SourceLink.objects.bulk_create(link_objs)
    by_source = {(link.kind, link.source_id): link for link in link_objs}
    CapWriteDown.objects.bulk_create(
        [
            CapWriteDown(
                link=by_source[(d.kind, d.source_id)],
                contract_line_id=by_source[(d.kind, d.source_id)].contract_line_id,
                run_id=run_id,
                amount=d.amount,
                cap=d.cap,
            )
            for d in downs
        ]
    )
    invoice_taxes_create(invoice, totals)


def _unnest(row_type: type[NamedTuple], rows: list, params: list) -> str:
    """`unnest(%s::type[], ...) AS u(col, ...)` over the row type's fields, appending one array per column."""
    columns = row_type._fields
    for i in range(len(columns)):
        params.append([row[i] for row in rows])
    arrays = ", ".join(f"%s::{PG_TYPES[row_type.__annotations__[c]]}[]" for c in columns)
    return f"unnest({arrays}) AS u({', '.join(columns)})"


def _write_one_statement(invoice: Invoice, lines, links, downs, totals: Totals, run_id: int | None) -> None:
    taxes = _tax_rows(totals)
    fields = [f for f in Invoice._meta.concrete_fields if not f.primary_key]
    params: list = []
    values = []
    for f in fields:
        value = f.pre_save(invoice, add=True)  # auto_now_add, file names
        params.append(f.get_db_prep_save(value, connection))
        values.append("%s")
    invoice_sql = (
        f"INSERT INTO {Invoice._meta.db_table} ({', '.join(f.column for f in fields)}) "
        f"VALUES ({', '.join(values)}) RETURNING id"
    )
    line_cols = LineRow._fields
    lines_sql = (
        f"INSERT INTO {InvoiceLine._meta.db_table} (invoice_id, {', '.join(line_cols)}) "
        f"SELECT inv.id, {', '.join('u.' + c for c in line_cols)} "
        f"FROM inv, {_unnest(LineRow, lines, params)} "
        "RETURNING id, position"
    )
    link_cols = LinkRow._fields[1:]  # position: joined to its line
    links_sql = (
        f"INSERT INTO {SourceLink._meta.db_table} (line_id, {', '.join(link_cols)}, release_reason) "
        f"SELECT lines.id, {', '.join('u.' + c for c in link_cols)}, '' "
        f"FROM {_unnest(LinkRow, links, params)} JOIN lines ON lines.position = u.position "
        "RETURNING id, kind, source_id, contract_line_id"
    )
    params.append(run_id)
    downs_sql = (
        f"INSERT INTO {CapWriteDown._meta.db_table} (contract_line_id, link_id, run_id, amount, cap, created_at) "
        f"SELECT links.contract_line_id, links.id, %s::bigint, u.amount, u.cap, now() "
        f"FROM {_unnest(DownRow, downs, params)} "
        "JOIN links ON links.kind = u.kind AND links.source_id = u.source_id"
    )
    tax_cols = TaxRowOut._fields
    taxes_sql = (
        f"INSERT INTO {InvoiceTax._meta.db_table} (invoice_id, {', '.join(tax_cols)}) "
        f"SELECT inv.id, {', '.join('u.' + c for c in tax_cols)} FROM inv, {_unnest(TaxRowOut, taxes, params)}"
    )
    sql = (
        f"WITH inv AS ({invoice_sql}), lines AS ({lines_sql}), links AS ({links_sql}), "
        f"downs AS ({downs_sql}), taxes AS ({taxes_sql}) "
        "SELECT inv.id, (SELECT COUNT(*) FROM links) FROM inv"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        invoice.pk, written = cursor.fetchone()
    if written != len(links):  # a link without its line: a caller's bug, never a silent partial draft
        raise AssertionError(f"draft {invoice.pk}: {written} of {len(links)} source links written")
    invoice._state.adding = False
    invoice._state.db = connection.alias
