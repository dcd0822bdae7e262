"""Exchange rates: finance enters and corrects the rate of a date, refusals name the field, the ECB's reference
rate files import (daily and history, zipped or not) into the functional currency, and the rate for a date is
the latest on or before it."""

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import transaction
from django.test import override_settings

from psa.core import rates as rates_module
from psa.core.ecb import ecb_read
from psa.core.exceptions import NotFoundError, ValidationFailed
from psa.core.fx import MissingRate, convert, rate_for, rates_for
from psa.core.models import ExchangeRate, RateSource
from psa.core.rates import exchange_rate_delete, exchange_rate_set, exchange_rates_import_ecb

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ecb"
DAILY = (FIXTURES / "eurofxref.csv").read_bytes()
HISTORY = (FIXTURES / "eurofxref-hist.csv").read_bytes()


def rate(currency: str, on: date, quote: str = "EUR") -> Decimal:
    return ExchangeRate.objects.get(currency=currency, quote=quote, date=on).rate


# --- entering and correcting --------------------------------------------------------------------------------
def test_finance_enters_the_rate_of_a_date(finance):
    change = exchange_rate_set(currency="usd", on=date(2026, 12, 4), rate="0.9213", by=finance)

    assert change.created
    row = change.row
    assert (row.currency, row.quote, row.date, row.rate, row.source) == (
        "USD", "EUR", date(2026, 12, 4), Decimal("0.9213"), RateSource.MANUAL,
    )  # fmt: skip
    assert row.created_by == finance


def test_setting_the_rate_of_a_date_that_has_one_corrects_it(finance):
    exchange_rate_set(currency="USD", on=date(2026, 12, 4), rate="0.9213", by=finance)

    change = exchange_rate_set(currency="USD", on=date(2026, 12, 4), rate="0.9250", by=finance)

    assert change.changed and change.previous == Decimal("0.9213")
    assert ExchangeRate.objects.filter(currency="USD").count() == 1
    assert rate("USD", date(2026, 12, 4)) == Decimal("0.9250")


def test_a_rate_with_ten_places_is_kept_exactly(finance):
    exchange_rate_set(currency="JPY", on=date(2026, 12, 4), rate="0.0055334662", by=finance)
    assert rate("JPY", date(2026, 12, 4)) == Decimal("0.0055334662")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "KWD"}, "currency"),  # three decimals: not offered
        ({"currency": "EUR"}, "currency"),  # the functional currency itself
        ({"quote": "ABC"}, "quote"),
        ({"rate": "0"}, "rate"),
        ({"rate": "-1.2"}, "rate"),
        ({"rate": "abc"}, "rate"),
        ({"rate": "NaN"}, "rate"),
        ({"rate": "Infinity"}, "rate"),
        ({"rate": "0.12345678901"}, "rate"),  # 11 places: refused, not rounded
        ({"rate": "100000000000000"}, "rate"),
        ({"on": date(1, 1, 1)}, "date"),
        ({"source": "guess"}, "source"),
    ],
)
def test_a_bad_rate_is_refused_naming_the_field(finance, kwargs, field):
    args = {"currency": "USD", "on": date(2026, 12, 4), "rate": "0.92", "by": finance} | kwargs

    with pytest.raises(ValidationFailed) as refused:
        exchange_rate_set(**args)

    assert field in refused.value.fields
    assert not ExchangeRate.objects.exists()


def test_trailing_zeros_are_not_extra_places(finance):
    exchange_rate_set(currency="USD", on=date(2026, 12, 4), rate="0.920000000000000", by=finance)
    assert rate("USD", date(2026, 12, 4)) == Decimal("0.92")


def test_deleting_a_rate_removes_it_and_an_unknown_one_is_a_404(finance):
    row = exchange_rate_set(currency="USD", on=date(2026, 12, 4), rate="0.92", by=finance).row

    exchange_rate_delete(rate_id=row.pk, by=finance)

    assert not ExchangeRate.objects.exists()
    with pytest.raises(NotFoundError):
        exchange_rate_delete(rate_id=row.pk, by=finance)


