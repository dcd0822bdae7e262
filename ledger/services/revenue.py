"""Revenue schedules, estimates and the recognition run (DESIGN.md sections 5-7).

- `revenue_schedules_ensure` gives every contract line a schedule with the default method of its billing model (the
  handoff's choice); `revenue_schedule_method_set` changes it, refusing a method that does not fit the billing model.
- Straight-line schedules plan equal monthly cents over the line's months, the remainder in the last month
  (1,000.00 over 12 = 11 x 83.33 + 83.37); `revenue_schedule_plan_set` takes a custom plan that must sum to the price.
  When a change order moves a line's price or dates, `revenue_schedules_rebaseline` rebuilds the plan and the next run
  posts the cumulative catch-up.
- `estimate_set`: the PM's estimate to complete per project (never negative).
- `recognition_run_start` / `recognition_run_execute`: per contract line compute revenue to date
  (ledger.services.recognition) and post the difference through the contract-position rule (revenue first relieves the
  project's deferred revenue, the rest goes to unbilled receivable), into the run's month if open, else the first
  open month after it. One transaction and one journal entry per chunk of whole projects; schedules are locked
  in id order and re-read after the lock, so a second or concurrent run posts nothing new.

Foreign currency (IFRIC 22, DESIGN.md section 10). A schedule's price, targets and recognised amounts are in its
contract's currency (Contract.currency; the contract lines are priced in it). For a contract in another currency
than the functional one the run reads the rate of the recognition date (the run's month end) once per run for
every foreign currency (`recognition_rates`, one query), and per project:
- the net revenue of the month goes through the contract position with that rate (`position_split`): the part
  that releases deferred revenue takes the functional value the deferral was booked at (the advance invoice's
  rate), in proportion; the part recognised ahead of billing opens unbilled receivable at the recognition date's
  rate. The revenue is worth what the position parts are worth, so no exchange difference arises here;
- the revenue lines (one per schedule, in the contract's currency) share the parts' functional total in proportion
  to their amounts (psa.core.money.allocate), so the entry balances to the cent in the functional currency and,
  line by line, in the contract's currency;
- a loss provision is converted at the recognition date's rate;
- a currency without a rate on or before the month end refuses the affected projects: each of their schedules with
  something to post gets the error naming the currency and date in the run's per-line errors; the other projects
  post, and the next run (after finance enters the rate) posts what was left.

Worked example (functional EUR; a USD contract of 1,000.00 USD with two milestones of 400.00 and 600.00 USD):
- 10 January: an advance invoice of 500.00 USD at 0.9000 opens deferred revenue 500.00 USD = 450.00 EUR.
- 31 January, rate 0.8000: both milestones accepted, 1,000.00 USD of revenue. 500.00 USD releases the deferral at
  its booked 450.00 EUR; 500.00 USD opens unbilled receivable at 0.8000 = 400.00 EUR. Revenue is 850.00 EUR,
  allocated 400 : 600 over the two lines: 340.00 and 510.00 EUR. No exchange difference: revenue released from an
  advance is worth what the advance was.
- 15 February: the final invoice of 500.00 USD at 0.8500 = 425.00 EUR relieves the unbilled receivable at its
  booked 400.00 EUR; the 25.00 EUR difference is a realised exchange gain (billing's posting, the same rule).
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from celery import current_app
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from ledger import sql
from ledger.choices import (
    LOSS_PROVISION_CODE,
    METHODS_BY_BILLING_MODEL,
    PLANNED_METHODS,
    RecognitionMethod,
    RecognitionRunStatus,
    SystemAccount,
)
from ledger.models import (
    AccountingPeriod,
    JournalLine,
    ProjectEstimate,
    Recognition,
    RecognitionRun,
    RevenueSchedule,
    RevenueScheduleLine,
)
from ledger.services.accounts import account_code_for
from ledger.services.contract_position import (
    ContractPosition,
    PositionPart,
    contract_positions,
    contract_positions_net,
    position_lines,
    position_split,
)
from ledger.services.posting import EntrySpec, LineSpec, entry_post, fx_line
from ledger.services.recognition import Target, targets_compute
from projects.models import ContractLine, ContractLineOpening, Project
from psa.core.audit import audit_record
from psa.core.currency import functional_currency
from psa.core.dates import month_start, months_between
from psa.core.exceptions import NotFoundError, PeriodClosed, PermissionDeniedError, ValidationFailed
from psa.core.fx import MissingRate, Rate, convert, rates_for
from psa.core.history import acting, history_context
from psa.core.money import FX_RATE_PLACES, ZERO, DecimalInput, allocate, round_to, split_evenly, to_decimal
from psa.core.roles import Role, has_role

RECOGNITION_RUN_TASK = "ledger.tasks.recognition_run_task"
# Schedules per transaction and journal entry (whole projects): progress shows per chunk, a crash loses at most one
# chunk, and entries stay small (the balance trigger sums an entry's lines once per line inserted).
CHUNK = 100


def default_method(billing_model: str) -> str:
    return METHODS_BY_BILLING_MODEL.get(billing_model, (RecognitionMethod.AS_DELIVERED,))[0]


def method_check(billing_model: str, method: str) -> None:
    """Refuse a method that does not fit the billing model (e.g. straight line on a T&M line)."""
    allowed = METHODS_BY_BILLING_MODEL.get(billing_model, ())
    if method not in allowed:
        names = ", ".join(RecognitionMethod(m).label.split(" (")[0].lower() for m in allowed) or "none"
        raise ValidationFailed(
            f"A {billing_model.replace('_', ' ')} line cannot be recognised by '{method}'; allowed: {names}.",
            fields={"method": [f"Does not fit the billing model '{billing_model}'."]},
            code="method_mismatch",
        )


def plan_equal(price: Decimal, start: date, end: date) -> list[tuple[date, Decimal]]:
    months = months_between(start, end)
    return list(zip(months, split_evenly(price, len(months)), strict=True))


def _schedule_from_line(line: ContractLine, method: str | None = None) -> RevenueSchedule:
    return RevenueSchedule(
        contract_line_id=line.pk,
        project_id=line.contract.project_id,
        client_id=line.contract.account_id,
        method=method or default_method(line.billing_model),
        price=line.price,
        start=line.start_date,
        end=line.end_date,
    )


def _plan_rows(schedules: Sequence[RevenueSchedule]) -> list[RevenueScheduleLine]:
    """Equal monthly amounts of each straight-line schedule. A line brought in at go-live plans only what is
    left after its opening recognised revenue, from the cut-over month on (ledger.services.recognition)."""
    planned = [s for s in schedules if s.method in PLANNED_METHODS]
    openings = {
        o.contract_line_id: o
        for o in ContractLineOpening.objects.filter(contract_line_id__in=[s.contract_line_id for s in planned])
    }
    rows = []
    for s in planned:
        price, start = s.price, s.start
        if (opening := openings.get(s.contract_line_id)) is not None:
            price, start = s.price - opening.recognised, max(s.start, month_start(opening.as_of))
        rows += [
            RevenueScheduleLine(schedule_id=s.pk, month=month, amount=amount)
            for month, amount in plan_equal(price, min(start, s.end), s.end)
        ]
    return rows


@transaction.atomic
def revenue_schedules_ensure(*, contract_line_ids: list[int] | None = None) -> int:
    """Create the missing schedules (default method by billing model, equal plan); returns how many. Set-based:
    three queries whatever the number of lines. Safe to run twice (one schedule per line, unique)."""
    # Two runs starting together (beat and finance) would race to create the same schedules: one at a time.
    sql.advisory_xact_lock("ledger.schedules_ensure")
    lines = ContractLine.objects.filter(revenue_schedule__isnull=True).select_related("contract")
    if contract_line_ids is not None:
        lines = lines.filter(pk__in=contract_line_ids)
    schedules = [_schedule_from_line(line) for line in lines]
    if not schedules:
        return 0
    created = RevenueSchedule.objects.bulk_create(schedules, ignore_conflicts=False)
    RevenueScheduleLine.objects.bulk_create(_plan_rows(created))
    return len(created)


@transaction.atomic
def revenue_schedules_rebaseline(*, contract_line_ids: list[int] | None = None) -> int:
    """Follow change orders: schedules whose baseline (price, dates) differs from the line get the new baseline
    and, for straight-line schedules, a new equal plan. The next run posts the cumulative catch-up."""
    drifting = RevenueSchedule.objects.select_for_update().filter(
        ~Q(price=F("contract_line__price"))
        | ~Q(start=F("contract_line__start_date"))
        | ~Q(end=F("contract_line__end_date"))
    )
    if contract_line_ids is not None:
        drifting = drifting.filter(contract_line_id__in=contract_line_ids)
    drifted = list(
        drifting.order_by("pk").annotate(
            line_price=F("contract_line__price"),
            line_start=F("contract_line__start_date"),
            line_end=F("contract_line__end_date"),
        )
    )
    if not drifted:
        return 0
    for s in drifted:
        s.price, s.start, s.end, s.baseline = s.line_price, s.line_start, s.line_end, s.baseline + 1
    RevenueSchedule.objects.bulk_update(drifted, ["price", "start", "end", "baseline", "updated_at"])
    RevenueScheduleLine.objects.filter(schedule__in=[s.pk for s in drifted if s.method in PLANNED_METHODS]).delete()
    RevenueScheduleLine.objects.bulk_create(_plan_rows(drifted))
    return len(drifted)


def _schedule_locked(schedule_id: int) -> RevenueSchedule:
    schedule = (
        RevenueSchedule.objects.select_for_update().select_related("contract_line").filter(pk=schedule_id).first()
    )
    if schedule is None:
        raise NotFoundError(f"No revenue schedule with id {schedule_id}.")
    return schedule


@transaction.atomic
def revenue_schedule_method_set(*, schedule_id: int, method: str, by: User) -> RevenueSchedule:
    """Change how a line is recognised. The method must fit the billing model; the next run posts the
    cumulative difference (catch-up), so nothing already posted is rewritten."""
    schedule = _schedule_locked(schedule_id)
    method_check(schedule.contract_line.billing_model, method)
    if method == schedule.method:
        return schedule
    before = schedule.method
    schedule.method = method
    schedule.save(update_fields=["method", "updated_at"])
    RevenueScheduleLine.objects.filter(schedule=schedule).delete()
    RevenueScheduleLine.objects.bulk_create(_plan_rows([schedule]))
    audit_record(
        actor=by,
        action="ledger.schedule_method_set",
        obj=schedule,
        summary=f"Recognition of line {schedule.contract_line} changed from {before} to {method}",
        data={"from": before, "to": method},
    )
    return schedule


@transaction.atomic
def revenue_schedule_plan_set(*, schedule_id: int, amounts: dict[date, Decimal], by: User) -> RevenueSchedule:
    """Replace a straight-line plan with custom monthly amounts. Refused unless every month lies within the
    line's dates, no amount is negative or has fractions of a cent, and the months sum to the price exactly."""
    schedule = _schedule_locked(schedule_id)
    if schedule.method not in PLANNED_METHODS:
        raise ValidationFailed(
            "Only straight-line schedules have a monthly plan.", fields={"method": ["Not a straight-line schedule."]}
        )
    allowed = set(months_between(schedule.start, schedule.end))
    errors: dict[str, list[str]] = {}
    rows: dict[date, Decimal] = {}
    for month, raw in amounts.items():
        label = f"{month:%Y-%m}"
        try:
            amount = to_decimal(raw)
        except (TypeError, ValueError):
            errors[label] = ["Enter an amount."]
            continue
        if month_start(month) not in allowed:
            errors[label] = ["Outside the line's service period."]
        elif amount < 0 or amount != amount.quantize(Decimal("0.01")):
            errors[label] = ["Whole cents, not negative."]
        rows[month_start(month)] = amount
    total = sum(rows.values(), ZERO)
    if not errors and total != schedule.price:
        errors["amounts"] = [f"The months sum to {total:,.2f}; the line's price is {schedule.price:,.2f}."]
    if errors:
        raise ValidationFailed(f"The schedule cannot be saved: {next(iter(errors.values()))[0]}", fields=errors)
    RevenueScheduleLine.objects.filter(schedule=schedule).delete()
    RevenueScheduleLine.objects.bulk_create(
        [RevenueScheduleLine(schedule=schedule, month=m, amount=a) for m, a in sorted(rows.items())]
    )
    audit_record(actor=by, action="ledger.schedule_plan_set", obj=schedule, summary=f"New plan for {schedule}", data={})
    return schedule


