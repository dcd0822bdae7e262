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

`time_draft_write` is the run's common case, a contract with only uncapped T&M time: one statement claims the
entries and writes the whole draft from them in the database, so no entry is loaded into Python. It writes what
the general path (sources, caps and rows built in Python, then `draft_write`) writes; a test compares them.
"""

from datetime import date
from decimal import Decimal
from typing import NamedTuple, cast

from django.db import connection

from billing.choices import SourceKind
from billing.models import CapWriteDown, Invoice, InvoiceLine, InvoiceTax, SourceLink, TaxCategory
from billing.services.sources import DESCRIPTION_MAX
from billing.services.tax import Totals, invoice_taxes_create
from projects.calculations import tm_group_net_sql
from psa.core.sql import unnest


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


def draft_write(
    invoice: Invoice,
    *,
    lines: list[LineRow],
    links: list[LinkRow],
    downs: list[DownRow],
    totals: Totals,
    run_id: int | None = None,
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


def _write_orm(
    invoice: Invoice,
    lines: list[LineRow],
    links: list[LinkRow],
    downs: list[DownRow],
    totals: Totals,
    run_id: int | None,
) -> None:
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
            CapWriteDown(  # type: ignore[misc]  # a capped link always has its contract line
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


def _invoice_insert(invoice: Invoice, params: list, computed: dict[str, str] | None = None, source: str = "") -> str:
    """`INSERT INTO billing_invoice ... RETURNING id` of the unsaved `invoice`, appending its values to `params`;
    the columns in `computed` take those SQL expressions instead, selected `source` (e.g. "FROM tot"), and then
    the statement returns the whole row."""
    computed = computed or {}
    fields = [f for f in Invoice._meta.concrete_fields if not f.primary_key]
    values = []
    for f in fields:
        if f.column in computed:
            values.append(computed[f.column])
            continue
        value = f.pre_save(invoice, add=True)  # auto_now_add, file names
        params.append(f.get_db_prep_save(value, connection))
        values.append("%s")
    columns = ", ".join(cast(str, f.column) for f in fields)  # concrete fields have a column
    if source:
        return f"INSERT INTO {Invoice._meta.db_table} ({columns}) SELECT {', '.join(values)} {source} RETURNING *"
    return f"INSERT INTO {Invoice._meta.db_table} ({columns}) VALUES ({', '.join(values)}) RETURNING id"


def _write_one_statement(
    invoice: Invoice,
    lines: list[LineRow],
    links: list[LinkRow],
    downs: list[DownRow],
    totals: Totals,
    run_id: int | None,
) -> None:
    taxes = _tax_rows(totals)
    params: list = []
    invoice_sql = _invoice_insert(invoice, params)
    line_cols = LineRow._fields
    lines_sql = (
        f"INSERT INTO {InvoiceLine._meta.db_table} (invoice_id, {', '.join(line_cols)}) "
        f"SELECT inv.id, {', '.join('u.' + c for c in line_cols)} "
        f"FROM inv, {unnest(LineRow, lines, params)} "
        "RETURNING id, position"
    )
    link_cols = LinkRow._fields[1:]  # position: joined to its line
    links_sql = (
        f"INSERT INTO {SourceLink._meta.db_table} (line_id, {', '.join(link_cols)}, release_reason) "
        f"SELECT lines.id, {', '.join('u.' + c for c in link_cols)}, '' "
        f"FROM {unnest(LinkRow, links, params)} JOIN lines ON lines.position = u.position "
        "RETURNING id, kind, source_id, contract_line_id"
    )
    params.append(run_id)
    downs_sql = (
        f"INSERT INTO {CapWriteDown._meta.db_table} (contract_line_id, link_id, run_id, amount, cap, created_at) "
        f"SELECT links.contract_line_id, links.id, %s::bigint, u.amount, u.cap, now() "
        f"FROM {unnest(DownRow, downs, params)} "
        "JOIN links ON links.kind = u.kind AND links.source_id = u.source_id"
    )
    tax_cols = TaxRowOut._fields
    taxes_sql = (
        f"INSERT INTO {InvoiceTax._meta.db_table} (invoice_id, {', '.join(tax_cols)}) "
        f"SELECT inv.id, {', '.join('u.' + c for c in tax_cols)} FROM inv, {unnest(TaxRowOut, taxes, params)}"
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


# A T&M draft billed in the database: the claimed entries (the provider's own claiming SELECT) are grouped per
# contract line x role x rate and numbered by their oldest entry (date, id). Each group's net is the value rule of
# projects.calculations in SQL (`tm_group_net_sql`): round(sum(hours) x rate, 2), or, for a group with billed time
# (the provider's own `billed_sql`), what the new hours add to its value; the unit price is the rate unless that
# would not give the net, as in the general path. The net is shared over the group's entries in proportion to
# their hours, each share rounded half up and the latest entry taking the remainder: `allocate` in SQL, with exact
# integer division (div(200 x net x hours + qty, 2 x qty) is the half-up cent count). Tax on the summed basis:
# round(basis x rate / 100, 2), written as x 0.01 so no division rounds first.
TIME_DRAFT = """
WITH claimed (id, date, hours, rate, cl_id, role_id) AS ({claim}),
billed (cl_id, rate, role_id, hours, amount) AS ({billed}),
numbered AS (SELECT c.*, ROW_NUMBER() OVER (ORDER BY c.date, c.id) AS n FROM claimed c),
grp AS (
  SELECT n.cl_id, n.role_id, n.rate, SUM(n.hours) AS qty, {net} AS net, MIN(n.date) AS first_day,
         MAX(n.date) AS last_day, ROW_NUMBER() OVER (ORDER BY MIN(n.n)) AS position
  FROM numbered n LEFT JOIN billed b ON b.cl_id = n.cl_id AND b.role_id = n.role_id AND b.rate = n.rate
  GROUP BY n.cl_id, n.role_id, n.rate, b.hours, b.amount
),
tot AS (
  SELECT COUNT(*) AS groups, SUM(net) AS basis, ROUND(SUM(net) * %s * 0.01, 2) AS tax, MIN(first_day) AS first_day,
         MAX(last_day) AS last_day
  FROM grp
),
inv AS ({invoice}),
lines AS (
  INSERT INTO billing_invoiceline (invoice_id, position, description, quantity, unit, unit_price, net,
    tax_category_id, tax_rate, contract_line_id, period_start, period_end, written_down)
  SELECT inv.id, g.position, LEFT(r.name || ' — ' || cl.description, {max_text}), g.qty, 'HUR',
         CASE WHEN ROUND(g.qty * g.rate, 2) = g.net THEN g.rate ELSE ROUND(g.net / g.qty, 4) END, g.net,
         %s, %s, g.cl_id, g.first_day, g.last_day, 0
  FROM inv, grp g JOIN projects_contractline cl ON cl.id = g.cl_id JOIN crm_role r ON r.id = g.role_id
  RETURNING id, position, description, net
),
shares AS (
  SELECT e.*, l.id AS line_id, l.description, l.net AS line_net,
         div(l.net * e.hours * 200 + g.qty, g.qty * 2) * 0.01 AS share,
         ROW_NUMBER() OVER (PARTITION BY l.id ORDER BY e.date DESC, e.id DESC) AS from_last
  FROM numbered e JOIN grp g USING (cl_id, role_id, rate) JOIN lines l ON l.position = g.position
),
links AS (
  INSERT INTO billing_sourcelink (line_id, kind, source_id, contract_line_id, quantity, amount, written_down,
    source_date, label, release_reason)
  SELECT line_id, %s, id, cl_id, hours,
         share + CASE WHEN from_last = 1 THEN line_net - SUM(share) OVER (PARTITION BY line_id) ELSE 0 END,
         0, date, description, ''
  FROM shares
  RETURNING 1
),
taxes AS (
  INSERT INTO billing_invoicetax (invoice_id, tax_category_id, kind, rate, basis, amount, exemption_reason)
  SELECT inv.id, %s, %s, %s, inv.net_total, inv.tax_total, %s FROM inv
)
SELECT inv.id, inv.net_total, inv.tax_total, inv.gross_total, inv.period_start, inv.period_end,
       (SELECT COUNT(*) FROM links), (SELECT COUNT(*) FROM claimed)
