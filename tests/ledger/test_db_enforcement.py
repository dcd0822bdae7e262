"""The database itself enforces invariants 1-4 of DESIGN.md section 5 on PostgreSQL.

Each test writes raw SQL that bypasses the posting service, so it fails if the trigger or constraint is
removed. `SET CONSTRAINTS ALL IMMEDIATE` makes the deferred balance trigger fire at the end of the statement
inside the test's transaction; one test commits for real to show it fires at commit by default.
"""

import threading
import time
from datetime import date

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from ledger.models import AccountingPeriod, JournalEntry, LedgerAccount
from psa.core.entities import entity_default_id
from psa.core.models import LegalEntity
from tests.ledger.factories import balanced, close_month, make_periods, post

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def account_id(code: str) -> int:
    return LedgerAccount.objects.get(code=code).pk


def raw_entry(
    *, period_id: int, on: date, lines: list[tuple[str, str, str]], key: str, total: str, entity_id: int | None = None
) -> str:
    """One statement inserting an entry and its lines (so IMMEDIATE constraints see the whole entry), in the books
    of `entity_id` (default: the default entity). The lines name no entity: the trigger gives them the entry's."""
    entity_id = entity_id or entity_default_id()
    values = ", ".join(
        f"({i}, {account_id(code)}, {debit or 0}, {credit or 0})" for i, (code, debit, credit) in enumerate(lines, 1)
    )
    return f"""
        WITH e AS (
          INSERT INTO ledger_journalentry (number, date, period_id, entity_id, memo, source, origin, idempotency_key,
                                           spec_hash, total, posted_at)
          VALUES ('RAW-{key}', '{on.isoformat()}', {period_id}, {entity_id}, 'raw', 'raw', 'manual', '{key}', '',
                  {total}, now())
          RETURNING id, date, period_id
        )
        INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, memo, date, period_id,
                                        currency, amount_currency, rate)
        SELECT e.id, v.line_no, v.account_id, v.debit, v.credit, '', e.date, e.period_id, 'EUR', v.debit + v.credit, 1
        FROM e, (VALUES {values}) AS v(line_no, account_id, debit, credit)
    """


def run_immediate(sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql)


@pytest.fixture
def march(periods):
    return periods[2]


# --- invariant 1: every entry balances; lines are one-sided and positive ----------------------------------
def test_a_balanced_raw_entry_is_accepted(march):
    run_immediate(
        raw_entry(
            period_id=march.pk, on=date(2026, 3, 3), lines=[("1000", "5", ""), ("3000", "", "5")], key="ok", total="5"
        )
    )
    assert JournalEntry.objects.filter(idempotency_key="ok").exists()


def test_the_balance_trigger_refuses_an_unbalanced_entry(march):
    sql = raw_entry(
        period_id=march.pk,
        on=date(2026, 3, 3),
        lines=[("1000", "5", ""), ("3000", "", "4")],
        key="unbalanced",
        total="5",
    )
    with pytest.raises(IntegrityError, match="does not balance"):
        run_immediate(sql)
    assert not JournalEntry.objects.filter(idempotency_key="unbalanced").exists()


def test_the_balance_trigger_refuses_a_one_line_entry(march):
    sql = raw_entry(period_id=march.pk, on=date(2026, 3, 3), lines=[("1000", "5", "")], key="single", total="5")
    with pytest.raises(IntegrityError, match="1 lines"):
        run_immediate(sql)


def test_the_balance_trigger_refuses_a_line_added_to_a_posted_entry(march):
    entry = post(balanced("5.00"))
    with pytest.raises(IntegrityError, match="does not balance"):
        run_immediate(
            "INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, memo, date, period_id, "
            "currency, amount_currency, rate) "
            f"VALUES ({entry.pk}, 9, {account_id('1000')}, 1, 0, '', '{entry.date}', {entry.period_id}, 'EUR', 1, 1)"
        )


