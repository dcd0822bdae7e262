"""Writing a draft invoice: the invoice, its lines, the source links, cap write-downs and tax rows.

A run writes one draft per contract, each with one link per billed source (a month of a consultant's time is
about twenty links), so this is the hot write of a billing run. On PostgreSQL it is one statement
(`billing.sql.draft_insert`): data-modifying CTEs insert the invoice, then the lines (arrays unnested, joined to
the new invoice), then the links (joined to their line by position), the write-downs (joined to their link by
source) and the tax rows, in one round trip and without a model instance per row. Elsewhere (SQLite, the
zero-setup demo) the same rows go through the ORM. Both write exactly the same rows; a test compares them.

This sends no model signals, but the history triggers (psa/core/history.py) record the invoice and its lines
like any other write, with the run's user and correlation id (`billing-run:<id>`) as their context.

The caller builds the rows once, as the named tuples below, whatever the database; their fields are the
columns written (`position` ties a link to its line), and the tax rows come from the draft's `Totals`.

`time_draft_write` is the run's common case, a contract with only uncapped T&M time: one statement claims the
entries and writes the whole draft from them in the database (`billing.sql.TIME_DRAFT`), so no entry is loaded
into Python. It writes what the general path (sources, caps and rows built in Python, then `draft_write`) writes;
a test compares them.
"""

from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection

from billing import sql
from billing.choices import SourceKind
from billing.models import CapWriteDown, Invoice, InvoiceLine, SourceLink, TaxCategory
from billing.services.sources import DESCRIPTION_MAX
from billing.services.tax import Totals, invoice_taxes_create
from projects.calculations import tm_group_net_sql
from psa.core.currency import minor_unit
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
    exemption_code: str


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
        return _write_one_statement(invoice, lines, links, downs, totals, run_id)
    return _write_orm(invoice, lines, links, downs, totals, run_id)


def _tax_rows(totals: Totals) -> list[TaxRowOut]:
    return [
        TaxRowOut(
            r.category.pk,
            r.category.kind,
            r.category.rate,
            r.basis,
            r.amount,
            r.category.exemption_reason,
            r.category.exemption_code,
        )
        for r in totals.rows
    ]


def _write_orm(
    invoice: Invoice,
    lines: list[LineRow],
    links: list[LinkRow],
    downs: list[DownRow],
    totals: Totals,
    run_id: int | None,
) -> Invoice:
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
    return invoice


def _saved(invoice: Invoice, names: list[str], row: list[Any]) -> Invoice:
    """The written draft as a saved instance (`Model.from_db` of its returned row, columns `names`), keeping the
    related objects the unsaved `invoice` was built with (no query for them later)."""
    saved = sql.instance_from_columns(Invoice, names, row)
    for name in ("account", "contract", "run", "created_by"):
        if getattr(invoice, f"{name}_id") is not None:
            setattr(saved, name, getattr(invoice, name))
    return saved


def _write_one_statement(
    invoice: Invoice,
    lines: list[LineRow],
    links: list[LinkRow],
    downs: list[DownRow],
    totals: Totals,
    run_id: int | None,
) -> Invoice:
    taxes = _tax_rows(totals)
    params = sql.invoice_insert_params(invoice, sql.invoice_insert()[1])
    # The arrays in the statement's parameter order: lines, links, the run, write-downs, tax rows.
    lines_from = unnest(LineRow, lines, params)
    links_from = unnest(LinkRow, links, params)
    params.append(run_id)
    downs_from = unnest(DownRow, downs, params)
    taxes_from = unnest(TaxRowOut, taxes, params)
    statement = sql.draft_insert(
        lines=(LineRow._fields, lines_from),
        links=(LinkRow._fields[1:], links_from),  # position: joined to its line
        downs=downs_from,
        taxes=(TaxRowOut._fields, taxes_from),
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        *row, written = cursor.fetchone()
        names = [c[0] for c in cursor.description[:-1]]
    saved = _saved(invoice, names, row)
    if written != len(links):  # a link without its line: a caller's bug, never a silent partial draft
        raise AssertionError(f"draft {saved.pk}: {written} of {len(links)} source links written")
    return saved


_TIME_DRAFT: dict[tuple[str, str], tuple[str, list]] = {}  # (claim, billed) -> (statement, invoice fields)


def _time_draft_statement(claim_sql: str, billed_sql: str) -> tuple[str, list]:
    """`billing.sql.TIME_DRAFT` with this claim and billed query, built once per pair, and the invoice fields
    whose values it takes."""
    built = _TIME_DRAFT.get((claim_sql, billed_sql))
    if built is None:
        invoice_sql, given = sql.invoice_insert(
            computed={
                "net_total": "tot.basis",
                "tax_total": "tot.tax",
                "gross_total": "tot.basis + tot.tax",
                "period_start": "tot.first_day",
                "period_end": "tot.last_day",
            },
            source="FROM tot WHERE tot.groups > 0",
        )
        net = tm_group_net_sql(
            hours="SUM(n.hours)", rate="n.rate", billed_hours="COALESCE(b.hours, 0)", billed="COALESCE(b.amount, 0)"
        )
        statement = sql.TIME_DRAFT.format(
            claim=claim_sql, billed=billed_sql, net=net, invoice=invoice_sql, max_text=DESCRIPTION_MAX
        )
        # One line without runs of blanks: short enough (with at most 50 parameters) for psycopg to cache how it
        # splits the statement at its placeholders, instead of parsing it again for every contract.
        statement = " ".join(statement.split())
        built = _TIME_DRAFT[(claim_sql, billed_sql)] = (statement, given)
    return built


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
    statement, given = _time_draft_statement(claim_sql, billed_sql)
    params = [*claim_params, *billed_params, category.rate, minor_unit(invoice.currency)]
    params += sql.invoice_insert_params(invoice, given)
    params += [category.pk, category.rate, SourceKind.TIME_ENTRY]
    params += [category.pk, category.kind, category.rate, category.exemption_reason, category.exemption_code]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
        names = [c[0] for c in cursor.description[:-2]]
    if row is None:
        return None
    *row, written, claimed = row
    saved = _saved(invoice, names, row)
    if written != claimed:  # an entry without its line: never a silent partial draft
        raise AssertionError(f"draft {saved.pk}: {written} of {claimed} claimed entries linked")
    return saved
