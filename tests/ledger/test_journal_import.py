"""journal_lines_import: the set-based import of journal history keeps every rule of entry_post (balance, periods,
numbering, dimensions, accounts), refuses the whole import naming each entry, and leaves the same books (trial
balance and stored balances) as posting the same entries one by one."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from crm.models import Account as Client
from ledger.models import AccountBalance, AccountingPeriod, JournalEntry, JournalLine
from ledger.selectors import trial_balance
from ledger.services import EntrySpec, ImportEntry, LineSpec, entry_post, journal_lines_import, period_close
from projects.models import Project
from psa.core.entities import entity_default
from psa.core.exceptions import ConflictError, PermissionDeniedError, ValidationFailed
from psa.core.models import AuditEvent, LegalEntity
from tests.ledger.factories import balanced, close_month, make_periods, post

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

D = Decimal


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the bulk journal import is PostgreSQL's (COPY, set-based checks)")


def entry(ref: str, on: date, *lines: tuple, memo: str = "Historical entry") -> ImportEntry:
    """entry("A1", date, ("1000", "10.00", ""), ("3000", "", "10.00"), ...) with optional client/project ids."""
    specs = []
    for code, debit, credit, *rest in lines:
        extra = rest[0] if rest else {}
        specs.append(LineSpec(account=code, debit=D(debit or "0"), credit=D(credit or "0"), **extra))
    return ImportEntry(date=on, memo=memo, reference=ref, lines=tuple(specs))


def history(client_id: int, project_id: int) -> list[ImportEntry]:
    return [
        entry("INV-1", date(2026, 2, 20), ("1100", "121.00", "", {"client_id": client_id}),
              ("2100", "", "21.00", {"client_id": client_id}), ("4000", "", "100.00", {"project_id": project_id})),
        entry("PAY-1", date(2026, 3, 5), ("1000", "121.00", ""), ("1100", "", "121.00", {"client_id": client_id})),
        entry("EXP-1", date(2026, 1, 31), ("6000", "40.50", ""), ("2300", "", "40.50")),
        entry("EXP-2", date(2026, 1, 10), ("6000", "9.50", ""), ("2300", "", "9.50")),
    ]  # fmt: skip


@pytest.fixture
def admin(make_user):
    return make_user("admin")


@pytest.fixture
def dims(db):
    client = Client.objects.create(name="Old Client")
    project = Project.objects.create(code="OLD-1", name="Old project", account=client)
    return client, project


def nothing_written():
    return not JournalEntry.objects.exists() and not JournalLine.objects.exists()


def test_history_is_imported_numbered_gaplessly_in_date_order_after_the_numbers_given(periods, finance, dims):
    client, project = dims
    first = post(balanced("5.00"))  # JE-2026-000001, posted before the import
    lines = journal_lines_import(entity=None, entries=history(client.pk, project.pk), source="old-psa", by=finance)
    assert lines == 9
    imported = list(JournalEntry.objects.exclude(pk=first.pk).order_by("number"))
    assert [(e.number, e.date, e.idempotency_key) for e in imported] == [
        ("JE-2026-000002", date(2026, 1, 10), "import:old-psa:EXP-2"),
        ("JE-2026-000003", date(2026, 1, 31), "import:old-psa:EXP-1"),
        ("JE-2026-000004", date(2026, 2, 20), "import:old-psa:INV-1"),
        ("JE-2026-000005", date(2026, 3, 5), "import:old-psa:PAY-1"),
    ]
    invoice = imported[2]
    assert invoice.total == D("121.00") and invoice.source == "import:old-psa" and invoice.posted_by == finance
    assert invoice.period.label == "2026-02" and invoice.entity_id == entity_default().pk
    revenue = invoice.lines.get(account__code="4000")
    assert revenue.client_id == client.pk  # the project's client, as entry_post fills it
    assert post(balanced("1.00")).number == "JE-2026-000006"  # the series goes on without a gap
    assert AuditEvent.objects.filter(action="ledger.journal_import", actor=finance).count() == 1


def test_the_books_equal_posting_the_same_entries_one_by_one(finance, admin, dims):
    """Entity A posts the history through entry_post, entity B imports it: the same trial balance, and after
    closing January and February, the same stored balances."""
    make_periods()
    client, project = dims
    default = entity_default()
    other = LegalEntity.objects.create(
        code="US", series_prefix="US", name="Northwind US", legal_name="Northwind US Inc", country="US",
        functional_currency=default.functional_currency,
    )  # fmt: skip
    entries = history(client.pk, project.pk)
    for item in entries:
        entry_post(
            spec=EntrySpec(date=item.date, memo=item.memo, lines=item.lines, entity_id=default.pk),
            key=f"posted:{item.reference}",
        )
    journal_lines_import(entity=other, entries=entries, source="old-psa", by=finance)
    assert sorted(JournalEntry.objects.filter(entity=other).values_list("number", flat=True)) == [
        "US-JE-2026-000001", "US-JE-2026-000002", "US-JE-2026-000003", "US-JE-2026-000004",
    ]  # fmt: skip

    def tb(entity):
        rows = trial_balance(at=date(2026, 3, 31), entity_id=entity.pk).rows
        return [(r.account.code, r.debit, r.credit) for r in rows]

    assert tb(other) == tb(default) and tb(default)
    for start in (date(2026, 1, 1), date(2026, 2, 1)):
        period = AccountingPeriod.objects.get(start=start)
        close_month(period_id=period.pk, by=admin)  # the default entity's month, as finance closes it
        period_close(period_id=period.pk, by=admin, reason="history", entity_id=other.pk)

    def stored(entity):
        return sorted(
            AccountBalance.objects.filter(entity=entity).values_list(
                "period__start", "account__code", "client_id", "project_id", "debit", "credit", "cum_debit",
                "cum_credit",
            )
        )  # fmt: skip

    assert stored(other) == stored(default) and stored(default)
    assert tb(other) == tb(default)


def test_an_unbalanced_entry_refuses_the_whole_import_naming_it(periods, finance):
    entries = [
        entry("OK-1", date(2026, 1, 5), ("1000", "10.00", ""), ("3000", "", "10.00")),
        entry("BAD-7", date(2026, 1, 6), ("1000", "10.00", ""), ("3000", "", "9.99")),
    ]
    with pytest.raises(ValidationFailed) as exc:
        journal_lines_import(entity=None, entries=entries, source="old", by=finance)
    assert exc.value.fields["entries"] == [
        "Entry BAD-7 (2026-01-06): Debits (10.00) and credits (9.99) differ by 0.01: an entry must balance."
    ]
    assert "BAD-7" in exc.value.message
    assert nothing_written()


def test_a_date_no_period_covers_and_a_closed_month_are_refused_by_entry(periods, finance, admin):
    close_month(period_id=AccountingPeriod.objects.get(start=date(2026, 1, 1)).pk, by=admin)
    entries = [
        entry("OLD-1", date(2025, 6, 30), ("1000", "10.00", ""), ("3000", "", "10.00")),
        entry("JAN-1", date(2026, 1, 15), ("1000", "10.00", ""), ("3000", "", "10.00")),
        entry("FEB-1", date(2026, 2, 15), ("1000", "10.00", ""), ("3000", "", "10.00")),
    ]
    with pytest.raises(ValidationFailed) as exc:
        journal_lines_import(entity=None, entries=entries, source="old", by=finance)
    assert exc.value.fields["entries"] == [
        "Entry OLD-1 (2025-06-30): No accounting period covers 2025-06-30: create the periods first.",
        "Entry JAN-1 (2026-01-15): The period 2026-01 is closed for this entity: import history while its months "
        "are open, then close them in order.",
    ]
    assert not JournalEntry.objects.filter(idempotency_key__startswith="import:").exists()


def test_every_line_rule_is_checked_and_named(periods, finance, dims):
    _client, project = dims
    other = Client.objects.create(name="Someone else")
    entries = [
        entry("A", date(2026, 1, 5), ("9999", "10.00", ""), ("3000", "", "10.00")),
        entry("B", date(2026, 1, 5), ("1000", "10.001", ""), ("3000", "", "10.001")),
        entry("C", date(2026, 1, 5), ("1000", "10.00", "10.00"), ("3000", "", "0")),
        entry("D", date(2026, 1, 5), ("1000", "10.00", ""), ("3000", "", "10.00", {"project_id": 987654})),
        entry("E", date(2026, 1, 5), ("1000", "10.00", ""),
              ("4000", "", "10.00", {"project_id": project.pk, "client_id": other.pk})),
        entry("F", date(2026, 1, 5), ("1000", "10.00", "")),
        entry("F", date(2026, 1, 5), ("1000", "1.00", ""), ("3000", "", "1.00"), memo=""),
    ]  # fmt: skip
    with pytest.raises(ValidationFailed) as exc:
        journal_lines_import(entity=None, entries=entries, source="old", by=finance)
    problems = exc.value.fields["entries"]
    assert "Entry A (2026-01-05), line 1: No account with code '9999' in the chart of accounts." in problems
    assert "Entry B (2026-01-05), line 1: Amounts are whole cents." in problems
    assert "Entry C (2026-01-05), line 1: Each line has either a debit or a credit, greater than zero." in problems
    assert "Entry D (2026-01-05), line 2: No project with id 987654." in problems
    assert "Entry E (2026-01-05), line 2: Project OLD-1 belongs to another client." in problems
    assert "Entry F (2026-01-05): An entry needs at least two lines (a debit and a credit)." in problems
    assert "Entry F (2026-01-05): The reference F appears more than once in the import." in problems
    assert "Entry F (2026-01-05): Say what the entry is for (the description is empty)." in problems
    assert nothing_written()


def test_the_same_source_twice_is_a_conflict_and_writes_nothing_more(periods, finance):
    entries = [entry("X1", date(2026, 1, 5), ("1000", "10.00", ""), ("3000", "", "10.00"))]
    journal_lines_import(entity=None, entries=entries, source="old", by=finance)
    with pytest.raises(ConflictError) as exc:
        journal_lines_import(entity=None, entries=entries, source="old", by=finance)
    assert exc.value.code == "already_imported" and "JE-2026-000001" in exc.value.message
    assert JournalEntry.objects.count() == 1


def test_only_finance_imports(periods, make_user):
    entries = [entry("X1", date(2026, 1, 5), ("1000", "10.00", ""), ("3000", "", "10.00"))]
    with pytest.raises(PermissionDeniedError):
        journal_lines_import(entity=None, entries=entries, source="old", by=make_user("sales"))
    assert nothing_written()


def test_imported_history_is_immutable_like_any_posting(periods, finance):
    from django.db import DatabaseError, transaction

    journal_lines_import(
        entity=None,
        entries=[entry("X1", date(2026, 1, 5), ("1000", "10.00", ""), ("3000", "", "10.00"))],
        source="old",
        by=finance,
    )
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        JournalLine.objects.update(debit=D("11.00"))
