"""The posting engine: `entry_post` and `entry_reverse`.

How a higher layer posts (billing, revenue recognition, payments)::

    entry = entry_post(spec=EntrySpec(date=..., memo=..., source="invoice:42", lines=(LineSpec(...), ...)),
                       key="invoice:42:issue")

- `spec` is an `EntrySpec`: a date, a memo, a source reference, optional `auto_reverse_on`, and two or more
  `LineSpec` (account code, a debit or a credit as Decimal, optional client and project ids, memo).
- Two currencies: a line's debit or credit is its functional amount. A line in another currency also names
  `currency`, `amount_currency` (same side, in that currency's minor unit) and `rate`; build it with `fx_line`,
  which converts at a `psa.core.fx.Rate`. An exchange-difference line has `amount_currency` 0. The entry balances
  in the functional currency, and in the transaction currency too when every line shares one foreign currency.
- Look account codes up by role with `ledger.services.account_code_for(SystemAccount.RECEIVABLE)`.
- `key` is the idempotency key (unique across the journal): posting the same key and the same spec again
  returns the entry already posted; the same key with a different spec raises `IdempotencyConflict` (409).
- `by` is the user posting by hand (manual entries, the API); leave it out when the system posts. Control
  accounts (receivables, tax, contract positions) accept system postings only.
- `catch_up=True` moves an entry dated in a closed period to the first open period after it (dated that
  period's first day, the asked-for date kept in `requested_date`); without it a closed period is a
  `PeriodClosed` error (409). A date no period covers is refused either way (create periods ahead first).
- `entries_post(items=[(spec, key), ...])` posts many system entries the same way with the look-ups shared by the
  batch (month-end runs: one entry per project, one statement each).
- The number comes from the gapless `JE` series inside the same transaction; nothing is half-posted. Call it
  inside your own transaction to post together with your document (the invoice and its entry commit or
  roll back together).
"""

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from datetime import date as Date  # the name `date` is also a field of EntrySpec
from decimal import Decimal
from typing import Any, NamedTuple, cast

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm.models import Account as Client
from ledger import sql
from ledger.choices import JOURNAL_SERIES, EntryOrigin
from ledger.models import AccountingPeriod, JournalEntry, JournalLine, LedgerAccount
from projects.models import Project
from psa.core.audit import audit_record
from psa.core.currency import functional_currency, minor_unit, quantum
from psa.core.entities import cutover_refuse
from psa.core.exceptions import ConflictError, IdempotencyConflict, NotFoundError, PeriodClosed, ValidationFailed
from psa.core.fx import Rate, convert
from psa.core.money import CENT, ZERO, DecimalInput, to_decimal
from psa.core.numbering import number_next

MAX_AMOUNT = Decimal("9999999999999999.99")


@dataclass(frozen=True)
class LineSpec:
    """One line to post: an account code and exactly one positive side."""

    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    client_id: int | None = None
    project_id: int | None = None
    memo: str = ""
    currency: str = ""  # the transaction currency; "" is the functional currency
    amount_currency: Decimal | None = None  # in `currency`, on the line's side; None: the functional amount
    rate: Decimal | None = None  # functional units per unit of `currency`

    @property
    def foreign(self) -> bool:
        return bool(self.currency) and self.currency != functional_currency()


def fx_line(
    account: str,
    *,
    rate: Rate,
    debit: Decimal = ZERO,
    credit: Decimal = ZERO,
    functional: Decimal | None = None,
    client_id: int | None = None,
    project_id: int | None = None,
    memo: str = "",
) -> LineSpec:
    """A line of `debit` or `credit` in `rate.currency`, its functional amount converted at `rate` (or
    `functional` when the caller allocated it, e.g. the remainder of a settlement)."""
    amount = debit or credit
    value = functional if functional is not None else convert(amount=amount, rate=rate)
    return LineSpec(
        account,
        debit=value if debit else ZERO,
        credit=value if credit else ZERO,
        client_id=client_id,
        project_id=project_id,
        memo=memo,
        currency=rate.currency,
        amount_currency=amount,
        rate=rate.rate,
    )


