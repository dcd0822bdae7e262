"""Bulk import of historical journal entries: `journal_lines_import`, set-based, every ledger rule kept.

A firm moving in brings years of journal history (a million lines is ordinary). Posting them one `entry_post`
call at a time costs a round trip and a validation per entry; this path streams the entries into two temporary
staging tables with COPY, checks every rule over the whole batch in SQL, and writes the entries and the lines with
one INSERT ... SELECT each, in the caller's transaction (or its own). All or nothing: any problem refuses the
whole import, naming each entry (by its reference) and the rule, and nothing is written.

    imported = journal_lines_import(
        entity=entity, source="datev-2025", by=user,
        entries=[ImportEntry(date=..., memo="Invoice 4711", reference="EB-2025-0001",
                             lines=(LineSpec("1100", debit=...), LineSpec("4000", credit=...)))],
    )

The rules are those of `entry_post` (ledger.services.posting), checked set-based:
- each entry has a date, a memo (at most 300 characters) and a reference unique within the import; the entry's
  idempotency key is `import:<source>:<reference>`, so importing the same source twice is refused (409) instead
  of doubling the history;
- at least two lines, each on an account of the chart that is active, with exactly one positive side in whole
  cents; clients and projects exist, a project belongs to the line's client (a line without a client takes its
  project's); debits equal credits (and, in one foreign currency, its amounts balance too);
- the date lies in an accounting period OPEN for the entity. History goes into closed months by importing it
  while its months are still open and closing them afterwards, in order, with `period_close`, which writes the
  stored balances from the imported lines exactly as for posted ones. The import never writes into a month
  closed for the entity: the stored balances of a closed month (and every later one) would be wrong, and the
  database trigger refuses it anyway. A date no period covers is refused too (create the periods first).
- numbers come from the entity's gapless journal series: the counter of each year moves once by the number of
  entries of that year (its row stays locked until commit, as for a single posting), and the entries take the
  numbers in date order, after every number already given.

Control accounts (receivables, tax, contract positions) take imported lines: the history is the old system's
postings, imported by finance, not a manual entry. The database triggers (open period per entity, a line repeats
its entry's date/period/entity, entries balance at commit, immutability) and foreign keys fire for every row
written here as for any posting: the import adds checks, it never sets one aside.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import connection, transaction

from crm.models import Account as Client
from ledger import sql
from ledger.choices import JOURNAL_SERIES, EntryOrigin
from ledger.models import AccountingPeriod, JournalEntry, JournalLine, LedgerAccount, PeriodClose
from ledger.services.posting import MAX_AMOUNT, LineSpec
from projects.models import Project
from psa.core.audit import audit_record
from psa.core.currency import functional_currency, minor_unit
from psa.core.exceptions import ConflictError, PermissionDeniedError, ValidationFailed
from psa.core.models import LegalEntity, NumberSeries
from psa.core.money import to_decimal
from psa.core.roles import Role, has_role

MAX_PROBLEMS = 50  # named in the refusal; the count says how many there were in all


@dataclass(frozen=True)
class ImportEntry:
    """One historical entry: its date, description, the old system's reference (unique within the import) and
    its lines (`LineSpec`: account code, debit or credit, client and project ids, memo, transaction currency)."""

    date: date
    memo: str
    reference: str
    lines: Sequence[LineSpec] = field(default_factory=tuple)


ENTRY_STAGE = "ledger_import_entry"
LINE_STAGE = "ledger_import_line"
# Dropped first: a second import in the same transaction (nothing committed in between) stages afresh.
STAGE_DDL = f"""
DROP TABLE IF EXISTS pg_temp.{ENTRY_STAGE}, pg_temp.{LINE_STAGE};
CREATE TEMPORARY TABLE {ENTRY_STAGE} (
  seq integer PRIMARY KEY, reference text, key text, date date, memo text, entry_id bigint, period_id bigint
) ON COMMIT DROP;
CREATE TEMPORARY TABLE {LINE_STAGE} (
  seq integer, line_no integer, code text, debit numeric, credit numeric, client_id bigint, project_id bigint,
  memo text, currency text, amount_currency numeric, rate numeric
) ON COMMIT DROP;
"""


def _amount(value: object, problems: list[tuple[int, str]], seq: int, what: str) -> Decimal:
    """A line amount as Decimal (None or "" is 0); a value that is no number is a problem of the entry."""
    if type(value) is Decimal:
        return value
    if value is None or value == "":
        return Decimal(0)
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError):
        problems.append((seq, f"{what} {value!r} is not an amount."))
        return Decimal(0)
    if not amount.is_finite():
        problems.append((seq, f"{what} {value!r} is not a finite amount."))
        return Decimal(0)
    return amount


def _stage(entries: Iterable[ImportEntry], *, key_prefix: str, functional: str) -> tuple[dict, list]:
    """COPY the entries and lines into the staging tables. Returns (seq -> (reference, date)), the problems found
    while reading (a date that is no date, an amount that is no number, a foreign line without its amount)."""
    heads: list[tuple] = []
    problems: list[tuple[int, str]] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            f"COPY {LINE_STAGE} (seq, line_no, code, debit, credit, client_id, project_id, memo, currency, "
            "amount_currency, rate) FROM STDIN"
        ) as copy:
            for seq, entry in enumerate(entries, start=1):
                reference = str(entry.reference or "").strip()
                day: date | None = entry.date
                if type(day) is not date:
                    problems.append((seq, "The entry needs a date."))
                    day = None
                heads.append((seq, reference, key_prefix + reference, day, (entry.memo or "").strip()))
                for line_no, line in enumerate(entry.lines, start=1):
                    debit = _amount(line.debit, problems, seq, f"Line {line_no}: the debit")
                    credit = _amount(line.credit, problems, seq, f"Line {line_no}: the credit")
                    currency = (line.currency or functional).upper()
                    foreign = currency != functional
                    amount_currency = None
                    if line.amount_currency is not None:
                        what = f"Line {line_no}: the amount in {currency}"
                        amount_currency = _amount(line.amount_currency, problems, seq, what)
                    elif foreign:
                        problems.append((seq, f"Line {line_no}: enter the amount in {currency}."))
                    rate = _amount(line.rate, problems, seq, f"Line {line_no}: the rate") if foreign else 1
                    copy.write_row((seq, line_no, str(line.account), debit, credit, line.client_id, line.project_id,
                                    line.memo or "", currency, amount_currency, rate))  # fmt: skip
        with raw.copy(f"COPY {ENTRY_STAGE} (seq, reference, key, date, memo) FROM STDIN") as copy:
            for row in heads:
                copy.write_row(row)
        cursor.execute(f"ANALYZE {ENTRY_STAGE}")
        cursor.execute(f"ANALYZE {LINE_STAGE}")
    names = {row[0]: (row[1], row[3]) for row in heads}
    return names, problems


def _problems_sql(*, entity_id: int, functional: str, currencies: dict[str, int]) -> tuple[str, list]:
    """One query listing (seq, message) for every rule an entry breaks, first problems first."""
    e, ln = ENTRY_STAGE, LINE_STAGE
    period, close, entry_table = (
        AccountingPeriod._meta.db_table,
        PeriodClose._meta.db_table,
        JournalEntry._meta.db_table,
    )
    account, client, project = LedgerAccount._meta.db_table, Client._meta.db_table, Project._meta.db_table
    digits = list(currencies.items()) or [(functional, 2)]
    currency_values = ", ".join(["(%s, %s)"] * len(digits))
    params: list = [v for pair in digits for v in pair]
    query = f"""
