"""What every CSV import shares: reading the file, reading amounts, the per-row report, and the two-step upload
of the import pages (upload -> dry-run report -> confirm the same file).

The dry run keeps the checked file on the server (ImportUpload, one per user and kind, gone after a day) and the
confirmation names it by its digest, so the import writes exactly what the dry run checked whatever the file's
size (a hidden base64 copy of the file made every confirmation over 1.9 MB exceed Django's request body limit).
The app supplies the service call.
"""

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from openpyxl import load_workbook  # type: ignore[import-untyped]

from psa.core.exceptions import DomainError, ValidationFailed
from psa.core.forms import form_apply_domain_error
from psa.core.models import ImportUpload
from psa.core.uploads import UploadLimit

ROW = "_row"  # each row dict's own row number in the file (the header is row 1; blank rows count)


# --- the per-row report ----------------------------------------------------------------------------------
@dataclass
class RowResult:
    row: int
    name: str
    external_id: str
    action: str  # "create", "update", "unchanged" or "error"
    reason: str = ""
    rule: str = ""  # the short name of the rule an error row breaks (go-live imports name it)


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)  # how the file was read, carried to the confirmation
    notes: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def created(self) -> int:
        return self.count("create")

    @property
    def updated(self) -> int:
        return self.count("update")

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")


# --- reading the file ------------------------------------------------------------------------------------
def _key(header: str) -> str:
    return "_".join(header.strip().lower().replace("-", " ").replace("_", " ").split())