def fx_difference_line(
    account: str,
    *,
    currency: str,
    debit: Decimal = ZERO,
    credit: Decimal = ZERO,
    client_id: int | None = None,
    project_id: int | None = None,
    memo: str = "",
) -> LineSpec:
    """A functional-only line on a foreign-currency account (a revaluation of receivables, the booked-rate
    difference on a settled item): amount in `currency` 0, rate 1 by convention."""
    return LineSpec(
        account,
        debit=debit,
        credit=credit,
        client_id=client_id,
        project_id=project_id,
        memo=memo,
        currency=currency,
        amount_currency=ZERO,
        rate=Decimal(1),
    )


@dataclass(frozen=True)
class EntrySpec:
    """What to post. Compared field by field (via `fingerprint`) when a key is reused."""

    date: date
    memo: str
    lines: Sequence[LineSpec] = field(default_factory=tuple)
    source: str = ""
    auto_reverse_on: "Date | None" = None
    # The legal entity whose books take the entry; None: the default entity (psa.core.entities).
    entity_id: int | None = None

    def fingerprint(self) -> str:
        amount = _fingerprint_amount
        functional = functional_currency()
        body = {
            "date": self.date.isoformat(),
            "memo": self.memo,
            "source": self.source,
            "auto_reverse_on": self.auto_reverse_on.isoformat() if self.auto_reverse_on else None,
            "lines": [
                [ln.account, amount(ln.debit), amount(ln.credit), ln.client_id, ln.project_id, ln.memo]
                # A foreign-currency line adds its transaction; functional lines hash as they always did.
                + (
                    [ln.currency, amount(ln.amount_currency or ZERO), str(ln.rate)]
                    if ln.currency and ln.currency != functional
                    else []
                )
                for ln in self.lines
            ],
        }
        return hashlib.sha256(_FINGERPRINT_JSON.encode(body).encode()).hexdigest()


# json.dumps(body, sort_keys=True) with its encoder made once (dumps makes one per call for a non-default option).
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True)


def _fingerprint_amount(value: DecimalInput) -> str:
    if type(value) is Decimal and value.is_finite():
        return f"{value:.2f}"
    try:
        return f"{to_decimal(value):.2f}"
    except (TypeError, ValueError):
        return repr(value)


def _amount(value: DecimalInput, name: str, errors: dict) -> Decimal:
    if type(value) is Decimal:  # what the system's postings pass: no conversion (same checks below)
        amount = value
    else:
        try:
            amount = to_decimal(value if value not in (None, "") else ZERO)
        except (TypeError, ValueError):
            errors[name] = ["Enter an amount as a decimal number."]
            return ZERO
    if not amount.is_finite():
        errors[name] = ["Enter a finite amount."]
        return ZERO
    if amount < 0:
        errors[name] = ["Amounts are positive; put a credit in the credit column instead of a negative debit."]
    elif amount != amount.quantize(CENT):
        errors[name] = ["Amounts are whole cents (at most 2 decimal places)."]
    elif amount > MAX_AMOUNT:
        errors[name] = ["This amount is too large."]
    return amount


# The posting path reads with plain SQL: it runs thousands of times per billing or recognition job, and the ORM's
# per-query overhead would dominate (see the journal_post benchmark). Writes stay in one statement (below).
@dataclass(frozen=True)
class _Account:
    id: int
    code: str
    name: str
    is_active: bool
    is_control: bool

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


def _accounts_by_code(codes: Iterable[str]) -> dict[str, _Account]:
    rows = sql.rows_where_in(LedgerAccount, "id, code, name, is_active, is_control", "code", codes)
    return {row[1]: _Account(*row) for row in rows}


@dataclass
class _Lookups:
    """What the entries of one batch (`entries_post`) look up, read once for all of them: the keys posted already
    (key -> id, spec hash), the accounts by code, each project's client, the known clients, the entities' series."""

    keys: dict[str, tuple[int, str]]
    accounts: dict[str, _Account]
    projects: dict[int, int]
    clients: set[int]
    series: dict[int | None, tuple[int, str]]


