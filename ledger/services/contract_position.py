"""The contract position: the one rule that splits a posting between unbilled receivable (contract asset) and
deferred revenue (contract liability) for a contract at a date (DESIGN.md section 6, invariant 7).

Billing's invoice and credit-note postings (billing.services.posting) and revenue recognition
(ledger.services.revenue) both call it; nothing else decides the split.

- The position a posting dated `on` may relieve, per project (one project = one contract), is each side's balance
  through `on` and over all dates, whichever is smaller (never below zero): documents dated after `on` may
  already be posted, and neither side is ever overdrawn whether the books are read at `on` or today.
- A posting that debits the position (revenue recognised, a credit note issued) first relieves deferred revenue;
  the rest is unbilled receivable. A posting that credits it (an invoice issued, revenue reversed) first relieves
  unbilled receivable; the rest is deferred revenue.
- Documents dated out of order (an invoice dated after a month end, posted before that month's recognition) can
  still leave one contract with both sides; `contract_positions_net` nets them, Dr deferred / Cr unbilled, dated
  the project's latest position date (or the month end of the run, when later).
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Max, Q, Sum
from django.db.models.functions import Coalesce

from ledger.choices import SystemAccount
from ledger.models import JournalLine
from ledger.services.accounts import account_code_for
from ledger.services.posting import EntrySpec, LineSpec, entry_post
from psa.core.money import ZERO

POSITION_ROLES = (SystemAccount.UNBILLED, SystemAccount.DEFERRED)


@dataclass(frozen=True)
class ContractPosition:
    """What a posting may relieve: the unbilled receivable (debit balance) and deferred revenue (credit balance)."""

    unbilled: Decimal = ZERO
    deferred: Decimal = ZERO


@dataclass(frozen=True)
class PositionPart:
    """One line of a contract-position posting: the account's system role and the amount, on the side given."""

    role: SystemAccount
    amount: Decimal
    debit: bool


def contract_positions(*, project_ids: list[int], on: date) -> dict[int, ContractPosition]:
    """Per project, what a posting dated `on` may relieve (the lesser of the balance through `on` and over all
    dates, never negative). One grouped query whatever the number of projects."""
    if not project_ids:
        return {}
    through = Q(date__lte=on)
    rows = (
        JournalLine.objects.filter(project_id__in=project_ids, account__system_role__in=POSITION_ROLES)
        .values("project_id", "account__system_role")
        .annotate(
            d=Sum("debit"),
            c=Sum("credit"),
            d_at=Coalesce(Sum("debit", filter=through), ZERO),
            c_at=Coalesce(Sum("credit", filter=through), ZERO),
        )
        .order_by()
    )
    unbilled: dict[int, Decimal] = {}
    deferred: dict[int, Decimal] = {}
    for r in rows:
        if r["account__system_role"] == SystemAccount.UNBILLED:
            unbilled[r["project_id"]] = min(r["d"] - r["c"], r["d_at"] - r["c_at"])
        else:
            deferred[r["project_id"]] = min(r["c"] - r["d"], r["c_at"] - r["d_at"])
    return {
        p: ContractPosition(unbilled=max(unbilled.get(p, ZERO), ZERO), deferred=max(deferred.get(p, ZERO), ZERO))
        for p in project_ids
    }


def position_split(*, amount: Decimal, position: ContractPosition) -> list[PositionPart]:
    """Split `amount` against `position`: positive debits the position (first relieves deferred revenue, the rest
    is unbilled receivable), negative credits it (first relieves unbilled receivable, the rest is deferred
    revenue). Returns the non-zero parts, the relieving one first; they sum to abs(amount)."""
    if amount > 0:
        first = min(amount, position.deferred)
        parts = [(SystemAccount.DEFERRED, first), (SystemAccount.UNBILLED, amount - first)]
    else:
        first = min(-amount, position.unbilled)
        parts = [(SystemAccount.UNBILLED, first), (SystemAccount.DEFERRED, -amount - first)]
    return [PositionPart(role=role, amount=part, debit=amount > 0) for role, part in parts if part > 0]


def contract_position_split(*, project_id: int | None, on: date, amount: Decimal) -> list[PositionPart]:
    """The contract-position lines of one posting for a project at `on` (one query; none without a project, when
    the whole amount takes the non-relieving side)."""
    position = ContractPosition()
    if project_id is not None:
        position = contract_positions(project_ids=[project_id], on=on)[project_id]
    return position_split(amount=amount, position=position)


def contract_positions_net(*, projects: dict[int, int], on: date, account_codes: dict[str, str] | None = None) -> int:
    """Keep one side per contract (invariant 7) for `projects` (project id -> client id): where a project holds
    both unbilled receivable and deferred revenue, post Dr deferred / Cr unbilled for the smaller, dated the
    project's latest position date or `on`, whichever is later (entry_post moves it to the first open period).
    One grouped query; an entry per date only when some project is two-sided. Returns how many were netted."""
    rows = (
        JournalLine.objects.filter(project_id__in=list(projects), account__system_role__in=POSITION_ROLES)
        .values("project_id", "account__system_role")
        .annotate(d=Sum("debit"), c=Sum("credit"), last=Max("date"))
        .order_by()
    )
    balance: dict[int, dict] = {}
    for r in rows:
        entry = balance.setdefault(r["project_id"], {"last": r["last"]})
        entry["last"] = max(entry["last"], r["last"])
        entry[r["account__system_role"]] = r["d"] - r["c"]
    by_date: dict[date, list[tuple[int, Decimal]]] = {}
    for project_id, b in sorted(balance.items()):
        unbilled, deferred = b.get(SystemAccount.UNBILLED, ZERO), -b.get(SystemAccount.DEFERRED, ZERO)
        both = min(unbilled, deferred)
        if both > 0:
            by_date.setdefault(max(b["last"], on), []).append((project_id, both))
    if not by_date:
        return 0
    codes = account_codes or {role: account_code_for(role) for role in POSITION_ROLES}
    memo = "Contract position netting"
    for day, pairs in sorted(by_date.items()):
        lines = []
        for project_id, amount in pairs:
            client_id = projects[project_id]
            lines += [
                LineSpec(codes["deferred"], debit=amount, client_id=client_id, project_id=project_id, memo=memo),
                LineSpec(codes["unbilled"], credit=amount, client_id=client_id, project_id=project_id, memo=memo),
            ]
        digest = hashlib.sha256(f"{day}:{pairs}".encode()).hexdigest()[:32]
        spec = EntrySpec(date=day, memo=memo, source="recognition", lines=lines)
        entry_post(spec=spec, key=f"revrec-net:{digest}", catch_up=True)
    return sum(len(pairs) for pairs in by_date.values())