FROM inv
"""


def time_draft_write(
    invoice: Invoice, *, claim: tuple[str, tuple], billed: tuple[str, tuple], category: TaxCategory
) -> Invoice | None:
    """Claim, group and bill one contract's uncapped T&M time in one PostgreSQL statement (what the general path
    does in Python with `TimeEntrySource.candidates`, `allocate` and `draft_write`, writing the same rows; a test
    compares them). `claim` is the provider's claiming SELECT, `billed` its query of the groups already billed; the
    unsaved `invoice` is written with its totals and supply period computed from the lines. None (nothing written)
    when no entry was left to claim."""
    claim_sql, claim_params = claim
    billed_sql, billed_params = billed
    params: list = [*claim_params, *billed_params, category.rate]
    invoice_sql = _invoice_insert(
        invoice,
        params,
        computed={
            "net_total": "tot.basis",
            "tax_total": "tot.tax",
            "gross_total": "tot.basis + tot.tax",
            "period_start": "tot.first_day",
            "period_end": "tot.last_day",
        },
        source="FROM tot WHERE tot.groups > 0",
    )
    params += [category.pk, category.rate, SourceKind.TIME_ENTRY]
    params += [category.pk, category.kind, category.rate, category.exemption_reason]
    net = tm_group_net_sql(
        hours="SUM(n.hours)", rate="n.rate", billed_hours="COALESCE(b.hours, 0)", billed="COALESCE(b.amount, 0)"
    )
    sql = TIME_DRAFT.format(claim=claim_sql, billed=billed_sql, net=net, invoice=invoice_sql, max_text=DESCRIPTION_MAX)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    pk, net, tax, gross, start, end, written, claimed = row
    if written != claimed:  # an entry without its line: never a silent partial draft
        raise AssertionError(f"draft {pk}: {written} of {claimed} claimed entries linked")
    invoice.pk, invoice.net_total, invoice.tax_total, invoice.gross_total = pk, net, tax, gross
    invoice.period_start, invoice.period_end = start, end
    invoice._state.adding = False
    invoice._state.db = connection.alias
    return invoice