class _Checked(NamedTuple):
    """A line that passed the checks: its spec, functional debit and credit, and its transaction."""

    spec: LineSpec
    debit: Decimal
    credit: Decimal
    currency: str
    amount_currency: Decimal
    rate: Decimal


@functools.cache
def _places(currency: str) -> tuple[Decimal, int]:
    """A currency's quantum and minor unit (ISO 4217 data: fixed, so read once per currency per process)."""
    return quantum(currency), minor_unit(currency)


def _transaction(
    line: LineSpec, i: int, functional_amount: Decimal, errors: dict, functional: str
) -> tuple[str, Decimal, Decimal]:
    """The line's currency, amount in it and rate; a functional line is its own amount at rate 1."""
    currency = (line.currency or functional).upper()
    if currency == functional:
        if line.amount_currency is not None and to_decimal(line.amount_currency) != functional_amount:
            errors[f"lines[{i}].amount_currency"] = [f"A line in {functional} has one amount; leave this out."]
        return currency, functional_amount, Decimal(1)
    try:
        places, digits = _places(currency)
    except ValidationFailed as exc:
        errors[f"lines[{i}].currency"] = [exc.message]
        return currency, ZERO, Decimal(1)
    name = f"lines[{i}].amount_currency"
    try:
        amount = to_decimal(line.amount_currency)
    except (TypeError, ValueError):
        errors[name] = [f"Enter the amount in {currency}."]
        return currency, ZERO, Decimal(1)
    if amount < 0:
        errors[name] = ["The amount in the line's currency is on the line's side: positive, or 0 for an exchange "
                        "difference."]  # fmt: skip
    elif amount != amount.quantize(places):
        errors[name] = [f"{currency} amounts have {digits} decimal places at most."]
    try:
        rate = to_decimal(line.rate)
    except (TypeError, ValueError):
        errors[f"lines[{i}].rate"] = [f"A line in {currency} needs the exchange rate it was converted at."]
        return currency, amount, Decimal(1)
    if rate <= 0:
        errors[f"lines[{i}].rate"] = ["An exchange rate is greater than zero."]
    return currency, amount, rate


def _check_lines(spec: EntrySpec, errors: dict[str, list[str]]) -> list[_Checked]:
    """The checks that need no database: the header, and each line's amounts, memo and transaction."""
    if not isinstance(spec.date, date):
        raise ValidationFailed("The entry needs a date.", fields={"date": "Enter a date."})
    if not (spec.memo or "").strip():
        errors["memo"] = ["Say what the entry is for."]
    elif len(spec.memo) > 300:
        errors["memo"] = ["At most 300 characters."]
    if len(spec.source) > 100:
        errors["source"] = ["At most 100 characters."]
    if spec.auto_reverse_on is not None and spec.auto_reverse_on <= spec.date:
        errors["auto_reverse_on"] = ["The automatic reversal must come after the entry's date."]
    if len(spec.lines) < 2:
        errors["lines"] = ["An entry needs at least two lines (a debit and a credit)."]
    checked: list[_Checked] = []
    functional = functional_currency()
    for i, line in enumerate(spec.lines):
        debit = _amount(line.debit, f"lines[{i}].debit", errors)
        credit = _amount(line.credit, f"lines[{i}].credit", errors)
        if f"lines[{i}].debit" not in errors and f"lines[{i}].credit" not in errors and (debit > 0) == (credit > 0):
            errors[f"lines[{i}].debit"] = ["Each line has either a debit or a credit, greater than zero."]
        if len(line.memo or "") > 200:
            errors[f"lines[{i}].memo"] = ["At most 200 characters."]
        checked.append(_Checked(line, debit, credit, *_transaction(line, i, debit or credit, errors, functional)))
    return checked


