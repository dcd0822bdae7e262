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
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, cast

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Exists, F, Max, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing import sql
from billing.choices import ScheduleKind, SourceKind, VendorBillLineKind, VendorBillStatus
from billing.models import CapWriteDown, InvoiceLine, ScheduleEvent, SourceLink, VendorBillLine
from billing.services._common import require_finance
from crm.choices import BillingModel
from projects.calculations import ENTRY_ROLE, tm_group_net
from projects.choices import EntryStatus, MilestoneStatus
from projects.models import ContractLine, ContractLineOpening, Expense, Milestone, TimeEntry
from psa.core.dates import month_spans
from psa.core.exceptions import NotFoundError, ValidationFailed
from psa.core.money import ZERO, allocate, line_net, split_evenly


@dataclass
class Candidate:
    kind: str
    source_id: int
    contract_id: int
    contract_line_id: int
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    source_date: date
    period_start: date | None = None
    period_end: date | None = None
    group: tuple = ()
    net: Decimal | None = None  # set when the provider allocated the line's net over its sources (time)
    currency: str | None = None  # set when the source has its own currency (expenses)
    cap: Decimal | None = None  # the contract line's not-to-exceed cap, read with the source (no extra query)

    @property
    def amount(self) -> Decimal:
        return self.net if self.net is not None else line_net(self.quantity, self.unit_price)


def _not_billed(kind: str) -> Exists:
    return Exists(SourceLink.objects.filter(kind=kind, source_id=OuterRef("pk"), released_at__isnull=True))


def _oldest_first(qs: QuerySet, *order: str, lock: bool) -> QuerySet:
    """A provider's rows oldest first; when claiming, locked with SKIP LOCKED (rows another transaction holds
    are left to it), only the source table's rows."""
    qs = qs.order_by(*order)
    return qs.select_for_update(skip_locked=True, of=("self",)) if lock else qs


class MilestoneSource:
    """Accepted milestones of a contract line, billable from their acceptance date."""

    kind = SourceKind.MILESTONE

    def queryset(self, *, contract_ids: Iterable[int], period_end: date) -> QuerySet:
        return Milestone.objects.filter(
            status=MilestoneStatus.ACCEPTED,
            contract_line__contract_id__in=contract_ids,
            accepted_at__date__lte=period_end,
            amount__gt=0,
        ).exclude(_not_billed(self.kind))

    def candidates(self, *, contract_ids: Iterable[int], period_end: date, lock: bool = False) -> list[Candidate]:
        qs = _oldest_first(
            self.queryset(contract_ids=list(contract_ids), period_end=period_end), "accepted_at", "pk", lock=lock
        )
        rows = qs.values(
            "pk",
            "name",
            "amount",
            "accepted_at",
            "contract_line_id",
            "contract_line__contract_id",
            "contract_line__cap",
        )
        return [
            Candidate(
                kind=self.kind,
                source_id=r["pk"],
                contract_id=r["contract_line__contract_id"],
                contract_line_id=r["contract_line_id"],
                cap=r["contract_line__cap"],
                description=f"Milestone: {r['name']}",
                quantity=Decimal("1"),
                unit="C62",
                unit_price=r["amount"],
                source_date=r["accepted_at"].date(),
                group=(self.kind, r["pk"]),
            )
            for r in rows
        ]

    def labels(self, ids: list[int]) -> dict[int, str]:
        return {m.pk: f"{m.name} (accepted {m.accepted_at:%Y-%m-%d})" for m in Milestone.objects.filter(pk__in=ids)}


class ScheduleSource:
    """Fixed-fee instalments and retainer/subscription periods, billable from their `bill_on` date."""

    kind = SourceKind.SCHEDULE_EVENT

    def queryset(self, *, contract_ids: Iterable[int], period_end: date) -> QuerySet:
        return ScheduleEvent.objects.filter(
            contract_line__contract_id__in=contract_ids, bill_on__lte=period_end
        ).exclude(_not_billed(self.kind))

    def candidates(self, *, contract_ids: Iterable[int], period_end: date, lock: bool = False) -> list[Candidate]:
        qs = _oldest_first(
            self.queryset(contract_ids=list(contract_ids), period_end=period_end), "bill_on", "pk", lock=lock
        )
        rows = qs.values(
            "pk",
            "description",
            "amount",
            "bill_on",
            "kind",
            "period_start",
            "period_end",
            "contract_line_id",
            "contract_line__contract_id",
            "contract_line__cap",
        )
        return [
            Candidate(
                kind=self.kind,
                source_id=r["pk"],
                contract_id=r["contract_line__contract_id"],
                contract_line_id=r["contract_line_id"],
                cap=r["contract_line__cap"],
                description=r["description"],
                quantity=Decimal("1"),
                unit="MON" if r["kind"] != ScheduleKind.INSTALMENT else "C62",
                unit_price=r["amount"],
                source_date=r["bill_on"],
                period_start=r["period_start"],
                period_end=r["period_end"],
                group=(self.kind, r["pk"]),
            )
            for r in rows
        ]

    def labels(self, ids: list[int]) -> dict[int, str]:
        return {
            e.pk: f"{e.get_kind_display()} {e.sequence}: {e.period_start:%Y-%m-%d} to {e.period_end:%Y-%m-%d}"
            for e in ScheduleEvent.objects.filter(pk__in=ids)
        }


