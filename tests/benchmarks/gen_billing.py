"""Deterministic billing data for the invoice_run benchmark: one month of approved, billable time.

`billing_firm(size)` creates (once, by natural key) accounts with a complete billing entity, one project per
contract with one time-and-materials line, consultants in three roles, and the default tax categories. A third
of the accounts, and so of the contracts, bill in a foreign currency (USD or GBP, alternately), with the month's
exchange rates to the functional currency.
`billing_time_load(size, n)` COPYs `n` approved entries (rates snapshotted as the approval service does:
contract line, bill rate by role, billable) into October 2026, spread over the consultants and projects.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection

from billing.services.tax import tax_categories_ensure_default
from crm.models import Account, DeliveryRole
from projects.models import Consultant, Contract, ContractLine, Project
from psa.core.currency import functional_currency
from psa.core.models import ExchangeRate
from tests.benchmarks.generator import copy_rows, truncate

# consultants, projects (= contracts), accounts
FIRMS = {"tiny": (20, 40, 8), "S": (100, 400, 40), "M": (500, 2000, 200), "L": (5000, 20000, 2000)}
MONTH_START = date(2026, 10, 1)
PERIOD_END = date(2026, 10, 31)
NOW = datetime(2026, 11, 1, tzinfo=UTC)
ROLES = [("bench-bill-analyst", "Bench analyst", "95.00"), ("bench-bill-senior", "Bench senior", "133.33"),
         ("bench-bill-principal", "Bench principal", "187.50")]  # fmt: skip
COLUMNS = [
    "consultant_id", "project_id", "task_id", "date", "hours", "note", "status", "rejection_reason", "billable",
    "bill_rate", "cost_rate", "contract_line_id", "source_key", "created_at", "updated_at", "approved_at",
]  # fmt: skip
PROJECTS_PER_CONSULTANT = 8


@dataclass
class BillingFirm:
    consultants: list[tuple[int, Decimal]]  # (consultant id, bill rate of its role)
    lines: list[tuple[int, int]]  # (project id, contract line id)


def billing_firm(size: str) -> BillingFirm:
    n_consultants, n_projects, n_accounts = FIRMS[size]
    tax_categories_ensure_default()
    roles = []
    for code, name, rate in ROLES:
        role, _ = DeliveryRole.objects.get_or_create(code=code, defaults={"name": name})
        roles.append((role, Decimal(rate)))
    have = Account.objects.filter(name__startswith="Bench billing client ").count()
    Account.objects.bulk_create(
        Account(name=f"Bench billing client {i:04d}", legal_name=f"Bench billing client {i:04d} GmbH",
                billing_address="1 Bench Street\n10115 Berlin", billing_email=f"ap{i}@bench-billing.example",
                tax_id=f"DE{300000000 + i}", country="DE", currency=account_currency(i), payment_terms_days=30)
        for i in range(have, n_accounts)
    )  # fmt: skip
    bench_rates()
    accounts = list(
        Account.objects.filter(name__startswith="Bench billing client ").order_by("pk").values_list("pk", "currency")
    )[:n_accounts]
    have = Project.objects.filter(code__startswith="BENCH-B-").count()
    if have < n_projects:
        projects = Project.objects.bulk_create(
            Project(code=f"BENCH-B-{i:05d}", name=f"Bench billing project {i}", account_id=accounts[i % n_accounts][0],
                    status="active", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                    currency=accounts[i % n_accounts][1])
            for i in range(have, n_projects)
        )  # fmt: skip
        contracts = Contract.objects.bulk_create(
            Contract(number=f"BENCH-BC-{p.code[-5:]}", account_id=p.account_id, project=p, currency=p.currency,
                     payment_terms_days=30, start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
            for p in projects
        )  # fmt: skip
        ContractLine.objects.bulk_create(
            ContractLine(contract=c, position=1, description="Consulting services", billing_model="tm",
                         rate=Decimal("120"), price=Decimal("500000.00"), start_date=c.start_date,
                         end_date=c.end_date)
            for c in contracts
        )  # fmt: skip
    lines = list(
        ContractLine.objects.filter(contract__project__code__startswith="BENCH-B-")
        .order_by("contract__project_id")
        .values_list("contract__project_id", "pk")
    )[:n_projects]
    User = get_user_model()
    have = Consultant.objects.filter(user__username__startswith="bench-bill-").count()
    if have < n_consultants:
        users = User.objects.bulk_create(
            User(username=f"bench-bill-{i:04d}", first_name="Consultant", last_name=f"{i:04d}", password="!")
            for i in range(have, n_consultants)
        )
        Consultant.objects.bulk_create(
            Consultant(user=u, role=roles[(have + k) % len(roles)][0]) for k, u in enumerate(users)
        )
    rate_of = {role.pk: rate for role, rate in roles}
    consultants = [
        (pk, rate_of[role_id])
        for pk, role_id in Consultant.objects.filter(user__username__startswith="bench-bill-")
        .order_by("pk")
        .values_list("pk", "role_id")[:n_consultants]
    ]
    return BillingFirm(consultants=consultants, lines=lines)


def account_currency(i: int) -> str:
    """Every third account bills in a foreign currency, USD and GBP in turn; the rest in EUR."""
    return {1: "USD", 4: "GBP"}.get(i % 6, "EUR")


BENCH_RATES = {"USD": Decimal("0.9150"), "GBP": Decimal("1.1620")}


def bench_rates() -> None:
    """The month's business-day rates of the foreign currencies (once; existing days are kept)."""
    ExchangeRate.objects.bulk_create(
        [
            ExchangeRate(currency=c, quote=functional_currency(), date=d, rate=r)
            for d in weekdays(MONTH_START - timedelta(days=7), PERIOD_END + timedelta(days=7))
            for c, r in BENCH_RATES.items()
        ],
        ignore_conflicts=True,
    )