def _check_balance(checked: list[_Checked], errors: dict[str, list[str]]) -> None:
    """Debits equal credits (in the transaction currency too when every line shares one foreign currency)."""
    if errors.get("lines") or any(k.endswith((".debit", ".credit")) for k in errors):
        return
    debits = sum((c.debit for c in checked), ZERO)
    credits = sum((c.credit for c in checked), ZERO)
    if debits != credits:
        errors["lines"] = [
            f"Debits ({debits:,.2f}) and credits ({credits:,.2f}) differ by {abs(debits - credits):,.2f}: "
            "an entry must balance."
        ]
    currencies = {c.currency for c in checked}
    if (
        len(currencies) == 1
        and not errors
        and checked[0].currency != functional_currency()  # a functional line's amount is its debit or credit
        and all(c.amount_currency > 0 for c in checked)
    ):
        # Every line in one foreign currency: the entry balances in that currency too.
        fc_debits = sum((c.amount_currency for c in checked if c.debit), ZERO)
        fc_credits = sum((c.amount_currency for c in checked if c.credit), ZERO)
        if fc_debits != fc_credits:
            errors["lines"] = [
                f"In {checked[0].currency} the debits ({fc_debits:,.2f}) and credits ({fc_credits:,.2f}) "
                "differ: an entry in one currency balances in it."
            ]


def _validate(spec: EntrySpec, *, system: bool, lookups: _Lookups | None = None) -> tuple[list[_Checked], dict, dict]:
    """Check the spec; return the lines with their amounts, the accounts by code and each project's client.
    Raises ValidationFailed naming every problem at once."""
    errors: dict[str, list[str]] = {}
    checked = _check_lines(spec, errors)
    lines = list(spec.lines)
    codes = {str(line.account) for line in lines}
    accounts = lookups.accounts if lookups is not None else _accounts_by_code(codes)
    for i, line in enumerate(lines):
        account = accounts.get(str(line.account))
        name = f"lines[{i}].account"
        if account is None:
            errors[name] = [f"No account with code '{line.account}' in the chart of accounts."]
        elif not account.is_active:
            errors[name] = [f"Account {account} is inactive; reactivate it or pick another account."]
        elif account.is_control and not system:
            errors[name] = [
                f"Account {account} is a control account: only the system posts to it "
                "(invoices, credit notes, payments, revenue recognition)."
            ]
    project_clients = _validate_dimensions(lines, errors, lookups)
    _check_balance(checked, errors)
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(f"The entry cannot be posted: {first}", fields=errors)
    return checked, accounts, project_clients


def _validate_dimensions(lines: list[LineSpec], errors: dict, lookups: _Lookups | None = None) -> dict[int, int]:
    """Check client and project ids (one query each at most, none with a batch's `lookups`); returns project id ->
    its client id."""
    if lookups is not None:
        projects, clients = lookups.projects, lookups.clients | set(lookups.projects.values())
    else:
        project_ids = {ln.project_id for ln in lines if ln.project_id is not None}
        projects = dict(sql.rows_where_in(Project, "id, account_id", "id", project_ids))
        # Clients already known as a project's client need no query of their own.
        client_ids = {ln.client_id for ln in lines if ln.client_id is not None} - set(projects.values())
        clients = {row[0] for row in sql.rows_where_in(Client, "id", "id", client_ids)}
        clients |= set(projects.values())
    for i, line in enumerate(lines):
        if line.client_id is not None and line.client_id not in clients:
            errors[f"lines[{i}].client"] = [f"No client with id {line.client_id}."]
        if line.project_id is not None:
            if line.project_id not in projects:
                errors[f"lines[{i}].project"] = [f"No project with id {line.project_id}."]
            elif line.client_id is not None and projects[line.project_id] != line.client_id:
                errors[f"lines[{i}].project"] = ["This project belongs to another client."]
    return projects


