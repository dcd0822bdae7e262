"""Ledger reads: trial balance, P&L, balance sheet, general ledger.

Every report reads closed months from the stored balances (AccountBalance) and only the open months from
journal lines: cumulative figures at a date start from the cumulative rows of the last closed month on or
before that date and add the lines after it; movements over a range take whole closed months from the stored
monthly movement and the rest from lines. A report's cost therefore follows the size of the chart and of the
open months, not the length of the history.

Per legal entity: each entity closes its own months (ledger.services.periods), so "the last closed month" is per
entity. Every report takes `entity_id` (one entity's books) or None (all entities together: each entity's stored
rows of its own last closed month plus its own lines after it, summed). Lines carry their entry's entity, so the
filter needs no join.
"""

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from crm.models import Account as Client
from ledger import sql
from ledger.choices import DEBIT_NORMAL, AccountType, PeriodStatus
from ledger.models import (
    AccountBalance,
    AccountingPeriod,
    HistoricalBalance,
    JournalLine,
    LedgerAccount,
    PeriodClose,
)
from projects.models import Project
from psa.core.models import LegalEntity
from psa.core.money import ZERO, DecimalInput, round_money
from psa.core.pagecache import stamped_result

EPOCH = date(1900, 1, 1)
Totals = dict[tuple, list[Decimal]]  # group key -> [debit, credit]


def last_closed_through(at: date, *, entity_id: int | None = None) -> AccountingPeriod | None:
    """The last period ending on or before `at` that is closed for the entity (an entity's closed periods are a
    prefix of the calendar); with no entity, the last one closed for every active entity."""
    if entity_id is not None:
        return sql.period_first(f'"end" <= %s AND {sql.CLOSED_FOR}', [at, entity_id], descending=True)
    return sql.period_first('status = %s AND "end" <= %s', [PeriodStatus.CLOSED.value, at], descending=True)


def _add(totals: Totals, rows: Iterable[Any], group: tuple[str, ...]) -> None:
    for row in rows:
        key = tuple(row[g] for g in group)
        pair = totals[key]
        pair[0] += row["d"] or ZERO
        pair[1] += row["c"] or ZERO


def _new_totals() -> Totals:
    return defaultdict(lambda: [ZERO, ZERO])