@pytest.mark.parametrize(("debit", "credit"), [("5", "5"), ("-5", "0"), ("0", "0"), ("0", "-1")])
def test_the_insert_trigger_refuses_lines_that_are_not_one_sided_and_positive(march, debit, credit):
    entry = post(balanced("5.00"))
    with pytest.raises(IntegrityError, match="ledger_line_one_sided_positive"):
        run_immediate(
            "INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, memo, date, period_id, "
            "currency, amount_currency, rate) "
            f"VALUES ({entry.pk}, 9, {account_id('1000')}, {debit}, {credit}, '', '{entry.date}', {entry.period_id}, "
            "'EUR', 1, 1)"
        )


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("amount_currency", "-1", "ledger_line_amount_currency_positive"),
        ("rate", "0", "ledger_line_rate_positive"),
        ("line_no", "-1", "ledger_journalline_line_no_check"),
    ],
)
def test_the_insert_trigger_refuses_a_line_breaking_a_value_rule_under_the_rules_name(march, column, value, rule):
    """The line's value rules were CHECK constraints; the insert trigger checks them now (ledger migration 0026),
    under the same names, for a line added to a posted entry."""
    entry = post(balanced("5.00"))
    values = {"line_no": "9", "amount_currency": "1", "rate": "1", column: value}
    with pytest.raises(IntegrityError, match=rule) as refused:
        run_immediate(
            "INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, memo, date, period_id, "
            "currency, amount_currency, rate) "
            f"VALUES ({entry.pk}, {values['line_no']}, {account_id('1000')}, 1, 0, '', '{entry.date}', "
            f"{entry.period_id}, 'EUR', {values['amount_currency']}, {values['rate']})"
        )
    assert refused.value.__cause__.diag.constraint_name == rule
    assert refused.value.__cause__.sqlstate == "23514"  # check_violation, as the constraint raised


@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        ("v.debit + v.credit, 1", "ledger_line_one_sided_positive"),  # the first line's debit made 0 below
        ("-1, 1", "ledger_line_amount_currency_positive"),
        ("v.debit + v.credit, 0", "ledger_line_rate_positive"),
    ],
)
def test_a_line_posted_with_its_entry_is_held_to_the_value_rules_too(march, bad, rule):
    """A line inserted in the statement of its entry skips the period look-up (the entry's trigger did it), never the
    value rules."""
    sql = raw_entry(
        period_id=march.pk, on=date(2026, 3, 3), lines=[("1000", "5", ""), ("3000", "", "5")], key="rules", total="5"
    ).replace("v.debit + v.credit, 1", bad)
    if rule == "ledger_line_one_sided_positive":
        cash = account_id("1000")
        sql = sql.replace(f"(1, {cash}, 5, 0)", f"(1, {cash}, 0, 0)")
    with pytest.raises(IntegrityError, match=rule):
        run_immediate(sql)
    assert not JournalEntry.objects.filter(idempotency_key="rules").exists()


@pytest.mark.parametrize(
    "rule", ["ledger_entry_total_positive", "ledger_entry_origin_valid", "ledger_entry_auto_reverse_after_date"]
)
def test_the_insert_trigger_refuses_an_entry_breaking_a_value_rule_under_the_rules_name(march, rule):
    """The entry's value rules were CHECK constraints; its insert trigger checks them now, under the same names."""
    lines = [("1000", "5", ""), ("3000", "", "5")]
    total = "0" if rule == "ledger_entry_total_positive" else "5"
    sql = raw_entry(period_id=march.pk, on=date(2026, 3, 3), lines=lines, key="rule", total=total)
    if rule == "ledger_entry_origin_valid":
        sql = sql.replace("'manual'", "'imported'")
    elif rule == "ledger_entry_auto_reverse_after_date":
        sql = sql.replace("total, posted_at)", "total, posted_at, auto_reverse_on)").replace(
            "now())", "now(), '2026-03-03')"
        )
    with pytest.raises(IntegrityError, match=rule) as refused:
        run_immediate(sql)
    assert refused.value.__cause__.diag.constraint_name == rule


