"""Approved time and expenses of one month for the cost_posting benchmark, loaded by COPY.

On top of a short bench ledger (gen_ledger: chart, periods, the first open month), PROJECTS[size] projects of the
bench clients and enough consultants (two projects each, every weekday of the month) for ENTRIES[size] approved
entries with their snapshot cost rate: one consultant in ten is a subcontractor (an EUR vendor), one in ten has
USD as cost currency (a rate at the month end), the rest cost in EUR; plus one approved expense per ten
consultants. Everything is the default entity's.
"""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection

from crm.models import Account, DeliveryRole, Vendor
from ledger.models import CostPostingRun
from projects.models import Consultant, Project
from psa.core.entities import entity_default_id
from psa.core.models import ExchangeRate, NumberSeries
from tests.benchmarks.gen_ledger import _triggers_off, ledger_load
from tests.benchmarks.generator import copy_rows

ENTRIES = {"tiny": 2_000, "S": 100_000, "M": 1_000_000}
PROJECTS = {"tiny": 10, "S": 200, "M": 2_000}
USD_RATE = "0.9123"
TIME_COLUMNS = [
    "consultant_id", "project_id", "task_id", "date", "hours", "note", "status", "rejection_reason", "billable",
    "bill_rate", "cost_rate", "source_key", "created_at", "updated_at", "approved_at",
]  # fmt: skip
EXPENSE_COLUMNS = [
    "consultant_id", "project_id", "date", "category", "description", "amount", "currency", "billable", "receipt",
    "status", "rejection_reason", "rebill_policy", "markup_percent", "approved_at", "created_at",
]  # fmt: skip
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _weekdays(start: date, end: date) -> list[date]:
    days, d = [], start
    while d <= end:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def _projects(n: int) -> list[int]:
    clients = list(Account.objects.filter(name__startswith="Bench client ").order_by("pk").values_list("pk", flat=True))
    have = Project.objects.filter(code__startswith="CPB-").count()
    Project.objects.bulk_create(
        [Project(code=f"CPB-{i:05d}", name=f"Cost bench {i}", account_id=clients[i % len(clients)]) for i in
         range(have, n)],
        batch_size=5000,
    )  # fmt: skip
    return list(Project.objects.filter(code__startswith="CPB-").order_by("code").values_list("pk", flat=True)[:n])


def _consultants(n: int) -> list[tuple[int, bool, str]]:
    """n bench consultants (created once): id, subcontractor?, cost currency."""
    role, _ = DeliveryRole.objects.get_or_create(code="bench-cost", defaults={"name": "Bench cost"})
    supplier, _ = Vendor.objects.get_or_create(
        name="Bench subco", defaults={"legal_name": "Bench subco Ltd", "country": "DE", "currency": "EUR",
                                      "is_subcontractor": True, "hourly_rate": Decimal("65")},
    )  # fmt: skip
    users = get_user_model()
    have = Consultant.objects.filter(user__username__startswith="cpb-").count()
    if have < n:
        made = users.objects.bulk_create(
            [users(username=f"cpb-{i:06d}", password="!") for i in range(have, n)], batch_size=5000
        )
        entity = entity_default_id()
        Consultant.objects.bulk_create(
            [
                Consultant(
                    user_id=u.pk,
                    role=role,
                    entity_id=entity,
                    cost_currency="USD" if i % 10 == 1 else "EUR",
                    vendor=supplier if i % 10 == 0 else None,
                )
                for i, u in enumerate(made, start=have)
            ],
            batch_size=5000,
        )
    rows = (
        Consultant.objects.filter(user__username__startswith="cpb-")
        .order_by("user__username")
        .values_list("pk", "vendor_id", "cost_currency")[:n]
    )
    return [(pk, vendor_id is not None, currency) for pk, vendor_id, currency in rows]


def cost_load(size: str) -> dict:
    facts = ledger_load(size, 3_000 if size == "tiny" else 20_000)
    period = facts["first_open"]
    days = _weekdays(period.start, period.end)
    n = ENTRIES[size]
    people = _consultants(-(-n // (2 * len(days))))
    projects = _projects(PROJECTS[size])
    ExchangeRate.objects.update_or_create(currency="USD", quote="EUR", date=period.end, defaults={"rate": USD_RATE})
    rng = random.Random(20261206)
    rows, expenses = [], []
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE projects_timeentry, projects_expense RESTART IDENTITY CASCADE")
    for i, (cid, _sub, _currency) in enumerate(people):
        first = projects[(2 * i) % len(projects)]
        second = projects[(2 * i + 1) % len(projects)]
        cost = Decimal(rng.choice(["48.50", "55.00", "61.25", "70.00", "82.3333"]))
        for day in days:
            for pid in (first, second):
                if len(rows) == n:
                    break
                hours = Decimal(rng.choice(["1.25", "2.00", "3.50", "4.00"]))
                rows.append((cid, pid, None, day, hours, "", "approved", "", True, Decimal("120"), cost, "", NOW, NOW,
                             NOW))  # fmt: skip
        if i % 10 == 5:
            expenses.append((cid, first, days[-1], "travel", "", Decimal(rng.randint(2_000, 90_000)) / 100, "EUR",
                             i % 20 == 5, "", "approved", "", "", Decimal(0), NOW, NOW))  # fmt: skip
    copy_rows("projects_timeentry", TIME_COLUMNS, rows)
    copy_rows("projects_expense", EXPENSE_COLUMNS, expenses)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM ledger_journalentry")
        (last_entry,) = cursor.fetchone()
        cursor.execute("ANALYZE projects_timeentry")
        cursor.execute("ANALYZE projects_expense")
    last_number = NumberSeries.objects.get(series="JE", year=period.end.year).last
    return {**facts, "period": period, "entries_time": len(rows), "expenses": len(expenses),
            "projects": len(projects), "consultants": len(people), "last_entry": last_entry,
            "last_number": last_number}  # fmt: skip


def cost_reset(facts: dict) -> None:
    """Remove what a run posted (triggers off: the journal is immutable otherwise), so each timed run starts from
    the same state."""
    CostPostingRun.objects.all().delete()
    restore = _triggers_off()
    try:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM ledger_journalline WHERE entry_id > %s", [facts["last_entry"]])
            cursor.execute("DELETE FROM ledger_journalentry WHERE id > %s", [facts["last_entry"]])
    finally:
        with connection.cursor() as cursor:
            for statement in restore:
                cursor.execute(statement)
    NumberSeries.objects.filter(series="JE", year=facts["period"].end.year).update(last=facts["last_number"])
