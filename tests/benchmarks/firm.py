"""One coherent firm at size tiny, S, M or L, loaded by COPY (issue 24): `make firm FIRM_SIZE=M`.

The bench generators (gen_*.py) each load their own tables for one workload and truncate each other's; this
builder loads one firm whose parts refer to each other, each part appending to what the previous ones made:

1. people: logins (the demo personas too, so the load test can log in), consultants with a cost rate;
2. clients: billing accounts, with a portal contact for the demo client persona;
3. opportunities over those clients, owned by the firm's sales reps (gen_crm's shapes);
4. projects: one per contract, one T&M contract line each, every consultant allocated to PER_CONSULTANT of them;
5. approved time over MONTHS months, snapshot rates from the project's contract line and the consultant's cost;
6. invoices: for a rotating share of each month's project-months, one issued invoice billing exactly that
   project-month's billable time (one line, its tax, a source link per entry whose amounts sum to the line);
   invoices whose due date falls in the history are paid (but one in ten), the others stay open;
7. the journal: each invoice (receivable / tax / revenue), each payment (cash / receivable), each project-month's
   labour cost (cost of services / labour cost absorbed), and operating expenses up to the size's line count;
   all but the last OPEN_MONTHS months closed through the real `period_close`, which stores the balances.

Rows are COPYed with the invoices' and the ledger's triggers off (`_triggers_off`, as gen_ledger does: as the
superuser for the session, which also skips foreign-key checks), so everything refers to what exists by
construction; tests/benchmarks/test_firm.py checks it. Ids are assigned here, then every sequence and number series
is set past them, so the app continues from the loaded firm. The database must hold no firm yet (a migrated, empty
one): `firm_load` refuses otherwise.

Usage: python -m tests.benchmarks.firm --size tiny|S|M|L (DATABASE_URL names the database; migrated first).
"""

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import DatabaseError, connection

MONTHS = 24
FIRST_MONTH = date(2024, 11, 1)  # the history: November 2024 to October 2026 (gen_ledger's BASE_END)
END = date(2026, 10, 31)
OPEN_MONTHS = 2
PER_CONSULTANT = 4  # projects each consultant is allocated to (and logs time on)
NOW = datetime(2026, 11, 1, tzinfo=UTC)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class FirmSize:
    consultants: int
    clients: int
    projects: int
    time_entries: int
    journal_lines: int
    invoices: int
    opportunities: int
    sales: int = 5


FIRM_SIZES = {
    "tiny": FirmSize(12, 6, 16, 8_000, 4_000, 240, 300, sales=2),
    "S": FirmSize(60, 60, 150, 100_000, 300_000, 3_000, 5_000),
    "M": FirmSize(500, 400, 1_200, 1_000_000, 3_000_000, 20_000, 50_000, sales=20),
    "L": FirmSize(5_000, 4_000, 12_000, 10_000_000, 30_000_000, 100_000, 50_000, sales=60),
}
RATES = [Decimal("95.00"), Decimal("120.00"), Decimal("150.00"), Decimal("185.00")]
COSTS = [Decimal("48.50"), Decimal("55.00"), Decimal("61.25"), Decimal("70.00")]
HOURS = [Decimal("1.50"), Decimal("2.00"), Decimal("2.50"), Decimal("3.00"), Decimal("4.00")]


def months() -> list[date]:
    out, d = [], FIRST_MONTH
    for _ in range(MONTHS):
        out.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def month_end(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1) - timedelta(days=1)


def weekdays(month: date) -> list[date]:
    out, d, end = [], month, month_end(month)
    while d <= end:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def _copy(table: str, columns: list[str], rows) -> int:
    n = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
        return cursor.fetchone()[0]


def _sequences(*tables: str) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))"
            )