@pytest.mark.django_db(transaction=True)
def test_the_balance_trigger_is_deferred_to_commit():
    (period,) = make_periods(start=date(2026, 3, 1), through=date(2026, 3, 31))
    sql = raw_entry(
        period_id=period.pk, on=date(2026, 3, 3), lines=[("1000", "5", ""), ("3000", "", "4")], key="late", total="5"
    )
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)  # accepted for now: the check waits for the commit
        assert JournalEntry.objects.filter(idempotency_key="late").exists()
    assert not JournalEntry.objects.filter(idempotency_key="late").exists()


def _timed_post(n_lines: int, key: str) -> float:
    half = n_lines // 2
    lines = [("1000", "1.00", "")] * half + [("3000", "", "1.00")] * half
    (period,) = AccountingPeriod.objects.filter(start=date(2026, 3, 1))
    sql = raw_entry(period_id=period.pk, on=date(2026, 3, 3), lines=lines, key=key, total=f"{half}.00")
    started = time.perf_counter()
    run_immediate(sql)
    return time.perf_counter() - started


def test_the_balance_check_of_a_long_entry_grows_with_its_lines_not_their_square(march):
    """The check runs once per line; each run used to sum every line of the entry (n² reads: 4,000 lines took
    4 s). Four times the lines must cost about four times as long, not sixteen."""
    _timed_post(200, "warm")
    small = min(_timed_post(600, f"small-{i}") for i in range(3))
    large = min(_timed_post(2400, f"large-{i}") for i in range(3))
    assert large < small * 8, f"{small:.3f} s for 600 lines, {large:.3f} s for 2,400"


def test_a_line_added_after_the_check_in_the_same_transaction_is_checked_again(march):
    entry = post(balanced("5.00"))
    with pytest.raises(IntegrityError, match="does not balance"):
        run_immediate(
            "INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, memo, date, period_id, "
            "currency, amount_currency, rate) "
            f"SELECT {entry.pk}, 10 + g, {account_id('1000')}, 1, 0, '', '{entry.date}', {entry.period_id}, "
            "'EUR', 1, 1 FROM generate_series(1, 2) g"
        )


# --- invariant 2: posted entries are immutable; an entry is reversed at most once ---------------------------
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_journalentry SET memo = 'changed' WHERE id = {entry}",
        "DELETE FROM ledger_journalentry WHERE id = {entry}",
        "UPDATE ledger_journalline SET debit = debit + 1 WHERE entry_id = {entry}",
        "DELETE FROM ledger_journalline WHERE entry_id = {entry}",
    ],
    ids=["update-entry", "delete-entry", "update-line", "delete-line"],
)
def test_posted_entries_and_lines_cannot_change(march, sql):
    entry = post(balanced("5.00"))
    with pytest.raises(IntegrityError, match="immutable"):
        run_immediate(sql.format(entry=entry.pk))


def test_the_orm_cannot_edit_a_posted_entry_either(march):
    entry = post(balanced("5.00"))
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(memo="changed")


def test_an_entry_is_reversed_at_most_once_even_in_raw_sql(march):
    from ledger.services import entry_reverse

    entry = post(balanced("5.00"))
    entry_reverse(entry_id=entry.pk, on=date(2026, 3, 31))
    sql = raw_entry(
        period_id=march.pk,
        on=date(2026, 3, 31),
        lines=[("3000", "5", ""), ("1000", "", "5")],
        key="second-reversal",
        total="5",
    )
    sql = sql.replace("posted_at)", "posted_at, reverses_id)").replace("now())", f"now(), {entry.pk})")
    with pytest.raises(IntegrityError, match="reverses_id"):
        run_immediate(sql)


