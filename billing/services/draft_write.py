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

The rows come in as tuples in the column order below, built once by the caller whatever the database.
"""

from dataclasses import dataclass

from django.db import connection

from billing.models import CapWriteDown, Invoice, InvoiceLine, InvoiceTax, SourceLink

# (column, PostgreSQL array type) of each row kind; `position` ties a link to its line.
LINE_COLUMNS = (
    ("position", "int"), ("description", "text"), ("quantity", "numeric"), ("unit", "text"),
    ("unit_price", "numeric"), ("net", "numeric"), ("tax_category_id", "bigint"), ("tax_rate", "numeric"),
    ("contract_line_id", "bigint"), ("period_start", "date"), ("period_end", "date"), ("written_down", "numeric"),
)  # fmt: skip
LINK_COLUMNS = (
    ("position", "int"), ("kind", "text"), ("source_id", "bigint"), ("contract_line_id", "bigint"),
    ("quantity", "numeric"), ("amount", "numeric"), ("written_down", "numeric"), ("source_date", "date"),
    ("label", "text"),
)  # fmt: skip
DOWN_COLUMNS = (("kind", "text"), ("source_id", "bigint"), ("amount", "numeric"), ("cap", "numeric"))
TAX_COLUMNS = (
    ("tax_category_id", "bigint"), ("kind", "text"), ("rate", "numeric"), ("basis", "numeric"),
    ("amount", "numeric"), ("exemption_reason", "text"),
)  # fmt: skip


@dataclass
class DraftRows:
    """The rows of one draft, as tuples in the column orders above."""

    lines: list[tuple]
    links: list[tuple]
    downs: list[tuple]
    taxes: list[tuple]


def draft_write(invoice: Invoice, rows: DraftRows, *, run_id: int | None = None) -> Invoice:
    """Insert the unsaved `invoice` and its rows (set-based, no model signals); the invoice comes back saved."""
    if connection.vendor == "postgresql":
        _write_one_statement(invoice, rows, run_id)
    else:
        _write_orm(invoice, rows, run_id)
    return invoice


def _write_orm(invoice: Invoice, rows: DraftRows, run_id: int | None) -> None:
    Invoice.objects.bulk_create([invoice])
    names = [c for c, _ in LINE_COLUMNS]
    lines = [InvoiceLine(invoice=invoice, **dict(zip(names, row, strict=True))) for row in rows.lines]
    InvoiceLine.objects.bulk_create(lines)
    by_position = {ln.position: ln for ln in lines}
    names = [c for c, _ in LINK_COLUMNS][1:]
    links = [SourceLink(line=by_position[row[0]], **dict(zip(names, row[1:], strict=True))) for row in rows.links]
    SourceLink.objects.bulk_create(links)
    by_source = {(link.kind, link.source_id): link for link in links}
    CapWriteDown.objects.bulk_create(
        [
            CapWriteDown(
                link=by_source[(kind, source_id)],
                contract_line_id=by_source[(kind, source_id)].contract_line_id,
                run_id=run_id,
                amount=amount,
                cap=cap,
            )
            for kind, source_id, amount, cap in rows.downs
        ]
    )
    names = [c for c, _ in TAX_COLUMNS]
    taxes = [InvoiceTax(invoice=invoice, **dict(zip(names, row, strict=True))) for row in rows.taxes]
    InvoiceTax.objects.bulk_create(taxes)


def _unnest(columns: tuple, rows: list[tuple], params: list) -> str:
    """`unnest(%s::type[], ...) AS u(col, ...)`, appending one array per column to `params`."""
    for i, _ in enumerate(columns):
        params.append([row[i] for row in rows])
    arrays = ", ".join(f"%s::{t}[]" for _, t in columns)
    return f"unnest({arrays}) AS u({', '.join(c for c, _ in columns)})"


def _write_one_statement(invoice: Invoice, rows: DraftRows, run_id: int | None) -> None:
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
    line_cols = [c for c, _ in LINE_COLUMNS]
    lines_sql = (
        f"INSERT INTO {InvoiceLine._meta.db_table} (invoice_id, {', '.join(line_cols)}) "
        f"SELECT inv.id, {', '.join('u.' + c for c in line_cols)} "
        f"FROM inv, {_unnest(LINE_COLUMNS, rows.lines, params)} "
        "RETURNING id, position"
    )
    link_cols = [c for c, _ in LINK_COLUMNS][1:]
    links_sql = (
        f"INSERT INTO {SourceLink._meta.db_table} (line_id, {', '.join(link_cols)}, release_reason) "
        f"SELECT lines.id, {', '.join('u.' + c for c in link_cols)}, '' "
        f"FROM {_unnest(LINK_COLUMNS, rows.links, params)} JOIN lines ON lines.position = u.position "
        "RETURNING id, kind, source_id, contract_line_id"
    )
    params.append(run_id)
    downs_sql = (
        f"INSERT INTO {CapWriteDown._meta.db_table} (contract_line_id, link_id, run_id, amount, cap, created_at) "
        f"SELECT links.contract_line_id, links.id, %s::bigint, u.amount, u.cap, now() "
        f"FROM {_unnest(DOWN_COLUMNS, rows.downs, params)} "
        "JOIN links ON links.kind = u.kind AND links.source_id = u.source_id"
    )
    tax_cols = [c for c, _ in TAX_COLUMNS]
    taxes_sql = (
        f"INSERT INTO {InvoiceTax._meta.db_table} (invoice_id, {', '.join(tax_cols)}) "
        f"SELECT inv.id, {', '.join('u.' + c for c in tax_cols)} FROM inv, {_unnest(TAX_COLUMNS, rows.taxes, params)}"
    )
    sql = (
        f"WITH inv AS ({invoice_sql}), lines AS ({lines_sql}), links AS ({links_sql}), "
        f"downs AS ({downs_sql}), taxes AS ({taxes_sql}) "
        "SELECT inv.id, (SELECT COUNT(*) FROM links) FROM inv"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        invoice.pk, written = cursor.fetchone()
    if written != len(rows.links):  # a link without its line: a caller's bug, never a silent partial draft
        raise AssertionError(f"draft {invoice.pk}: {written} of {len(rows.links)} source links written")
    invoice._state.adding = False
    invoice._state.db = connection.alias