@contextmanager
def _triggers_off(*tables: str) -> Iterator[None]:
    """Skip the triggers of `tables` for a bulk load whose rows are consistent by construction (the ledger's
    balance and period checks, the invoices' immutability and history): as the superuser for the session, which
    skips foreign-key checks too, otherwise per table."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        undo = ["SET session_replication_role = DEFAULT"]
    except DatabaseError:  # not the superuser: the tables' owner may disable their user triggers
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        undo = [f"ALTER TABLE {table} ENABLE TRIGGER USER" for table in tables]
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in undo:
                cursor.execute(statement)


@dataclass
class Firm:
    size: str
    spec: FirmSize
    entity_id: int = 0
    consultants: list[tuple[int, Decimal]] = field(default_factory=list)  # (consultant id, cost rate)
    sales: list[int] = field(default_factory=list)  # user ids
    clients: list[int] = field(default_factory=list)
    projects: list[tuple[int, int, int, Decimal]] = field(default_factory=list)  # (project, client, line, rate)
    # per (project index, month index): (billable hours, billable amount, cost, [(entry id, date, hours, amount)])
    billable: dict = field(default_factory=dict)
    cost: dict = field(default_factory=lambda: defaultdict(Decimal))
    invoices: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)

    def invoiced(self, p: int, m: int) -> bool:
        """Whether project-month (p, m) is invoiced: a window of `per_month` projects that moves each month."""
        n = len(self.projects)
        per_month = -(-self.spec.invoices // MONTHS)
        return (p - m * per_month) % n < min(per_month, n)


# --- 1. people ---------------------------------------------------------------------------------------------------


def load_people(firm: Firm) -> None:
    from django.contrib.auth.hashers import make_password

    from crm.models import DeliveryRole
    from psa.core.entities import entity_default_id
    from psa.core.roles import ensure_role_groups
    from psa.web.demo import seed_users

    seed_users()  # the demo personas the load test logs in as
    ensure_role_groups()
    firm.entity_id = entity_default_id()
    role, _ = DeliveryRole.objects.get_or_create(code="firm-consultant", defaults={"name": "Consultant"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, id FROM auth_group")
        groups = dict(cursor.fetchall())
    password = make_password("bench-pass-2026", salt="benchsalt0000000")
    uid = _next_id("auth_user")
    membership = _next_id("auth_user_groups")
    cid, rid = _next_id("projects_consultant"), _next_id("projects_costrate")
    users, members, consultants, rates = [], [], [], []
    joined = datetime(2024, 1, 1, tzinfo=UTC)
    for kind, n in (("consultant", firm.spec.consultants), ("sales", firm.spec.sales)):
        for i in range(n):
            name = f"firm-{kind[:4]}-{i:05d}"
            users.append((uid, password, False, name, kind.title(), f"{i:05d}", f"{name}@firm.example", False, True,
                          joined))  # fmt: skip
            members.append((membership, uid, groups[kind]))
            membership += 1
            if kind == "consultant":
                cost = COSTS[i % len(COSTS)]
                consultants.append((cid, Decimal("40.00"), 80, "EUR", True, role.pk, uid, firm.entity_id))
                rates.append((rid, cost, date(2020, 1, 1), cid))
                firm.consultants.append((cid, cost))
                cid, rid = cid + 1, rid + 1
            else:
                firm.sales.append(uid)
            uid += 1
    _copy("auth_user", ["id", "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
                        "is_active", "date_joined"], users)  # fmt: skip
    _copy("auth_user_groups", ["id", "user_id", "group_id"], members)
    _copy("projects_consultant", ["id", "weekly_capacity", "utilization_target", "cost_currency", "is_active",
                                  "role_id", "user_id", "entity_id"], consultants)  # fmt: skip
    _copy("projects_costrate", ["id", "rate", "valid_from", "consultant_id"], rates)
    _sequences("auth_user", "auth_user_groups", "projects_consultant", "projects_costrate")
    firm.counts["consultants"] = len(consultants)


# --- 2. clients --------------------------------------------------------------------------------------------------


def load_clients(firm: Firm) -> None:
    from django.contrib.auth import get_user_model

    first = aid = _next_id("crm_account")
    rows = []
    for i in range(firm.spec.clients):
        rows.append((aid, f"Firm client {i:05d}", f"Firm client {i:05d} GmbH", f"DE{400000000 + i}", "",
                     f"{i} Client Street\n10115 Berlin", f"ap{i}@client.example", "EUR", 30, NOW, NOW,
                     firm.entity_id, "business", "DE"))  # fmt: skip
        firm.clients.append(aid)
        aid += 1
    _copy("crm_account", ["id", "name", "legal_name", "tax_id", "domain", "billing_address", "billing_email",
                          "currency", "payment_terms_days", "created_at", "updated_at", "entity_id", "buyer_type",
                          "country"], rows)  # fmt: skip
    _sequences("crm_account")
    # The demo client persona is the first client's portal contact (the portal shows that account's invoices).
    client = get_user_model().objects.filter(username="client").first()
    if client is not None:
        from crm.models import Contact

        Contact.objects.create(account_id=first, first_name="Client", last_name="Persona", email="client@firm.example",
                               portal_access=True, is_billing_contact=True, user=client)  # fmt: skip
    firm.counts["clients"] = len(rows)


# --- 3. opportunities --------------------------------------------------------------------------------------------


def load_opportunities(firm: Firm) -> None:
    from tests.benchmarks.gen_crm import COLUMNS, build_opportunities

    rows = build_opportunities(firm.spec.opportunities, firm.clients, firm.sales)
    firm.counts["opportunities"] = _copy("crm_opportunity", COLUMNS, rows)


# --- 4. projects, contracts and allocations ----------------------------------------------------------------------


def load_projects(firm: Firm) -> None:
    pid, cid, lid = _next_id("projects_project"), _next_id("projects_contract"), _next_id("projects_contractline")
    aid = _next_id("projects_allocation")
    start, end = FIRST_MONTH, date(2027, 12, 31)
    projects, contracts, lines, allocations = [], [], [], []
    for i in range(firm.spec.projects):
        client = firm.clients[i % len(firm.clients)]
        rate = RATES[i % len(RATES)]
        projects.append((pid, f"FIRM-{i:05d}", f"Firm project {i}", "active", start, end, "EUR", Decimal(0),
                         Decimal(0), NOW, NOW, client, 100, 80, firm.entity_id))  # fmt: skip
        contracts.append((cid, f"FIRM-C-{i:05d}", "EUR", 30, start, end, NOW, client, pid, firm.entity_id))
        lines.append((lid, 1, "Consulting services", "tm", Decimal(0), rate, Decimal(0), start, end, cid))
        firm.projects.append((pid, client, lid, rate))
        pid, cid, lid = pid + 1, cid + 1, lid + 1
    for k, (consultant, _cost) in enumerate(firm.consultants):
        for p in _allocated(firm, k):
            allocations.append((aid, "hard", Decimal("10.00"), start, END, NOW, firm.projects[p][0], consultant,
                                False))  # fmt: skip
            aid += 1
    _copy("projects_project", ["id", "code", "name", "status", "start_date", "end_date", "currency", "budget_hours",
                               "budget_amount", "created_at", "updated_at", "account_id", "alert_over_percent",
                               "alert_warning_percent", "entity_id"], projects)  # fmt: skip
    _copy("projects_contract", ["id", "number", "currency", "payment_terms_days", "start_date", "end_date",
                                "signed_at", "account_id", "project_id", "entity_id"], contracts)  # fmt: skip
    _copy("projects_contractline", ["id", "position", "description", "billing_model", "hours", "rate", "price",
                                    "start_date", "end_date", "contract_id"], lines)  # fmt: skip
    _copy("projects_allocation", ["id", "kind", "hours_per_week", "start_date", "end_date", "created_at",
                                  "project_id", "consultant_id", "overbooked"], allocations)  # fmt: skip
    _sequences("projects_project", "projects_contract", "projects_contractline", "projects_allocation")
    firm.counts["projects"] = len(projects)
    firm.counts["allocations"] = len(allocations)


def _allocated(firm: Firm, k: int) -> list[int]:
    """The project indexes consultant number k works on (distinct)."""
    n = len(firm.projects)
    return sorted({(k * PER_CONSULTANT + j) % n for j in range(min(PER_CONSULTANT, n))})


# --- 5. approved time --------------------------------------------------------------------------------------------

TIME_COLUMNS = ["id", "consultant_id", "project_id", "date", "hours", "note", "status", "rejection_reason",
                "billable", "bill_rate", "cost_rate", "contract_line_id", "source_key", "created_at", "updated_at",
                "approved_at"]  # fmt: skip


def load_time(firm: Firm) -> None:
    """About `time_entries` approved entries, spread evenly over every weekday of the history."""
    from projects.services.partitions import time_partitions_ensure

    time_partitions_ensure(today=FIRST_MONTH, ahead=MONTHS + 3)
    allocated = [_allocated(firm, k) for k in range(len(firm.consultants))]
    cells = sum(len(weekdays(m)) for m in months()) * sum(len(a) for a in allocated)
    keep = min(1.0, firm.spec.time_entries / cells)
    rng = random.Random(20261207)
    eid = _next_id("projects_timeentry")
    total = 0
    for m, month in enumerate(months()):
        approved = datetime.combine(month_end(month), datetime.min.time(), tzinfo=UTC)

        def rows(m=m, month=month, approved=approved) -> Iterator[tuple]:
            nonlocal eid
            for day in weekdays(month):
                for k, (consultant, cost) in enumerate(firm.consultants):
                    for p in allocated[k]:
                        if rng.random() >= keep:
                            continue
                        project, _client, line, rate = firm.projects[p]
                        hours = rng.choice(HOURS)
                        billable = rng.random() < 0.85
                        firm.cost[(p, m)] += hours * cost
                        if billable and firm.invoiced(p, m):
                            cell = firm.billable.setdefault((p, m), [Decimal(0), Decimal(0), []])
                            amount = (hours * rate).quantize(CENT)
                            cell[0] += hours
                            cell[1] += amount
                            cell[2].append((eid, day, hours, amount))
                        yield (eid, consultant, project, day, hours, "", "approved", "", billable, rate, cost, line,
                               "", approved, approved, approved)  # fmt: skip
                        eid += 1

        total += _copy("projects_timeentry", TIME_COLUMNS, rows())
    _sequences("projects_timeentry")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE projects_timeentry")
    firm.counts["time_entries"] = total


# --- 6. invoices -------------------------------------------------------------------------------------------------

INVOICE_COLUMNS = ["id", "kind", "number", "status", "currency", "payment_terms_days", "issue_date", "due_date",
                   "period_start", "period_end", "buyer_name", "buyer_address", "buyer_tax_id", "buyer_email",
                   "buyer_reference", "seller", "note", "net_total", "tax_total", "gross_total", "amount_paid",
                   "amount_credited", "amount_written_off", "pdf", "pdf_sha256", "xml", "created_at", "issued_at",
                   "account_id", "contract_id", "project_id", "journal_entry_id", "einvoice_error", "functional_gross",
                   "functional_net", "functional_settled", "functional_tax", "fx_rate", "fx_rate_date", "entity_id",
                   "buyer_country"]  # fmt: skip
LINE_COLUMNS = ["id", "position", "description", "quantity", "unit", "unit_price", "net", "tax_rate", "period_start",
                "period_end", "written_down", "contract_line_id", "invoice_id", "tax_category_id"]  # fmt: skip
TAX_COLUMNS = ["id", "kind", "rate", "basis", "amount", "exemption_reason", "invoice_id", "tax_category_id"]
LINK_COLUMNS = ["id", "kind", "source_id", "quantity", "amount", "written_down", "source_date", "label",
                "release_reason", "contract_line_id", "line_id"]  # fmt: skip


def load_invoices(firm: Firm) -> None:
    """One issued invoice per invoiced project-month with billable time, on the month's last day. The journal
    entry ids are those `load_journal` gives them (one invoice entry each, in invoice order, from `first_entry`)."""
    from billing.models import TaxCategory
    from billing.services.tax import tax_categories_ensure_default
    from projects.models import Contract
    from psa.core.entities import entity_default, seller_snapshot

    tax_categories_ensure_default()
    category = TaxCategory.objects.get(is_default=True)
    seller = json.dumps(seller_snapshot(entity_default(), "EUR"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, name, legal_name, billing_address, tax_id, billing_email FROM crm_account "
                       "WHERE id = ANY(%s)", [firm.clients])  # fmt: skip
        buyers = {r[0]: r[1:] for r in cursor.fetchall()}
    iid, lid, tid, sid = (_next_id(t) for t in ("billing_invoice", "billing_invoiceline", "billing_invoicetax",
                                                "billing_sourcelink"))  # fmt: skip
    entry = firm.counts.setdefault("first_entry", _next_id("ledger_journalentry"))
    contract_of = dict(
        Contract.objects.filter(project_id__in=[p[0] for p in firm.projects]).values_list("project_id", "pk")
    )
    rng = random.Random(20261208)
    numbers: dict[int, int] = defaultdict(int)
    invoices, lines, taxes, links = [], [], [], []
    for (p, m), (hours, net, entries) in sorted(firm.billable.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if net <= 0:
            continue
        month = months()[m]
        issue = month_end(month)
        due = issue + timedelta(days=30)
        project, client, line, rate = firm.projects[p]
        tax = (net * category.rate / 100).quantize(CENT)
        gross = net + tax
        paid = due <= END and rng.random() < 0.9
        numbers[issue.year] += 1
        number = f"INV-{issue.year}-{numbers[issue.year]:06d}"
        name, legal, address, tax_id, email = buyers[client]
        issued_at = datetime.combine(issue, datetime.min.time(), tzinfo=UTC)
        invoices.append((iid, "invoice", number, "paid" if paid else "issued", "EUR", 30, issue, due, month, issue,
                         legal or name, address, tax_id, email, f"FIRM-C-{p:05d}", seller, "", net, tax, gross,
                         gross if paid else Decimal(0), Decimal(0), Decimal(0), "", "", "", issued_at, issued_at,
                         client, contract_of[project], project, None, "", gross, net,
                         gross if paid else Decimal(0), tax, Decimal(1), issue, firm.entity_id, "DE"))  # fmt: skip
        lines.append((lid, 1, f"Consulting services {month:%B %Y}", hours, "HUR", rate, net, category.rate, month,
                      issue, Decimal(0), line, iid, category.pk))  # fmt: skip
        taxes.append((tid, "S", category.rate, net, tax, "", iid, category.pk))
        for eid, day, h, amount in entries:
            links.append((sid, "time_entry", eid, h, amount, Decimal(0), day, "Time", "", line, lid))
            sid += 1
        firm.invoices.append({"id": iid, "entry": entry, "client": client, "project": project, "date": issue,
                              "net": net, "tax": tax, "gross": gross, "paid_on": due if paid else None})  # fmt: skip
        iid, lid, tid, entry = iid + 1, lid + 1, tid + 1, entry + 1
    firm.billable.clear()
    with _triggers_off("billing_invoice", "billing_invoiceline", "billing_invoicetax", "billing_sourcelink"):
        _copy("billing_invoice", INVOICE_COLUMNS, invoices)
        _copy("billing_invoiceline", LINE_COLUMNS, lines)
        _copy("billing_invoicetax", TAX_COLUMNS, taxes)
        _copy("billing_sourcelink", LINK_COLUMNS, links)
    _sequences("billing_invoice", "billing_invoiceline", "billing_invoicetax", "billing_sourcelink")
    from psa.core.models import NumberSeries

    for year, last in numbers.items():
        NumberSeries.objects.update_or_create(series="INV", year=year, defaults={"last": last})
    with connection.cursor() as cursor:
        for table in ("billing_invoice", "billing_invoiceline", "billing_sourcelink"):
            cursor.execute(f"ANALYZE {table}")
    firm.counts["invoices"] = len(invoices)
    firm.counts["source_links"] = len(links)


# --- 7. the journal ----------------------------------------------------------------------------------------------

ENTRY_COLUMNS = ["id", "number", "date", "period_id", "memo", "source", "origin", "idempotency_key", "spec_hash",
                 "total", "posted_at", "entity_id"]  # fmt: skip
JLINE_COLUMNS = ["id", "entry_id", "line_no", "account_id", "debit", "credit", "client_id", "project_id", "memo",
                 "date", "period_id", "currency", "amount_currency", "rate", "entity_id"]  # fmt: skip
OPEX = ["6000", "6100", "6200", "5100"]


def load_journal(firm: Firm) -> None:
    """The invoices' entries first (the ids load_invoices gave them), then per month its payments, labour cost and
    operating expenses up to the size's lines a month; then the closes."""
    from ledger.models import AccountingPeriod, LedgerAccount
    from ledger.services import periods_ensure
    from ledger.services.chart import chart_ensure_default
    from ledger.services.partitions import line_partitions_ensure
    from psa.core.models import NumberSeries

    chart_ensure_default()
    line_partitions_ensure(today=FIRST_MONTH, ahead=MONTHS + 3)
    periods_ensure(start=FIRST_MONTH, through=months()[-1])
    period_of = dict(AccountingPeriod.objects.values_list("start", "pk"))
    acc = dict(LedgerAccount.objects.values_list("code", "pk"))
    rng = random.Random(20261209)
    # every entry: (date, memo, [(code, debit, credit, client, project)])
    by_month: dict[date, list] = defaultdict(list)
    for inv in firm.invoices:
        lines = [("1100", inv["gross"], 0, inv["client"], None), ("4000", 0, inv["net"], inv["client"], inv["project"])]
        if inv["tax"]:
            lines.insert(1, ("2100", 0, inv["tax"], inv["client"], None))
        by_month[inv["date"].replace(day=1)].append((inv["date"], "Invoice", lines, inv["entry"]))
    per_month = -(-firm.spec.journal_lines // MONTHS)
    entry_id = firm.counts["first_entry"] + len(firm.invoices)
    first_line = line_id = _next_id("ledger_journalline")
    counters: dict[int, int] = defaultdict(int)
    posted = datetime(2026, 11, 1, tzinfo=UTC)
    entries_n = 0
    with _triggers_off("ledger_journalentry", "ledger_journalline"):
        for m, month in enumerate(months()):
            entries = by_month[month]
            for inv in firm.invoices:
                if inv["paid_on"] and inv["paid_on"].replace(day=1) == month:
                    paid = [("1000", inv["gross"], 0, None, None), ("1100", 0, inv["gross"], inv["client"], None)]
                    entries.append((inv["paid_on"], "Payment", paid, None))
            for p, (project, client, _line, _rate) in enumerate(firm.projects):
                cost = firm.cost.get((p, m), Decimal(0)).quantize(CENT)
                if cost > 0:
                    labour = [("5000", cost, 0, client, project), ("5150", 0, cost, None, None)]
                    entries.append((month_end(month), "Labour cost", labour, None))
            lines_now = sum(len(e[2]) for e in entries)
            last_day = month_end(month).day
            while lines_now < per_month:
                amount = Decimal(rng.randint(5_000, 300_000)) / 100
                day = month.replace(day=rng.randint(1, last_day))
                entries.append((day, "Operating expense", [(rng.choice(OPEX), amount, 0, None, None),
                                                           ("2300", 0, amount, None, None)], None))  # fmt: skip
                lines_now += 2
            entries.sort(key=lambda e: (e[0], e[3] or 0))
            period = period_of[month]
            entry_rows, line_rows = [], []
            for day, memo, lines, fixed in entries:
                if fixed is None:
                    fixed = entry_id
                    entry_id += 1
                counters[day.year] += 1
                total = sum((Decimal(ln[1]) for ln in lines), Decimal(0))
                entry_rows.append((fixed, f"JE-{day.year}-{counters[day.year]:06d}", day, period, memo, "firm",
                                   "system", f"firm:{fixed}", "", total, posted, firm.entity_id))  # fmt: skip
                for no, (code, debit, credit, client, project) in enumerate(lines, 1):
                    amount = debit or credit
                    line_rows.append((line_id, fixed, no, acc[code], debit, credit, client, project, "", day, period,
                                      "EUR", amount, 1, firm.entity_id))  # fmt: skip
                    line_id += 1
            entries_n += _copy("ledger_journalentry", ENTRY_COLUMNS, entry_rows)
            _copy("ledger_journalline", JLINE_COLUMNS, line_rows)
            entries.clear()
    _sequences("ledger_journalentry", "ledger_journalline")
    # Each invoice's entry now exists: link them (the invoices went in without it, so that a role that is not the
    # superuser, whose foreign-key checks stay on, loads the firm too).
    with _triggers_off("billing_invoice"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_invoice i SET journal_entry_id = u.entry FROM unnest(%s::bigint[], %s::bigint[]) "
            "AS u(invoice, entry) WHERE i.id = u.invoice",
            [[inv["id"] for inv in firm.invoices], [inv["entry"] for inv in firm.invoices]],
        )
    for year, last in counters.items():
        NumberSeries.objects.update_or_create(series="JE", year=year, defaults={"last": last})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_journalline")
        cursor.execute("ANALYZE ledger_journalentry")
    firm.counts["journal_entries"] = entries_n
    firm.counts["journal_lines"] = line_id - first_line


def close_months(firm: Firm) -> None:
    """Close all but the last OPEN_MONTHS months through the real service (it stores the monthly balances)."""
    from ledger.choices import RecognitionRunStatus
    from ledger.models import AccountingPeriod, RecognitionRun
    from ledger.services import period_close

    to_close = list(AccountingPeriod.objects.filter(start__gte=FIRST_MONTH, status="open").order_by("start"))
    to_close = to_close[: MONTHS - OPEN_MONTHS]
    finished = datetime(2026, 1, 1, tzinfo=UTC)
    # The history's revenue is invoiced as delivered: each month carries its finished recognition run.
    RecognitionRun.objects.bulk_create(
        RecognitionRun(period=p, status=RecognitionRunStatus.DONE, finished_at=finished) for p in to_close
    )
    for period in to_close:
        period_close(period_id=period.pk, by=None, reason="firm load")  # type: ignore[arg-type]  # a load: no user
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_accountbalance")
    firm.counts["closed_months"] = len(to_close)


def refresh_summaries(firm: Firm) -> None:
    from billing.services.time_summary import time_summary_refresh

    firm.counts["summary_months"] = time_summary_refresh(full=True).months


PARTS: list[tuple[str, Callable[[Firm], None]]] = [
    ("people", load_people),
    ("clients", load_clients),
    ("opportunities", load_opportunities),
    ("projects", load_projects),
    ("time", load_time),
    ("invoices", load_invoices),
    ("journal", load_journal),
    ("close", close_months),
    ("summaries", refresh_summaries),
]


class FirmExists(Exception):
    """The database already holds a firm's data."""


def firm_load(size: str, *, out: Callable[[str], None] = lambda s: None) -> Firm:
    """Load one coherent firm of `size` into the (migrated) database; `out` gets a line per part with its time."""
    if size not in FIRM_SIZES:
        raise ValueError(f"size: one of {', '.join(FIRM_SIZES)}, not {size!r}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT COUNT(*) FROM projects_project) + (SELECT COUNT(*) FROM ledger_journalentry)")
        if cursor.fetchone()[0]:
            raise FirmExists("The database already holds projects or journal entries: load a firm into an empty one.")
    firm = Firm(size=size, spec=FIRM_SIZES[size])
    started = time.perf_counter()
    for name, part in PARTS:
        t0 = time.perf_counter()
        part(firm)
        firm.timings.append((name, time.perf_counter() - t0))
        out(f"{name:<14} {firm.timings[-1][1]:>8.1f} s")
    firm.timings.append(("total", time.perf_counter() - started))
    facts = ", ".join(f"{k} {v:,}" for k, v in firm.counts.items() if not k.startswith("first_"))
    out(f"{'total':<14} {firm.timings[-1][1]:>8.1f} s  ({size}: {facts})")
    return firm


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Load one coherent firm into DATABASE_URL's (empty) database.")
    parser.add_argument("--size", choices=list(FIRM_SIZES), default="S")
    parser.add_argument("--no-migrate", action="store_true", help="the database is migrated already")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings")
    os.environ.setdefault("PSA_DEMO_FIRM", "true")  # the firm invoices as the demo seller
    import django

    django.setup()
    if not args.no_migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    try:
        firm_load(args.size, out=lambda s: print(s, flush=True))
    except FirmExists as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