def weekdays(start: date, end: date) -> list[date]:
    out, d = [], start
    while d <= end:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def billing_time_load(size: str, n: int) -> int:
    """COPY `n` approved billable entries in October 2026 (replacing any time entries)."""
    firm = billing_firm(size)
    truncate("projects_timeentry")
    rng = random.Random(20261122)
    days = weekdays(MONTH_START, PERIOD_END)
    rows = []
    for day in days:
        for k, (cid, rate) in enumerate(firm.consultants):
            for j in range(PROJECTS_PER_CONSULTANT):
                project_id, line_id = firm.lines[(k * PROJECTS_PER_CONSULTANT + j) % len(firm.lines)]
                hours = Decimal(rng.choice(["0.25", "0.50", "0.75", "1.00", "1.25", "1.50", "2.00"]))
                rows.append(
                    (cid, project_id, None, day, hours, f"Work {day:%d.%m.}", "approved", "", True, rate,
                     Decimal("60"), line_id, "", NOW, NOW, NOW)
                )  # fmt: skip
    rng.shuffle(rows)
    rows = rows[:n]
    if len(rows) < n:
        raise ValueError(f"at most {len(rows)} entries fit size {size} in one month")
    copy_rows("projects_timeentry", COLUMNS, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE projects_timeentry")
    return len(rows)


def billing_truncate() -> None:
    """Forget every run, invoice and source link (the benchmark's output), keeping the firm."""
    truncate("billing_billingrun", "billing_invoice", "billing_sourcelink")


HISTORY = """
WITH inv AS (
  INSERT INTO billing_invoice (kind, status, account_id, contract_id, project_id, currency, payment_terms_days,
    buyer_name, buyer_address, buyer_tax_id, buyer_email, buyer_reference, seller, note, net_total, tax_total,
    gross_total, amount_paid, amount_credited, amount_written_off, pdf, pdf_sha256, xml, einvoice_error, created_at,
    entity_id)
  SELECT 'invoice', 'draft', c.account_id, c.id, c.project_id, 'EUR', 30, 'History', '', '', '', c.number, '{}',
    'Earlier months', 0, 0, 0, 0, 0, 0, '', '', '', '', now(), c.entity_id
  FROM projects_contract c WHERE c.number LIKE 'BENCH-BC-%%' ORDER BY c.id LIMIT 1
  RETURNING id
), line AS (
  INSERT INTO billing_invoiceline (invoice_id, position, description, quantity, unit, unit_price, net,
    tax_category_id, tax_rate, written_down)
  SELECT inv.id, 1, 'Earlier months', 0, 'HUR', 0, 0, (SELECT id FROM billing_taxcategory WHERE is_default), 20, 0
  FROM inv RETURNING id
)
INSERT INTO billing_sourcelink (line_id, kind, source_id, quantity, amount, written_down, source_date, label,
  release_reason)
SELECT line.id, 'time_entry', 1000000000 + g, 1, 0, 0, DATE '2026-09-30', '', '' FROM line, generate_series(1, %s) g
"""


def billing_history(n: int) -> None:
    """A firm's billing history: `n` time links of earlier months (ids no entry here has), analysed, so the
    planner sees a source-link table of realistic size rather than an empty one (whose stats would make it
    scan every link for each entry). Output counts exclude it: it has no run."""
    with connection.cursor() as cursor:
        cursor.execute(HISTORY, [n])
        cursor.execute("ANALYZE billing_sourcelink")