# --- reading the rate of a date -----------------------------------------------------------------------------
def test_the_rate_for_a_date_is_the_latest_on_or_before_it(finance):
    exchange_rate_set(currency="USD", on=date(2026, 12, 1), rate="0.91", by=finance)
    exchange_rate_set(currency="USD", on=date(2026, 12, 4), rate="0.93", by=finance)

    assert rate_for(currency="USD", on=date(2026, 12, 3)).rate == Decimal("0.91")
    assert rate_for(currency="USD", on=date(2026, 12, 4)).date == date(2026, 12, 4)
    assert rate_for(currency="USD", on=date(2027, 1, 10)).rate == Decimal("0.93")
    assert convert(amount=Decimal("1000.00"), rate=rate_for(currency="USD", on=date(2026, 12, 3))) == Decimal("910.00")


def test_a_missing_rate_is_a_409_naming_the_currency_and_the_date(finance):
    exchange_rate_set(currency="USD", on=date(2026, 12, 4), rate="0.93", by=finance)

    with pytest.raises(MissingRate) as missing:
        rate_for(currency="USD", on=date(2026, 12, 3))

    assert missing.value.status == 409
    assert "USD" in missing.value.message and "2026-12-03" in missing.value.message


def test_rates_for_many_pairs_match_rate_for_and_refuse_the_first_missing(finance):
    exchange_rate_set(currency="USD", on=date(2026, 12, 1), rate="0.91", by=finance)
    exchange_rate_set(currency="GBP", on=date(2026, 12, 2), rate="1.17", by=finance)
    pairs = [("USD", date(2026, 12, 3)), ("GBP", date(2026, 12, 2)), ("EUR", date(2026, 12, 3))]

    found = rates_for(pairs=pairs)

    assert {k: v.rate for k, v in found.items()} == {
        ("USD", date(2026, 12, 3)): Decimal("0.91"), ("GBP", date(2026, 12, 2)): Decimal("1.17"),
        ("EUR", date(2026, 12, 3)): Decimal("1"),
    }  # fmt: skip
    with pytest.raises(MissingRate) as missing:
        rates_for(pairs=[*pairs, ("GBP", date(2026, 12, 1))])
    assert "GBP" in missing.value.message and "2026-12-01" in missing.value.message


# --- reading ECB files --------------------------------------------------------------------------------------
def test_the_daily_file_is_read_with_its_written_out_date_and_trailing_comma():
    parsed = ecb_read(DAILY)

    assert parsed.layout == "daily"
    assert parsed.currencies[:3] == ["USD", "JPY", "CZK"] and parsed.currencies[-1] == "ZAR"
    assert [r.day for r in parsed.rows] == [date(2026, 12, 4)]
    assert parsed.rows[0].per_euro["USD"] == Decimal("1.1645")
    assert parsed.rows[0].per_euro["ZAR"] == Decimal("20.0312")
    assert parsed.problems == []


def test_the_history_file_is_read_with_n_a_as_no_rate():
    parsed = ecb_read(HISTORY)

    assert parsed.layout == "history"
    assert len(parsed.rows) == 4
    newest = parsed.rows[0]
    assert newest.day == date(2026, 12, 4) and "BGN" not in newest.per_euro and "CYP" not in newest.per_euro
    assert parsed.rows[-1].per_euro["CYP"] == Decimal("0.5782")


def test_the_zip_the_ecb_serves_is_read_like_the_csv_in_it():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("eurofxref-hist.csv", HISTORY)

    assert ecb_read(buffer.getvalue()).rows == ecb_read(HISTORY).rows


def test_a_file_that_is_not_an_ecb_file_is_refused_naming_the_file():
    with pytest.raises(ValidationFailed) as refused:
        ecb_read(b"date;amount\n2026-12-04;12\n")
    assert "file" in refused.value.fields