DESCRIPTION_MAX = cast(int, InvoiceLine._meta.get_field("description").max_length)  # and SourceLink.label's


def time_line_description(role_name: str, line_description: str) -> str:
    """A T&M line's text: "<role> — <contract line>" (the SQL run writes the same, see draft_write)."""
    return f"{role_name} — {line_description}"[:DESCRIPTION_MAX]


class TimeEntrySource:
    """Approved, billable time (rates snapshotted at approval) on a contract line, up to the period end.

    One query whatever the number of entries; grouping and the per-entry allocation of each group's net are
    plain Python over the fetched rows. Entries with a zero bill rate bill nothing and are left out."""

    kind = SourceKind.TIME_ENTRY

    def queryset(self, *, contract_ids: Iterable[int], period_end: date) -> QuerySet:
        return TimeEntry.objects.filter(
            status=EntryStatus.APPROVED,
            billable=True,
            bill_rate__gt=0,
            contract_line__contract_id__in=contract_ids,
            date__lte=period_end,
        ).exclude(_not_billed(self.kind))

    def candidates(self, *, contract_ids: Iterable[int], period_end: date, lock: bool = False) -> list[Candidate]:
        contract_ids = list(contract_ids)
        qs = _oldest_first(self.queryset(contract_ids=contract_ids, period_end=period_end), "date", "pk", lock=lock)
        rows = qs.values(
            "pk",
            "date",
            "hours",
            "bill_rate",
            "contract_line_id",
            "contract_line__contract_id",
            "contract_line__cap",
            "contract_line__description",
            role_id=ENTRY_ROLE,
            role_name=Coalesce(F("rate_card_line__role__name"), F("consultant__role__name")),
        )
        groups: dict[tuple, list[dict]] = {}
        for r in rows:
            groups.setdefault((self.kind, r["contract_line_id"], r["role_id"], r["bill_rate"]), []).append(r)
        before = self.billed_so_far(contract_ids=contract_ids) if groups else {}
        out: list[Candidate] = []
        for key, members in groups.items():
            hours = [m["hours"] for m in members]
            rate = members[0]["bill_rate"]
            billed_hours, billed = before.get(key[1:], (ZERO, ZERO))
            net = tm_group_net(hours=sum(hours, ZERO), rate=rate, billed_hours=billed_hours, billed=billed)
            shares = allocate(net, hours)
            description = time_line_description(members[0]["role_name"], members[0]["contract_line__description"])
            out.extend(
                Candidate(
                    kind=self.kind,
                    source_id=m["pk"],
                    contract_id=m["contract_line__contract_id"],
                    contract_line_id=m["contract_line_id"],
                    cap=m["contract_line__cap"],
                    description=description,
                    quantity=m["hours"],
                    unit="HUR",
                    unit_price=rate,
                    source_date=m["date"],
                    group=key,
                    net=share,
                )
                for m, share in zip(members, shares, strict=True)
            )
        return out

    def billed_queryset(self, *, contract_ids: Iterable[int]) -> QuerySet:
        """The groups (contract line, role, rate) of these contracts' time that is billed and not released, with
        their hours and billed amount (a link's amount plus what a cap wrote down of it): what
        `projects.calculations.tm_group_net` needs to bill a group again. One aggregate query."""
        active = SourceLink.objects.filter(kind=self.kind, released_at__isnull=True)
        link = active.filter(source_id=OuterRef("pk")).order_by().values(v=F("amount") + F("written_down"))
        return (
            # From the contract's active links (their index), not from all its entries.
            TimeEntry.objects.filter(
                pk__in=active.filter(contract_line__contract_id__in=contract_ids).values("source_id")
            )
            .annotate(link_billed=Subquery(link[:1]))
            .values("contract_line_id", "bill_rate", role_id=ENTRY_ROLE)
            .annotate(billed_hours=Sum("hours"), billed=Sum("link_billed"))
            .order_by()
        )

    def billed_so_far(self, *, contract_ids: list[int]) -> dict[tuple, tuple[Decimal, Decimal]]:
        """(contract line, role, rate) -> (hours, amount) billed and not released, for these contracts."""
        return {
            (r["contract_line_id"], r["role_id"], r["bill_rate"]): (r["billed_hours"], r["billed"])
            for r in self.billed_queryset(contract_ids=contract_ids)
        }

    def claim_sql(self, *, contract_id: int, period_end: date) -> tuple[str, tuple]:
        """The claiming SELECT of one contract's entries on uncapped lines (the same rules as
        `candidates(lock=True)`; a line capped since the caller looked waits for the general path), for a
        statement that bills them in the database: columns id, date, hours, bill_rate, contract_line_id, role_id,
        oldest first, locked with SKIP LOCKED (`billing.sql.TIME_CLAIM`)."""
        return sql.TIME_CLAIM, (contract_id, EntryStatus.APPROVED, period_end, self.kind)

    def billed_sql(self, *, contract_id: int) -> tuple[str, tuple]:
        """`billed_queryset` of one contract for the same statement, columns contract line, rate, role, hours,
        amount: the PL/pgSQL function of migration billing 0008, whose plan PostgreSQL keeps for the session
        (as a subquery it was planned again for every contract); a test compares the two."""
        return sql.TIME_BILLED, (contract_id,)

    def labels(self, ids: list[int]) -> dict[int, str]:
        rows = TimeEntry.objects.filter(pk__in=ids).select_related(
            "consultant__user", "task", "rate_card_line__rate_card", "rate_card_line__role"
        )
        out = {}
        for e in rows:
            card = e.rate_card_line
            source = (
                f"rate card {card.rate_card.name}, {card.role.name} from {card.valid_from:%Y-%m-%d}"
                if card
                else "contract line rate"
            )
            task = f" · {e.task.name}" if e.task_id and e.task else ""
            out[e.pk] = f"{e.date:%Y-%m-%d} {e.consultant}{task}: {e.hours} h x {e.bill_rate:.2f} ({source})"
        return out


