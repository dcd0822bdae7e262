"""Open foreign-currency receivables for the fx_revaluation benchmark, loaded by COPY.

On top of a short bench ledger (gen_ledger), `items` invoices in USD, GBP and JPY (one third each), each its own
open item (AR x client x project x currency: one project per three items), posted in the first open month at the
month's first-day rate: Dr AR in the currency (amount, rate, functional amount) / Cr revenue in EUR. The rates at
the period end differ, so every item has a difference to post. Triggers are off for the load only.
"""

import random
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection

from crm.models import Account
from ledger.models import AccountingPeriod
from projects.models import Project
from psa.core.entities import entity_default_id
from psa.core.models import ExchangeRate, NumberSeries
from psa.core.money import round_money
from tests.benchmarks.gen_ledger import LINE_COLUMNS, _triggers_off, ledger_load
from tests.benchmarks.generator import copy_rows

ITEMS = {"tiny": 300, "S": 50_000, "M": 500_000}
# (rate when invoiced, rate at the period end) into EUR
RATES = {"USD": ("0.9012", "0.9187"), "GBP": ("1.1634", "1.1521"), "JPY": ("0.006213", "0.006188")}
ENTRY_COLUMNS = ["id", "number", "date", "period_id", "memo", "source", "origin", "idempotency_key", "spec_hash",
                 "total", "posted_at", "entity_id"]  # fmt: skip


def _projects(n: int) -> list[tuple[int, int]]:
    clients = list(Account.objects.filter(name__startswith="Bench client ").order_by("pk").values_list("pk", flat=True))
    have = Project.objects.filter(code__startswith="FXB-").count()
    Project.objects.bulk_create(
        [Project(code=f"FXB-{i:07d}", name=f"FX bench {i}", account_id=clients[i % len(clients)]) for i in
         range(have, n)],
        batch_size=5000,
    )  # fmt: skip
    return list(Project.objects.filter(code__startswith="FXB-").order_by("code").values_list("pk", "account_id")[:n])


def fx_load(size: str) -> dict:
    """The bench ledger plus `ITEMS[size]` open foreign items in its first open month and the rates."""
    facts = ledger_load(size, 3_000 if size == "tiny" else 20_000)
    period: AccountingPeriod = facts["first_open"]
    n = ITEMS[size]
    projects = _projects((n + 2) // 3)
    accounts = facts["firm"].accounts
    on = period.start.replace(day=10)
    for currency, (booked, closing) in RATES.items():
        for day, value in ((period.start, booked), (period.end, closing)):
            ExchangeRate.objects.update_or_create(currency=currency, quote="EUR", date=day, defaults={"rate": value})
    rng = random.Random(20261206)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM ledger_journalentry")
        (entry_id,) = cursor.fetchone()
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM ledger_journalline")
        (line_id,) = cursor.fetchone()
    first_entry = entry_id + 1
    series = NumberSeries.objects.get(series="JE", year=on.year)
    number = series.last
    posted_at = datetime(2026, 11, 1, tzinfo=UTC)
    entity_id = entity_default_id()
    entries, lines = [], []
    currencies = list(RATES)
    for i in range(n):
        currency = currencies[i % 3]
        project_id, client_id = projects[i // 3]
        amount = (
            Decimal(rng.randint(1_000, 2_000_000))
            if currency == "JPY"
            else Decimal(rng.randint(10_000, 5_000_000)) / 100
        )
        rate = Decimal(RATES[currency][0])
        functional = round_money(amount * rate)
        entry_id += 1
        number += 1
        entries.append((entry_id, f"JE-{on.year}-{number:06d}", on, period.pk, f"Invoice {currency}", "bench-fx",
                        "system", f"bench-fx:{entry_id}", "", functional, posted_at, entity_id))  # fmt: skip
        lines.append((line_id + 1, entry_id, 1, accounts["1100"], functional, 0, client_id, project_id, "", on,
                      period.pk, currency, amount, rate, entity_id))  # fmt: skip
        lines.append((line_id + 2, entry_id, 2, accounts["4000"], 0, functional, client_id, project_id, "", on,
                      period.pk, "EUR", functional, 1, entity_id))  # fmt: skip
        line_id += 2
    restore = _triggers_off()
    try:
        copy_rows("ledger_journalentry", ENTRY_COLUMNS, entries)
        copy_rows("ledger_journalline", LINE_COLUMNS, lines)
    finally:
        with connection.cursor() as cursor:
            for statement in restore:
                cursor.execute(statement)
    NumberSeries.objects.filter(pk=series.pk).update(last=number)
    with connection.cursor() as cursor:
        for table in ("ledger_journalentry", "ledger_journalline"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        cursor.execute("ANALYZE ledger_journalline")
        cursor.execute("ANALYZE ledger_journalentry")
    return {**facts, "period": period, "items": n, "last_entry": entry_id, "first_item_entry": first_entry,
            "last_number": number}  # fmt: skip


def fx_reset(facts: dict) -> None:
    """Remove what a revaluation posted (triggers off: the journal is immutable otherwise) so the next timed run
    starts from the same state."""
    from ledger.models import RevaluationRun

    RevaluationRun.objects.all().delete()  # first: the runs refer to the entries deleted below
    restore = _triggers_off()
    try:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM ledger_journalline WHERE entry_id > %s", [facts["last_entry"]])
            cursor.execute("DELETE FROM ledger_journalentry WHERE id > %s", [facts["last_entry"]])
    finally:
        with connection.cursor() as cursor:
            for statement in restore:
                cursor.execute(statement)
    NumberSeries.objects.filter(series="JE", year=facts["period"].start.year).update(last=facts["last_number"])
