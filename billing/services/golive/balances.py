"""The opening trial balance at the cut-over and the balance history before it.

Opening balances — columns: account* (their code, mapped by the chart import, or ours), debit, credit, or one
signed balance (debit positive), name. The file must balance; it is posted as ONE system entry of the go-live's
entity dated the cut-over (control accounts included: receivables, tax, contract positions), and each row is kept
(GoLiveBalance) for the reconciliation. Amounts are in the functional currency.

Balance history — columns: account*, period* (YYYY-MM), debit, credit or balance: the previous system's monthly
movement per account for months before the cut-over (imported closed first). Stored, not posted
(ledger.models.HistoricalBalance): the books in PSA start at the cut-over; the P&L adds the history for the months
it covers, so "last year against this year" compares like with like.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.models import GoLiveBalance
from billing.services.golive.base import (
    FILE_ROW,
    GoLiveContext,
    amount_reader,
    new_report,
    read_amount,
    row_error,
)
from billing.services.golive.chart import accounts_for
from billing.services.golive.periods import _month
from ledger.models import AccountingPeriod, HistoricalBalance, LedgerAccount, PeriodClose
from ledger.services import EntrySpec, LineSpec, entry_post
from ledger.services.history import historical_balances_write
from psa.core.imports import ROW, ImportReport, RowResult
from psa.core.money import ZERO

AMOUNT_COLUMNS = ("debit", "credit", "balance")


def opening_source(golive_id: int) -> str:
    return f"golive:{golive_id}:opening"


@dataclass(frozen=True)
class _Amount:
    row: dict
    code: str
    account: LedgerAccount
    debit: Decimal
    credit: Decimal


def _amounts(rows: list[dict], ctx: GoLiveContext, report: ImportReport, *, name_column: str = "name") -> list[_Amount]:
    """Each row's account and one-sided amount (a signed balance becomes its side); bad rows named."""
    accounts = accounts_for(ctx.golive)
    reader = amount_reader(rows, AMOUNT_COLUMNS)
    good = []
    for row in rows:
        code = str(row.get("account", ""))
        problems: list[str] = []
        debit = read_amount(reader, row, "debit", problems)
        credit = read_amount(reader, row, "credit", problems)
        balance = read_amount(reader, row, "balance", problems)
        if problems:
            report.rows.append(row_error(row, "bad_amount", "; ".join(problems).capitalize() + ".", external_id=code))
            continue
        if balance:
            if debit or credit:
                report.rows.append(
                    row_error(row, "two_amounts", "Give debit and credit, or a balance, not both.", external_id=code)
                )
                continue
            debit, credit = (balance, ZERO) if balance > 0 else (ZERO, -balance)
        if debit < 0 or credit < 0:
            report.rows.append(
                row_error(row, "negative_amount", "Debit and credit are written as positive amounts.", external_id=code)
            )
            continue
        net = debit - credit  # a row with both sides counts as its net
        debit, credit = (net, ZERO) if net >= 0 else (ZERO, -net)
        account = accounts.get(code)
        if not code:
            report.rows.append(row_error(row, "missing_account", "The account is empty."))
        elif account is None:
            report.rows.append(
                row_error(
                    row,
                    "unknown_account",
                    f"Account {code} is neither mapped by the chart import nor one of ours.",
                    external_id=code,
                )
            )
        elif not account.is_active:
            report.rows.append(
                row_error(row, "inactive_account", f"Account {account.code} is inactive.", external_id=code)
            )
        else:
            good.append(_Amount(row, code, account, debit, credit))
    return good


