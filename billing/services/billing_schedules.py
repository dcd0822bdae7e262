"""Billing schedules: the instalment, retainer and subscription events of scheduled contract lines, generated
and kept in step with change orders (billing.services.sources' ScheduleSource bills them)."""

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, F, Max, Sum, Value
from django.db.models.functions import Coalesce

from billing.choices import ScheduleKind, SourceKind
from billing.models import CapWriteDown, ScheduleEvent, SourceLink
from billing.services._common import require_finance
from crm.choices import BillingModel
from projects.models import ContractLine, ContractLineOpening
from psa.core.dates import month_spans
from psa.core.exceptions import NotFoundError, ValidationFailed
from psa.core.money import ZERO, split_evenly

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
