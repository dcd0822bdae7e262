"""Writing exchange rates: finance enters or corrects the rate of a date, deletes one, or imports the ECB's
reference rates (psa.core.ecb reads the file). Reading them is psa.core.fx.

Rules:
- A rate is "1 unit of `currency` = `rate` units of `quote`", `quote` being the functional currency unless named.
  The functional currency itself has no rate (it is 1 by definition); an unknown or unoffered code, a rate that
  is not a positive finite number, or one with more than 10 decimal places (the stored precision) is refused
  naming the field: PSA does not round a rate someone typed.
- One rate per pair and date. Setting the rate of a date that has one corrects it (the row changes; its history
  keeps the old value, who changed it and when).
- Deleting a rate is allowed. Journal lines keep the rate they were posted at (DESIGN.md invariant 11), so a
  deletion or correction never changes posted books; documents converted later use the rate then in force (the
  latest on or before their date), and the rate's history keeps the deleted value.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from psa.core.currency import SUPPORTED, UnknownCurrency, currency_check, functional_currency
from psa.core.dates import OUT_OF_RANGE, in_range
from psa.core.ecb import ECB_UPLOAD_LIMIT, EcbFile, EcbRow, Problem, ecb_read
from psa.core.exceptions import NotFoundError, ValidationFailed
from psa.core.history import history_context
from psa.core.models import ExchangeRate, RateSource
from psa.core.money import FX_RATE_FIELD, FX_RATE_PLACES, NotANumber, round_to, to_decimal
from psa.core.sql import RateRow, exchange_rates_upsert

ONE = Decimal(1)
MAX_RATE = Decimal(10) ** (FX_RATE_FIELD["max_digits"] - FX_RATE_FIELD["decimal_places"])
CORRECTIONS_SHOWN = 50  # corrections listed one by one in an import report (all are counted)


def _refuse(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field_name: [message]})


def _currency(code: object, field_name: str) -> str:
    try:
        return currency_check(str(code or ""))
    except UnknownCurrency as exc:
        raise ValidationFailed(exc.message, fields={field_name: exc.fields.get("currency", [exc.message])}) from None


def rate_check(value: object) -> Decimal:
    """A rate as given: a positive finite number with at most 10 decimal places that fits the column, else a
    ValidationFailed naming `rate`. Trailing zeros do not count as places (0.9200000000000 is 0.92)."""
    try:
        rate = to_decimal(value)
    except (NotANumber, TypeError):
        raise _refuse("rate", f"'{value}' is not a number.") from None
    if rate <= 0:
        raise _refuse("rate", "A rate is a positive number (units of the quote currency for one unit).")
    if rate != round_to(rate, FX_RATE_PLACES):
        raise _refuse("rate", "At most 10 decimal places; PSA stores rates to 10 places and does not round yours.")
    if rate >= MAX_RATE:
        raise _refuse("rate", f"A rate is below {MAX_RATE:,}.")
    return round_to(rate, FX_RATE_PLACES)


@dataclass(frozen=True)
class RateChange:
    """What `exchange_rate_set` did: the row, and the rate it had before (None when the row is new)."""

    row: ExchangeRate
    previous: Decimal | None

    @property
    def created(self) -> bool:
        return self.previous is None

    @property
    def changed(self) -> bool:
        return self.previous is not None and self.previous != self.row.rate


@history_context("exchange-rate", by="by")
@transaction.atomic
def exchange_rate_set(
    *,
    currency: str,
    on: date,
    rate: Decimal | str | int,
    source: str = RateSource.MANUAL,
    by: User | None,
    quote: str | None = None,
) -> RateChange:
    """Enter the rate of `currency` into `quote` (default: the functional currency) for the date `on`, or
    correct the one that date has. Refusals name the field: `currency` (unknown, not offered, or the quote
    currency itself), `quote`, `date`, `rate` (not a positive number, more than 10 places), `source`."""
    code = _currency(currency, "currency")
    quote_code = _currency(quote, "quote") if quote else functional_currency()
    if code == quote_code:
        raise _refuse("currency", f"{code} is the currency rates convert into; its rate is 1 by definition.")
    if not isinstance(on, date) or not in_range(on):
        raise _refuse("date", OUT_OF_RANGE)
    value = rate_check(rate)
    if source not in RateSource.values:
        raise _refuse("source", f"One of {', '.join(RateSource.values)}.")
    row = ExchangeRate.objects.select_for_update().filter(currency=code, quote=quote_code, date=on).first()
    if row is None:
        row = ExchangeRate(currency=code, quote=quote_code, date=on, rate=value, source=source, created_by=by)
        row.full_clean(validate_unique=False)
        row.save()
        return RateChange(row=row, previous=None)
    previous = row.rate
    if previous != value or row.source != source:
        row.rate, row.source, row.created_by = value, source, by
        row.full_clean(validate_unique=False)
        row.save(update_fields=["rate", "source", "created_by", "updated_at"])
    return RateChange(row=row, previous=previous)


@history_context("exchange-rate", by="by")
@transaction.atomic
def exchange_rate_delete(*, rate_id: int, by: User | None) -> None:
    """Delete one rate. Allowed whatever used it: journal lines keep their own rate, so the books do not change;
    the deleted value stays in the rate's history with who deleted it."""
    deleted, _ = ExchangeRate.objects.filter(pk=rate_id).delete()
    if not deleted:
        raise NotFoundError(f"No exchange rate {rate_id}.")