def _resolve_period(on: date, *, entity_id: int, catch_up: bool) -> tuple[AccountingPeriod, date]:
    """The period open for the entity that an entry dated `on` goes to, locked against a concurrent close; and the
    posting date."""
    period = sql.period_first('start <= %s AND "end" >= %s', [on, on], lock=True)
    is_open = period is not None and sql.period_is_open_for(period_id=period.pk, entity_id=entity_id)
    if not is_open:
        # Before a completed go-live's cut-over the months are closed (or absent): say why, whatever catch-up asks.
        cutover_refuse(entity_id=entity_id, on=on, what="A journal entry")
    if period is None:
        raise PeriodClosed(
            f"No accounting period covers {on:%Y-%m-%d}: create the periods first (Ledger → Periods).",
            fields={"date": [f"No accounting period covers {on:%Y-%m-%d}."]},
            code="period_undefined",
        )
    if is_open:
        return period, on
    if catch_up:
        later = sql.period_first(f"start > %s AND {sql.OPEN_FOR}", [period.start, entity_id], lock=True)
        if later is not None:
            return later, later.start
    raise PeriodClosed(
        f"The period {period.label} is closed for this entity: an entry dated {on:%Y-%m-%d} cannot be posted. "
        "Date it in an open period, or reopen the month first (Ledger → Periods).",
        fields={"date": [f"{period.label} is closed."]},
    )


def _existing(key: str, fingerprint: str, lookups: _Lookups | None = None) -> JournalEntry | None:
    row = lookups.keys.get(key) if lookups is not None else sql.entry_key_row(key)
    if row is None:
        return None
    existing = JournalEntry.objects.get(pk=row[0])
    if row[1] != fingerprint:
        raise IdempotencyConflict(
            f"The key '{key}' already posted {existing.number} with different content.",
            fields={"key": ["Reused with a different entry."]},
        )
    return existing


def _post(
    *,
    spec: EntrySpec,
    key: str,
    by: User | None,
    catch_up: bool,
    origin: EntryOrigin,
    reverses: JournalEntry | None = None,
    lookups: _Lookups | None = None,
) -> JournalEntry:
    if not key or len(key) > 255:
        raise ValidationFailed("An idempotency key of 1 to 255 characters is required.", fields={"key": "Required."})
    fingerprint = spec.fingerprint()
    if lookups is None and connection.vendor == "postgresql":
        posted = _post_one_statement(
            spec=spec, key=key, by=by, origin=origin, reverses=reverses, fingerprint=fingerprint
        )
        if posted is not None:
            return posted
    existing = _existing(key, fingerprint, lookups)
    if existing is not None:
        return existing
    checked, accounts, project_clients = _validate(spec, system=by is None, lookups=lookups)
    write: dict[str, Any] = {
        "spec": spec,
        "key": key,
        "by": by,
        "catch_up": catch_up,
        "origin": origin,
        "reverses": reverses,
        "fingerprint": fingerprint,
        "checked": checked,
        "accounts": accounts,
        "project_clients": project_clients,
        "lookups": lookups,
    }
    if transaction.get_connection().in_atomic_block:
        # Inside the caller's transaction: the period lock is held by it and the entry with its number and lines
        # is one INSERT statement, so a refusal leaves nothing behind and needs no savepoint.
        return _write(**write)
    with transaction.atomic():
        return _write(**write)


def _post_one_statement(
    *,
    spec: EntrySpec,
    key: str,
    by: User | None,
    origin: EntryOrigin,
    reverses: JournalEntry | None,
    fingerprint: str,
) -> JournalEntry | None:
    """The usual case in one statement (PostgreSQL; ledger.sql.entry_post_statement): the checks that need no
    database here, then the key, accounts, dimensions, entity, open period, number, entry and lines in one round
    trip. Returns the entry posted (or the one the key posted already), or None, having written nothing, when
    anything needs a closer look: a check failed (the full path names every problem), an account, client or project
    did not check out, or no period open for the entity covers the date (closed, missing or a catch-up)."""
    errors: dict[str, list[str]] = {}
    checked = _check_lines(spec, errors)
    _check_balance(checked, errors)
    if errors or any(
        (c.spec.client_id is not None and type(c.spec.client_id) is not int)
        or (c.spec.project_id is not None and type(c.spec.project_id) is not int)
        for c in checked
    ):
        return None
    on = spec.date
    values = sql.EntryValues(
        date=on,
        requested_date=None,
        memo=spec.memo.strip(),
        source=spec.source or ("manual" if origin == EntryOrigin.MANUAL else ""),
        origin=origin,
        idempotency_key=key,
        spec_hash=fingerprint,
        reverses_id=reverses.pk if reverses is not None else None,
        auto_reverse_on=spec.auto_reverse_on if spec.auto_reverse_on and spec.auto_reverse_on > on else None,
        total=sum((c.debit for c in checked), ZERO),
        posted_by_id=by.pk if by is not None and getattr(by, "is_authenticated", False) else None,
    )
    rows = [
        sql.CodeLineRow(
            i, str(c.spec.account), c.debit, c.credit, c.spec.client_id, c.spec.project_id, c.spec.memo or "",
            c.currency, c.amount_currency, c.rate,
        )
        for i, c in enumerate(checked, start=1)
    ]  # fmt: skip
    if transaction.get_connection().in_atomic_block:
        return _write_one_statement(values, rows, spec=spec, by=by, reverses=reverses)
    with transaction.atomic():
        return _write_one_statement(values, rows, spec=spec, by=by, reverses=reverses)


