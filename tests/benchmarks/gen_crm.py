"""Deterministic pipeline data for the benchmarks, loaded by COPY.

`crm_load(size, n)` gives the firm `n` opportunities over the bench accounts and sales reps: 80 % open,
spread over the open stages and the next 18 months of close dates, 12 % won, 8 % lost. Accounts and reps are
created once by natural key; opportunities are replaced on every load (TRUNCATE … CASCADE).
"""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from crm.models import Account, Stage
from tests.benchmarks.generator import copy_rows

ACCOUNTS = {"tiny": 50, "S": 500, "M": 2_000, "L": 4_000}
REPS = {"tiny": 5, "S": 20, "M": 60, "L": 60}
OPPORTUNITIES = {"tiny": 500, "S": 5_000, "M": 50_000, "L": 50_000}
BASE = date(2026, 11, 1)
COLUMNS = [
    "name",
    "account_id",
    "owner_id",
    "stage_id",
    "status",
    "currency",
    "amount",
    "probability",
    "expected_close_date",
    "service_start",
    "service_end",
    "service_type",
    "payment_terms_days",
    "lost_reason",
    "notes",
    "external_id",
    "closed_at",
    "created_at",
    "updated_at",
]


def crm_truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE crm_opportunity RESTART IDENTITY CASCADE")


def crm_firm(size: str) -> tuple[list[int], list[int]]:
    """Bench accounts and sales reps (created once); returns their ids."""
    User = get_user_model()
    sales, _ = Group.objects.get_or_create(name="sales")
    reps = []
    for i in range(REPS[size]):
        user, created = User.objects.get_or_create(username=f"bench-sales-{i:03d}", defaults={"first_name": f"Rep {i}"})
        if created:
            user.groups.add(sales)
        reps.append(user.pk)
    have = Account.objects.filter(name__startswith="Bench pipeline ").count()
    Account.objects.bulk_create(
        Account(
            name=f"Bench pipeline {i:05d}",
            legal_name=f"Bench pipeline {i:05d} GmbH",
            billing_address="1 Bench Street",
            billing_email=f"ap{i}@bench.example",
            currency="EUR",
        )
        for i in range(have, ACCOUNTS[size])
    )
    accounts = list(
        Account.objects.filter(name__startswith="Bench pipeline ").order_by("pk").values_list("pk", flat=True)
    )
    return accounts, reps


def build_opportunities(
    n: int, accounts: list[int], reps: list[int], seed: int = 20261121, first: int = 0
) -> list[tuple]:
    rng = random.Random(seed + first)
    stages = list(Stage.objects.order_by("order"))
    open_stages = [s for s in stages if s.kind == "open"]
    won = next(s for s in stages if s.kind == "won")
    lost = next(s for s in stages if s.kind == "lost")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for i in range(first, first + n):
        roll = rng.random()
        close = BASE + timedelta(days=rng.randint(-30, 540))
        amount = Decimal(rng.randint(500, 400_000)) + Decimal(rng.randint(0, 99)) / 100
        if roll < 0.80:
            stage = open_stages[i % len(open_stages)]
            status, probability, closed, reason = "open", stage.default_probability, None, ""
            if rng.random() < 0.2:
                probability = rng.randint(0, 100)
        elif roll < 0.92:
            stage, status, probability, closed, reason = won, "won", 100, now, ""
        else:
            stage, status, probability, closed, reason = lost, "lost", 0, now, "Price"
        start = close + timedelta(days=14)
        rows.append(
            (
                f"Bench deal {i:06d}",
                accounts[i % len(accounts)],
                reps[i % len(reps)],
                stage.pk,
                status,
                "EUR",
                amount,
                probability,
                close,
                start,
                start + timedelta(days=90),
                "implementation",
                30,
                reason,
                "",
                f"bench-{i:06d}",
                closed,
                now - timedelta(days=rng.randint(10, 200)),
                now,
            )
        )
    return rows


def crm_load(size: str, n: int | None = None, *, append: bool = False) -> int:
    """Replace the pipeline with `n` (default: the size's) generated opportunities, or add them to it with
    `append` (inside a test transaction, where TRUNCATE is not possible); returns the count loaded."""
    accounts, reps = crm_firm(size)
    first = 0
    if append:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM crm_opportunity WHERE external_id LIKE 'bench-%%'")
            first = cursor.fetchone()[0]
    else:
        crm_truncate()
    rows = build_opportunities(OPPORTUNITIES[size] if n is None else n, accounts, reps, first=first)
    copy_rows("crm_opportunity", COLUMNS, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_opportunity")
    return len(rows)