def test_bad_rows_are_each_reported_with_their_line_number():
    content = (
        b"Date,USD,GBP,\n"
        b"2026-12-04,1.1645,0.87365,\n"
        b"2026-13-01,1.1622,0.87210,\n"  # line 3: no 13th month
        b"2026-12-02,abc,0.87150,\n"  # line 4: not a number
        b"2026-12-04,1.1600,0.87150,\n"  # line 5: the date again
        b"2026-12-01,0,0.87150,\n"  # line 6: zero
        b"2026-11-30,1.1,0.8,9.9,\n"  # line 7: more values than columns
    )
    parsed = ecb_read(content)

    assert [p.line for p in parsed.problems] == [3, 4, 5, 6, 7]
    assert "USD 'abc'" in parsed.problems[1].message
    assert "line 2" in parsed.problems[2].message
    assert [r.day for r in parsed.rows] == [date(2026, 12, 4)]


# --- importing ECB files ------------------------------------------------------------------------------------
def test_the_daily_file_imports_the_offered_currencies_into_eur(finance):
    report = exchange_rates_import_ecb(file=DAILY, by=finance, dry_run=False)

    assert report.rows == 1 and report.first == report.last == date(2026, 12, 4)
    assert "ISK" in report.skipped_currencies and "IDR" in report.skipped_currencies
    assert "USD" in report.currencies and "ISK" not in report.currencies
    assert report.created == len(report.currencies) == ExchangeRate.objects.count()
    # 1 EUR = 1.1645 USD, so 1 USD = 1 / 1.1645 EUR, to 10 places, half up
    assert rate("USD", date(2026, 12, 4)) == Decimal("0.8587376556")
    assert rate("JPY", date(2026, 12, 4)) == Decimal("0.0055334219")
    assert ExchangeRate.objects.filter(source=RateSource.ECB, created_by=finance).count() == report.created


def test_a_dry_run_reports_and_writes_nothing(finance):
    report = exchange_rates_import_ecb(file=HISTORY, by=finance, dry_run=True)

    assert (report.rows, report.created, report.errors) == (4, 28, 0)
    assert report.currencies == ["USD", "JPY", "CZK", "DKK", "GBP", "CHF", "ZAR"]
    assert report.skipped_currencies == ["BGN", "CYP", "RUB"]
    assert (report.first, report.last) == (date(2007, 1, 2), date(2026, 12, 4))
    assert not ExchangeRate.objects.exists()


def test_importing_the_same_file_again_changes_nothing(finance):
    exchange_rates_import_ecb(file=HISTORY, by=finance, dry_run=False)
    before = list(ExchangeRate.objects.order_by("pk").values_list("pk", "rate", "updated_at"))

    again = exchange_rates_import_ecb(file=HISTORY, by=finance, dry_run=False)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 28)
    assert list(ExchangeRate.objects.order_by("pk").values_list("pk", "rate", "updated_at")) == before


def test_a_changed_rate_for_a_held_date_is_a_correction(finance):
    exchange_rate_set(currency="USD", on=date(2026, 12, 4), rate="0.86", by=finance)

    report = exchange_rates_import_ecb(file=DAILY, by=finance, dry_run=False)

    assert report.updated == 1
    [correction] = report.corrections
    assert (correction.currency, correction.day, correction.old, correction.new) == (
        "USD", date(2026, 12, 4), Decimal("0.86"), Decimal("0.8587376556"),
    )  # fmt: skip
    row = ExchangeRate.objects.get(currency="USD")
    assert (row.rate, row.source) == (Decimal("0.8587376556"), RateSource.ECB)


def test_a_file_with_a_bad_row_imports_nothing(finance):
    content = HISTORY + b"2006-12-29,1.3170,oops,N/A,N/A,27.485,7.4560,0.67150,1.6069,34.6800,9.2124,\n"

    dry = exchange_rates_import_ecb(file=content, by=finance, dry_run=True)
    assert [p.line for p in dry.problems] == [6]
    with pytest.raises(ValidationFailed) as refused:
        exchange_rates_import_ecb(file=content, by=finance, dry_run=False)

    assert refused.value.fields["file"][0].startswith("Line 6:")
    assert not ExchangeRate.objects.exists()


def _imported(finance) -> tuple:
    report = exchange_rates_import_ecb(file=HISTORY, by=finance, dry_run=False)
    rows = ExchangeRate.objects.order_by("currency", "date").values_list(
        "currency", "quote", "date", "rate", "source", "created_by"
    )
    return (report.created, report.updated, report.unchanged, report.corrections), list(rows)