class OpeningBalancesImporter:
    kind = "opening_balances"
    label = "Opening trial balance"
    columns = ("account",)
    optional_columns = ("name", "debit", "credit", "balance")
    aliases = {"account_code": "account", "code": "account", "account_name": "name", "dr": "debit", "cr": "credit"}

    def _read(self, rows: list[dict], ctx: GoLiveContext) -> tuple[list[_Amount], ImportReport]:
        report = new_report(self, ctx)
        golive = ctx.golive
        good = _amounts(rows, ctx, report)
        seen: dict[int, int] = {}
        kept = []
        for item in good:
            if item.account.pk in seen:
                report.rows.append(
                    row_error(
                        item.row,
                        "duplicate_account",
                        f"Account {item.account.code} has a balance on row {seen[item.account.pk]} already.",
                        external_id=item.code,
                    )
                )
                continue
            seen[item.account.pk] = int(item.row[ROW])
            kept.append(item)
            side = f"Dr {item.debit:,.2f}" if item.debit else f"Cr {item.credit:,.2f}"
            report.rows.append(
                RowResult(int(item.row[ROW]), item.row.get("name", "") or item.account.name, item.code, "create",
                          f"{item.account.code} {side}")
            )  # fmt: skip
        debits = sum((i.debit for i in kept), ZERO)
        credits = sum((i.credit for i in kept), ZERO)
        if debits != credits:
            partial = " (of the rows that could be read)" if report.errors else ""
            report.rows.append(
                row_error(
                    FILE_ROW,
                    "unbalanced",
                    f"The trial balance does not balance{partial}: debits {debits:,.2f}, credits {credits:,.2f}, "
                    f"out by {abs(debits - credits):,.2f}.",
                )
            )
        if GoLiveBalance.objects.filter(golive=golive).exists():
            report.rows.append(
                row_error(
                    FILE_ROW,
                    "already_imported",
                    "This go-live has its opening balances already; roll it back to import another trial balance.",
                )
            )
        period = AccountingPeriod.objects.filter(start__lte=golive.cutover_date, end__gte=golive.cutover_date).first()
        if period is None or PeriodClose.objects.filter(period=period, entity_id=golive.entity_id).exists():
            report.rows.append(
                row_error(
                    FILE_ROW,
                    "no_open_period",
                    f"No open period covers the cut-over ({golive.cutover_date:%Y-%m-%d}) for this entity: create "
                    "it first (Ledger → Periods).",
                )
            )
        report.notes.append(f"Debits {debits:,.2f}, credits {credits:,.2f}, {len(kept)} accounts.")
        return kept, report

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        return self._read(rows, ctx)[1]

    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        kept, report = self._read(rows, ctx)
        if report.errors:
            return report
        golive = ctx.golive
        balances = GoLiveBalance.objects.bulk_create(
            GoLiveBalance(
                golive=golive,
                golive_import=ctx.golive_import,
                row=int(i.row[ROW]),
                source_code=i.code[:40],
                account=i.account,
                debit=i.debit,
                credit=i.credit,
            )
            for i in kept
        )
        ctx.record_many(balances)
        lines = tuple(
            LineSpec(account=i.account.code, debit=i.debit, credit=i.credit, memo="Opening balance")
            for i in sorted(kept, key=lambda i: i.account.code)
            if i.debit or i.credit
        )
        if lines:
            entry = entry_post(
                spec=EntrySpec(
                    date=golive.cutover_date,
                    memo=f"Opening balances at the go-live cut-over {golive.cutover_date:%Y-%m-%d}",
                    source=opening_source(golive.pk),
                    lines=lines,
                    entity_id=golive.entity_id,
                ),
                key=f"golive:{golive.pk}:opening",
            )
            ctx.record(entry)
            report.notes.append(f"Posted as {entry.number}.")
        return report


class BalanceHistoryImporter:
    kind = "balance_history"
    label = "Balance history (monthly)"
    columns = ("account", "period")
    optional_columns = ("name", "debit", "credit", "balance")
    aliases = {"account_code": "account", "code": "account", "month": "period", "dr": "debit", "cr": "credit"}

    def _read(self, rows: list[dict], ctx: GoLiveContext) -> tuple[list[tuple[_Amount, int]], ImportReport]:
        report = new_report(self, ctx)
        golive = ctx.golive
        periods = {p.start: p for p in AccountingPeriod.objects.filter(start__lt=golive.cutover_date)}
        closed = set(
            PeriodClose.objects.filter(entity_id=golive.entity_id, period__start__lt=golive.cutover_date).values_list(
                "period__start", flat=True
            )
        )
        stored = set(
            HistoricalBalance.objects.filter(entity_id=golive.entity_id).values_list("period__start", "account_id")
        )
        months: dict[int, date | None] = {}
        for row in rows:
            months[int(row[ROW])] = _month(str(row.get("period", "")))
        good = _amounts(rows, ctx, report)
        seen: dict[tuple, int] = {}
        kept = []
        for item in good:
            month = months[int(item.row[ROW])]
            text = item.row.get("period", "")
            if month is None:
                bad = ("bad_period", f"'{text}' is not a month written as YYYY-MM.")
            elif month >= golive.cutover_date:
                bad = ("after_cutover", f"{month:%Y-%m} is not before the cut-over ({golive.cutover_date:%Y-%m-%d}).")
            elif month not in periods or month not in closed:
                bad = ("no_period", f"{month:%Y-%m} is not a closed historical period yet: import the periods first.")
            elif (month, item.account.pk) in seen:
                bad = (
                    "duplicate_row",
                    f"{item.account.code} in {month:%Y-%m} is on row {seen[(month, item.account.pk)]} already.",
                )
            elif (month, item.account.pk) in stored:
                bad = ("duplicate_row", f"{item.account.code} in {month:%Y-%m} was imported already.")
            else:
                bad = None
            if bad:
                report.rows.append(row_error(item.row, bad[0], bad[1], external_id=item.code))
                continue
            assert month is not None
            seen[(month, item.account.pk)] = int(item.row[ROW])
            kept.append((item, periods[month].pk))
            report.rows.append(
                RowResult(int(item.row[ROW]), f"{month:%Y-%m}", item.code, "create",
                          f"{item.account.code} {item.debit - item.credit:,.2f}")
            )  # fmt: skip
        return kept, report

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        return self._read(rows, ctx)[1]

    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        kept, report = self._read(rows, ctx)
        if report.errors:
            return report
        written = historical_balances_write(
            entity_id=ctx.golive.entity_id,
            rows=[(period_id, i.account.pk, i.debit, i.credit) for i, period_id in kept],
            source=f"golive:{ctx.golive.pk}",
        )
        ctx.record_many(written)
        return report


OPENING_BALANCES = OpeningBalancesImporter()
BALANCE_HISTORY = BalanceHistoryImporter()