# --- invariant 3: no posting into a closed or undefined period -----------------------------------------------
def test_the_period_trigger_refuses_a_raw_posting_into_a_closed_month(periods, finance):
    close_month(period_id=periods[0].pk, by=finance, reason="January done")
    sql = raw_entry(
        period_id=periods[0].pk,
        on=date(2026, 1, 9),
        lines=[("1000", "5", ""), ("3000", "", "5")],
        key="closed",
        total="5",
    )
    with pytest.raises(IntegrityError, match="2026-01 is closed"):
        run_immediate(sql)


def _line_like(entry: JournalEntry, line_no: int) -> str:
    """A raw line carrying exactly its entry's date, period and entity (what the entry's check noted)."""
    return (
        "INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, memo, date, period_id, "
        "entity_id, currency, amount_currency, rate) "
        f"VALUES ({entry.pk}, {line_no}, {account_id('1000')}, 1, 0, '', '{entry.date}', {entry.period_id}, "
        f"{entry.entity_id}, 'EUR', 1, 1)"
    )


def test_a_line_matching_an_entry_checked_in_this_transaction_is_refused_once_its_month_closed(periods, finance):
    """The entry's check lets its lines through without a look-up while nothing has closed in the transaction;
    a close in between ends that, and the line is looked up and refused."""
    with pytest.raises(IntegrityError, match="2026-01 is closed"), transaction.atomic():
        entry = post(balanced("5.00", on=date(2026, 1, 9)))
        close_month(period_id=periods[0].pk, by=finance, reason="January done")
        with connection.cursor() as cursor:
            cursor.execute(_line_like(entry, 9))


def _noted(name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [name])
        return cursor.fetchone()[0]


def test_the_entry_trigger_notes_the_month_it_found_open_for_the_rest_of_the_transaction(march):
    """The next entry of the same month and entity is checked against the note, without a look-up."""
    with transaction.atomic():
        entry = post(balanced("5.00"))
        noted = _noted("psa.ledger_period")
    assert noted == f"{march.pk}:{entry.entity_id}|2026-03-01|2026-03-31|"


def _entry_alone(period_id: int, entity_id: int, on: date, key: str) -> str:
    """An entry row without lines: its own insert trigger is the one to refuse it (the balance waits for commit)."""
    return (
        "INSERT INTO ledger_journalentry (number, date, period_id, entity_id, memo, source, origin, idempotency_key, "
        f"spec_hash, total, posted_at) VALUES ('RAW-{key}', '{on.isoformat()}', {period_id}, {entity_id}, 'raw', "
        f"'raw', 'manual', '{key}', '', 5, now())"
    )


def test_an_entry_of_a_month_found_open_earlier_in_the_transaction_is_refused_once_it_closed(periods, finance):
    with pytest.raises(IntegrityError, match="2026-01 is closed"), transaction.atomic():
        entry = post(balanced("5.00", on=date(2026, 1, 9)))
        close_month(period_id=periods[0].pk, by=finance, reason="January done")
        with connection.cursor() as cursor:
            cursor.execute(_entry_alone(periods[0].pk, entry.entity_id, date(2026, 1, 10), "after-close"))


def test_an_entry_before_a_cutover_set_later_in_the_transaction_is_refused(march):
    """Changing a legal entity (its go-live cut-over) ends the note: the next entry reads the cut-over again."""
    with pytest.raises(IntegrityError, match="cut-over"), transaction.atomic():
        entry = post(balanced("5.00"))
        LegalEntity.objects.filter(pk=entry.entity_id).update(books_start=date(2026, 3, 15))
        with connection.cursor() as cursor:
            cursor.execute(_entry_alone(march.pk, entry.entity_id, date(2026, 3, 10), "before-cutover"))


def test_an_entry_outside_a_period_changed_later_in_the_transaction_is_refused(march):
    """Changing a period (its dates) ends the note: the next entry reads the period again."""
    with pytest.raises(IntegrityError, match="outside its accounting period"), transaction.atomic():
        entry = post(balanced("5.00", on=date(2026, 3, 3)))
        AccountingPeriod.objects.filter(pk=march.pk).update(end=date(2026, 3, 20))
        with connection.cursor() as cursor:
            cursor.execute(_entry_alone(march.pk, entry.entity_id, date(2026, 3, 25), "after-the-new-end"))


