"""Billing's hand-written SQL, in one place: the statements a billing run sends once per contract, where compiling
a queryset or building model instances per row would cost more than PostgreSQL takes to run them.

Only public Django APIs: table and column names come from the Model `_meta` API, values go in through
`Field.get_db_prep_save`, and rows come back as instances through each field's `from_db_value` and
`Model.from_db` (`instance_from_row`). Each statement has a test comparing it with the ORM path it stands for
(tests/billing/test_draft_write.py, tests/billing/test_run_leases.py).
"""

from functools import cache
from typing import Any, Protocol, cast

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from billing.models import (
    AccountTax,
    BillingRunItem,
    CapWriteDown,
    Invoice,
    InvoiceLine,
    InvoiceTax,
    SourceLink,
)
from crm.models import Account, DeliveryRole
from projects.models import Consultant, Contract, ContractLine, RateCardLine, TimeEntry

ITEM = BillingRunItem._meta.db_table
INVOICE = Invoice._meta.db_table
LINK = SourceLink._meta.db_table


# --- rows and instances --------------------------------------------------------------------------------------
def columns(model: type[Model], alias: str) -> str:
    """The model's concrete columns, in field order, qualified by `alias`: the select list `instance_from_row`
    reads."""
    quote = connection.ops.quote_name
    # A concrete field always has a column (Field.column is None only on fields without one), here and below.
    return ", ".join(f"{alias}.{quote(cast(str, f.column))}" for f in model._meta.concrete_fields)


class _Converting(Protocol):
    """A field that converts the values its column returns (not every Field has `from_db_value`)."""

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any: ...


@cache
def _loading(model: type[Model]) -> tuple[list[str], list[tuple[int, _Converting]]]:
    fields = model._meta.concrete_fields
    return [f.attname for f in fields], [(i, f) for i, f in enumerate(fields) if hasattr(f, "from_db_value")]


def instance_from_columns[M: Model](model: type[M], names: list[str], values) -> M:
    """`instance_from_row` of a row whose columns are `names` in any order (e.g. `RETURNING *`)."""
    by_column = dict(zip(names, values, strict=True))
    return instance_from_row(model, [by_column[cast(str, f.column)] for f in model._meta.concrete_fields])


def instance_from_row[M: Model](model: type[M], values) -> M:
    """The instance of a row selected as `columns(model, ...)`: each value converted by its field's
    `from_db_value` (a JSON column arrives as text), then `Model.from_db`, so the instance is a saved one."""
    names, converting = _loading(model)
    values = list(values)
    for i, field in converting:
        if values[i] is not None:
            values[i] = field.from_db_value(values[i], None, connection)
    return model.from_db(connection.alias, names, values)


# --- run items ------------------------------------------------------------------------------------------------
# Lease the run's next pending item (run, pending, owner, lease end): FOR UPDATE SKIP LOCKED passes over the items
# live workers are leasing or processing. `{lock}` is empty where the database has no row locks (SQLite).
ITEM_LEASE_NEXT = f"""
UPDATE {ITEM} SET lease_owner = %s, leased_until = %s
WHERE id = (SELECT id FROM {ITEM} WHERE run_id = %s AND status = %s ORDER BY contract_id LIMIT 1 {{lock}})
RETURNING id"""

# Mark the leased item processed (status, invoice, time, item, owner, pending), only while its worker owns it.
ITEM_DONE = f"""
UPDATE {ITEM} SET status = %s, invoice_id = %s, error = '', attempts = attempts + 1, processed_at = %s
WHERE id = %s AND lease_owner = %s AND status = %s"""

# Both in one round trip (PostgreSQL): mark the item processed and lease the next one. The lease's subquery sees
# the statement's snapshot, in which the finished item is still pending and held by this transaction (SKIP
# LOCKED does not skip one's own locks), so it is excluded by id. Returns (items marked: 0 or 1, next item id).
ITEM_DONE_LEASE_NEXT = f"""
WITH done AS ({ITEM_DONE} RETURNING id),
next AS (
  UPDATE {ITEM} SET lease_owner = %s, leased_until = %s
  WHERE id = (SELECT id FROM {ITEM} WHERE run_id = %s AND status = %s AND id <> %s
              ORDER BY contract_id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id
)
SELECT (SELECT COUNT(*) FROM done), (SELECT id FROM next)"""


@cache
def item_claim(lock: bool) -> str:
    """Take the leased item (item, pending, owner) and lock its contract: the item FOR KEY SHARE SKIP LOCKED (the
    heartbeat's renewal does not wait for it; a worker leasing the next item skips it), the contract FOR NO KEY
    UPDATE (a second run waits for this one). Columns: the item's kinds, whether a contract line has a cap, the
    account's tax override (category id and reason), then `columns(Contract)` and `columns(Account)`."""
    locks = "FOR KEY SHARE OF i SKIP LOCKED FOR NO KEY UPDATE OF c" if lock else ""
    return f"""
SELECT i.kinds, EXISTS (SELECT 1 FROM {ContractLine._meta.db_table} l WHERE l.contract_id = c.id AND l.cap IS NOT NULL),
       t.tax_category_id, t.reason, {columns(Contract, "c")}, {columns(Account, "a")}
FROM {ITEM} i
JOIN {Contract._meta.db_table} c ON c.id = i.contract_id
JOIN {Account._meta.db_table} a ON a.id = c.account_id
LEFT JOIN {AccountTax._meta.db_table} t ON t.account_id = a.id
WHERE i.id = %s AND i.status = %s AND i.lease_owner = %s {locks}"""


