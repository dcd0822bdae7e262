"""Ledger test helpers: periods, specs and posted entries reached through the services."""

from datetime import date
from decimal import Decimal
from itertools import count

from ledger.models import JournalEntry
from ledger.services import EntrySpec, LineSpec, entry_post, period_close, periods_ensure
from ledger.services.chart import chart_ensure_default
from ledger.services.revenue import recognition_run

_keys = count(1)


def make_periods(start: date = date(2026, 1, 1), through: date = date(2026, 12, 31)):
    chart_ensure_default()  # a transactional test before this one may have emptied the chart
    return periods_ensure(start=start, through=through)


def spec(
    *pairs: tuple[str, str, str],
    on: date = date(2026, 3, 15),
    memo: str = "Test entry",
    **kwargs,
) -> EntrySpec:
    """spec(("1000", "100.00", ""), ("3000", "", "100.00")) -> a two-line entry (account, debit, credit)."""
    lines = []
    for pair in pairs:
        code, debit, credit, *rest = pair
        extra = rest[0] if rest else {}
        lines.append(LineSpec(account=code, debit=Decimal(debit or "0"), credit=Decimal(credit or "0"), **extra))
    return EntrySpec(date=on, memo=memo, lines=tuple(lines), **kwargs)


def balanced(amount: str = "100.00", debit: str = "1000", credit: str = "3000", **kwargs) -> EntrySpec:
    return spec((debit, amount, ""), (credit, "", amount), **kwargs)


def post(entry_spec: EntrySpec | None = None, *, key: str | None = None, by=None, **kwargs) -> JournalEntry:
    return entry_post(spec=entry_spec or balanced(), key=key or f"test:{next(_keys)}", by=by, **kwargs)


def close_month(*, period_id: int, by, reason: str = "month end"):
    """Close a month the way finance does: the recognition run first (the checklist's blocking item), then
    the close. With no contracts the run posts nothing."""
    recognition_run(period_id=period_id, by=by)
    return period_close(period_id=period_id, by=by, reason=reason)