def _decimal(value: DecimalInput) -> Decimal:
    """Raw SUMs are Decimal on PostgreSQL; SQLite returns floats, brought back to exact cents here."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    return round_money(Decimal(str(value)))


def _reused(kind: str, inputs: tuple, compute: Callable[[], Totals], reuse: bool) -> Totals:
    """`compute()`'s sums, reused across readers while the journal is unchanged when `reuse` (the report pages
    ask for it; psa.core.pagecache.stamped_result under ledger.sql.journal_stamp, so a reused figure is never older
    than the books). `inputs` are every argument the sums depend on."""
    if not reuse:
        return compute()
    key = f"ledger-{kind}:" + hashlib.sha256(repr(inputs).encode()).hexdigest()
    found = stamped_result(key, sql.journal_stamp(), lambda: {k: tuple(v) for k, v in compute().items()})
    totals = _new_totals()
    for k, (d, c) in found.items():
        totals[k] = [d, c]
    return totals


GROUP_COLUMNS = {"account": "account_id", "client": "client_id", "project": "project_id"}
_NO_PERIOD = object()


def cumulative(
    *,
    at: date,
    group: tuple[str, ...] = ("account",),
    filters: Q | None = None,
    account_id: int | None = None,
    closed: Any = _NO_PERIOD,  # list[sql.Closed], from sql.closes_through
    entity_id: int | None = None,
    reuse: bool = False,
) -> Totals:
    """Debits and credits from the first posting through `at`, per group: per entity, the cumulative stored rows
    of the last month it closed on or before `at`, plus its lines after it; one entity's or all entities'.

    `group` names fields that lines and stored balances share (account, client, project, or lookups through
    them such as `account__system_role`); `filters` is a Q over the same fields. Grouped by account, client or
    project without filters it is one hand-written query (every report runs it; trial_balance benchmark).
    `reuse`: the sums may be reused while the journal is unchanged (_reused)."""
    inputs = (at, group, repr(filters), account_id, entity_id)
    return _reused("cumulative", inputs, lambda: _cumulative(at, group, filters, account_id, closed, entity_id), reuse)


def _cumulative(
    at: date, group: tuple[str, ...], filters: Q | None, account_id: int | None, closed: Any, entity_id: int | None
) -> Totals:
    if closed is _NO_PERIOD:
        closed = sql.closes_through(at, entity_id=entity_id)
    if filters is not None or any(g not in GROUP_COLUMNS for g in group):
        return _cumulative_orm(
            at=at, group=group, filters=filters or Q(), account_id=account_id, closed=closed, entity_id=entity_id
        )
    columns = [GROUP_COLUMNS[g] for g in group]
    totals = _new_totals()
    for row in sql.cumulative_rows(columns=columns, at=at, closed=closed, account_id=account_id, entity_id=entity_id):
        totals[tuple(row[: len(group)])] = [_decimal(row[-2]), _decimal(row[-1])]
    return totals


def _cumulative_orm(
    *,
    at: date,
    group: tuple[str, ...],
    filters: Q,
    account_id: int | None,
    closed: list[sql.Closed],
    entity_id: int | None,
) -> Totals:
    if account_id is not None:
        filters &= Q(account_id=account_id)
    if entity_id is not None:
        filters &= Q(entity_id=entity_id)
    totals = _new_totals()
    lines = JournalLine.objects.filter(filters, date__lte=at)
    stored_in, lines_in = Q(pk__in=[]), Q(pk__in=[])
    for c in closed:
        if c.period_id is None:
            lines_in |= Q(entity_id=c.entity_id)
        else:
            stored_in |= Q(period_id=c.period_id, entity_id=c.entity_id)
            lines_in |= Q(entity_id=c.entity_id, date__gt=c.end)
    stored = AccountBalance.objects.filter(filters).filter(stored_in)
    _add(totals, stored.values(*group).annotate(d=Sum("cum_debit"), c=Sum("cum_credit")).order_by(), group)
    _add(totals, lines.filter(lines_in).values(*group).annotate(d=Sum("debit"), c=Sum("credit")).order_by(), group)
    return totals


def movements(
    *,
    start: date,
    end: date,
    group: tuple[str, ...] = ("account",),
    filters: Q | None = None,
    entity_id: int | None = None,
    reuse: bool = False,
) -> Totals:
    """Debits and credits posted from `start` through `end`, per group (may include `period`); one entity's or
    all entities'. Whole months an entity has closed come from its stored monthly movement, the rest from lines.
    `reuse`: the sums may be reused while the journal is unchanged (_reused)."""
    inputs = (start, end, group, repr(filters), entity_id)
    return _reused("movements", inputs, lambda: _movements(start, end, group, filters, entity_id), reuse)


def _movements(start: date, end: date, group: tuple[str, ...], filters: Q | None, entity_id: int | None) -> Totals:
    filters = filters or Q()
    if entity_id is not None:
        filters &= Q(entity_id=entity_id)
    totals = _new_totals()
    closes = PeriodClose.objects.filter(period__start__gte=start, period__end__lte=end)
    if entity_id is not None:
        closes = closes.filter(entity_id=entity_id)
    spans: dict[int, list] = {}  # entity -> [period ids, first start, last end]
    for entity, period_id, first, last in closes.values_list("entity_id", "period_id", "period__start", "period__end"):
        span = spans.setdefault(entity, [[], first, last])
        span[0].append(period_id)
        span[1], span[2] = min(span[1], first), max(span[2], last)
    lines = JournalLine.objects.filter(filters, date__gte=start, date__lte=end)
    if spans:
        stored_in = Q(pk__in=[])
        for entity, (period_ids, _first, _last) in spans.items():
            stored_in |= Q(entity_id=entity, period_id__in=period_ids)
        stored = AccountBalance.objects.filter(filters).filter(stored_in)
        _add(totals, stored.values(*group).annotate(d=Sum("debit"), c=Sum("credit")).order_by(), group)
        # An entity's closed months are contiguous: the lines still to read lie before or after them. Each part is
        # a date range of one entity (the index on entity and date reads it, and the monthly partitions outside
        # every range are pruned), so the lines read are the open months', whatever the range spans.
        lines_in = Q(pk__in=[])
        if entity_id is None:
            # The entities with no close in the range, as values: a subquery would keep every partition.
            others = list(LegalEntity.objects.exclude(pk__in=list(spans)).order_by().values_list("pk", flat=True))
            lines_in |= Q(entity_id__in=others)
        for entity, (_period_ids, first, last) in spans.items():
            if first > start:
                lines_in |= Q(entity_id=entity, date__lt=first)
            if last < end:  # from the next day: `date > last` would keep the last month's partition in the plan
                lines_in |= Q(entity_id=entity, date__gte=last + timedelta(days=1))
        lines = lines.filter(lines_in)
    _add(totals, lines.values(*group).annotate(d=Sum("debit"), c=Sum("credit")).order_by(), group)
    return totals


def natural(account: LedgerAccount, debit: Decimal, credit: Decimal) -> Decimal:
    """A balance with the account's normal sign (debit-normal: debit - credit; otherwise credit - debit)."""
    return debit - credit if account.type in DEBIT_NORMAL else credit - debit