# --- time entries ---------------------------------------------------------------------------------------------
# One contract's billable time on uncapped lines (contract, approved, period end, link kind), oldest first, claimed
# with SKIP LOCKED: `TimeEntrySource.candidates(lock=True)`'s rules (approved, billable, a bill rate, dated by the
# period end, not billed) on the lines without a cap; the role is the rate card line's, else the consultant's
# (projects.calculations.ENTRY_ROLE).
TIME_CLAIM = f"""
SELECT te.id, te.date, te.hours, te.bill_rate, te.contract_line_id, COALESCE(rcl.role_id, co.role_id)
FROM {TimeEntry._meta.db_table} te
JOIN {ContractLine._meta.db_table} cl ON cl.id = te.contract_line_id
JOIN {Consultant._meta.db_table} co ON co.id = te.consultant_id
LEFT JOIN {RateCardLine._meta.db_table} rcl ON rcl.id = te.rate_card_line_id
WHERE cl.contract_id = %s AND cl.cap IS NULL AND te.status = %s AND te.billable AND te.bill_rate > 0
  AND te.date <= %s
  AND NOT EXISTS (SELECT 1 FROM {LINK} sl WHERE sl.kind = %s AND sl.source_id = te.id AND sl.released_at IS NULL)
ORDER BY te.date, te.id
FOR UPDATE OF te SKIP LOCKED"""

# The groups of one contract's time that are billed and not released (contract): the PL/pgSQL function of
# migration billing 0008, whose plan PostgreSQL keeps for the session. Columns contract line, rate, role, hours,
# amount: `TimeEntrySource.billed_queryset` to the row.
TIME_BILLED = "SELECT * FROM billing_time_billed_groups(%s)"


def invoice_insert(computed: dict[str, str] | None = None, source: str = "") -> tuple[str, list]:
    """`INSERT INTO billing_invoice ... RETURNING *` and the fields whose values the caller passes,
    in order (`invoice_insert_params`); the columns in `computed` take those SQL expressions instead, selected
    `source` (e.g. "FROM tot")."""
    computed = computed or {}
    fields = [f for f in Invoice._meta.concrete_fields if not f.primary_key]
    given = [f for f in fields if f.column not in computed]
    values = [computed.get(cast(str, f.column), "%s") for f in fields]
    names = ", ".join(cast(str, f.column) for f in fields)
    body = f"SELECT {', '.join(values)} {source}" if source else f"VALUES ({', '.join(values)})"
    return f"INSERT INTO {INVOICE} ({names}) {body} RETURNING *", given


def invoice_insert_params(invoice: Invoice, fields: list) -> list:
    """The values of `fields` of the unsaved `invoice`, prepared for the database (`Field.pre_save` fills
    auto_now_add and file names)."""
    return [f.get_db_prep_save(f.pre_save(invoice, add=True), connection) for f in fields]


def draft_insert(
    *,
    lines: tuple[tuple[str, ...], str],
    links: tuple[tuple[str, ...], str],
    downs: str,
    taxes: tuple[tuple[str, ...], str],
) -> str:
    """The one statement writing a draft built in Python (billing.services.draft_write): the invoice
    (`invoice_insert`), its lines, their source links (joined to their line by `u.position`), the cap write-downs
    (joined to their link by kind and source, columns kind, source_id, amount, cap) and the tax rows. `lines`,
    `links` and `taxes` are (columns, source) and `downs` a source, each source an `unnest(...) AS u(...)` of the
    rows (psa.core.sql.unnest). Parameters: the invoice's, then the sources' in the order lines, links, the run
    id, downs, taxes. Returns the invoice's row and the number of links written."""
    invoice_sql, _ = invoice_insert()
    (line_cols, lines_from), (link_cols, links_from), (tax_cols, taxes_from) = lines, links, taxes
    return (
        f"WITH inv AS ({invoice_sql}), "
        f"lines AS (INSERT INTO {InvoiceLine._meta.db_table} (invoice_id, {', '.join(line_cols)}) "
        f"SELECT inv.id, {', '.join('u.' + c for c in line_cols)} FROM inv, {lines_from} RETURNING id, position), "
        f"links AS (INSERT INTO {LINK} (line_id, {', '.join(link_cols)}, release_reason) "
        f"SELECT lines.id, {', '.join('u.' + c for c in link_cols)}, '' "
        f"FROM {links_from} JOIN lines ON lines.position = u.position "
        "RETURNING id, kind, source_id, contract_line_id), "
        f"downs AS (INSERT INTO {CapWriteDown._meta.db_table} "
        "(contract_line_id, link_id, run_id, amount, cap, created_at) "
        "SELECT links.contract_line_id, links.id, %s::bigint, u.amount, u.cap, now() "
        f"FROM {downs} JOIN links ON links.kind = u.kind AND links.source_id = u.source_id), "
        f"taxes AS (INSERT INTO {InvoiceTax._meta.db_table} (invoice_id, {', '.join(tax_cols)}) "
        f"SELECT inv.id, {', '.join('u.' + c for c in tax_cols)} FROM inv, {taxes_from}) "
        "SELECT inv.*, (SELECT COUNT(*) FROM links) FROM inv"
    )