@functools.cache
def _entry_attnames() -> tuple[str, ...]:
    """JournalEntry's column attributes, in the order Model.from_db takes them."""
    return tuple(f.attname for f in JournalEntry._meta.concrete_fields)


def _write_one_statement(
    values: sql.EntryValues,
    rows: list[sql.CodeLineRow],
    *,
    spec: EntrySpec,
    by: User | None,
    reverses: JournalEntry | None,
) -> JournalEntry | None:
    done = sql.entry_post_statement(values, rows, entity_id=spec.entity_id, system=by is None)
    if done.status == "existing":
        return _existing(values.idempotency_key, values.spec_hash)
    if done.status != "posted":
        return None
    columns = {
        **values._asdict(),
        "id": done.id,
        "number": done.number,
        "posted_at": done.posted_at,
        "period_id": done.period_id,
        "entity_id": done.entity_id,
    }
    names = _entry_attnames()
    posted = JournalEntry.from_db(connection.alias, names, [columns[n] for n in names])
    if reverses is not None:
        posted.reverses = reverses
    if values.posted_by_id is not None:
        posted.posted_by = by
    _audit(posted, by=by, reverses=reverses)
    return posted


def _write(
    *,
    spec: EntrySpec,
    key: str,
    by: User | None,
    catch_up: bool,
    origin: EntryOrigin,
    reverses: JournalEntry | None,
    fingerprint: str,
    checked: list[_Checked],
    accounts: dict,
    project_clients: dict,
    lookups: _Lookups | None = None,
) -> JournalEntry:
    if lookups is not None:
        if spec.entity_id not in lookups.series:
            lookups.series[spec.entity_id] = sql.entity_series(spec.entity_id)
        entity_id, prefix = lookups.series[spec.entity_id]
    else:
        entity_id, prefix = sql.entity_series(spec.entity_id)
    entry = JournalEntry(
        entity_id=entity_id,
        memo=spec.memo.strip(),
        source=spec.source or ("manual" if origin == EntryOrigin.MANUAL else ""),
        origin=origin,
        idempotency_key=key,
        spec_hash=fingerprint,
        reverses=reverses,
        total=sum((c.debit for c in checked), ZERO),
        posted_by=by if getattr(by, "is_authenticated", False) else None,
    )
    rows = [
        sql.LineRow(
            i,
            accounts[str(c.spec.account)].id,
            c.debit,
            c.credit,
            c.spec.client_id if c.spec.client_id is not None else project_clients.get(c.spec.project_id),
            c.spec.project_id,
            c.spec.memo or "",
            c.currency,
            c.amount_currency,
            c.rate,
        )
        for i, c in enumerate(checked, start=1)
    ]
    if connection.vendor == "postgresql":
        # Optimistic: one statement locks the open period covering the date, numbers and inserts. Only when no
        # open period covers the date does the service look closer (closed, missing, or catch-up).
        _dated(entry, spec, spec.date, None)
        posted = _insert_one_statement(entry, rows, prefix)
        if posted is None:
            period, on = _resolve_period(spec.date, entity_id=entity_id, catch_up=catch_up)
            _dated(entry, spec, on, period)
            posted = _insert_one_statement(entry, rows, prefix)
            if posted is None:
                raise PeriodClosed(f"The period {period.label} was closed while posting; try again.")
            if posted.period_id == period.pk:
                posted.period = period
        entry = posted
    else:
        period, on = _resolve_period(spec.date, entity_id=entity_id, catch_up=catch_up)
        _dated(entry, spec, on, period)
        _insert_orm(entry, rows, prefix)
    _audit(entry, by=by, reverses=reverses)
    return entry


