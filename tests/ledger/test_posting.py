"""entry_post / entry_reverse: what posts, what is refused (and that nothing is half-posted)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from crm.models import Account as Client
from ledger.choices import EntryOrigin
from ledger.models import JournalEntry, JournalLine, LedgerAccount
from ledger.selectors import trial_balance
from ledger.services import (
    EntrySpec,
    LineSpec,
    account_code_for,
    entries_auto_reverse_due,
    entry_post,
    entry_reverse,
)
from projects.models import Project
from psa.core.exceptions import (
    ConflictError,
    IdempotencyConflict,
    PeriodClosed,
    ValidationFailed,
)
from psa.core.models import AuditEvent
from tests.ledger.factories import balanced, close_month, post, spec

pytestmark = pytest.mark.django_db


def nothing_posted():
    return not JournalEntry.objects.exists() and not JournalLine.objects.exists()


def test_a_balanced_entry_posts_with_the_first_number_of_the_year(periods, finance):
    entry = post(balanced("250.00"), by=finance)
    assert entry.number == "JE-2026-000001"
    assert entry.period.label == "2026-03"
    assert entry.total == Decimal("250.00")
    assert entry.origin == EntryOrigin.MANUAL and entry.posted_by == finance
    assert [(ln.account.code, ln.debit, ln.credit) for ln in entry.lines.order_by("line_no")] == [
        ("1000", Decimal("250.00"), Decimal("0.00")),
        ("3000", Decimal("0.00"), Decimal("250.00")),
    ]
    assert post(balanced("1.00")).number == "JE-2026-000002"


def test_posting_by_hand_is_audited_with_the_user(periods, finance):
    entry = post(balanced(), by=finance)
    event = AuditEvent.objects.get(action="ledger.entry_post")
    assert event.actor == finance and event.object_id == str(entry.pk) and entry.number in event.summary


def test_the_same_key_and_spec_returns_the_entry_already_posted(periods):
    first = post(balanced("10.00"), key="invoice:1")
    again = post(balanced("10.00"), key="invoice:1")
    assert again.pk == first.pk
    assert JournalEntry.objects.count() == 1


def test_the_same_key_with_another_spec_is_a_409(periods):
    post(balanced("10.00"), key="invoice:1")
    with pytest.raises(IdempotencyConflict) as exc:
        post(balanced("11.00"), key="invoice:1")
    assert exc.value.status == 409
    assert JournalEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("entry_spec", "field", "words"),
    [
        (spec(("1000", "100.00", ""), ("3000", "", "90.00")), "lines", "differ by 10.00"),
        (spec(("1000", "100.00", "")), "lines", "at least two lines"),
        (spec(("1000", "-100.00", ""), ("3000", "", "-100.00")), "lines[0].debit", "positive"),
        (spec(("1000", "100.00", "100.00"), ("3000", "", "100.00")), "lines[0].debit", "either a debit or a credit"),
        (spec(("1000", "0", ""), ("3000", "", "0")), "lines[0].debit", "greater than zero"),
        (spec(("1000", "100.001", ""), ("3000", "", "100.001")), "lines[0].debit", "whole cents"),
        (spec(("9999", "100.00", ""), ("3000", "", "100.00")), "lines[0].account", "No account with code '9999'"),
        (spec(("1000", "1.00", ""), ("3000", "", "1.00"), memo=""), "memo", "what the entry is for"),
    ],
    ids=["unbalanced", "one-line", "negative", "two-sided", "zero", "sub-cent", "unknown-account", "no-memo"],
)
def test_bad_entries_are_refused_naming_the_problem(periods, finance, entry_spec, field, words):
    with pytest.raises(ValidationFailed) as exc:
        post(entry_spec, by=finance)
    assert exc.value.status == 400
    assert field in exc.value.fields
    assert words in " ".join(exc.value.fields[field])
    assert nothing_posted()


def test_an_inactive_account_is_refused(periods, finance):
    LedgerAccount.objects.filter(code="6200").update(is_active=False)
    with pytest.raises(ValidationFailed, match="inactive"):
        post(balanced(debit="6200"), by=finance)
    assert nothing_posted()


def test_a_control_account_is_refused_by_hand_but_taken_from_the_system(periods, finance):
    receivable = account_code_for("receivable")
    with pytest.raises(ValidationFailed, match="control account"):
        post(balanced(debit=receivable, credit="4000"), by=finance)
    assert nothing_posted()
    entry = post(balanced(debit=receivable, credit="4000"))
    assert entry.origin == EntryOrigin.SYSTEM and entry.posted_by is None


def test_a_closed_period_refuses_the_posting_with_a_clear_message(periods, finance):
    close_month(period_id=periods[0].pk, by=finance, reason="January done")
    with pytest.raises(PeriodClosed) as exc:
        post(balanced(on=date(2026, 1, 20)), by=finance)
    assert exc.value.status == 409
    assert "2026-01 is closed" in exc.value.message and "2026-01-20" in exc.value.message
    assert nothing_posted()


def test_catch_up_lands_in_the_first_open_period(periods, finance):
    close_month(period_id=periods[0].pk, by=finance, reason="January done")
    close_month(period_id=periods[1].pk, by=finance, reason="February done")
    entry = post(balanced(on=date(2026, 1, 20)), catch_up=True)
    assert entry.date == date(2026, 3, 1) and entry.period == periods[2]
    assert entry.requested_date == date(2026, 1, 20)


def test_a_date_without_a_period_is_refused(periods):
    with pytest.raises(PeriodClosed, match="No accounting period covers 2031-01-01") as exc:
        post(balanced(on=date(2031, 1, 1)), catch_up=True)
    assert exc.value.code == "period_undefined"


def test_a_project_line_takes_the_project_client_and_a_mismatch_is_refused(periods):
    client = Client.objects.create(name="Acme")
    other = Client.objects.create(name="Globex")
    project = Project.objects.create(code="P-1", name="Roll-out", account=client)
    entry = post(spec(("1000", "5.00", ""), ("4000", "", "5.00", {"project_id": project.pk})))
    assert entry.lines.get(line_no=2).client_id == client.pk
    with pytest.raises(ValidationFailed, match="another client"):
        post(spec(("1000", "5.00", ""), ("4000", "", "5.00", {"project_id": project.pk, "client_id": other.pk})))
    with pytest.raises(ValidationFailed, match="No client with id"):
        post(spec(("1000", "5.00", ""), ("4000", "", "5.00", {"client_id": 999999})))


def test_reversing_posts_the_mirror_once(periods, finance):
    original = post(
        spec(("1000", "70.00", ""), ("4000", "", "50.00"), ("4100", "", "20.00"), on=date(2026, 3, 2)),
        by=finance,
    )
    reversal = entry_reverse(entry_id=original.pk, by=finance, on=date(2026, 3, 31))
    assert reversal.reverses == original and reversal.origin == EntryOrigin.REVERSAL
    assert [(ln.account.code, ln.debit, ln.credit) for ln in reversal.lines.order_by("line_no")] == [
        ("1000", Decimal("0.00"), Decimal("70.00")),
        ("4000", Decimal("50.00"), Decimal("0.00")),
        ("4100", Decimal("20.00"), Decimal("0.00")),
    ]
    assert trial_balance(at=date(2026, 3, 31)).rows and all(
        r.closing == 0 for r in trial_balance(at=date(2026, 3, 31)).rows
    )
    with pytest.raises(ConflictError, match="already reversed") as exc:
        entry_reverse(entry_id=original.pk, by=finance, on=date(2026, 3, 31))
    assert exc.value.status == 409 and exc.value.code == "already_reversed"
    assert AuditEvent.objects.filter(action="ledger.entry_reverse").count() == 1


def test_a_reversal_of_a_closed_month_catches_up(periods, finance):
    original = post(balanced(on=date(2026, 1, 10)), by=finance)
    close_month(period_id=periods[0].pk, by=finance, reason="January done")
    reversal = entry_reverse(entry_id=original.pk, by=finance, on=date(2026, 1, 31))
    assert reversal.date == date(2026, 2, 1)


def test_a_reversal_cannot_predate_its_entry(periods, finance):
    original = post(balanced(on=date(2026, 3, 10)), by=finance)
    with pytest.raises(ValidationFailed, match="before the entry"):
        entry_reverse(entry_id=original.pk, by=finance, on=date(2026, 3, 9))


def test_a_user_cannot_reverse_a_system_entry_on_a_control_account(periods, finance):
    original = post(balanced(debit="1100", credit="4000"))
    with pytest.raises(ValidationFailed, match="control account"):
        entry_reverse(entry_id=original.pk, by=finance, on=date(2026, 3, 31))


def test_due_automatic_reversals_post_once(periods):
    accrual = post(balanced(debit="6000", credit="2300", on=date(2026, 3, 31), auto_reverse_on=date(2026, 4, 1)))
    assert entries_auto_reverse_due(today=date(2026, 3, 31)) == 0
    assert entries_auto_reverse_due(today=date(2026, 4, 2)) == 1
    assert entries_auto_reverse_due(today=date(2026, 4, 2)) == 0
    reversal = JournalEntry.objects.get(reverses=accrual)
    assert reversal.date == date(2026, 4, 1)


def test_a_spec_built_by_a_higher_layer_posts(periods):
    entry = entry_post(
        spec=EntrySpec(
            date=date(2026, 4, 30),
            memo="Invoice INV-2026-000001",
            source="invoice:1",
            lines=(
                LineSpec(account=account_code_for("receivable"), debit=Decimal("121.00")),
                LineSpec(account=account_code_for("tax_payable"), credit=Decimal("21.00")),
                LineSpec(account=account_code_for("deferred"), credit=Decimal("100.00")),
            ),
        ),
        key="invoice:1:issue",
    )
    assert entry.source == "invoice:1" and entry.total == Decimal("121.00")


def test_the_orm_insert_path_used_off_postgresql_posts_the_same_entry(periods, monkeypatch):
    from ledger.services import posting

    monkeypatch.setattr(posting.connection, "vendor", "sqlite")
    entry = post(spec(("1000", "70.00", ""), ("4000", "", "50.00"), ("4100", "", "20.00")), key="orm-path")
    monkeypatch.undo()
    again = post(spec(("1000", "70.00", ""), ("4000", "", "50.00"), ("4100", "", "20.00")), key="orm-path")
    assert again.pk == entry.pk and entry.number == "JE-2026-000001"
    assert post(balanced()).number == "JE-2026-000002"
    assert [ln.line_no for ln in entry.lines.order_by("line_no")] == [1, 2, 3]


@pytest.mark.postgres
def test_the_counter_address_is_only_a_hint_a_wrong_one_numbers_by_key_and_leaves_other_series_alone(periods):
    """The posting statement bumps the journal counter at the address the last bump returned (ledger.sql): an
    address that holds another series' counter, or nothing, must change nothing but the right counter."""
    from ledger import sql
    from psa.core.models import NumberSeries
    from psa.core.numbering import number_next

    first = post(balanced("1.00"))  # the service's own path: it makes the default legal entity
    counter = (None, first.date.year)
    post(balanced("1.00"))
    assert sql._COUNTER_AT[counter]  # the posting statement left the address
    with transaction.atomic():
        number_next(series="INV", on=first.date)
    other = NumberSeries.objects.filter(series="INV").annotate(at=RawSQL("ctid::text", [])).values_list("at", flat=True)
    for wrong in (other[0], "(999999,1)", None):
        sql._COUNTER_AT[counter] = wrong
        post(balanced("1.00"))
    assert [e.number for e in JournalEntry.objects.order_by("pk")] == [f"JE-2026-00000{n}" for n in range(1, 6)]
    assert NumberSeries.objects.get(series="INV").last == 1
    assert sql._COUNTER_AT[counter] not in (other[0], "(999999,1)", None)  # the right address again
    with transaction.atomic():
        for _ in range(3):  # at the address the last bump returned: the counter row's new version each time
            post(balanced("1.00"))
    assert NumberSeries.objects.get(series="JE").last == 8