# --- trial balance -----------------------------------------------------------------------------------------
@dataclass
class TrialBalanceRow:
    account: LedgerAccount
    opening: Decimal  # signed, debit positive
    debit: Decimal
    credit: Decimal

    @property
    def closing(self) -> Decimal:
        return self.opening + self.debit - self.credit

    @property
    def closing_debit(self) -> Decimal:
        return self.closing if self.closing > 0 else ZERO

    @property
    def closing_credit(self) -> Decimal:
        return -self.closing if self.closing < 0 else ZERO


@dataclass
class TrialBalance:
    at: date
    start: date | None
    rows: list[TrialBalanceRow]
    closed_through: AccountingPeriod | None
    opening: Decimal = ZERO
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    closing_debit: Decimal = ZERO
    closing_credit: Decimal = ZERO

    @property
    def balanced(self) -> bool:
        return self.debit == self.credit and self.closing_debit == self.closing_credit and self.opening == 0


def _through(closes: list[sql.Closed]) -> AccountingPeriod | None:
    """The month through which stored balances are read: the entity's last closed month; for all entities the
    earliest of their last closed months (an entity that closed none is read from its lines)."""
    ends = [(c.end, c.start, c.period_id) for c in closes if c.end is not None and c.start is not None]
    if not ends:
        return None
    end, start, period_id = min(ends)
    return AccountingPeriod(pk=period_id, start=start, end=end, status=PeriodStatus.CLOSED)


def trial_balance(
    *,
    at: date | None = None,
    period: AccountingPeriod | None = None,
    entity_id: int | None = None,
    reuse: bool = False,
) -> TrialBalance:
    """Trial balance at a date (totals since the first posting) or for a period (opening, the period's
    debits and credits, closing), of one entity or of all entities together. Lists every account with a balance
    or a movement, in code order. `reuse`: the line sums may be reused while the journal is unchanged (the
    page asks for it)."""
    if period is not None:
        at, start = period.end, period.start
        opening = cumulative(at=start - timedelta(days=1), entity_id=entity_id, reuse=reuse)
        moved = movements(start=start, end=at, entity_id=entity_id, reuse=reuse)
    else:
        assert at is not None, "a date or a period"
        start = None
        opening = _new_totals()
    closes = sql.closes_through(at, entity_id=entity_id)
    if period is None:
        moved = cumulative(at=at, entity_id=entity_id, closed=closes, reuse=reuse)
    closed = _through(closes)
    keys = {k for k, (d, c) in opening.items() if d != c} | {k for k, (d, c) in moved.items() if d or c}
    accounts = sql.accounts_by_id(k[0] for k in keys)
    rows = []
    for (account_id,) in keys:
        o = opening.get((account_id,), [ZERO, ZERO])
        m = moved.get((account_id,), [ZERO, ZERO])
        rows.append(TrialBalanceRow(accounts[account_id], o[0] - o[1], m[0], m[1]))
    rows.sort(key=lambda r: r.account.code)
    tb = TrialBalance(at=at, start=start, rows=rows, closed_through=closed)
    for r in rows:
        tb.opening += r.opening
        tb.debit += r.debit
        tb.credit += r.credit
        tb.closing_debit += r.closing_debit
        tb.closing_credit += r.closing_credit
    return tb


# --- profit and loss ---------------------------------------------------------------------------------------
@dataclass
class PnlRow:
    account: LedgerAccount
    values: list[Decimal]
    total: Decimal