class ExpenseSource:
    """Approved expenses with a re-bill amount (fixed at approval from the line's policy: at cost or with a
    markup), one invoice line each so the client sees every receipt; posted through the contract position like
    the T&M work they belong to."""

    kind = SourceKind.EXPENSE

    def queryset(self, *, contract_ids: Iterable[int], period_end: date) -> QuerySet:
        return Expense.objects.filter(
            status=EntryStatus.APPROVED,
            billable=True,
            rebill_amount__gt=0,
            contract_line__contract_id__in=contract_ids,
            date__lte=period_end,
        ).exclude(_not_billed(self.kind))

    def candidates(self, *, contract_ids: Iterable[int], period_end: date, lock: bool = False) -> list[Candidate]:
        qs = _oldest_first(
            self.queryset(contract_ids=list(contract_ids), period_end=period_end), "date", "pk", lock=lock
        )
        rows = qs.values(
            "pk",
            "date",
            "category",
            "description",
            "amount",
            "currency",
            "rebill_amount",
            "markup_percent",
            "contract_line_id",
            "contract_line__contract_id",
            "contract_line__cap",
        )
        categories = dict(Expense._meta.get_field("category").flatchoices)
        out = []
        for r in rows:
            markup = (
                f", cost {r['amount']:.2f} + {r['markup_percent'].normalize():f}% markup" if r["markup_percent"] else ""
            )
            text = f"Expense {r['date']:%d %b %Y}: {categories.get(r['category'], r['category'])}"
            if r["description"]:
                text += f" — {r['description']}"
            out.append(
                Candidate(
                    kind=self.kind,
                    source_id=r["pk"],
                    contract_id=r["contract_line__contract_id"],
                    contract_line_id=r["contract_line_id"],
                    cap=r["contract_line__cap"],
                    description=(text + markup)[:DESCRIPTION_MAX],
                    quantity=Decimal("1"),
                    unit="C62",
                    unit_price=r["rebill_amount"],
                    source_date=r["date"],
                    group=(self.kind, r["pk"]),
                    currency=r["currency"],
                )
            )
        return out

    def labels(self, ids: list[int]) -> dict[int, str]:
        out = {}
        for e in Expense.objects.filter(pk__in=ids).select_related("consultant__user"):
            policy = e.get_rebill_policy_display().lower()
            markup = f" {e.markup_percent.normalize():f}%" if e.markup_percent else ""
            out[e.pk] = (
                f"{e.date:%Y-%m-%d} {e.consultant}: {e.get_category_display()} {e.description} — cost "
                f"{e.amount:.2f} {e.currency}, re-billed {policy}{markup} = {e.rebill_amount:.2f}"
            )
        return out