@pytest.mark.postgres
def test_an_address_noted_for_a_counter_that_is_gone_numbers_through_the_service_and_is_forgotten(periods):
    """With an address the posting statement bumps only a counter that exists. Had the counter gone (a database
    restored or emptied under a running process), the entry is numbered by the service's own path, which creates
    the counter, and the address is forgotten: the next statement creates or finds the counter by key."""
    from ledger import sql
    from psa.core.models import NumberSeries

    post(balanced("1.00"))  # the service's own path: it makes the default legal entity
    first = post(balanced("1.00"))
    counter = (None, first.date.year)
    noted = sql._COUNTER_AT[counter]
    with connection.cursor() as cursor:  # emptied as a restore or the tests' flush would
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the checks waiting for commit run first
        cursor.execute("TRUNCATE ledger_journalline, ledger_journalentry, core_numberseries CASCADE")
    assert sql._COUNTER_AT[counter] == noted and not NumberSeries.objects.exists()
    again = post(balanced("1.00"))
    assert again.number == "JE-2026-000001" and counter not in sql._COUNTER_AT
    assert post(balanced("1.00")).number == "JE-2026-000002" and sql._COUNTER_AT[counter]


def test_an_entrys_fingerprint_is_the_hash_earlier_versions_stored():
    """A key reused after an upgrade is compared with the hash stored when it was first posted: the fingerprint's
    text (sorted JSON of the date, memo, source, reversal date and lines, a foreign line with its transaction) must
    not change. The digest is the one this spec had when the fingerprint was written."""
    from ledger.services.posting import EntrySpec, LineSpec

    pinned = EntrySpec(
        date=date(2026, 3, 3),
        memo="Pinned é",
        source="pin",
        auto_reverse_on=date(2026, 4, 1),
        lines=(
            LineSpec("1200", debit=Decimal("10.5"), client_id=3),
            LineSpec("4000", credit="10.50", project_id=9, memo="m"),  # type: ignore[arg-type]  # as a form sends it
            LineSpec("1210", debit=Decimal("5.00"), currency="USD", amount_currency=Decimal("5.40"),
                     rate=Decimal("0.9259259259")),
            LineSpec("4000", credit=Decimal("5.00")),
        ),
    )  # fmt: skip
    assert pinned.fingerprint() == "c6512944943903f5944b0e842223062c47799635b16b79f10d110a29b26631a9"
