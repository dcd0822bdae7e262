"""Reading the European Central Bank's euro foreign exchange reference rates, as the ECB publishes them for
download (https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/): the user
downloads the file and uploads it; PSA never fetches anything at run time.

Two CSV layouts, each served by the ECB inside a zip holding that one file (both the zip and the CSV in it are
accepted here):

- Daily, `eurofxref.csv` (from eurofxref.zip): a header and one row, cells separated by ", " with a trailing
  ", " at the end of each line, the date written out in English::

      Date, USD, JPY, BGN, CZK, DKK, GBP, ..., ZAR,
      05 December 2026, 1.1645, 180.72, 1.9558, 24.251, 7.4689, 0.87365, ..., 20.0312,

- History, `eurofxref-hist.csv` (from eurofxref-hist.zip): a header and one row per publication day, newest
  first, ISO dates, no spaces, a trailing comma on every line (so the last cell is empty), and `N/A` where a
  currency has no rate that day (a currency that joined the euro or whose publication stopped: CYP, RUB, ...)::

      Date,USD,JPY,BGN,CYP,CZK,...,ZAR,
      2026-12-04,1.1645,180.72,1.9558,N/A,24.251,...,20.0312,

Every value is "1 EUR = x units of the column's currency", written with a decimal point and up to 6 places.
Both layouts are read by one reader: the header's first cell is `Date`, the other non-empty header cells are
ISO 4217 codes; a date is `YYYY-MM-DD` or `DD Month YYYY`; an empty cell or `N/A` is "no rate". Each data row is
checked on its own and every problem is reported with its line number; the import (psa.core.rates) decides what
to do with them.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from psa.core.dates import in_range
from psa.core.exceptions import ValidationFailed
from psa.core.uploads import MB, UploadLimit

# The history file (every day since 1999, ~1.9 MB) fits with room to grow; the daily file is one row.
ECB_UPLOAD_LIMIT = UploadLimit(kind="ecb", label="ECB reference-rate files", max_bytes=5 * MB, max_rows=20_000)

MISSING = {"", "N/A"}
_VALUE = re.compile(r"^\d{1,12}(\.\d{1,10})?$")
_CODE = re.compile(r"^[A-Z]{3}$")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
         "november", "december"],
        start=1,
    )
}  # fmt: skip
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WRITTEN_DATE = re.compile(r"^(\d{1,2}) ([A-Za-z]+) (\d{4})$")


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass(frozen=True)
class EcbRow:
    line: int
    day: date
    per_euro: dict[str, Decimal]  # currency -> units of it for one euro, only where the file has a value


@dataclass
class EcbFile:
    layout: str  # "daily" (written-out dates) or "history" (ISO dates)
    currencies: list[str]  # the currency columns of the header, in file order
    rows: list[EcbRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _not_ecb(reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"This is not an ECB reference-rate file ({reason}). Upload eurofxref.csv or eurofxref-hist.csv as the "
        "ECB publishes them (the zip or the CSV inside it).",
        fields={"file": [reason[0].upper() + reason[1:] + "."]},
    )


def _unzipped(content: bytes, limit: UploadLimit) -> bytes:
    """The CSV inside an ECB zip (exactly one .csv member), refused before reading when it would unpack past the
    limit (the size the zip declares for it) or when it does."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise _not_ecb("the zip file cannot be opened") from None
    with archive:
        members = [m for m in archive.infolist() if m.filename.lower().endswith(".csv")]
        if len(members) != 1:
            raise _not_ecb(f"the zip holds {len(members)} CSV files, the ECB's holds one")
        limit.check(members[0].file_size)
        with archive.open(members[0]) as member:
            data = member.read(limit.max_bytes + 1)
    limit.check(len(data))
    return data


def _day(text: str) -> date:
    """`2026-12-04` (history) or `04 December 2026` (daily); ValueError otherwise."""
    if match := _WRITTEN_DATE.match(text):
        day, month, year = match.groups()
        if month.lower() not in _MONTHS:
            raise ValueError(text)
        return date(int(year), _MONTHS[month.lower()], int(day))
    return datetime.strptime(text, "%Y-%m-%d").date()


def ecb_read(content: bytes, *, limit: UploadLimit = ECB_UPLOAD_LIMIT) -> EcbFile:
    """Read an ECB reference-rate file (zip or CSV, daily or history layout). A file that is not one at all (no
    `Date` column, not UTF-8, over the limit) is refused as a whole naming the problem; a bad data row (a date
    or value that cannot be read, a date given twice, more cells than columns) is listed in `problems` with its
    line number, and the rows around it are still read."""
    limit.check(len(content))
    if content[:4] == b"PK\x03\x04":
        content = _unzipped(content, limit)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _not_ecb("the file is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise _not_ecb("the file is empty") from None
    header = [cell.strip() for cell in header]
    if not header or header[0].lower() != "date":
        raise _not_ecb("the first column is not 'Date'")
    while header and not header[-1]:
        header.pop()  # the trailing comma of every ECB line
    currencies = header[1:]
    bad = [c for c in currencies if not _CODE.match(c)]
    if bad:
        raise _not_ecb(f"the header has {', '.join(repr(c) for c in bad[:5])} where currency codes belong")
    if len(set(currencies)) != len(currencies):
        raise _not_ecb("a currency column appears twice")
    if not currencies:
        raise _not_ecb("the header names no currency")
    parsed = EcbFile(layout="history", currencies=currencies)
    seen: dict[date, int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.problems.append(Problem(reader.line_num, f"the line cannot be read ({exc})"))
            continue
        line = reader.line_num
        cells = [cell.strip() for cell in cells]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        if limit.max_rows and len(seen) >= limit.max_rows:
            raise ValidationFailed(
                f"At most {limit.max_rows:,} dates per file ({limit.label}); split it.",
                fields={"file": [f"At most {limit.max_rows:,} dates."]},
            )
        row = _row(line, cells, currencies, parsed)
        if row is None:
            continue
        if row.day in seen:
            parsed.problems.append(Problem(line, f"{row.day:%Y-%m-%d} is already on line {seen[row.day]}"))
            continue
        seen[row.day] = line
        parsed.rows.append(row)
    return parsed


def _row(line: int, cells: list[str], currencies: list[str], parsed: EcbFile) -> EcbRow | None:
    """One data row, or None with its problems added to `parsed`."""
    try:
        day = _day(cells[0])
    except ValueError:
        parsed.problems.append(Problem(line, f"'{cells[0][:40]}' is not a date (YYYY-MM-DD or 05 December 2026)"))
        return None
    if not in_range(day):
        parsed.problems.append(Problem(line, f"{day:%Y-%m-%d} is outside the years PSA handles"))
        return None
    if not _ISO_DATE.match(cells[0]):
        parsed.layout = "daily"
    if len(cells) > len(currencies) + 1:
        parsed.problems.append(
            Problem(line, f"{len(cells) - 1} values for {len(currencies)} currency columns in the header")
        )
        return None
    values: dict[str, Decimal] = {}
    errors: list[str] = []
    for currency, cell in zip(currencies, cells[1:], strict=False):
        if cell.upper() in MISSING:
            continue
        if not _VALUE.match(cell) or Decimal(cell) == 0:
            errors.append(f"{currency} '{cell[:40]}' is not a rate (a positive number such as 1.1645, or N/A)")
            continue
        values[currency] = Decimal(cell)
    if errors:
        parsed.problems.append(Problem(line, "; ".join(errors)))
        return None
    return EcbRow(line=line, day=day, per_euro=values)