def _records(reader) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of each record, the header being row 1; a record the csv module cannot read (a cell
    over its field limit, a NUL byte, a stray quote) is refused naming its row."""
    number = 0
    while True:
        number += 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationFailed(
                f"Row {number} cannot be read: {_csv_problem(exc)}.",
                fields={"file": [f"Row {number}: {_csv_problem(exc)}."]},
            ) from None
        yield number, values


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field limit" in text:
        return f"a cell is longer than {csv.field_size_limit():,} characters"
    return text


def csv_rows(
    content: str | bytes, *, aliases: dict[str, str], required: str | tuple[str, ...], limit: UploadLimit
) -> list[dict]:
    """The rows of a CSV file (UTF-8, comma, semicolon or tab) as dicts keyed by canonical column names.

    Headers are matched loosely (case, spaces, underscores, dashes) through `aliases`; unknown columns are
    ignored; blank rows skipped; `row[ROW]` is the row's number in the file. A file over the `limit` (bytes or
    rows), without the `required` columns, empty, not UTF-8 or with a record the csv module cannot read is
    refused naming the problem (and the row)."""
    limit.check(len(content) if isinstance(content, bytes) else len(content.encode()))
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed("The file is not UTF-8 text.", fields={"file": ["Save the CSV as UTF-8."]}) from None
    content = content.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(content[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(content), dialect)
    return _table(_records(reader), aliases=aliases, required=required, limit=limit)


XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx file is a zip archive


def is_xlsx(content: bytes, name: str = "") -> bool:
    return name.lower().endswith(".xlsx") or (isinstance(content, bytes) and content[:4] == XLSX_MAGIC)


def xlsx_rows(
    content: bytes, *, aliases: dict[str, str], required: str | tuple[str, ...], limit: UploadLimit
) -> list[dict]:
    """The rows of the first sheet of an XLSX workbook, read exactly as csv_rows reads a CSV file (same header
    matching, blank rows, row numbers and limits). Numbers become their decimal text (1234.5 -> "1234.5"),
    dates ISO text (2026-01-31); formulas are read as the value Excel last calculated."""
    limit.check(len(content))
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises zipfile, KeyError and its own errors for a damaged file
        raise ValidationFailed(
            "The file is not an XLSX workbook that can be read.",
            fields={"file": ["Save it again as .xlsx or as UTF-8 CSV."]},
        ) from None
    try:
        sheet = book.worksheets[0]
        records = [
            (number, [_xlsx_text(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()
    return _table(iter(records), aliases=aliases, required=required, limit=limit)


def _xlsx_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float: 0.1 stays "0.1", not 0.1000000000000000055
        return format(Decimal(repr(value)), "f")
    return str(value)


def table_rows(
    content: bytes,
    *,
    aliases: dict[str, str],
    required: str | tuple[str, ...],
    limit: UploadLimit,
    file_name: str = "",
) -> list[dict]:
    """The rows of a CSV or XLSX file (told apart by its name or its first bytes), through the same reader."""
    reader = xlsx_rows if is_xlsx(content, file_name) else csv_rows
    return reader(content, aliases=aliases, required=required, limit=limit)


def _table(
    records: Iterator[tuple[int, list[str]]],
    *,
    aliases: dict[str, str],
    required: str | tuple[str, ...],
    limit: UploadLimit,
) -> list[dict]:
    try:
        _, header = next(records)
    except StopIteration:
        raise ValidationFailed("The file is empty.", fields={"file": ["No header row."]}) from None
    columns = [aliases.get(_key(h), "") for h in header]
    needed = (required,) if isinstance(required, str) else required
    missing = [c for c in needed if c not in columns]
    if missing:
        names = ", ".join(f"'{c}'" for c in missing)
        raise ValidationFailed(
            f"The file has no {names} column{'s' if len(missing) > 1 else ''}.",
            fields={"file": [f"A '{c}' column is required." for c in missing]},
        )
    rows: list[dict] = []
    for number, values in records:
        if not any(v.strip() for v in values):
            continue
        row: dict[str, str | int] = {c: v.strip() for c, v in zip(columns, values, strict=False) if c}
        row[ROW] = number
        rows.append(row)
        if limit.max_rows and len(rows) > limit.max_rows:
            raise ValidationFailed(
                f"At most {limit.max_rows:,} rows per file ({limit.label}); split it.",
                fields={"file": [f"At most {limit.max_rows:,} rows."]},
            )
    return rows


def header_key(header: str) -> str:
    """A header as the readers match it: lower case, words joined by single underscores."""
    return _key(header)


def max_lengths(model, columns: dict[str, str]) -> dict[str, int]:
    """Column -> the max_length of the model field it lands in, for the columns whose field has one."""
    lengths = {}
    for column, name in columns.items():
        if length := model._meta.get_field(name).max_length:
            lengths[column] = length
    return lengths


def too_long(row: dict, lengths: dict[str, int]) -> list[str]:
    """A problem per cell longer than its column allows (values are refused, never cut short)."""
    return [
        f"column '{column}' has {len(row[column]):,} characters, at most {length:,}"
        for column, length in lengths.items()
        if len(row.get(column, "")) > length
    ]


# --- reading amounts -------------------------------------------------------------------------------------
DECIMAL_CONVENTIONS = {
    "auto": "Detect from the file",
    "point": "1,234.56 (decimal point)",
    "comma": "1.234,56 (decimal comma)",
}
_EXAMPLE = {"point": "1,234.56", "comma": "1.234,56"}
_SEPARATORS = {"point": (".", ","), "comma": (",", ".")}  # decimal, thousands
_GROUPING = str.maketrans("", "", " '\u00a0\u202f")  # spaces and apostrophes group digits in either convention
_SHAPES = {
    conv: re.compile(rf"^[+-]?(\d{{1,3}}(\{group}\d{{3}})+|\d+)(\{dec}\d+)?$")
    for conv, (dec, group) in _SEPARATORS.items()
}


def _cell_convention(text: str) -> str | None:
    """ "point" or "comma" when the cell alone shows its decimal separator; "" when it has no separator (any
    convention reads it the same); None when it could be either (one separator followed by three digits)."""
    text = text.translate(_GROUPING).lstrip("+-")
    dots, commas = text.count("."), text.count(",")
    if not dots and not commas:
        return ""
    if dots and commas:
        return "point" if text.rfind(".") > text.rfind(",") else "comma"
    sep = "." if dots else ","
    own, other = ("point", "comma") if sep == "." else ("comma", "point")
    if text.count(sep) > 1:
        return other  # repeated, so it groups thousands
    whole, _, fraction = text.partition(sep)
    if len(fraction) != 3 or len(whole) > 3 or whole in ("", "0"):
        return own  # cannot be a thousands separator
    return None


@dataclass
class AmountReader:
    """Reads a file's amount cells by its declared convention, or by the one its unambiguous cells show.

    A cell that could be read both ways (`1,234`) is refused unless the file's other cells or the declared
    convention decide it; a file whose cells show both conventions is refused cell by cell."""

    convention: str | None  # "point", "comma", or None when undecided
    evidence: dict[str, int] = field(default_factory=dict)  # convention -> first row that shows it
    declared: bool = False

    @classmethod
    def for_cells(cls, declared: str, cells: Iterable[tuple[int, str]]) -> "AmountReader":
        if declared not in DECIMAL_CONVENTIONS:
            raise ValidationFailed(
                "Unknown decimal convention.", fields={"decimal": [f"One of {', '.join(DECIMAL_CONVENTIONS)}."]}
            )
        if declared != "auto":
            return cls(convention=declared, declared=True)
        evidence: dict[str, int] = {}
        for row, text in cells:
            shown = _cell_convention(text)
            if shown:
                evidence.setdefault(shown, row)
        return cls(convention=next(iter(evidence)) if len(evidence) == 1 else None, evidence=evidence)

    @property
    def mixed(self) -> bool:
        return len(self.evidence) > 1

    def describe(self) -> str:
        if self.convention is None:
            return ""
        how = "as declared" if self.declared else f"as row {self.evidence[self.convention]} shows"
        return f"Amounts are read as {_EXAMPLE[self.convention]} ({how})."

    def read(self, text: str) -> Decimal:
        """The cell's value; ValueError naming the problem when it cannot be read for certain."""
        convention = self.convention
        if convention is None:
            shown = _cell_convention(text)
            if shown and self.mixed:
                rows = " and ".join(f"{_EXAMPLE[c]} (row {r})" for c, r in sorted(self.evidence.items()))
                raise ValueError(f"the file writes amounts both as {rows}: choose its decimal convention")
            if shown is None:
                raise ValueError(
                    f"amount '{text}' could be read either way (no other row shows the file's decimal "
                    "convention): choose the convention"
                )
            convention = shown or "point"
        compact = text.translate(_GROUPING)
        if not _SHAPES[convention].match(compact):
            raise ValueError(f"amount '{text}' is not an amount written as {_EXAMPLE[convention]}")
        decimal, group = _SEPARATORS[convention]
        try:
            return Decimal(compact.replace(group, "").replace(decimal, "."))
        except InvalidOperation:
            raise ValueError(f"amount '{text}' is not a number") from None