@transaction.atomic
def estimate_set(
    *,
    project_id: int,
    etc_hours: DecimalInput,
    etc_cost: DecimalInput | None = None,
    as_of: date | None = None,
    note: str = "",
    by: User,
) -> ProjectEstimate:
    """Record the PM's estimate to complete a project from `as_of` (default today). Negative hours or cost are
    refused; a second estimate on the same day replaces the first."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Decimal | None] = {}
    for name, raw in (("etc_hours", etc_hours), ("etc_cost", etc_cost)):
        if raw in (None, "") and name == "etc_cost":
            values[name] = None
            continue
        try:
            value = to_decimal(raw)
        except (TypeError, ValueError):
            errors[name] = ["Enter a number."]
            continue
        if not value.is_finite() or value < 0:
            errors[name] = ["An estimate to complete cannot be negative."]
        values[name] = value
    if errors:
        raise ValidationFailed(f"The estimate is refused: {next(iter(errors.values()))[0]}", fields=errors)
    project = Project.objects.filter(pk=project_id).values("project_manager_id").first()
    if project is None:
        raise NotFoundError(f"No project with id {project_id}.")

    def may_estimate(user: User) -> bool:
        runs_it = has_role(user, Role.PROJECT_MANAGER) and project["project_manager_id"] == user.pk
        return has_role(user, Role.FINANCE, Role.ADMIN) or runs_it

    if by is not None and not may_estimate(by):  # `by` None: the demo seed and management commands
        raise PermissionDeniedError("Only the project's manager, finance or an administrator may estimate it.")
    estimate, _ = ProjectEstimate.objects.update_or_create(
        project_id=project_id,
        as_of=as_of or timezone.localdate(),
        defaults={**values, "note": (note or "")[:300], "created_by": by if getattr(by, "pk", None) else None},
    )
    return estimate


def _open_period(period_id: int) -> AccountingPeriod:
    period = AccountingPeriod.objects.filter(pk=period_id).first()
    if period is None:
        raise NotFoundError(f"No accounting period with id {period_id}.")
    if not period.is_open:
        raise PeriodClosed(
            f"{period.label} is closed: recognition never posts into a closed month. Run the first open month "
            "instead; anything late lands there.",
            fields={"period": [f"{period.label} is closed."]},
        )
    return period


def recognition_run_start(*, period_id: int, by: User | None = None, enqueue: bool = True) -> RecognitionRun:
    """Start (or resume) the run of an open month. A run already going for that month is returned and
    re-enqueued instead of starting a second one; the job itself is safe to run twice. The job is enqueued
    after commit by its task name (tasks import services, never the other way round)."""
    with transaction.atomic():
        period = _open_period(period_id)
        AccountingPeriod.objects.select_for_update().filter(pk=period.pk).first()  # one start at a time per month
        run = RecognitionRun.objects.filter(period=period, status=RecognitionRunStatus.RUNNING).first()
        if run is None:
            run = RecognitionRun.objects.create(period=period, created_by=by if getattr(by, "pk", None) else None)
        if enqueue:
            transaction.on_commit(
                lambda: current_app.signature(RECOGNITION_RUN_TASK, kwargs={"run_id": run.pk}).delay()
            )
    return run


@dataclass
class _Item:
    schedule_id: int
    project_id: int
    client_id: int
    label: str
    revenue: Decimal
    provision: Decimal
    currency: str = ""  # the contract's; "" or the functional currency: no conversion
    entity_id: int | None = None  # the project's legal entity, whose books take the entry


def _scope(as_of: date) -> list[Any]:  # rows of values()
    return list(
        RevenueSchedule.objects.filter(start__lte=as_of)
        .order_by("project_id", "pk")
        .values(
            "id",
            "contract_line_id",
            "project_id",
            "client_id",
            "method",
            "price",
            "recognised",
            "provision",
            cap=F("contract_line__cap"),
            hours=F("contract_line__hours"),
            number=F("contract_line__contract__number"),
            position=F("contract_line__position"),
            description=F("contract_line__description"),
            currency=F("contract_line__contract__currency"),
            entity_id=F("project__entity_id"),
        )
    )


def recognition_rates(currencies: Iterable[str], *, on: date) -> tuple[dict[str, Rate], dict[str, MissingRate]]:
    """The rate of each foreign contract currency for the recognition date `on` (one query for all of them, and
    one more per currency that has no rate), and the refusal of each currency without one."""
    functional = functional_currency()
    wanted = {c for c in currencies if c and c != functional}
    missing: dict[str, MissingRate] = {}
    while wanted:
        try:
            found = rates_for(pairs=[(c, on) for c in wanted])
        except MissingRate as exc:
            missing[exc.currency] = exc
            wanted.discard(exc.currency)
            continue
        return {c: found[(c, on)] for c in wanted}, missing
    return {}, missing


def _chunks(rows: list[dict]) -> list[list[dict]]:
    """Cut the rows (sorted by project) into chunks of about CHUNK, never splitting a project."""
    chunks: list[list[dict]] = []
    current: list[dict] = []
    for row in rows:
        if len(current) >= CHUNK and row["project_id"] != current[-1]["project_id"]:
            chunks.append(current)
            current = []
        current.append(row)
    if current:
        chunks.append(current)
    return chunks


def _side(amount: Decimal, debit: bool) -> dict:
    return {"debit": amount} if debit else {"credit": amount}


def _revenue_values(items: list[_Item], total: Decimal, rate: Rate) -> dict[int, Decimal]:
    """Signed functional value per schedule of a foreign project's revenue items: `total` (the functional value of
    its contract-position parts, signed like the net) allocated in proportion to the amounts; with a net of zero
    (the items cancel out) each converts at `rate`, the last taking what keeps the sum at zero."""
    weights = [item.revenue for item in items]
    if sum(weights, ZERO):
        shares = allocate(total, weights)
    else:
        shares = [convert(amount=w, rate=rate) for w in weights[:-1]]
        shares.append(-sum(shares, ZERO))
    return {item.schedule_id: share for item, share in zip(items, shares, strict=True)}


def _revenue_line(item: _Item, code: str, value: Decimal | None, rate: Rate | None) -> LineSpec | None:
    """Cr revenue (Dr when it falls) for one schedule: in the functional currency, or in the contract's currency
    worth `value` (signed like the revenue), at the rate that value works out to. None when it is worth nothing
    in the functional currency (a line must be positive)."""
    amount = abs(item.revenue)
    if rate is None or value is None:
        side = _side(amount, debit=item.revenue < 0)
        return LineSpec(account=code, client_id=item.client_id, project_id=item.project_id, memo=item.label, **side)
    worth = abs(value)
    if not worth or (value < 0) != (item.revenue < 0):
        return None
    return LineSpec(
        account=code,
        client_id=item.client_id,
        project_id=item.project_id,
        memo=item.label,
        **_side(worth, debit=item.revenue < 0),
        currency=rate.currency,
        amount_currency=amount,
        rate=round_to(worth / amount, FX_RATE_PLACES) or rate.rate,
    )


def recognition_spec(
    items: list[_Item],
    positions: dict[int, ContractPosition],
    *,
    on: date,
    codes: dict[str, str],
    rates: Mapping[str, Rate] | None = None,
) -> EntrySpec:
    """One entry for a chunk: per line Cr revenue (Dr when it falls); per project the contract position, split by
    the one rule (ledger.services.contract_position: an increase first relieves deferred revenue, the rest is
    unbilled receivable; a decrease first reduces unbilled receivable, the rest becomes deferred revenue); loss
    provisions Dr cost of services / Cr provision. A project whose contract is in a foreign currency converts at
    `rates` (currency -> the recognition date's rate) by IFRIC 22, as the module says."""
    functional = functional_currency()
    net_by_project: dict[int, tuple[int, Decimal]] = {}
    by_project: dict[int, list[_Item]] = {}
    project_rate: dict[int, Rate] = {}
    for item in items:
        if item.currency and item.currency != functional:
            rate = (rates or {}).get(item.currency)
            if rate is None:
                raise MissingRate(item.currency, on, functional)
            project_rate[item.project_id] = rate
        if item.revenue:
            client, net = net_by_project.get(item.project_id, (item.client_id, ZERO))
            net_by_project[item.project_id] = (client, net + item.revenue)
            by_project.setdefault(item.project_id, []).append(item)
    parts_by_project: dict[int, list[PositionPart]] = {}
    values: dict[int, Decimal] = {}
    for project_id, (_client, net) in net_by_project.items():
        rate = project_rate.get(project_id)
        parts = position_split(amount=net, position=positions.get(project_id, ContractPosition()), rate=rate)
        parts_by_project[project_id] = parts
        if rate is not None:
            total = sum((p.value for p in parts), ZERO)
            values.update(_revenue_values(by_project[project_id], total if net > 0 else -total, rate))
    lines: list[LineSpec] = []
    for item in items:
        rate = project_rate.get(item.project_id)
        if item.revenue:
            line = _revenue_line(item, codes["revenue"], values.get(item.schedule_id), rate)
            if line is not None:
                lines.append(line)
        if item.provision:
            memo = f"Loss provision {item.label}"[:200]
            amount = abs(item.provision)
            for account, debit in ((codes["cost"], item.provision > 0), (codes["provision"], item.provision < 0)):
                dr, cr = (amount, ZERO) if debit else (ZERO, amount)
                if rate is None:
                    provision_line = LineSpec(account, dr, cr, item.client_id, item.project_id, memo)
                else:
                    provision_line = fx_line(
                        account, rate=rate, debit=dr, credit=cr, client_id=item.client_id, project_id=item.project_id,
                        memo=memo,
                    )  # fmt: skip
                lines.append(provision_line)
    for project_id, (client_id, _net) in sorted(net_by_project.items()):
        rate = project_rate.get(project_id)
        if rate is not None:
            lines += position_lines(
                parts_by_project[project_id],
                codes=codes,
                client_id=client_id,
                project_id=project_id,
                currency=rate.currency,
            )
            continue
        for part in parts_by_project[project_id]:
            lines.append(
                LineSpec(
                    account=codes[part.role],
                    client_id=client_id,
                    project_id=project_id,
                    memo="Contract position",
                    **_side(part.amount, debit=part.debit),
                )
            )
    return EntrySpec(date=on, memo=f"Revenue recognition through {on:%Y-%m-%d}", source="recognition", lines=lines)


def _codes(need_provision: bool, run_codes: dict[bool, dict[str, str]] | None = None) -> dict[str, str]:
    """The account codes a recognition entry posts to; `run_codes` keeps them for the rest of a run (one lookup
    per run instead of three per chunk)."""
    if run_codes is not None:
        if need_provision not in run_codes:
            run_codes[need_provision] = _codes(need_provision)
        return run_codes[need_provision]
    codes = {
        "revenue": account_code_for(SystemAccount.SERVICES_REVENUE),
        "unbilled": account_code_for(SystemAccount.UNBILLED),
        "deferred": account_code_for(SystemAccount.DEFERRED),
    }
    if need_provision:
        codes["cost"] = account_code_for(SystemAccount.COST_OF_SERVICES)
        codes["provision"] = LOSS_PROVISION_CODE
    return codes


def _post_chunk(
    run: RecognitionRun,
    rows: list[dict],
    targets: dict,
    period: AccountingPeriod,
    run_codes: dict | None = None,
    rates: Mapping[str, Rate] | None = None,
) -> None:
    """Lock the chunk's schedules (id order), compute the differences against what is recognised now, post one
    entry and the Recognition rows; all in one transaction."""
    ids = sorted(r["id"] for r in rows)
    with transaction.atomic():
        current = {
            pk: (recognised, provision)
            for pk, recognised, provision in RevenueSchedule.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "recognised", "provision")
        }
        items: list[_Item] = []
        for r in rows:
            target = targets.get(r["id"])
            if target is None or target.error or r["id"] not in current:
                continue
            recognised, provision = current[r["id"]]
            revenue, provision_delta = target.revenue - recognised, target.provision - provision
            if revenue or provision_delta:
                label = f"{r['number']}/{r['position']} {r['description']}"[:200]
                currency = r.get("currency") or ""
                items.append(
                    _Item(
                        r["id"],
                        r["project_id"],
                        r["client_id"],
                        label,
                        revenue,
                        provision_delta,
                        currency,
                        r.get("entity_id"),
                    )
                )
        if items:
            _post_items(run, items, current, period, run_codes, rates)
        contract_positions_net(
            projects={r["project_id"]: r["client_id"] for r in rows},
            on=period.end,
            account_codes=_codes(False, run_codes),
        )