@dataclass
class Pnl:
    start: date
    end: date
    by: str
    columns: list[str]
    keys: list = field(default_factory=list)  # each column's key: period, client or project id (None: without one)
    income: list[PnlRow] = field(default_factory=list)
    expense: list[PnlRow] = field(default_factory=list)
    income_totals: list[Decimal] = field(default_factory=list)
    expense_totals: list[Decimal] = field(default_factory=list)
    net: list[Decimal] = field(default_factory=list)
    income_total: Decimal = ZERO
    expense_total: Decimal = ZERO
    net_total: Decimal = ZERO
    show_total: bool = True  # a year-on-year report's columns are two years and their change: no total


PNL_GROUPS = {
    "": "Total",
    "period": "Month",
    "client": "Client",
    "project": "Project",
    "year": "Year on year",
}


def _column_labels(by: str, keys: list) -> list[str]:
    if by == "period":
        periods = dict(AccountingPeriod.objects.filter(pk__in=keys).values_list("pk", "start"))
        return [periods[k].strftime("%Y-%m") for k in keys]
    if by == "client":
        names = dict(Client.objects.filter(pk__in=[k for k in keys if k]).values_list("pk", "name"))
        return [names.get(k, "No client") if k else "No client" for k in keys]
    if by == "project":
        codes = dict(Project.objects.filter(pk__in=[k for k in keys if k]).values_list("pk", "code"))
        return [codes.get(k, "No project") if k else "No project" for k in keys]
    return ["Total"]


def _column_order(by: str, keys: set) -> list:
    if by == "period":
        starts = dict(AccountingPeriod.objects.filter(pk__in=keys).values_list("pk", "start"))
        return sorted(keys, key=lambda k: starts[k])
    return sorted(keys, key=lambda k: (k is None, k or 0))


def _add_history(moved: Totals, *, start: date, end: date, by: str, entity_id: int | None) -> None:
    """Add the balance history a go-live imported (HistoricalBalance: the previous system's monthly figures) for
    the whole months inside the range; it has no client or project, so it lands in the "No client/project"
    column of a split P&L."""
    rows = HistoricalBalance.objects.filter(
        period__start__gte=start,
        period__end__lte=end,
        account__type__in=[AccountType.INCOME, AccountType.EXPENSE],
    )
    if entity_id is not None:
        rows = rows.filter(entity_id=entity_id)
    columns = {"period": "period_id"}.get(by)
    values = ("account_id", columns) if columns else ("account_id",)
    for row in rows.values(*values).annotate(d=Sum("debit"), c=Sum("credit")).order_by():
        key = (row["account_id"],) if not by else (row["account_id"], row[columns] if columns else None)
        pair = moved[key]
        pair[0] += row["d"] or ZERO
        pair[1] += row["c"] or ZERO


def pnl(
    *,
    start: date,
    end: date,
    by: str = "",
    client_id: int | None = None,
    project_id: int | None = None,
    entity_id: int | None = None,
    reuse: bool = False,
) -> Pnl:
    """Income and expenses from `start` through `end`, in one column or split by month, client or project, or
    year on year (the same dates a year earlier, this range, and the change); of one entity or of all entities
    together. Months before a go-live's cut-over read the balance history it imported (HistoricalBalance).
    `reuse`: the line sums may be reused while the journal is unchanged (the page asks for it)."""
    if by not in PNL_GROUPS:
        by = ""
    if by == "year":
        return _pnl_year_on_year(
            start=start, end=end, client_id=client_id, project_id=project_id, entity_id=entity_id, reuse=reuse
        )
    filters = Q(account__type__in=[AccountType.INCOME, AccountType.EXPENSE])
    if client_id:
        filters &= Q(client_id=client_id)
    if project_id:
        filters &= Q(project_id=project_id)
    group = ("account", by) if by else ("account",)
    moved = movements(start=start, end=end, group=group, filters=filters, entity_id=entity_id, reuse=reuse)
    if not client_id and not project_id:
        _add_history(moved, start=start, end=end, by=by, entity_id=entity_id)
    col_keys = _column_order(by, {k[1] for k in moved}) if by else [None]
    report = Pnl(start=start, end=end, by=by, columns=_column_labels(by, col_keys) if by else ["Total"], keys=col_keys)
    index = {k: i for i, k in enumerate(col_keys)}
    accounts = sql.accounts_by_id({k[0] for k in moved})
    per_account: dict[int, list[Decimal]] = {}
    for key, (d, c) in moved.items():
        account = accounts[key[0]]
        values = per_account.setdefault(account.pk, [ZERO] * len(col_keys))
        values[index[key[1]] if by else 0] += natural(account, d, c)
    report.income_totals = [ZERO] * len(col_keys)
    report.expense_totals = [ZERO] * len(col_keys)
    for account_id, values in sorted(per_account.items(), key=lambda kv: accounts[kv[0]].code):
        account = accounts[account_id]
        row = PnlRow(account, values, sum(values, ZERO))
        if account.type == AccountType.INCOME:
            report.income.append(row)
            report.income_totals = [a + b for a, b in zip(report.income_totals, values, strict=True)]
        else:
            report.expense.append(row)
            report.expense_totals = [a + b for a, b in zip(report.expense_totals, values, strict=True)]
    report.net = [i - e for i, e in zip(report.income_totals, report.expense_totals, strict=True)]
    report.income_total = sum(report.income_totals, ZERO)
    report.expense_total = sum(report.expense_totals, ZERO)
    report.net_total = report.income_total - report.expense_total
    return report