# --- the ECB import ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Correction:
    currency: str
    day: date
    old: Decimal
    new: Decimal


@dataclass
class EcbImportReport:
    """What an ECB import read and did (or, in a dry run, would do)."""

    dry_run: bool
    layout: str = ""
    quote: str = ""
    rows: int = 0  # data rows read (publication days)
    first: date | None = None
    last: date | None = None
    currencies: list[str] = field(default_factory=list)  # imported (offered by PSA, present in the file)
    skipped_currencies: list[str] = field(default_factory=list)  # in the file, not offered by PSA
    created: int = 0
    updated: int = 0  # corrections: a date that had a different rate
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)  # the first CORRECTIONS_SHOWN
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return len(self.problems)

    @property
    def rates(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def dates(self) -> int:
        return self.rows


def _into(functional: str, row: EcbRow, currencies: list[str]) -> dict[str, Decimal] | None:
    """The rates of one ECB row into the functional currency, or None when the row lacks the functional one.

    The ECB quotes "1 EUR = x CUR". Into EUR: CUR -> EUR = 1 / x_CUR. Into another functional currency F, through
    the euro: CUR -> F = x_F / x_CUR (1 CUR = 1/x_CUR EUR = x_F/x_CUR F) and EUR -> F = x_F. Each rate is computed
    from the file's own figures and rounded once, to 10 places."""
    if functional == "EUR":
        return {c: round_to(ONE / row.per_euro[c], FX_RATE_PLACES) for c in currencies if c in row.per_euro}
    per_euro_functional = row.per_euro.get(functional)
    if per_euro_functional is None:
        return None
    rates = {"EUR": round_to(per_euro_functional, FX_RATE_PLACES)}
    for c in currencies:
        if c != functional and c in row.per_euro:
            rates[c] = round_to(per_euro_functional / row.per_euro[c], FX_RATE_PLACES)
    return rates


@history_context("ecb-import", by="by")
@transaction.atomic
def exchange_rates_import_ecb(*, file: bytes | IO[bytes], by: User | None, dry_run: bool) -> EcbImportReport:
    """Import the ECB's reference rates (daily eurofxref.csv or history eurofxref-hist.csv, zipped or not) as
    rates into the functional currency (see `_into` for the arithmetic, including the cross through the euro
    when the books are not kept in EUR). Only the currencies PSA offers are imported; the others are counted.

    The dry run reports the rows, dates and currencies read, what would be created, corrected or left as it is,
    and every bad row with its line number. Applying is all or nothing: a file with any bad row writes nothing
    (a 400 listing them); otherwise new and changed rates are written in one transaction by set-based upserts.
    Importing the same file again changes nothing; a different rate for a date already held is a correction
    (counted and listed; the row's history keeps the old value). On PostgreSQL the apply is one upsert statement
    (psa.core.sql.exchange_rates_upsert), elsewhere the ORM's bulk upsert; both write and count the same."""
    content = file if isinstance(file, bytes) else file.read(ECB_UPLOAD_LIMIT.max_bytes + 1)
    parsed = ecb_read(content)
    functional = functional_currency()
    report = _report(parsed, functional, dry_run)
    wanted = _wanted(parsed, functional, report)
    held = _held(functional, wanted)
    writes: list[ExchangeRate] = []
    for (currency, day), rate in sorted(wanted.items()):
        old = held.get((currency, day))
        if old == rate:
            report.unchanged += 1
            continue
        if old is None:
            report.created += 1
        else:
            report.updated += 1
            if len(report.corrections) < CORRECTIONS_SHOWN:
                report.corrections.append(Correction(currency=currency, day=day, old=old, new=rate))
        writes.append(
            ExchangeRate(currency=currency, quote=functional, date=day, rate=rate, source=RateSource.ECB, created_by=by)
        )
    if dry_run:
        return report
    if report.problems:
        shown = [str(p) for p in report.problems[:20]]
        more = len(report.problems) - len(shown)
        raise ValidationFailed(
            f"The file has {len(report.problems)} bad row{'s' if len(report.problems) > 1 else ''}; nothing was "
            "imported. Correct the file (or remove those rows) and import it again.",
            fields={"file": shown + ([f"... and {more} more."] if more else [])},
        )
    if connection.vendor == "postgresql":
        # One statement; the counts are the database's (a rate written meanwhile by someone else is counted as
        # what it turned out to be).
        report.created, report.updated = exchange_rates_upsert(
            rows=[RateRow(w.currency, w.date, w.rate) for w in writes],
            quote=functional,
            source=RateSource.ECB,
            by_id=by.pk if by is not None else None,
            now=timezone.now(),
        )
        report.unchanged = len(wanted) - report.created - report.updated
    else:
        ExchangeRate.objects.bulk_create(
            writes,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["currency", "quote", "date"],
            update_fields=["rate", "source", "created_by", "updated_at"],
        )
    return report


def _report(parsed: EcbFile, functional: str, dry_run: bool) -> EcbImportReport:
    offered = [c for c in parsed.currencies if c in SUPPORTED and c != functional]
    report = EcbImportReport(
        dry_run=dry_run,
        layout=parsed.layout,
        quote=functional,
        rows=len(parsed.rows),
        first=min((r.day for r in parsed.rows), default=None),
        last=max((r.day for r in parsed.rows), default=None),
        currencies=offered + (["EUR"] if functional != "EUR" else []),
        skipped_currencies=[c for c in parsed.currencies if c not in SUPPORTED],
        problems=list(parsed.problems),
    )
    if functional != "EUR":
        report.notes.append(
            f"The books are kept in {functional}: each rate is crossed through the euro (1 CUR = "
            f"x_{functional} / x_CUR {functional}, with the ECB's x per euro)."
        )
        if functional not in parsed.currencies:
            raise _not_in_file(functional)
    if report.skipped_currencies:
        report.notes.append(
            f"{len(report.skipped_currencies)} currencies in the file are not offered by PSA and are skipped: "
            f"{', '.join(report.skipped_currencies)}."
        )
    return report


def _not_in_file(functional: str) -> ValidationFailed:
    return ValidationFailed(
        f"The file has no {functional} column, so no rate into {functional} (the functional currency) can be "
        "derived from it.",
        fields={"file": [f"No {functional} column."]},
    )


def _wanted(parsed: EcbFile, functional: str, report: EcbImportReport) -> dict[tuple[str, date], Decimal]:
    currencies = [c for c in report.currencies if c != "EUR"]
    wanted: dict[tuple[str, date], Decimal] = {}
    without_functional = 0
    for row in parsed.rows:
        rates = _into(functional, row, currencies)
        if rates is None:
            without_functional += 1
            continue
        for currency, rate in rates.items():
            wanted[(currency, row.day)] = rate
    if without_functional:
        report.notes.append(
            f"{without_functional} date{'s have' if without_functional > 1 else ' has'} no {functional} rate "
            f"(N/A), so no cross rates; skipped."
        )
    return wanted


def _held(functional: str, wanted: dict[tuple[str, date], Decimal]) -> dict[tuple[str, date], Decimal]:
    """The rates already held for the pairs and dates the file brings, in one query."""
    if not wanted:
        return {}
    days = [day for _, day in wanted]
    rows = ExchangeRate.objects.filter(
        quote=functional, currency__in={c for c, _ in wanted}, date__gte=min(days), date__lte=max(days)
    ).values_list("currency", "date", "rate")
    return {(currency, day): rate for currency, day, rate in rows}