def _post_items(
    run: RecognitionRun,
    items: list[_Item],
    current: dict,
    period: AccountingPeriod,
    run_codes: dict | None = None,
    rates: Mapping[str, Rate] | None = None,
) -> None:
    """Post the chunk's differences, one entry per legal entity of the projects (each entity's books take its own
    projects' revenue), and record them per schedule (inside the chunk's transaction)."""
    positions = contract_positions(project_ids=sorted({i.project_id for i in items}), on=period.end)
    by_entity: dict[int | None, list[_Item]] = {}
    for item in items:
        by_entity.setdefault(item.entity_id, []).append(item)
    for entity_id, group in sorted(by_entity.items(), key=lambda kv: kv[0] or 0):
        _post_entity_items(run, group, current, period, positions, entity_id, run_codes, rates)


def _post_entity_items(
    run: RecognitionRun,
    items: list[_Item],
    current: dict,
    period: AccountingPeriod,
    positions: dict[int, ContractPosition],
    entity_id: int | None,
    run_codes: dict | None,
    rates: Mapping[str, Rate] | None,
) -> None:
    """One entity's recognition entry for its items of a chunk, and their Recognition rows. The idempotency key's
    digest covers the entity and its schedules, so it is unique per entity."""
    codes = _codes(any(i.provision for i in items), run_codes)
    spec = replace(recognition_spec(items, positions, on=period.end, codes=codes, rates=rates), entity_id=entity_id)
    digest = hashlib.sha256(
        (
            (f"entity {entity_id};" if entity_id is not None else "")
            + ";".join(f"{i.schedule_id}:{current[i.schedule_id][0]}:{i.revenue}:{i.provision}" for i in items)
        ).encode()
    ).hexdigest()[:32]
    entry = entry_post(spec=spec, key=f"revrec:{period.label}:{digest}", catch_up=True)
    sequences = dict(
        Recognition.objects.filter(schedule_id__in=[i.schedule_id for i in items], period_id=entry.period_id)
        .values("schedule_id")
        .annotate(n=Count("id"))
        .values_list("schedule_id", "n")
    )
    sql.recognitions_insert(
        [
            _RecognitionRow(
                schedule_id=i.schedule_id,
                run_id=run.pk,
                period_id=entry.period_id,
                sequence=sequences.get(i.schedule_id, 0) + 1,
                as_of=period.end,
                cumulative=current[i.schedule_id][0] + i.revenue,
                amount=i.revenue,
                provision_amount=i.provision,
                entry_id=entry.pk,
            )
            for i in items
        ]
    )
    sql.schedules_add(
        [(i.schedule_id, i.revenue, i.provision) for i in items], last_period_id=entry.period_id, now=timezone.now()
    )


