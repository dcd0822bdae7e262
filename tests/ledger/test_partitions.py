"""Journal lines partitioned by month (issue 24, ledger migration 0021): the invariants' triggers and constraints
hold on every partition, the beat job creates months ahead, a month's report reads only that month's partition,
and the conversion runs both ways keeping rows, ids and every definition."""

from datetime import date

import pytest
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

from ledger.models import JournalEntry, JournalLine
from ledger.selectors.books import movements
from ledger.services.partitions import line_partitions_ensure
from ledger.tasks import line_partitions_ensure_task
from psa.core.partitions import _definitions, is_partitioned, partition_table, unpartition_table
from tests.ledger.factories import balanced, close_month, post
from tests.ledger.test_db_enforcement import raw_entry, run_immediate
from tests.partition_checks import partition_of, partitions, partitions_read, primary_key

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TABLE = "ledger_journalline"
TRIGGERS = {"ledger_line_balanced", "ledger_line_immutable", "ledger_line_open_period"}


def _triggers(relation: str) -> dict[str, tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname, tgconstraint <> 0, tgdeferrable, tginitdeferred FROM pg_trigger "
                       "WHERE tgrelid = %s::regclass AND NOT tgisinternal", [relation])  # fmt: skip
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def test_journal_lines_are_partitioned_by_month_with_a_default_and_the_primary_key_holds_the_date():
    assert is_partitioned(connection, TABLE)
    assert primary_key(TABLE) == "PRIMARY KEY (id, date)"
    bounds = partitions(TABLE)
    assert bounds[f"{TABLE}_pdefault"] == "DEFAULT"
    assert any("FOR VALUES FROM" in b for b in bounds.values())


def test_every_partition_carries_the_balance_period_and_immutability_triggers(periods):
    line_partitions_ensure(today=date(2026, 3, 1), ahead=0)
    parent = _triggers(TABLE)
    assert set(parent) == TRIGGERS
    assert parent["ledger_line_balanced"] == (True, True, True)  # a deferred constraint trigger on the parent
    for name in partitions(TABLE):
        assert _triggers(name) == parent, name


def test_the_balance_trigger_refuses_an_unbalanced_entry_in_a_month_partition(periods):
    march = periods[2]
    line_partitions_ensure(today=march.start, ahead=0)
    ok = raw_entry(period_id=march.pk, on=date(2026, 3, 3), lines=[("1000", "5", ""), ("3000", "", "5")], key="ok",
                   total="5")  # fmt: skip
    run_immediate(ok)
    line = JournalLine.objects.get(entry__idempotency_key="ok", line_no=1)
    assert partition_of(TABLE, line.pk) == f"{TABLE}_p202603"
    bad = raw_entry(period_id=march.pk, on=date(2026, 3, 3), lines=[("1000", "5", ""), ("3000", "", "4")],
                    key="bad", total="5")  # fmt: skip
    with pytest.raises(IntegrityError, match="does not balance"):
        run_immediate(bad)


def test_the_balance_trigger_still_waits_for_the_commit_on_the_partitioned_table(periods):
    march = periods[2]
    line_partitions_ensure(today=march.start, ahead=0)
    sql = raw_entry(period_id=march.pk, on=date(2026, 3, 3), lines=[("1000", "5", ""), ("3000", "", "4")],
                    key="late", total="5")  # fmt: skip
    refused = pytest.raises(IntegrityError, match="does not balance")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)  # accepted for now: the check waits for the commit (or IMMEDIATE)
        assert JournalEntry.objects.filter(idempotency_key="late").exists()
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not JournalEntry.objects.filter(idempotency_key="late").exists()


def _checks_done() -> None:
    """Run the deferred checks now: PostgreSQL refuses to alter or drop a table with pending trigger events in
    the transaction, and a test's transaction never commits (the beat job runs in a transaction of its own)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _execute(sql: str, params: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _line_sql(entry: JournalEntry, *, line_no: int, on: date, period_id: int) -> str:
    return (
        "INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, memo, date, period_id, "
        f"currency, amount_currency, rate) SELECT {entry.pk}, {line_no}, account_id, debit, credit, '', "
        f"'{on.isoformat()}', {period_id}, currency, amount_currency, rate FROM ledger_journalline "
        f"WHERE entry_id = {entry.pk} AND line_no = 1"
    )


def test_a_line_number_stays_unique_per_entry_though_the_index_holds_the_date(periods):
    """UNIQUE (entry_id, line_no, date) is UNIQUE (entry_id, line_no): a line must carry its entry's date."""
    march, april = periods[2], periods[3]
    line_partitions_ensure(today=march.start, ahead=1)
    entry = post(balanced(on=date(2026, 3, 15)))
    with pytest.raises(IntegrityError, match=r"(?s)duplicate key .*\(entry_id, line_no, date\)"):
        _execute(_line_sql(entry, line_no=1, on=entry.date, period_id=march.pk))
    with pytest.raises(IntegrityError, match="must be those of its entry"):
        _execute(_line_sql(entry, line_no=1, on=date(2026, 4, 15), period_id=april.pk))
    assert entry.lines.count() == 2


