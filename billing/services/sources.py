"""Billable sources and the billed-once rule.

A *source provider* knows one kind of billable thing (accepted milestones, schedule events, approved time
entries, approved re-billable expenses, re-billable lines of posted vendor bills) and answers, set-based, "what is
billable for these contracts up to this date and not yet billed": one query per provider whatever the number of
contracts or sources. With `lock=True` (a run processing one contract) the same query claims the rows with
`SELECT ... FOR UPDATE SKIP LOCKED`; the partial unique index on SourceLink is the last line of defence.

Adding a kind = one provider class registered in PROVIDERS. A `Candidate.group` key decides which sources
share one invoice line (T&M: contract line x role x rate; milestones, schedule events, expenses and vendor costs:
one line each).

Time entries, amounts per entry: a T&M line's net is the value of its group by the one rule recognition uses too
(`projects.calculations`): round(sum of hours x rate, 2) once, or, when the group (contract line x role x rate)
already has billed time that no credit note released, what the new hours add to the group's value
(round((billed hours + new hours) x rate) - billed), so that a group billed over several invoices bills exactly
what recognition recognises for it. Such a true-up line's unit price is round(net / hours, 4) when the rate
would not give its net, as on a capped line. Each entry's SourceLink gets its share of that net in proportion to
its hours (`psa.core.money.allocate`: each share rounded half up, the latest entry of the group takes the
rounding remainder), so the links of a line always sum to the line's net to the cent and a credit of some
entries credits exactly their links' amounts.

Caps: sources are capped oldest first (source date, kind, id) against the contract line's not-to-exceed cap
minus what its active links already bill. An entry is billed whole while it fits; the entry that crosses the
cap is billed for exactly the cents left and the rest of it, and every later source of that line, is written
down (a CapWriteDown per link). A capped grouped line bills sum(links) with unit price round(net / hours, 4).

The providers live in billing.services.source_providers and the billing schedules in
billing.services.billing_schedules; their public names are importable from here as before.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import QuerySet, Sum
from django.utils import timezone

from billing.models import SourceLink
from billing.services.billing_schedules import (
    SCHEDULED_MODELS,
    billing_schedule_generate,
    billing_schedules_generate_for_contract,
    billing_schedules_sync,
    write_downs_for,
)
from billing.services.source_providers import (
    DESCRIPTION_MAX,
    POSTED_BILL_STATUSES,
    Candidate,
    ExpenseSource,
    MilestoneSource,
    ScheduleSource,
    TimeEntrySource,
    VendorCostSource,
    time_line_description,
    vendor_cost_description,
)
from projects.models import ContractLineOpening
from psa.core.money import ZERO

__all__ = [
    "DESCRIPTION_MAX",
    "POSTED_BILL_STATUSES",
    "PROVIDERS",
    "PROVIDER_BY_KIND",
    "SCHEDULED_MODELS",
    "Candidate",
    "Capped",
    "ExpenseSource",
    "MilestoneSource",
    "ScheduleSource",
    "SourceProvider",
    "TimeEntrySource",
    "VendorCostSource",
    "apply_caps",
    "billing_schedule_generate",
    "billing_schedules_generate_for_contract",
    "billing_schedules_sync",
    "candidates_for",
    "cap_used",
    "contracts_with_sources",
    "links_release",
    "time_line_description",
    "vendor_cost_description",
    "write_downs_for",
]


class SourceProvider(Protocol):
    @property
    def kind(self) -> str: ...

    def queryset(self, *, contract_ids: Any, period_end: date) -> QuerySet: ...
    def candidates(self, *, contract_ids: Iterable[int], period_end: date, lock: bool = False) -> list[Candidate]: ...
    def labels(self, ids: list[int]) -> dict[int, str]: ...


PROVIDERS: list[SourceProvider] = [
    MilestoneSource(),
    ScheduleSource(),
    TimeEntrySource(),
    ExpenseSource(),
    VendorCostSource(),
]
PROVIDER_BY_KIND = {p.kind: p for p in PROVIDERS}


def candidates_for(
    *, contract_ids: Iterable[int], period_end: date, lock: bool = False, kinds: Iterable[str] | None = None
) -> list[Candidate]:
    """Every billable source of these contracts up to `period_end`, oldest first (one query per provider;
    `kinds` limits the providers asked, e.g. to those a run found for the contract when it started)."""
    contract_ids = list(contract_ids)
    kinds = set(kinds or ())
    found: list[Candidate] = []
    for provider in PROVIDERS:
        if kinds and provider.kind not in kinds:
            continue
        found.extend(provider.candidates(contract_ids=contract_ids, period_end=period_end, lock=lock))
    return sorted(found, key=lambda c: (c.source_date, c.kind, c.source_id))


def contracts_with_sources(*, contract_ids: Iterable[int], period_end: date) -> dict[int, list[str]]:
    """The contracts (of `contract_ids`, a list or a queryset of ids) with anything billable up to `period_end`,
    each with the kinds of sources found: one DISTINCT query per provider, loading no source rows (a run's start
    needs only the contracts)."""
    found: dict[int, list[str]] = {}
    for provider in PROVIDERS:
        qs = provider.queryset(contract_ids=contract_ids, period_end=period_end)
        for pk in qs.order_by().values_list("contract_line__contract_id", flat=True).distinct():
            found.setdefault(pk, []).append(provider.kind)
    return dict(sorted(found.items()))


def cap_used(contract_line_ids: Iterable[int]) -> dict[int, Decimal]:
    """What each contract line has billed so far (active links, drafts included, and what the previous system
    billed before go-live), for its cap."""
    ids = list(contract_line_ids)
    rows = (
        SourceLink.objects.filter(contract_line_id__in=ids, released_at__isnull=True)
        .values("contract_line_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    used = {r["contract_line_id"]: r["total"] or ZERO for r in rows}
    for line_id, billed in ContractLineOpening.objects.filter(contract_line_id__in=ids).values_list(
        "contract_line_id", "billed"
    ):
        used[line_id] = used.get(line_id, ZERO) + billed
    return used


@dataclass
class Capped:
    candidate: Candidate
    billed: Decimal
    written_down: Decimal
    cap: Decimal | None


def apply_caps(candidates: list[Candidate]) -> list[Capped]:
    """Bill up to each contract line's not-to-exceed cap, oldest source first; the overflow is a write-down."""
    caps = {c.contract_line_id: c.cap for c in candidates if c.cap is not None}
    used = cap_used(caps) if caps else {}
    remaining = {pk: max(cap - used.get(pk, ZERO), ZERO) for pk, cap in caps.items()}
    out = []
    for c in candidates:
        amount = c.amount
        if c.contract_line_id in remaining:
            billed = min(amount, remaining[c.contract_line_id])
            remaining[c.contract_line_id] -= billed
            out.append(Capped(c, billed, amount - billed, caps[c.contract_line_id]))
        else:
            out.append(Capped(c, amount, ZERO, None))
    return out


def links_release(*, links: Iterable[SourceLink], reason: str) -> int:
    """Release links so their sources may be billed again (credit note issued, draft discarded)."""
    ids = [link.pk for link in links]
    return SourceLink.objects.filter(pk__in=ids, released_at__isnull=True).update(
        released_at=timezone.now(), release_reason=reason[:200]
    )