class _RecognitionRow(NamedTuple):
    """One Recognition row; the fields are its columns."""

    schedule_id: int
    run_id: int
    period_id: int
    sequence: int
    as_of: date
    cumulative: Decimal
    amount: Decimal
    provision_amount: Decimal
    entry_id: int


@history_context("recognition-run", key="run_id")
def recognition_run_execute(*, run_id: int) -> RecognitionRun | None:
    """Do a run: ensure and re-baseline schedules, compute every line's target with a fixed number of queries,
    then post chunk by chunk. Errors are per line (kept on the run); the rest goes on. Re-running the same run
    after a crash, or a new run for the same month, posts only what is still missing."""
    run = RecognitionRun.objects.select_related("period").filter(pk=run_id).first()
    if run is None or run.status != RecognitionRunStatus.RUNNING:
        return run
    acting(by=run.created_by_id)  # the history's user: who started the run
    period = run.period
    if not period.is_open:
        RecognitionRun.objects.filter(pk=run.pk).update(
            status=RecognitionRunStatus.FAILED,
            errors=[{"line": None, "error": f"{period.label} was closed before the run started."}],
            finished_at=timezone.now(),
        )
        run.refresh_from_db()
        return run
    as_of = period.end
    revenue_schedules_ensure()
    revenue_schedules_rebaseline()
    rows = _scope(as_of)
    rates, missing = recognition_rates({r["currency"] for r in rows}, on=as_of)
    targets = targets_compute(rows, as_of=as_of, rates=rates)
    _refuse_missing_rates(rows, targets, missing)
    errors = [
        {"line": f"{r['number']}/{r['position']}", "schedule": r["id"], "error": targets[r["id"]].error}
        for r in rows
        if targets[r["id"]].error
    ]
    RecognitionRun.objects.filter(pk=run.pk).update(total=len(rows), errors=errors)
    done = 0
    codes: dict[bool, dict[str, str]] = {}  # the account codes, read once per run
    try:
        for chunk in _chunks(rows):
            _post_chunk(run, chunk, targets, period, codes, rates)
            done += len(chunk)
            RecognitionRun.objects.filter(pk=run.pk).update(processed=done)
    except Exception as exc:
        RecognitionRun.objects.filter(pk=run.pk).update(
            status=RecognitionRunStatus.FAILED,
            errors=[*errors, {"line": None, "error": str(exc)[:500]}],
            finished_at=timezone.now(),
        )
        raise
    posted = Recognition.objects.filter(run=run)
    # The run's amount is the revenue it posted in the functional currency (contracts in other currencies are
    # worth their lines' functional amounts, never their own figures added to it).
    amount = JournalLine.objects.filter(
        entry_id__in=posted.values("entry_id"), account__system_role=SystemAccount.SERVICES_REVENUE
    ).aggregate(v=Sum(F("credit") - F("debit")))["v"]
    RecognitionRun.objects.filter(pk=run.pk).update(
        status=RecognitionRunStatus.DONE_WITH_ERRORS if errors else RecognitionRunStatus.DONE,
        posted_lines=posted.count(),
        amount=amount or ZERO,
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run


def _refuse_missing_rates(rows: list[dict], targets: dict[int, Target], missing: Mapping[str, MissingRate]) -> None:
    """A schedule of a contract whose currency has no rate for the month end is refused with the rate's error
    (naming the currency and the date) when it has something to post; a percent-of-cost one always (its loss
    provision compares cost with the price in the functional currency)."""
    if not missing:
        return
    for r in rows:
        refusal = missing.get(r["currency"])
        target = targets[r["id"]]
        if refusal is None or target.error:
            continue
        moves = target.revenue != r["recognised"] or target.provision != r["provision"]
        if moves or r["method"] == RecognitionMethod.PERCENT_COST:
            targets[r["id"]] = Target(error=refusal.message)


def recognition_run(*, period_id: int, by: User | None = None) -> RecognitionRun:
    """Start and execute in this process (tests, the demo seed, management use)."""
    run = recognition_run_start(period_id=period_id, by=by, enqueue=False)
    return recognition_run_execute(run_id=run.pk) or run


def recognition_month_end(*, today: date | None = None) -> RecognitionRun | None:
    """The beat job (1st of the month): run the month before `today`, or the first open month after it when it
    is closed already. Returns None when no open period exists (create periods first)."""
    today = today or timezone.localdate()
    previous = month_start(month_start(today) - timedelta(days=1))
    period = AccountingPeriod.objects.filter(start__gte=previous, status="open").order_by("start").first()
    if period is None:
        return None
    return recognition_run_start(period_id=period.pk)


def recognised_to_date(schedule_ids: list[int]) -> dict[int, Decimal]:
    return dict(RevenueSchedule.objects.filter(pk__in=schedule_ids).values_list("pk", "recognised"))


__all__ = [
    "default_method",
    "estimate_set",
    "method_check",
    "plan_equal",
    "recognition_month_end",
    "recognition_run",
    "recognition_run_execute",
    "recognition_run_start",
    "recognition_spec",
    "revenue_schedule_method_set",
    "revenue_schedule_plan_set",
    "revenue_schedules_ensure",
    "revenue_schedules_rebaseline",
]