WITH minor(currency, digits) AS (VALUES {currency_values}),
problems(seq, line_no, message) AS (
  SELECT seq, 0, 'The reference is missing.' FROM {e} WHERE reference = ''
  UNION ALL SELECT seq, 0, 'The reference is longer than the journal keeps (' || length(key) || ' characters with '
    || 'the source; at most 255).' FROM {e} WHERE length(key) > 255
  UNION ALL SELECT seq, 0, 'The reference ' || reference || ' appears more than once in the import.'
    FROM (SELECT seq, reference, count(*) OVER (PARTITION BY reference) AS n FROM {e} WHERE reference <> '') d
    WHERE n > 1
  UNION ALL SELECT seq, 0, 'Say what the entry is for (the description is empty).' FROM {e} WHERE memo = ''
  UNION ALL SELECT seq, 0, 'The description is longer than 300 characters.' FROM {e} WHERE length(memo) > 300
  UNION ALL SELECT e.seq, 0, 'No accounting period covers ' || e.date || ': create the periods first.'
    FROM {e} e WHERE e.date IS NOT NULL AND e.period_id IS NULL
  UNION ALL SELECT e.seq, 0, 'The period ' || to_char(p.start, 'YYYY-MM') || ' is closed for this entity: import '
    || 'history while its months are open, then close them in order.'
    FROM {e} e JOIN {period} p ON p.id = e.period_id
    WHERE EXISTS (SELECT 1 FROM {close} c WHERE c.period_id = p.id AND c.entity_id = %s)
  UNION ALL SELECT e.seq, 0, 'Already imported: the journal holds ' || j.number || ' with this reference.'
    FROM {e} e JOIN {entry_table} j ON j.idempotency_key = e.key
  UNION ALL SELECT e.seq, 0, 'An entry needs at least two lines (a debit and a credit).'
    FROM {e} e LEFT JOIN (SELECT seq, count(*) AS n FROM {ln} GROUP BY seq) c ON c.seq = e.seq
    WHERE COALESCE(c.n, 0) < 2
  UNION ALL SELECT seq, 0, 'Debits (' || to_char(d, 'FM999,999,999,999,990.00') || ') and credits ('
    || to_char(c, 'FM999,999,999,999,990.00') || ') differ by ' || to_char(abs(d - c), 'FM999,999,999,999,990.00')
    || ': an entry must balance.'
    FROM (SELECT seq, sum(debit) AS d, sum(credit) AS c FROM {ln} GROUP BY seq) s WHERE d <> c
  UNION ALL SELECT seq, 0, 'In ' || currency || ' the debits and credits differ: an entry in one currency '
    || 'balances in it.'
    FROM (SELECT seq, min(currency) AS currency,
            sum(CASE WHEN debit > 0 THEN amount_currency ELSE 0 END) AS d,
            sum(CASE WHEN credit > 0 THEN amount_currency ELSE 0 END) AS c
          FROM {ln} GROUP BY seq
          HAVING count(DISTINCT currency) = 1 AND min(currency) <> %s AND bool_and(amount_currency > 0)) s
    WHERE d <> c
  UNION ALL SELECT l.seq, l.line_no, CASE
      WHEN a.id IS NULL THEN 'No account with code ''' || l.code || ''' in the chart of accounts.'
      ELSE 'Account ' || a.code || ' ' || a.name || ' is inactive; reactivate it or map the line to another.' END
    FROM {ln} l LEFT JOIN {account} a ON a.code = l.code WHERE a.id IS NULL OR NOT a.is_active
  UNION ALL SELECT seq, line_no, CASE
      WHEN debit < 0 OR credit < 0 THEN 'Amounts are positive; a credit goes in the credit column.'
      WHEN (debit > 0) = (credit > 0) THEN 'Each line has either a debit or a credit, greater than zero.'
      WHEN debit <> round(debit, 2) OR credit <> round(credit, 2) THEN 'Amounts are whole cents.'
      ELSE 'This amount is too large.' END
    FROM {ln} WHERE debit < 0 OR credit < 0 OR (debit > 0) = (credit > 0) OR debit <> round(debit, 2)
      OR credit <> round(credit, 2) OR greatest(debit, credit) > %s
  UNION ALL SELECT l.seq, l.line_no, CASE
      WHEN m.currency IS NULL THEN 'Unknown currency ' || l.currency || '.'
      WHEN l.amount_currency < 0 THEN 'The amount in ' || l.currency || ' is on the line''s side: positive, or 0 '
        || 'for an exchange difference.'
      WHEN l.amount_currency <> round(l.amount_currency, m.digits) THEN l.currency || ' amounts have '
        || m.digits || ' decimal places at most.'
      WHEN l.currency = %s AND l.amount_currency <> l.debit + l.credit THEN 'A line in ' || l.currency
        || ' has one amount; leave the amount in the currency out.'
      ELSE 'An exchange rate is greater than zero.' END
    FROM {ln} l LEFT JOIN minor m ON m.currency = l.currency
    WHERE m.currency IS NULL OR l.amount_currency < 0 OR l.amount_currency <> round(l.amount_currency, m.digits)
      OR (l.currency = %s AND l.amount_currency IS NOT NULL AND l.amount_currency <> l.debit + l.credit)
      OR l.rate IS NULL OR l.rate <= 0
  UNION ALL SELECT seq, line_no, 'The memo is longer than 200 characters.' FROM {ln} WHERE length(memo) > 200
  UNION ALL SELECT l.seq, l.line_no, CASE
      WHEN l.project_id IS NOT NULL AND p.id IS NULL THEN 'No project with id ' || l.project_id || '.'
      WHEN l.project_id IS NOT NULL THEN 'Project ' || p.code || ' belongs to another client.'
      ELSE 'No client with id ' || l.client_id || '.' END
    FROM {ln} l LEFT JOIN {project} p ON p.id = l.project_id
    WHERE (l.project_id IS NOT NULL AND (p.id IS NULL OR (l.client_id IS NOT NULL AND p.account_id <> l.client_id)))
      OR (l.client_id IS NOT NULL AND l.project_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM {client} c WHERE c.id = l.client_id))
)
SELECT seq, line_no, message, count(*) OVER () FROM problems ORDER BY seq, line_no LIMIT {MAX_PROBLEMS}
"""
    params += [entity_id, functional, MAX_AMOUNT, functional, functional]
    return query, params


def _refuse(problems: list[tuple[int, int, str]], total: int, names: dict) -> None:
    messages = []
    for seq, line_no, message in problems[:MAX_PROBLEMS]:
        reference, day = names.get(seq, ("", None))
        where = f"Entry {reference or '#' + str(seq)}" + (f" ({day:%Y-%m-%d})" if day else "")
        messages.append(f"{where}{f', line {line_no}' if line_no else ''}: {message}")
    more = f" ({total} problems in all; the first {len(messages)} are listed)" if total > len(messages) else ""
    raise ValidationFailed(
        f"The import was refused, nothing was written: {messages[0]}{more}",
        fields={"entries": messages},
        code="import_refused",
    )


def _currencies(functional: str) -> dict[str, int]:
    """The minor units of the currencies in the staged lines (unknown ones are left out: the check names them)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT currency FROM {LINE_STAGE}")
        found = {row[0] for row in cursor.fetchall()} | {functional}
    digits = {}
    for currency in found:
        try:
            digits[currency] = minor_unit(currency)
        except ValidationFailed:
            continue
    return digits


def _number_ranges(series: str) -> dict[int, int]:
    """Move each year's counter of `series` on by the import's entries of that year in one statement (the rows stay
    locked until commit, as for one posting); returns year -> the first number the import takes."""
    table = NumberSeries._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH counts AS (SELECT extract(year FROM date)::integer AS year, count(*)::integer AS n "
            f"FROM {ENTRY_STAGE} GROUP BY 1) "
            f"INSERT INTO {table} (series, year, last) SELECT %s, year, n FROM counts ORDER BY year "
            f"ON CONFLICT (series, year) DO UPDATE SET last = {table}.last + EXCLUDED.last "
            f"RETURNING year, last, last - (SELECT n FROM counts WHERE counts.year = {table}.year) + 1",
            [series],
        )
        return {year: first for year, _last, first in cursor.fetchall()}


def _write(*, entity_id: int, series: str, source: str, by: User | None, firsts: dict[int, int]) -> int:
    """Insert the entries (numbered by date within each year) and then their lines: one statement each."""
    entry_table, line_table = JournalEntry._meta.db_table, JournalLine._meta.db_table
    years, starts = list(firsts), [firsts[y] for y in firsts]
    posted_by = by.pk if by is not None and by.is_authenticated else None
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH firsts AS (SELECT * FROM unnest(%s::integer[], %s::bigint[]) AS f(year, first)), "
            f"numbered AS (SELECT e.*, f.first + row_number() OVER (PARTITION BY f.year ORDER BY e.date, e.seq) - 1 "
            f"AS value, f.year FROM {ENTRY_STAGE} e JOIN firsts f ON f.year = extract(year FROM e.date)::integer), "
            f"totals AS (SELECT seq, sum(debit) AS total FROM {LINE_STAGE} GROUP BY seq), "
            f"ins AS (INSERT INTO {entry_table} (number, date, period_id, memo, source, origin, idempotency_key, "
            "spec_hash, total, posted_at, posted_by_id, entity_id) "
            "SELECT %s || '-' || n.year || '-' || lpad(n.value::text, greatest(6, length(n.value::text)), '0'), "
            "n.date, n.period_id, n.memo, %s, %s, n.key, '', t.total, now(), %s, %s "
            "FROM numbered n JOIN totals t ON t.seq = n.seq ORDER BY n.date, n.seq "
            "RETURNING id, idempotency_key) "
            f"UPDATE {ENTRY_STAGE} e SET entry_id = ins.id FROM ins WHERE ins.idempotency_key = e.key",
            [years, starts, series, source, EntryOrigin.SYSTEM.value, posted_by, entity_id],
        )
        cursor.execute(
            f"INSERT INTO {line_table} (entry_id, line_no, account_id, debit, credit, client_id, project_id, memo, "
            "date, period_id, entity_id, currency, amount_currency, rate) "
            "SELECT e.entry_id, l.line_no, a.id, l.debit, l.credit, COALESCE(l.client_id, p.account_id), "
            "l.project_id, l.memo, e.date, e.period_id, %s, l.currency, COALESCE(l.amount_currency, "
            "l.debit + l.credit), l.rate "
            f"FROM {LINE_STAGE} l JOIN {ENTRY_STAGE} e ON e.seq = l.seq "
            f"JOIN {LedgerAccount._meta.db_table} a ON a.code = l.code "
            f"LEFT JOIN {Project._meta.db_table} p ON p.id = l.project_id "
            "ORDER BY e.entry_id, l.line_no",
            [entity_id],
        )
        return cursor.rowcount


def journal_lines_import(
    *, entity: LegalEntity | int | None, entries: Iterable[ImportEntry], source: str, by: User | None
) -> int:
    """Import historical journal entries into the books of `entity` (None: the default entity) all or nothing,
    set-based (see the module's rules). `source` names the import (e.g. "datev-2025"; at most 80 characters) and
    goes on each entry (`import:<source>`); `by` is the finance user importing (None: the system). Returns the
    number of lines imported. Refuses with ValidationFailed naming each entry and rule, ConflictError when the
    source was imported already, PermissionDeniedError for a user who is not finance."""
    if connection.vendor != "postgresql":
        raise ConflictError("The bulk journal import needs PostgreSQL.", code="postgresql_required")
    if by is not None and not has_role(by, Role.FINANCE):
        raise PermissionDeniedError("Only finance imports journal history.")
    source = (source or "").strip()
    if not source or len(source) > 80:
        raise ValidationFailed(
            "Name the import's source (at most 80 characters), e.g. datev-2025.", fields={"source": ["Required."]}
        )
    entity_id = entity.pk if isinstance(entity, LegalEntity) else entity
    entity_id, prefix = sql.entity_series(entity_id)
    series = f"{prefix}-{JOURNAL_SERIES}" if prefix else JOURNAL_SERIES
    functional = functional_currency()
    key_prefix = f"import:{source}:"
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(STAGE_DDL)
        names, read_problems = _stage(entries, key_prefix=key_prefix, functional=functional)
        if not names:
            raise ValidationFailed("The import has no entries.", fields={"entries": ["Empty."]})
        if read_problems:
            _refuse([(seq, 0, message) for seq, message in read_problems], len(read_problems), names)
        period_table = AccountingPeriod._meta.db_table
        with connection.cursor() as cursor:
            # The months the history goes into, locked FOR SHARE (as each posting does) so a close waits for the
            # import and then includes it; each entry learns its month.
            cursor.execute(
                f'WITH months AS (SELECT id, start, "end" FROM {period_table} p WHERE EXISTS (SELECT 1 FROM '
                f'{ENTRY_STAGE} e WHERE e.date BETWEEN p.start AND p."end") ORDER BY start FOR SHARE) '
                f'UPDATE {ENTRY_STAGE} e SET period_id = m.id FROM months m WHERE e.date BETWEEN m.start AND m."end"'
            )
            currencies = _currencies(functional)
            query, params = _problems_sql(entity_id=entity_id, functional=functional, currencies=currencies)
            cursor.execute(query, params)
            problems = cursor.fetchall()
        if problems:
            already = [p for p in problems if p[2].startswith("Already imported")]
            if len(already) == len(problems):
                raise ConflictError(
                    f"The source {source} was imported already ({already[0][2][len('Already imported: ') :]}).",
                    fields={"source": ["Imported already."]},
                    code="already_imported",
                )
            _refuse([(seq, line_no, message) for seq, line_no, message, _n in problems], problems[0][3], names)
        firsts = _number_ranges(series)
        written = _write(entity_id=entity_id, series=series, source=f"import:{source}", by=by, firsts=firsts)
        if by is not None:
            audit_record(
                actor=by,
                action="ledger.journal_import",
                object_type="ledger.journalentry",
                object_id=f"import:{source}",
                summary=f"Imported {len(names):,} journal entries ({written:,} lines) from {source}",
                data={"source": source, "entries": len(names), "lines": written, "entity": entity_id},
            )
    return written