# A T&M draft billed in the database: the claimed entries (TIME_CLAIM) are grouped per contract line x role x rate
# and numbered by their oldest entry (date, id). Each group's net is the value rule of projects.calculations in
# SQL (`{net}`, `tm_group_net_sql`): round(sum(hours) x rate, 2), or, for a group with billed time (TIME_BILLED),
# what the new hours add to its value; the unit price is the rate unless that would not give the net, as in the
# general path. The net is shared over the group's entries in proportion to their hours, each share rounded half
# up and the latest entry taking the remainder: `allocate` in SQL, with exact integer division
# (div(200 x net x hours + qty, 2 x qty) is the half-up cent count). Tax on the summed basis: round(basis x
# rate / 100) to the currency's minor unit, written as x 0.01 so no division rounds first. `{invoice}` is
# `invoice_insert`.
# Parameters: TIME_CLAIM's, TIME_BILLED's, the tax rate and the currency's decimal places, the invoice's, tax
# category and rate of the lines, the link kind, tax category, kind, rate, exemption reason and code of the tax
# row.
# Returns the invoice's row, then the links written and the entries claimed.
TIME_DRAFT = f"""
WITH claimed (id, date, hours, rate, cl_id, role_id) AS ({{claim}}),
billed (cl_id, rate, role_id, hours, amount) AS ({{billed}}),
numbered AS (SELECT c.*, ROW_NUMBER() OVER (ORDER BY c.date, c.id) AS n FROM claimed c),
grp AS (
  SELECT n.cl_id, n.role_id, n.rate, SUM(n.hours) AS qty, {{net}} AS net, MIN(n.date) AS first_day,
         MAX(n.date) AS last_day, ROW_NUMBER() OVER (ORDER BY MIN(n.n)) AS position
  FROM numbered n LEFT JOIN billed b ON b.cl_id = n.cl_id AND b.role_id = n.role_id AND b.rate = n.rate
  GROUP BY n.cl_id, n.role_id, n.rate, b.hours, b.amount
),
tot AS (
  SELECT COUNT(*) AS groups, SUM(net) AS basis, ROUND(SUM(net) * %s * 0.01, %s::int) AS tax,
         MIN(first_day) AS first_day, MAX(last_day) AS last_day
  FROM grp
),
inv AS ({{invoice}}),
lines AS (
  INSERT INTO {InvoiceLine._meta.db_table} (invoice_id, position, description, quantity, unit, unit_price, net,
    tax_category_id, tax_rate, contract_line_id, period_start, period_end, written_down)
  SELECT inv.id, g.position, LEFT(r.name || ' — ' || cl.description, {{max_text}}), g.qty, 'HUR',
         CASE WHEN ROUND(g.qty * g.rate, 2) = g.net THEN g.rate ELSE ROUND(g.net / g.qty, 4) END, g.net,
         %s, %s, g.cl_id, g.first_day, g.last_day, 0
  FROM inv, grp g JOIN {ContractLine._meta.db_table} cl ON cl.id = g.cl_id
  JOIN {DeliveryRole._meta.db_table} r ON r.id = g.role_id
  RETURNING id, position, description, net
),
shares AS (
  SELECT e.*, l.id AS line_id, l.description, l.net AS line_net,
         div(l.net * e.hours * 200 + g.qty, g.qty * 2) * 0.01 AS share,
         ROW_NUMBER() OVER (PARTITION BY l.id ORDER BY e.date DESC, e.id DESC) AS from_last
  FROM numbered e JOIN grp g USING (cl_id, role_id, rate) JOIN lines l ON l.position = g.position
),
links AS (
  INSERT INTO {LINK} (line_id, kind, source_id, contract_line_id, quantity, amount, written_down,
    source_date, label, release_reason)
  SELECT line_id, %s, id, cl_id, hours,
         share + CASE WHEN from_last = 1 THEN line_net - SUM(share) OVER (PARTITION BY line_id) ELSE 0 END,
         0, date, description, ''
  FROM shares
  RETURNING 1
),
taxes AS (
  INSERT INTO {InvoiceTax._meta.db_table} (invoice_id, tax_category_id, kind, rate, basis, amount, exemption_reason,
    exemption_code)
  SELECT inv.id, %s, %s, %s, inv.net_total, inv.tax_total, %s, %s FROM inv
)
SELECT inv.*, (SELECT COUNT(*) FROM links), (SELECT COUNT(*) FROM claimed)
FROM inv
"""