def test_a_note_made_in_a_savepoint_rolled_back_goes_with_it(march):
    with transaction.atomic():
        before = _noted("psa.ledger_period")
        with transaction.atomic():
            post(balanced("5.00"))
            assert _noted("psa.ledger_period").startswith(f"{march.pk}:")
            transaction.set_rollback(True)
        assert _noted("psa.ledger_period") == before


def test_the_balance_check_fired_by_the_entry_compares_its_own_total(march):
    """Fired by the entry's row, the check takes the total from that row: lines that balance against each other
    but not against the entry's total are refused."""
    sql = raw_entry(
        period_id=march.pk, on=date(2026, 3, 3), lines=[("1000", "5", ""), ("3000", "", "5")], key="total", total="7"
    )
    with pytest.raises(IntegrityError, match="total 7"):
        run_immediate(sql)


def test_a_line_with_another_date_than_the_entry_just_checked_is_refused(march):
    entry = post(balanced("5.00"))
    with (
        pytest.raises(IntegrityError, match="must be those of its entry"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(_line_like(entry, 9).replace(f"'{entry.date}'", "'2026-03-01'"))


def test_the_period_trigger_refuses_a_date_outside_its_period(march):
    sql = raw_entry(
        period_id=march.pk, on=date(2026, 4, 9), lines=[("1000", "5", ""), ("3000", "", "5")], key="outside", total="5"
    )
    with pytest.raises(IntegrityError, match="outside its accounting period"):
        run_immediate(sql)


def test_an_entry_needs_a_period(march):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (number, date, period_id, memo, source, origin, idempotency_key, "
            "spec_hash, total, posted_at) VALUES ('X', '2030-01-01', NULL, 'x', '', 'manual', 'x', '', 1, now())"
        )


def test_periods_cannot_overlap(periods):
    sql = "INSERT INTO ledger_accountingperiod (start, \"end\", status) VALUES ('2026-03-15', '2026-04-14', 'open')"
    with pytest.raises(DatabaseError, match="ledger_period_no_overlap"), transaction.atomic():
        connection.cursor().execute(sql)


# --- invariant 4: gapless numbers under concurrency ------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_with_rollbacks_leave_gapless_numbers():
    make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))
    threads_n, per_thread = 6, 8
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    class ForcedRollback(Exception):
        pass

    def worker(n: int) -> None:
        barrier.wait()
        try:
            for i in range(per_thread):
                try:
                    with transaction.atomic():
                        post(balanced("1.00", on=date(2026, 5, 1 + i)), key=f"t{n}-{i}")
                        if (n + i) % 3 == 0:
                            raise ForcedRollback
                except ForcedRollback:
                    pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in JournalEntry.objects.values_list("number", flat=True))
    expected = sum(1 for n in range(threads_n) for i in range(per_thread) if (n + i) % 3 != 0)
    assert numbers == list(range(1, expected + 1))


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_refusal_takes_no_number_and_a_replay_posts_nothing():
    from psa.core.exceptions import PeriodClosed

    periods = make_periods(start=date(2026, 1, 1), through=date(2026, 3, 31))
    close_month(period_id=periods[0].pk, by=None, reason="January done")
    with pytest.raises(PeriodClosed):
        post(balanced(on=date(2026, 1, 5)), key="refused")
    first = post(balanced(on=date(2026, 2, 5)), key="first")
    assert first.number == "JE-2026-000001"
    assert post(balanced(on=date(2026, 2, 5)), key="first").pk == first.pk
    caught_up = post(balanced(on=date(2026, 1, 5)), key="late", catch_up=True)
    assert (caught_up.number, caught_up.date) == ("JE-2026-000002", date(2026, 2, 1))
    assert JournalEntry.objects.count() == 2
