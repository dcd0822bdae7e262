"""The source providers of billing.services.sources, one class per kind of billable thing (accepted milestones,
schedule events, approved time entries, approved re-billable expenses, re-billable lines of posted vendor bills),
and the Candidate each proposes: the rules for each kind, time entries' amounts included, are in
billing.services.sources' docstring."""

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from billing import sql
from billing.choices import ScheduleKind, SourceKind, VendorBillLineKind, VendorBillStatus
from billing.models import InvoiceLine, ScheduleEvent, SourceLink, VendorBillLine
from projects.calculations import ENTRY_ROLE, tm_group_net
from projects.choices import EntryStatus, MilestoneStatus
from projects.models import Expense, Milestone, TimeEntry
from psa.core.money import ZERO, allocate, line_net


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


class _OneLinePerSource(ABC):
    """A provider whose every source is one invoice line of quantity 1 at its amount, billable from its date, oldest
    first (accepted milestones, re-billed vendor costs). A subclass names its queryset, the column of the date it
    is billable from (`order`), of its amount (`price`), the other columns its text needs (`fields`), and how it
    writes the line's text and date from a row."""

    kind: str
    order: str
    price: str
    fields: tuple[str, ...] = ()

    @abstractmethod
    def queryset(self, *, contract_ids: Iterable[int], period_end: date) -> QuerySet:
        """See the class docstring."""

    @abstractmethod
    def description(self, row: dict) -> str:
        """See the class docstring."""

    @abstractmethod
    def source_date(self, row: dict) -> date:
        """See the class docstring."""

    def candidates(self, *, contract_ids: Iterable[int], period_end: date, lock: bool = False) -> list[Candidate]:
        qs = _oldest_first(
            self.queryset(contract_ids=list(contract_ids), period_end=period_end), self.order, "pk", lock=lock
        )
        rows = qs.values("pk", self.price, "contract_line_id", "contract_line__contract_id", "contract_line__cap",
                         *self.fields)  # fmt: skip
        return [
            Candidate(
                kind=self.kind,
                source_id=r["pk"],
                contract_id=r["contract_line__contract_id"],
                contract_line_id=r["contract_line_id"],
                cap=r["contract_line__cap"],
                description=self.description(r),
                quantity=Decimal("1"),
                unit="C62",
                unit_price=r[self.price],
                source_date=self.source_date(r),
                group=(self.kind, r["pk"]),
            )
            for r in rows
        ]


class MilestoneSource(_OneLinePerSource):
    """Accepted milestones of a contract line, billable from their acceptance date."""

    kind = SourceKind.MILESTONE
    order, price, fields = "accepted_at", "amount", ("name", "accepted_at")

    def queryset(self, *, contract_ids: Iterable[int], period_end: date) -> QuerySet:
        return Milestone.objects.filter(
            status=MilestoneStatus.ACCEPTED,
            contract_line__contract_id__in=contract_ids,
            accepted_at__date__lte=period_end,
            amount__gt=0,
        ).exclude(_not_billed(self.kind))

    def description(self, row: dict) -> str:
        return f"Milestone: {row['name']}"

    def source_date(self, row: dict) -> date:
        return row["accepted_at"].date()

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


class VendorCostSource(_OneLinePerSource):
    """Re-billable lines of posted vendor bills, billable from the bill's date, one invoice line each (like an
    expense: the client sees every re-billed cost). The amount is the line's `rebill_amount`, fixed when the bill
    was posted from the contract line's expense policy (at cost or with a markup) and already in the contract's
    currency; a line whose policy re-bills nothing has none and is never billed. Posted through the contract
    position like expenses (recognition recognises it: ledger.services.recognition, re-billed costs)."""

    kind = SourceKind.VENDOR_COST
    order, price, fields = "bill__bill_date", "rebill_amount", ("description", "bill__bill_date")

    def queryset(self, *, contract_ids: Iterable[int], period_end: date) -> QuerySet:
        return VendorBillLine.objects.filter(
            kind=VendorBillLineKind.REBILLABLE,
            bill__status__in=POSTED_BILL_STATUSES,
            rebill_amount__gt=0,
            contract_line__contract_id__in=contract_ids,
            bill__bill_date__lte=period_end,
        ).exclude(_not_billed(self.kind))

    def description(self, row: dict) -> str:
        return vendor_cost_description(on=row["bill__bill_date"], description=row["description"])

    def source_date(self, row: dict) -> date:
        return row["bill__bill_date"]

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