def _audit(entry: JournalEntry, *, by: User | None, reverses: JournalEntry | None) -> None:
    """A person's posting (or reversal) goes into the audit log; the system's do not."""
    if by is not None:
        verb = "reversed " + reverses.number if reverses is not None else "posted"
        audit_record(
            actor=by,
            action="ledger.entry_reverse" if reverses is not None else "ledger.entry_post",
            obj=entry,
            summary=f"{entry.number} {verb}: {entry.memo} ({entry.total:,.2f})",
            data={"number": entry.number, "total": str(entry.total), "date": entry.date.isoformat()},
        )


def _dated(entry: JournalEntry, spec: EntrySpec, on: date, period: AccountingPeriod | None) -> None:
    entry.date = on
    entry.requested_date = spec.date if on != spec.date else None
    entry.auto_reverse_on = spec.auto_reverse_on if spec.auto_reverse_on and spec.auto_reverse_on > on else None
    if period is not None:
        entry.period = period


def _series(prefix: str) -> str:
    """The journal series of an entity with this series prefix (psa.core.entities.series_name)."""
    return f"{prefix}-{JOURNAL_SERIES}" if prefix else JOURNAL_SERIES


def _insert_orm(entry: JournalEntry, rows: list[sql.LineRow], prefix: str) -> None:
    """Number, entry and lines with the ORM (any database)."""
    entry.number = number_next(series=_series(prefix), on=entry.date)
    entry.save(force_insert=True)
    JournalLine.objects.bulk_create(
        [
            JournalLine(
                entry=entry,
                date=entry.date,
                period_id=entry.period_id,
                entity_id=cast(int, entry.entity_id),
                **row._asdict(),
            )
            for row in rows
        ]
    )


def _insert_one_statement(entry: JournalEntry, rows: list[sql.LineRow], prefix: str) -> JournalEntry | None:
    """Post the entry and its lines in one statement (ledger.sql.entry_insert); returns the posted entry, or None,
    having written nothing and taken no number, when no open period covers the date."""
    row = sql.entry_insert(entry, rows, series=_series(prefix))
    if row is None:
        return None
    pk, number, posted_at, period_id = row
    columns = {"id": pk, "number": number, "posted_at": posted_at, "period_id": period_id}
    names = [f.attname for f in JournalEntry._meta.concrete_fields]
    posted = JournalEntry.from_db(connection.alias, names, [columns.get(n, getattr(entry, n)) for n in names])
    # The related objects the caller already holds stay attached (no query to read them again).
    if entry.reverses_id is not None:
        posted.reverses = entry.reverses
    if entry.posted_by_id is not None:
        posted.posted_by = entry.posted_by
    return posted


def _post_once(**kwargs: Any) -> JournalEntry:
    """Post; when a concurrent twin with the same key commits first, replay it (or raise the conflict)."""
    try:
        return _post(**kwargs)
    except IntegrityError as exc:
        if "idempotency_key" not in str(exc) or transaction.get_connection().in_atomic_block:
            raise
        return _post(**kwargs)


def entry_post(*, spec: EntrySpec, key: str, by: User | None = None, catch_up: bool = False) -> JournalEntry:
    """Post a balanced entry once per key. Rules: at least two lines, each one-sided and positive in whole
    cents; debits equal credits; accounts exist and are active; control accounts only for the system (`by`
    None); the date's period exists and is open (or `catch_up` to the next open one); numbered gaplessly."""
    origin = EntryOrigin.SYSTEM if by is None else EntryOrigin.MANUAL
    return _post_once(spec=spec, key=key, by=by, catch_up=catch_up, origin=origin)