@pytest.fixture
def held(finance):
    """A date the history file brings with the same rate, one with another rate, one it does not bring."""
    exchange_rate_set(currency="USD", on=date(2026, 12, 4), rate="0.8587376556", by=finance)
    exchange_rate_set(currency="GBP", on=date(2026, 12, 4), rate="1.10", by=finance)
    exchange_rate_set(currency="GBP", on=date(2026, 11, 30), rate="1.15", by=finance)


def test_the_one_statement_import_and_the_orm_import_write_and_count_the_same(finance, held, monkeypatch):
    savepoint = transaction.savepoint_create()
    one_statement = _imported(finance)  # PostgreSQL: one INSERT ... ON CONFLICT statement
    transaction.savepoint_rollback(savepoint)
    monkeypatch.setattr(rates_module.connection, "vendor", "sqlite")
    orm = _imported(finance)  # the ORM's bulk upsert, from the same rates
    monkeypatch.undo()

    assert one_statement == orm
    (created, corrected, unchanged, corrections), rows = one_statement
    assert (created, corrected, unchanged) == (26, 1, 1)
    assert [(c.currency, c.day, c.old) for c in corrections] == [("GBP", date(2026, 12, 4), Decimal("1.10"))]
    assert len(rows) == 29


def test_the_import_records_history_for_the_rates_it_writes_and_none_for_the_unchanged(finance, held):
    events = apps.get_model("core", "ExchangeRateEvent").objects
    assert events.count() == 3  # the three rates set by hand

    exchange_rates_import_ecb(file=HISTORY, by=finance, dry_run=False)

    labels = list(events.order_by("pgh_id").values_list("pgh_label", flat=True))[3:]
    assert labels.count("insert") == 26 and labels.count("update") == 1 and len(labels) == 27
    [update] = events.filter(pgh_label="update")
    assert (update.currency, update.date, update.rate, update.source) == (
        "GBP", date(2026, 12, 4), Decimal("1.1446231328"), RateSource.ECB,
    )  # fmt: skip
    assert not events.filter(pgh_label="update", currency="USD").exists()


@override_settings(PSA_FUNCTIONAL_CURRENCY="USD")
def test_books_in_another_currency_get_rates_crossed_through_the_euro(finance):
    report = exchange_rates_import_ecb(file=HISTORY, by=finance, dry_run=False)

    day = date(2026, 12, 4)
    assert "EUR" in report.currencies and "USD" not in report.currencies
    assert rate("EUR", day, quote="USD") == Decimal("1.1645")
    # 1 GBP = (1 / 0.87365) EUR = 1.1645 / 0.87365 USD
    assert rate("GBP", day, quote="USD") == Decimal("1.3329136382")
    assert rate("JPY", day, quote="USD") == Decimal("0.0064436698")
    assert not ExchangeRate.objects.filter(currency="USD").exists()
    assert any("crossed through the euro" in note for note in report.notes)


@override_settings(PSA_FUNCTIONAL_CURRENCY="GBP")
def test_a_date_without_the_functional_currency_gives_no_cross_rates(finance):
    content = b"Date,USD,GBP,\n2026-12-04,1.1645,0.87365,\n2026-12-03,1.1622,N/A,\n"

    report = exchange_rates_import_ecb(file=content, by=finance, dry_run=False)

    assert report.created == 2  # USD and EUR on 2026-12-04 only
    assert not ExchangeRate.objects.filter(date=date(2026, 12, 3)).exists()
    assert any("no GBP rate" in note for note in report.notes)


def test_an_imported_file_serves_the_rate_of_later_days(finance):
    exchange_rates_import_ecb(file=DAILY, by=finance, dry_run=False)

    used = rate_for(currency="GBP", on=date(2026, 12, 6))  # a Sunday: Friday's rate

    assert used.date == date(2026, 12, 4)
    assert convert(amount=Decimal("1000.00"), rate=used) == Decimal("1144.62")
