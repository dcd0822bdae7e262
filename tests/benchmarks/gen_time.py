"""Deterministic staffing and time data for the benchmarks.

`time_firm(size)` creates (once, by natural key) a bench role, rate card, account, projects with a T&M
contract line, consultants with cost rates and allocations over a year. `time_rows(size, n)` builds `n`
entries (consultant x project x weekday, unique per cell) as tuples in COPY column order; `time_load` COPYs
them in as approved entries with rates, the shape the utilization report reads.
"""

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection

from crm.models import Account, DeliveryRole
from projects.models import (
    Allocation,
    Consultant,
    Contract,
    ContractLine,
    CostRate,
    Project,
    RateCard,
    RateCardLine,
)
from tests.benchmarks.generator import copy_rows

CONSULTANTS = {"tiny": 20, "S": 250, "M": 500, "L": 5_000}
PROJECTS = {"tiny": 4, "S": 10, "M": 20, "L": 200}
START = date(2025, 1, 6)  # a Monday
END = date(2026, 12, 31)
COLUMNS = [
    "consultant_id", "project_id", "task_id", "date", "hours", "note", "status", "rejection_reason", "billable",
    "bill_rate", "cost_rate", "source_key", "created_at", "updated_at", "approved_at",
]  # fmt: skip
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def time_truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE projects_timeentry RESTART IDENTITY CASCADE")


def time_firm(size: str) -> tuple[list[int], list[int], dict[int, list[int]]]:
    """Returns consultant ids, project ids and the projects each consultant is allocated to."""
    role, _ = DeliveryRole.objects.get_or_create(code="bench-consultant", defaults={"name": "Bench consultant"})
    card, created = RateCard.objects.get_or_create(name="Bench EUR", defaults={"currency": "EUR"})
    if created:
        RateCardLine.objects.create(rate_card=card, role=role, rate=Decimal("120"), valid_from=date(2020, 1, 1))
    account, _ = Account.objects.get_or_create(
        name="Bench time client",
        defaults={"legal_name": "Bench time client GmbH", "billing_address": "1 Bench St", "currency": "EUR",
                  "billing_email": "ap@bench.example"},
    )  # fmt: skip
    have = Project.objects.filter(code__startswith="BENCH-T-").count()
    for i in range(have, PROJECTS[size]):
        p = Project.objects.create(code=f"BENCH-T-{i:03d}", name=f"Bench project {i}", account=account,
                                   status="active", start_date=START, end_date=END, currency="EUR")  # fmt: skip
        c = Contract.objects.create(number=f"BENCH-C-{i:03d}", account=account, project=p, currency="EUR",
                                    payment_terms_days=30, start_date=START, end_date=END)  # fmt: skip
        ContractLine.objects.create(contract=c, description="T&M", billing_model="tm", rate=Decimal("120"),
                                    rate_card=card, start_date=START, end_date=END)  # fmt: skip
    projects = list(Project.objects.filter(code__startswith="BENCH-T-").order_by("pk").values_list("pk", flat=True))
    User = get_user_model()
    have = Consultant.objects.filter(user__username__startswith="bench-time-").count()
    for i in range(have, CONSULTANTS[size]):
        user = User.objects.create(username=f"bench-time-{i:04d}", first_name=f"Bench {i}")
        consultant = Consultant.objects.create(user=user, role=role)
        CostRate.objects.create(consultant=consultant, rate=Decimal("60"), valid_from=date(2020, 1, 1))
    consultants = list(
        Consultant.objects.filter(user__username__startswith="bench-time-").order_by("pk").values_list("pk", flat=True)
    )
    alloc: dict[int, list[int]] = {}
    existing = set(Allocation.objects.filter(consultant_id__in=consultants).values_list("consultant_id", "project_id"))
    new = []
    for k, cid in enumerate(consultants):
        mine = [projects[k % len(projects)], projects[(k + 1) % len(projects)]]
        alloc[cid] = mine
        new += [
            Allocation(project_id=pid, consultant_id=cid, kind="hard", hours_per_week=Decimal("20"), start_date=START,
                       end_date=END)
            for pid in mine if (cid, pid) not in existing
        ]  # fmt: skip
    Allocation.objects.bulk_create(new)
    return consultants, projects, alloc


def weekdays(n: int) -> list[date]:
    out, d = [], START
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def time_cells(size: str, n: int) -> list[tuple[int, int, date, Decimal, bool]]:
    """`n` distinct (consultant, project, day, hours, billable) cells, deterministic."""
    return list(iter_time_cells(size, n))


def iter_time_cells(size: str, n: int) -> Iterator[tuple[int, int, date, Decimal, bool]]:
    """time_cells one at a time (size L's 10 million cells are streamed, never held in a list). The firm is made
    before the first cell is asked for, so a COPY consuming the cells never waits on the firm's own queries."""
    consultants, _projects, alloc = time_firm(size)
    per_day = len(consultants) * 2
    days = weekdays(n // per_day + 1)

    def cells() -> Iterator[tuple[int, int, date, Decimal, bool]]:
        rng = random.Random(20261122)
        made = 0
        for day in days:
            for cid in consultants:
                for j, pid in enumerate(alloc[cid]):
                    if made == n:
                        return
                    hours = Decimal(rng.choice(["2.00", "3.50", "4.00", "4.50"]))
                    yield (cid, pid, day, hours, j == 0 or rng.random() < 0.5)
                    made += 1

    return cells()


def time_load(size: str, n: int) -> int:
    """COPY `n` approved entries with rates (the utilization report's input)."""
    time_truncate()
    cells = iter_time_cells(size, n)
    rows = (
        (cid, pid, None, day, hours, "", "approved", "", billable, Decimal("120"), Decimal("60"), "", NOW, NOW, NOW)
        for cid, pid, day, hours, billable in cells
    )
    copy_rows("projects_timeentry", COLUMNS, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE projects_timeentry")
        cursor.execute("SELECT COUNT(*) FROM projects_timeentry")
        return cursor.fetchone()[0]