def entries_post(*, items: Sequence[tuple[EntrySpec, str]], catch_up: bool = False) -> list[JournalEntry]:
    """System postings of many entries at once (a month-end run's entries, one per project): each (spec, key) is
    posted exactly as `entry_post(spec=..., key=..., catch_up=...)` would post it (same checks, key replay or
    conflict, numbering, period lock), in one transaction (the caller's when there is one), with the look-ups
    shared by the batch: the keys posted already, the accounts, the projects and clients, the entities' series are
    read once for all entries, so the batch costs one statement per entry plus one per look-up. Keys are distinct
    within a batch."""
    specs = [spec for spec, _key in items]
    lines = [line for spec in specs for line in spec.lines]
    projects = dict(
        sql.rows_where_in(Project, "id, account_id", "id", {ln.project_id for ln in lines if ln.project_id})
    )
    client_ids = {ln.client_id for ln in lines if ln.client_id is not None} - set(projects.values())
    lookups = _Lookups(
        keys={
            row[0]: (row[1], row[2])
            for row in sql.rows_where_in(JournalEntry, "idempotency_key, id, spec_hash", "idempotency_key",
                                         {key for _spec, key in items})
        },
        accounts=_accounts_by_code({str(ln.account) for ln in lines}),
        projects=projects,
        clients={row[0] for row in sql.rows_where_in(Client, "id", "id", client_ids)},
        series={},
    )  # fmt: skip
    with transaction.atomic():
        return [
            _post(spec=spec, key=key, by=None, catch_up=catch_up, origin=EntryOrigin.SYSTEM, lookups=lookups)
            for spec, key in items
        ]


def entry_reverse(
    *, entry_id: int, by: User | None = None, on: date | None = None, memo: str = "", key: str | None = None
) -> JournalEntry:
    """Post the mirror of an entry (debits and credits swapped, same dimensions), at most once.

    Dated `on` (default today, never before the entry); when that period is closed the reversal catches up to
    the first open period. A user may reverse only entries without control-account lines; the system reverses
    its own (e.g. accruals with an automatic reversal date)."""
    with transaction.atomic():
        original = JournalEntry.objects.select_for_update().filter(pk=entry_id).first()
        if original is None:
            raise NotFoundError(f"No journal entry with id {entry_id}.")
        reversal = JournalEntry.objects.filter(reverses=original).first()
        if reversal is not None:
            raise ConflictError(
                f"{original.number} was already reversed by {reversal.number}; an entry is reversed at most once.",
                code="already_reversed",
            )
        on = on or timezone.localdate()
        if on < original.date:
            raise ValidationFailed(
                "A reversal cannot be dated before the entry it reverses.",
                fields={"date": [f"On or after {original.date:%Y-%m-%d}."]},
            )
        lines = tuple(
            LineSpec(
                account=line.account.code,
                debit=line.credit,
                credit=line.debit,
                client_id=line.client_id,
                project_id=line.project_id,
                memo=line.memo,
                currency=line.currency,
                amount_currency=line.amount_currency,
                rate=line.rate,
            )
            for line in original.lines.select_related("account").order_by("line_no")
        )
        spec = EntrySpec(
            date=on,
            memo=(memo or f"Reversal of {original.number}: {original.memo}")[:300],
            lines=lines,
            source=f"reversal:{original.number}",
            entity_id=original.entity_id,
        )
        return _post(
            spec=spec,
            key=key or f"reverse:{original.pk}",
            by=by,
            catch_up=True,
            origin=EntryOrigin.REVERSAL,
            reverses=original,
        )


def entries_auto_reverse_due(*, today: date | None = None) -> int:
    """Post the automatic reversals that are due (one transaction each); safe to run twice."""
    today = today or timezone.localdate()
    due = list(
        JournalEntry.objects.filter(auto_reverse_on__lte=today, reversed_by__isnull=True)
        .order_by("auto_reverse_on", "id")
        .values_list("pk", "auto_reverse_on")
    )
    posted = 0
    for entry_id, on in due:
        try:
            entry_reverse(entry_id=entry_id, on=on, key=f"auto-reverse:{entry_id}")
            posted += 1
        except ConflictError:
            continue  # reversed meanwhile by someone else, or no open period yet: the next run retries
    return posted