def test_a_closed_month_partition_refuses_postings_and_its_lines_cannot_change(periods, finance):
    january = periods[0]
    line_partitions_ensure(today=january.start, ahead=0)
    entry = post(balanced(on=date(2026, 1, 15)))
    with pytest.raises(DatabaseError, match="immutable"):
        _execute("UPDATE ledger_journalline SET memo = 'x' WHERE entry_id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="immutable"):
        _execute(f"DELETE FROM {TABLE}_p202601 WHERE entry_id = %s", [entry.pk])
    close_month(period_id=january.pk, by=finance)
    sql = raw_entry(period_id=january.pk, on=date(2026, 1, 20), lines=[("1000", "5", ""), ("3000", "", "5")],
                    key="late", total="5")  # fmt: skip
    with pytest.raises(IntegrityError, match="is closed"):
        run_immediate(sql)


def test_a_months_movements_read_only_that_months_partition(periods):
    line_partitions_ensure(today=date(2026, 2, 1), ahead=2)
    for day in (date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 10)):
        post(balanced("10.00", on=day))
    march = periods[2]
    read = partitions_read(TABLE, lambda: movements(start=march.start, end=march.end))
    assert read == {f"{TABLE}_p202603"}
    assert movements(start=march.start, end=march.end)  # and it found March's entry


def test_a_range_over_closed_months_reads_only_the_open_months_lines(periods, finance):
    """The closed months come from the stored balances; the lines read are the open months' only, so a year's
    P&L reads two months of lines, not twelve, and the cost follows the open months, not the range."""
    line_partitions_ensure(today=date(2026, 1, 1), ahead=3)
    for day in (date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10)):
        post(balanced("10.00", on=day))
    for january_or_february in periods[:2]:
        close_month(period_id=january_or_february.pk, by=finance)
    start, end = periods[0].start, periods[2].end
    read = partitions_read(TABLE, lambda: movements(start=start, end=end))
    assert read == {f"{TABLE}_p202603"}
    totals = movements(start=start, end=end)
    assert sum(d for d, _c in totals.values()) == 30  # every month counted, two of them from the stored balances


def test_the_beat_job_creates_this_month_and_three_ahead_once():
    created = line_partitions_ensure(today=date(2031, 5, 10))
    assert created == [f"{TABLE}_p2031{m:02d}" for m in (5, 6, 7, 8)]
    assert partitions(TABLE)[f"{TABLE}_p203105"] == "FOR VALUES FROM ('2031-05-01') TO ('2031-06-01')"
    assert line_partitions_ensure(today=date(2031, 5, 31)) == []
    assert line_partitions_ensure_task() == 0  # the migration made today's months
    schedule = settings.CELERY_BEAT_SCHEDULE["ledger-line-partitions"]
    assert schedule["task"] == "ledger.tasks.line_partitions_ensure_task"


def test_the_beat_job_moves_a_months_lines_out_of_the_default_partition(periods):
    june = periods[5]
    entry = post(balanced("7.00", on=date(2026, 6, 10)))
    ids = sorted(entry.lines.values_list("pk", flat=True))
    assert {partition_of(TABLE, pk) for pk in ids} == {f"{TABLE}_pdefault"}
    _checks_done()
    assert line_partitions_ensure(today=june.start, ahead=0) == [f"{TABLE}_p202606"]
    assert {partition_of(TABLE, pk) for pk in ids} == {f"{TABLE}_p202606"}
    assert sorted(entry.lines.values_list("pk", flat=True)) == ids
    assert set(_triggers(f"{TABLE}_p202606")) == TRIGGERS
    assert _triggers(f"{TABLE}_pdefault") == _triggers(TABLE)  # switched back on after the move
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM pg_trigger WHERE tgrelid = '{TABLE}_pdefault'::regclass "
                       "AND NOT tgisinternal AND tgenabled = 'D'")  # fmt: skip
        assert cursor.fetchone()[0] == 0