# --- the two-step upload of the import pages -------------------------------------------------------------
STAGED_FOR = timedelta(days=1)


@dataclass
class ImportStep:
    report: object = None
    payload: str = ""  # what the confirmation posts back: the checked file's digest
    done: bool = False


def _stage(*, user, kind: str, content: bytes) -> str:
    """Keep the checked file for its user's confirmation; the user's previous file of this kind and every file
    older than STAGED_FOR go."""
    digest = hashlib.sha256(content).hexdigest()
    ImportUpload.objects.filter(created_at__lt=timezone.now() - STAGED_FOR).delete()
    # One upsert, so two dry runs of the same user and kind at once cannot collide on the unique index.
    ImportUpload.objects.bulk_create(
        [ImportUpload(user=user, kind=kind, digest=digest, content=content, created_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["user", "kind"],
        update_fields=["digest", "content", "created_at"],
    )
    return digest


def csv_import_step(request, form, run: Callable[[bytes, bool], object], *, limit: UploadLimit) -> ImportStep:
    """Do what this request asks: `run(content, dry_run)` returns the service's report. The dry run keeps the
    file on the server (ImportUpload); the confirmation names it by digest, so it works for every file the form
    accepts and only for the user who checked it. Errors (a bad file, a refused import) land on the form."""
    step = ImportStep()
    if request.method != "POST":
        return step
    if request.POST.get("confirm") and request.POST.get("payload"):
        staged = ImportUpload.objects.filter(
            user=request.user,
            kind=limit.kind,
            digest=request.POST["payload"],
            created_at__gte=timezone.now() - STAGED_FOR,
        ).first()
        if staged is None:
            form.add_error(
                None,
                "The checked file is no longer waiting (it was imported, replaced by another file, or checked "
                "more than a day ago); upload the file again.",
            )
            return step
        try:
            step.report = run(bytes(staged.content), False)
        except DomainError as exc:
            form_apply_domain_error(form, exc)
            return step
        staged.delete()
        step.done = True
        return step
    if not form.is_valid():
        return step
    upload = form.cleaned_data["file"]
    if upload.size > limit.max_bytes:
        form.add_error("file", limit.too_large().message)
        return step
    content = upload.read()
    try:
        step.report = run(content, True)
    except DomainError as exc:
        form_apply_domain_error(form, exc)
        return step
    step.payload = _stage(user=request.user, kind=limit.kind, content=content)
    return step