# A vendor bill is posted once finance approves it; paying it changes nothing about what is re-billed.
POSTED_BILL_STATUSES = (VendorBillStatus.POSTED, VendorBillStatus.PARTLY_PAID, VendorBillStatus.PAID)


class VendorCostSource:
    """Re-billable lines of posted vendor bills, billable from the bill's date, one invoice line each (like an
    expense: the client sees every re-billed cost). The amount is the line's `rebill_amount`, fixed when the bill
    was posted from the contract line's expense policy (at cost or with a markup) and already in the contract's
    currency; a line whose policy re-bills nothing has none and is never billed. Posted through the contract
    position like expenses (recognition recognises it: ledger.services.recognition, re-billed costs)."""

    kind = SourceKind.VENDOR_COST

    def queryset(self, *, contract_ids: Iterable[int], period_end: date) -> QuerySet:
        return VendorBillLine.objects.filter(
            kind=VendorBillLineKind.REBILLABLE,
            bill__status__in=POSTED_BILL_STATUSES,
            rebill_amount__gt=0,
            contract_line__contract_id__in=contract_ids,
            bill__bill_date__lte=period_end,
        ).exclude(_not_billed(self.kind))

    def candidates(self, *, contract_ids: Iterable[int], period_end: date, lock: bool = False) -> list[Candidate]:
        qs = _oldest_first(
            self.queryset(contract_ids=list(contract_ids), period_end=period_end), "bill__bill_date", "pk", lock=lock
        )
        rows = qs.values(
            "pk",
            "description",
            "rebill_amount",
            "bill__bill_date",
            "contract_line_id",
            "contract_line__contract_id",
            "contract_line__cap",
        )
        return [
            Candidate(
                kind=self.kind,
                source_id=r["pk"],
                contract_id=r["contract_line__contract_id"],
                contract_line_id=r["contract_line_id"],
                cap=r["contract_line__cap"],
                description=vendor_cost_description(on=r["bill__bill_date"], description=r["description"]),
                quantity=Decimal("1"),
                unit="C62",
                unit_price=r["rebill_amount"],
                source_date=r["bill__bill_date"],
                group=(self.kind, r["pk"]),
            )
            for r in rows
        ]

    def labels(self, ids: list[int]) -> dict[int, str]:
        return {
            ln.pk: (
                f"{ln.bill.bill_date:%Y-%m-%d} {ln.bill.vendor.name} bill {ln.bill.number}: {ln.description} — cost "
                f"{ln.net_amount:.2f} {ln.bill.currency}, re-billed {ln.rebill_amount or ZERO:.2f}"
            )
            for ln in VendorBillLine.objects.filter(pk__in=ids).select_related("bill__vendor")
        }


def vendor_cost_description(*, on: date, description: str) -> str:
    """A re-billed vendor cost's invoice line text: what was bought and when. The vendor, its bill and the cost
    stay internal (the invoice page and the line's explanation show them; the client's document does not)."""
    return f"Re-billed cost {on:%d %b %Y}: {description}"[:DESCRIPTION_MAX]


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


# --- billing schedules -----------------------------------------------------------------------------------
SCHEDULED_MODELS: dict[str, ScheduleKind] = {
    BillingModel.FIXED_FEE: ScheduleKind.INSTALMENT,
    BillingModel.RETAINER: ScheduleKind.RETAINER,
    BillingModel.SUBSCRIPTION: ScheduleKind.SUBSCRIPTION,
}