def test_the_conversion_runs_both_ways_keeping_rows_ids_identity_and_definitions(periods):
    for day in (date(2026, 1, 5), date(2026, 3, 5), date(2026, 11, 5)):
        post(balanced("3.00", on=day))
    _checks_done()
    before = list(JournalLine.objects.order_by("pk").values_list("pk", "entry_id", "line_no", "date", "debit"))
    with connection.cursor() as cursor:
        definitions = _definitions(cursor, TABLE)
    widen = {"ledger_line_entry_line_no_unique"}

    unpartition_table(connection, TABLE, narrow=widen)
    assert not is_partitioned(connection, TABLE)
    assert primary_key(TABLE) == "PRIMARY KEY (id)"
    with connection.cursor() as cursor:
        plain = _definitions(cursor, TABLE)
    assert ("ledger_line_entry_line_no_unique", "UNIQUE (entry_id, line_no)") in plain["constraints"]

    partition_table(connection, TABLE, today=date(2026, 12, 7), ahead=3, widen=widen)
    assert is_partitioned(connection, TABLE)
    assert primary_key(TABLE) == "PRIMARY KEY (id, date)"
    names = partitions(TABLE)
    assert {f"{TABLE}_p202601", f"{TABLE}_p202611", f"{TABLE}_p202703", f"{TABLE}_pdefault"} <= set(names)
    with connection.cursor() as cursor:
        assert _definitions(cursor, TABLE) == definitions
    after = list(JournalLine.objects.order_by("pk").values_list("pk", "entry_id", "line_no", "date", "debit"))
    assert after == before
    later = post(balanced("4.00", on=date(2026, 5, 5)))
    assert min(later.lines.values_list("pk", flat=True)) > before[-1][0]  # the identity kept its position


def test_a_unique_index_without_the_date_stops_the_conversion(periods):
    unpartition_table(connection, TABLE, narrow={"ledger_line_entry_line_no_unique"})
    with pytest.raises(RuntimeError, match="ledger_line_entry_line_no_unique"):
        partition_table(connection, TABLE, today=date(2026, 12, 7), ahead=0, widen=set())


def _scans(table: str) -> dict[str, int]:
    """Scans (sequential and by index) of each partition of `table` so far in this transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_xact_user_tables "
            "WHERE relname LIKE %s",
            [f"{table}_p%"],
        )
        return dict(cursor.fetchall())


def test_the_balance_check_at_commit_reads_only_the_entrys_month_partition(periods):
    # Given four month partitions and the default
    line_partitions_ensure(today=date(2026, 1, 1), ahead=3)
    march = periods[2]
    sql = raw_entry(period_id=march.pk, on=date(2026, 3, 3), lines=[("1000", "5", ""), ("3000", "", "5")],
                    key="one-month", total="5")  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
        before = _scans(TABLE)
        # When the deferred balance check runs (as at commit)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        after = _scans(TABLE)
    # Then it read March's lines only, not every partition's
    read = {name for name, scans in after.items() if scans > before.get(name, 0)}
    assert read == {f"{TABLE}_p202603"}


def test_the_beat_job_gives_past_months_held_in_the_default_partition_their_own(periods):
    # Given history posted into months before any partition (a go-live or a bulk load), held by the default partition
    line_partitions_ensure(today=date(2026, 6, 1), ahead=0)
    february, april = (post(balanced("3.00", on=date(2026, m, 10))) for m in (2, 4))
    _checks_done()
    lines = {e.pk: sorted(e.lines.values_list("pk", flat=True)) for e in (february, april)}
    assert {partition_of(TABLE, pk) for ids in lines.values() for pk in ids} == {f"{TABLE}_pdefault"}
    # When the beat job runs on a later day
    created = line_partitions_ensure(today=date(2026, 6, 2), ahead=0)
    # Then those months got partitions and their lines moved, ids kept; a month with no line got none
    assert created == [f"{TABLE}_p202602", f"{TABLE}_p202604"]
    assert {partition_of(TABLE, pk) for pk in lines[february.pk]} == {f"{TABLE}_p202602"}
    assert {partition_of(TABLE, pk) for pk in lines[april.pk]} == {f"{TABLE}_p202604"}
    assert f"{TABLE}_p202603" not in partitions(TABLE)
    assert line_partitions_ensure(today=date(2026, 6, 2), ahead=0) == []
    read = partitions_read(TABLE, lambda: movements(start=date(2026, 2, 1), end=date(2026, 2, 28)))
    assert read == {f"{TABLE}_p202602"}  # a query of February now reads February's partition only