def _year_back(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _pnl_year_on_year(
    *, start: date, end: date, client_id: int | None, project_id: int | None, entity_id: int | None, reuse: bool
) -> Pnl:
    """Last year's same dates, this range, and the change, per account (last year reads the imported balance
    history for months before a go-live's cut-over)."""
    before = pnl(
        start=_year_back(start),
        end=_year_back(end),
        client_id=client_id,
        project_id=project_id,
        entity_id=entity_id,
        reuse=reuse,
    )
    now = pnl(start=start, end=end, client_id=client_id, project_id=project_id, entity_id=entity_id, reuse=reuse)
    report = Pnl(
        start=start,
        end=end,
        by="year",
        columns=[f"{before.start:%Y-%m-%d} to {before.end:%Y-%m-%d}", f"{start:%Y-%m-%d} to {end:%Y-%m-%d}", "Change"],
        keys=["before", "now", "change"],
        show_total=False,
    )

    def merged(old: list[PnlRow], new: list[PnlRow]) -> list[PnlRow]:
        rows: dict[int, tuple[LedgerAccount, Decimal, Decimal]] = {}
        for row in old:
            rows[row.account.pk] = (row.account, row.total, ZERO)
        for row in new:
            account, was, _ = rows.get(row.account.pk, (row.account, ZERO, ZERO))
            rows[row.account.pk] = (account, was, row.total)
        return [
            PnlRow(account, [was, is_, is_ - was], is_)
            for account, was, is_ in sorted(rows.values(), key=lambda r: r[0].code)
        ]

    report.income = merged(before.income, now.income)
    report.expense = merged(before.expense, now.expense)
    report.income_totals = [before.income_total, now.income_total, now.income_total - before.income_total]
    report.expense_totals = [before.expense_total, now.expense_total, now.expense_total - before.expense_total]
    report.net = [before.net_total, now.net_total, now.net_total - before.net_total]
    report.income_total, report.expense_total, report.net_total = now.income_total, now.expense_total, now.net_total
    return report


# --- balance sheet -----------------------------------------------------------------------------------------
@dataclass
class BalanceSheetRow:
    account: LedgerAccount | None
    label: str
    amount: Decimal


@dataclass
class BalanceSheet:
    at: date
    assets: list[BalanceSheetRow] = field(default_factory=list)
    liabilities: list[BalanceSheetRow] = field(default_factory=list)
    equity: list[BalanceSheetRow] = field(default_factory=list)
    current_earnings: Decimal = ZERO
    total_assets: Decimal = ZERO
    total_liabilities: Decimal = ZERO
    total_equity: Decimal = ZERO

    @property
    def total_liabilities_and_equity(self) -> Decimal:
        return self.total_liabilities + self.total_equity

    @property
    def balanced(self) -> bool:
        return self.total_assets == self.total_liabilities_and_equity


def balance_sheet(*, at: date, entity_id: int | None = None, reuse: bool = False) -> BalanceSheet:
    """Assets, liabilities and equity at a date, of one entity or of all entities together; income less expenses
    to date shows as current earnings, so the sheet balances exactly when the trial balance does. `reuse`: the
    line sums may be reused while the journal is unchanged (the page asks for it)."""
    totals = cumulative(at=at, entity_id=entity_id, reuse=reuse)
    accounts = sql.accounts_by_id(k[0] for k in totals)
    sheet = BalanceSheet(at=at)
    for (account_id,), (d, c) in sorted(totals.items(), key=lambda kv: accounts[kv[0][0]].code):
        account = accounts[account_id]
        amount = natural(account, d, c)
        row = BalanceSheetRow(account, str(account), amount)
        if account.type == AccountType.ASSET:
            sheet.assets.append(row)
        elif account.type == AccountType.LIABILITY:
            sheet.liabilities.append(row)
        elif account.type == AccountType.EQUITY:
            sheet.equity.append(row)
        elif account.type == AccountType.INCOME:
            sheet.current_earnings += amount
        else:
            sheet.current_earnings -= amount
    earnings = BalanceSheetRow(None, "Current earnings (income less expenses to date)", sheet.current_earnings)
    sheet.equity.append(earnings)
    sheet.total_assets = sum((r.amount for r in sheet.assets), ZERO)
    sheet.total_liabilities = sum((r.amount for r in sheet.liabilities), ZERO)
    sheet.total_equity = sum((r.amount for r in sheet.equity), ZERO)
    return sheet


# --- general ledger ----------------------------------------------------------------------------------------
@dataclass
class LedgerLine:
    line: JournalLine
    balance: Decimal  # running, with the account's normal sign


@dataclass
class GeneralLedgerPage:
    account: LedgerAccount
    opening: Decimal
    lines: list[LedgerLine]
    next_cursor: str | None
    closing: Decimal


def balance_before(*, account: LedgerAccount, on: date, line_id: int = 0) -> Decimal:
    """The account's balance (normal sign) before the line (`on`, `line_id`) in (date, id) order."""
    totals = cumulative(at=on - timedelta(days=1), account_id=account.pk)
    d, c = totals.get((account.pk,), [ZERO, ZERO])
    if line_id:
        same_day = JournalLine.objects.filter(account=account, date=on, id__lt=line_id).aggregate(
            d=Sum("debit"), c=Sum("credit")
        )
        d += same_day["d"] or ZERO
        c += same_day["c"] or ZERO
    return natural(account, d, c)


def parse_cursor(cursor: str | None) -> tuple[date, int] | None:
    """A general-ledger cursor is '<date>.<line id>' of the last line shown."""
    if not cursor:
        return None
    try:
        day, _, line_id = cursor.partition(".")
        return date.fromisoformat(day), int(line_id)
    except ValueError:
        return None


def general_ledger(
    *, account: LedgerAccount, after: str | None = None, start: date | None = None, limit: int = 50
) -> GeneralLedgerPage:
    """One page of an account's lines in (date, id) order with a running balance (keyset pagination)."""
    lines = (
        JournalLine.objects.filter(account=account).select_related("entry", "client", "project").order_by("date", "id")
    )
    if start:
        lines = lines.filter(date__gte=start)
    cursor = parse_cursor(after)
    if cursor:
        lines = lines.filter(Q(date__gt=cursor[0]) | Q(date=cursor[0], id__gt=cursor[1]))
    page = list(lines[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    if page:
        opening = balance_before(account=account, on=page[0].date, line_id=page[0].pk)
    elif cursor:
        opening = balance_before(account=account, on=cursor[0], line_id=cursor[1] + 1)
    else:
        opening = balance_before(account=account, on=start or date.max - timedelta(days=1))
    running = opening
    rows = []
    for line in page:
        running += natural(account, line.debit, line.credit)
        rows.append(LedgerLine(line, running))
    next_cursor = f"{page[-1].date.isoformat()}.{page[-1].pk}" if more and page else None
    return GeneralLedgerPage(account=account, opening=opening, lines=rows, next_cursor=next_cursor, closing=running)


def ledger_summary() -> dict:
    """Figures for the finance home panel, in a fixed number of queries."""
    periods = AccountingPeriod.objects.order_by("start")
    first_open = periods.filter(status=PeriodStatus.OPEN).first()
    last_closed = periods.filter(status=PeriodStatus.CLOSED).order_by("-start").first()
    return {"first_open": first_open, "last_closed": last_closed}