@transaction.atomic
def billing_schedule_generate(
    *, contract_line_id: int, by: User | None = None, instalments: int | None = None
) -> list[ScheduleEvent]:
    """Generate (or regenerate after a change order) the billing schedule of a contract line.

    Retainers and subscriptions bill one event per calendar month of the line's dates, in advance (billable
    from the first day of the month); fixed fee bills `instalments` equal parts (default: one per month) at
    the end of each month. Events already billed stay as they are; the unbilled rest is rebuilt so that the
    schedule always sums to the line's price to the cent (the last event takes the remainder). Safe to run
    twice: the same line gives the same schedule. A line brought in at go-live schedules only what the previous
    system had not billed (price - opening billed), over the periods ending on or after the cut-over.
    """
    require_finance(by)
    line = ContractLine.objects.select_for_update().filter(pk=contract_line_id).first()
    if line is None:
        raise NotFoundError(f"No contract line with id {contract_line_id}.")
    kind = SCHEDULED_MODELS.get(line.billing_model)
    if kind is None:
        raise ValidationFailed(
            f"A {line.get_billing_model_display().lower()} line has no billing schedule.",
            fields={"billing_model": ["Only fixed-fee, retainer and subscription lines are scheduled."]},
        )
    events = list(ScheduleEvent.objects.filter(contract_line=line).order_by("sequence"))
    billed_ids = set(
        SourceLink.objects.filter(
            kind=SourceKind.SCHEDULE_EVENT, source_id__in=[e.pk for e in events], released_at__isnull=True
        ).values_list("source_id", flat=True)
    )
    kept = [e for e in events if e.pk in billed_ids]
    billed_total = sum((e.amount for e in kept), ZERO)
    months = month_spans(line.start_date, line.end_date)
    if kind == ScheduleKind.INSTALMENT and instalments:
        step = max(len(months) // instalments, 1)
        chunks = [months[i : i + step] for i in range(0, len(months), step)][:instalments]
        periods = [(c[0][0], c[-1][1]) for c in chunks]
        if len(periods) < instalments:
            periods = [(line.start_date, line.end_date)] * instalments
        else:
            periods[-1] = (periods[-1][0], line.end_date)
    else:
        periods = months
    kept_periods = {(e.period_start, e.period_end) for e in kept}
    open_periods = [p for p in periods if p not in kept_periods]
    remaining = line.price - billed_total
    opening = ContractLineOpening.objects.filter(contract_line=line).first()
    if opening is not None:
        remaining -= opening.billed
        # What fell before the cut-over was billed (or not) by the previous system: the rest goes on from it.
        open_periods = [p for p in open_periods if p[1] >= opening.as_of] or open_periods[-1:]
    ScheduleEvent.objects.filter(contract_line=line).exclude(pk__in=billed_ids).delete()
    if not open_periods or remaining <= 0:
        return kept
    amounts = split_evenly(remaining, len(open_periods))
    next_seq = max((e.sequence for e in kept), default=0) + 1
    label = {
        ScheduleKind.INSTALMENT: "Instalment",
        ScheduleKind.RETAINER: "Retainer",
        ScheduleKind.SUBSCRIPTION: "Subscription",
    }[kind]
    new = []
    for i, ((start, end), amount) in enumerate(zip(open_periods, amounts, strict=True)):
        new.append(
            ScheduleEvent(
                contract_line=line,
                sequence=next_seq + i,
                kind=kind,
                description=f"{line.description} — {label.lower()} {start:%b %Y}"
                if start.month == end.month and start.year == end.year
                else f"{line.description} — {label.lower()} {start:%d %b %Y} to {end:%d %b %Y}",
                period_start=start,
                period_end=end,
                bill_on=end if kind == ScheduleKind.INSTALMENT else start,
                amount=amount,
            )
        )
    ScheduleEvent.objects.bulk_create(new)
    return kept + new


def billing_schedules_generate_for_contract(*, contract_id: int, by: User | None = None) -> int:
    """Generate the schedule of every scheduled line of a contract; returns the number of events."""
    count = 0
    for line_id in ContractLine.objects.filter(
        contract_id=contract_id, billing_model__in=list(SCHEDULED_MODELS)
    ).values_list("pk", flat=True):
        count += len(billing_schedule_generate(contract_line_id=line_id, by=by))
    return count


def write_downs_for(links: Iterable[SourceLink]) -> list[CapWriteDown]:
    return list(CapWriteDown.objects.filter(link__in=list(links)))


def billing_schedules_sync(*, contract_ids: Iterable[int] | None = None) -> int:
    """Generate missing schedules and rebuild those a change order made stale (events no longer summing to the
    line's price, or the line now ending after its last event). One query to find them; returns how many
    lines were (re)generated. Runs call it before they look for sources."""
    lines = ContractLine.objects.filter(billing_model__in=list(SCHEDULED_MODELS))
    if contract_ids is not None:
        lines = lines.filter(contract_id__in=list(contract_ids))
    stale = [
        row["pk"]
        for row in lines.annotate(
            n=Count("schedule_events"),
            total=Sum("schedule_events__amount"),
            last=Max("schedule_events__period_end"),
            to_bill=F("price") - Coalesce(F("opening__billed"), Value(ZERO)),  # a go-live line: what is left to bill
        )
        .values("pk", "n", "total", "last", "to_bill", "end_date")
        .order_by("pk")
        if row["n"] == 0 or row["total"] != row["to_bill"] or (row["last"] and row["last"] < row["end_date"])
    ]
    for pk in stale:
        billing_schedule_generate(contract_line_id=pk)
    return len(stale)
