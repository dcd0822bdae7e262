"""Intercompany time: transfer rates and the month-end recharge from the employing entity to the project's.

The rule (DESIGN.md section 10, intercompany recharge):

- Approved hours of a month whose consultant's employing entity A (Consultant.entity) differs from the project's
  entity B (Project.entity) are recharged from A to B at the transfer rate: the time entry's snapshot cost rate
  plus the markup of the most specific TransferRate of A → B valid on the work date (the entry's delivery role
  before the pair's rate for every role). What the month must hold comes from ONE aggregate query
  (ledger.selectors.intercompany.recharge_plan), priced once per group, never per entry.
- Per pair, dated the month end, in the functional currency (every entity books in it this round):
  in A's books Dr Intercompany receivable / Cr Intercompany revenue; in B's books Dr Cost of services per project
  (with its project and client) / Cr Intercompany payable. Both sides carry the same amounts, so the matching
  report (`ic_matching`) shows no difference and the consolidation eliminates them to zero.
- One entry per pair and side per run, posted with `EntrySpec(entity_id=...)`; the source names the month, the
  pair and the side (`ic-recharge:2026-03:<A>-<B>:supplier`), the key adds the entry's sequence number.
- Re-running a month posts the difference: the run compares what the month must hold with what its recharge
  entries hold already (per pair, side and project) and posts only that difference (a negative one takes back:
  Cr cost / Dr payable, Dr revenue / Cr receivable). Nothing changed: nothing posted, the run is UNCHANGED. We post
  the difference rather than reversing and reposting because every earlier entry stays right for what it covered
  and the month's journal keeps one small entry per change instead of two full ones.
- A group of hours without a transfer rate (or without a snapshot cost rate) is refused by name (pair, role,
  first work date) with a 409, and nothing of the month is posted: the whole month is one transaction.
- Concurrency: a run locks every run row of its month before reading, so two runs of one month post one after the
  other and the second sees the first's entries (and posts nothing more).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from celery import current_app
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from crm.models import DeliveryRole
from ledger.choices import IC_RECEIVER_SIDE, IC_RECHARGE_SOURCE, IC_SUPPLIER_SIDE, IntercompanyRunStatus, SystemAccount
from ledger.models import IntercompanyRun, JournalEntry, TransferRate
from ledger.models.intercompany import MAX_MARKUP
from ledger.selectors.intercompany import PairPlan, RechargePlan, recharge_plan, recharge_posted, recharge_source
from ledger.services.accounts import account_code_for
from ledger.services.posting import EntrySpec, LineSpec, entry_post
from psa.core.audit import audit_record
from psa.core.dates import month_end, month_start
from psa.core.exceptions import ConflictError, DomainError, NotFoundError, ValidationFailed
from psa.core.history import acting, history_context
from psa.core.models import LegalEntity
from psa.core.money import ZERO, round_to, to_decimal

RECHARGE_TASK = "ledger.tasks.ic_recharge_task"


class MissingTransferRates(ConflictError):
    code = "missing_transfer_rate"


@transaction.atomic
def transfer_rate_create(
    *,
    by: User | None,
    supplier_id: int,
    receiver_id: int,
    markup_percent: Decimal | str | int,
    valid_from: date,
    valid_to: date | None = None,
    role_id: int | None = None,
    note: str = "",
) -> TransferRate:
    """Add a dated transfer rate. Rules: two different, existing entities; markup 0 to 1000 %; valid_to on or
    after valid_from; no other rate of the same pair and role (or of the pair for every role) overlaps its dates."""
    errors: dict[str, list[str]] = {}
    entities = set(LegalEntity.objects.filter(pk__in=[supplier_id, receiver_id]).values_list("pk", flat=True))
    if supplier_id not in entities:
        errors["supplier"] = [f"No legal entity with id {supplier_id}."]
    if receiver_id not in entities:
        errors["receiver"] = [f"No legal entity with id {receiver_id}."]
    if supplier_id == receiver_id:
        errors["receiver"] = ["The receiving entity must differ from the supplying one."]
    if role_id is not None and not DeliveryRole.objects.filter(pk=role_id).exists():
        errors["role"] = [f"No delivery role with id {role_id}."]
    try:
        markup = to_decimal(markup_percent)
    except (TypeError, ValueError, InvalidOperation):
        markup = None
    if markup is None or not markup.is_finite() or not ZERO <= markup <= MAX_MARKUP:
        errors["markup_percent"] = [f"A percentage from 0 to {MAX_MARKUP}."]
    elif markup != round_to(markup, Decimal("0.01")):
        errors["markup_percent"] = ["At most 2 decimal places."]
    if not isinstance(valid_from, date):
        errors["valid_from"] = ["Enter the first day the rate applies."]
    elif valid_to is not None and valid_to < valid_from:
        errors["valid_to"] = ["The last day cannot come before the first."]
    if not errors:
        overlapping = (
            TransferRate.objects.select_for_update()
            .filter(supplier_id=supplier_id, receiver_id=receiver_id, role_id=role_id)
            .exclude(valid_to__lt=valid_from)
        )
        if valid_to is not None:
            overlapping = overlapping.exclude(valid_from__gt=valid_to)
        clash = overlapping.order_by("valid_from").first()
        if clash is not None:
            until = f"{clash.valid_to:%Y-%m-%d}" if clash.valid_to else "open end"
            errors["valid_from"] = [
                f"The rate from {clash.valid_from:%Y-%m-%d} to {until} of this pair and role overlaps these dates: "
                "end it first."
            ]
    if errors or markup is None:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(f"The transfer rate is not valid: {first}", fields=errors)
    rate = TransferRate.objects.create(
        supplier_id=supplier_id,
        receiver_id=receiver_id,
        role_id=role_id,
        markup_percent=markup,
        valid_from=valid_from,
        valid_to=valid_to,
        note=(note or "")[:200],
        created_by=by if getattr(by, "pk", None) else None,
    )
    if by is not None and getattr(by, "pk", None):
        audit_record(actor=by, action="ledger.transfer_rate_create", obj=rate, summary=f"Transfer rate {rate} added")
    return rate


def _refuse_missing(plan: RechargePlan) -> None:
    if plan.missing:
        messages = [m.message for m in plan.missing]
        raise MissingTransferRates(
            f"The recharge of {plan.month:%Y-%m} is refused: {messages[0]}"
            + (f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""),
            fields={"month": messages},
        )


def recharge_start(*, month: date, by: User | None = None, enqueue: bool = True) -> IntercompanyRun:
    """Check the month can be priced (MissingTransferRates, 409, nothing written) and start its run; the job is
    enqueued by task name after commit."""
    month = month_start(month)
    _refuse_missing(recharge_plan(month))
    with transaction.atomic():
        run = IntercompanyRun.objects.create(month=month, created_by=by if getattr(by, "pk", None) else None)
        if enqueue:
            run_id = run.pk
            transaction.on_commit(lambda: current_app.signature(RECHARGE_TASK, kwargs={"run_id": run_id}).delay())
    return run


@dataclass(frozen=True)
class _Accounts:
    receivable: str
    revenue: str
    cost: str
    payable: str


def _supplier_lines(delta: Decimal, accounts: _Accounts, memo: str) -> list[LineSpec]:
    amount = abs(delta)
    if delta > 0:
        return [
            LineSpec(accounts.receivable, debit=amount, memo=memo),
            LineSpec(accounts.revenue, credit=amount, memo=memo),
        ]
    return [
        LineSpec(accounts.revenue, debit=amount, memo=memo),
        LineSpec(accounts.receivable, credit=amount, memo=memo),
    ]


def _receiver_lines(
    deltas: dict[int, Decimal], clients: dict[int, int], accounts: _Accounts, memo: str
) -> list[LineSpec]:
    lines = [
        LineSpec(
            accounts.cost,
            debit=d if d > 0 else ZERO,
            credit=-d if d < 0 else ZERO,
            project_id=project,
            client_id=clients.get(project),
            memo=memo,
        )
        for project, d in sorted(deltas.items())
        if d
    ]
    net = sum(deltas.values(), ZERO)
    if net:
        lines.append(
            LineSpec(accounts.payable, credit=net if net > 0 else ZERO, debit=-net if net < 0 else ZERO, memo=memo)
        )
    return lines


def _post_pair(
    *,
    month: date,
    supplier: int,
    receiver: int,
    plan: PairPlan | None,
    held: dict[str, dict[int | None, Decimal]],
    sequence: dict[str, int],
    accounts: _Accounts,
    labels: dict[int, str],
) -> tuple[Decimal, int]:
    """Post the pair's difference on both sides; returns what the supplier side added and the entries posted."""
    target = plan.by_project if plan is not None else {}
    clients = plan.clients if plan is not None else {}
    held_cost = held.get(IC_RECEIVER_SIDE, {})
    # Revenue is held as a credit: its debit-positive sum is negative.
    held_revenue = -sum(held.get(IC_SUPPLIER_SIDE, {}).values(), ZERO)
    total = sum(target.values(), ZERO)
    supplier_delta = total - held_revenue
    cost_deltas = {
        p: target.get(p, ZERO) - (held_cost.get(p) or ZERO) for p in set(target) | {p for p in held_cost if p}
    }
    hours = plan.hours if plan is not None else ZERO
    memo = f"Intercompany recharge {month:%Y-%m}: {labels[supplier]} → {labels[receiver]}, {hours} h"
    posted = 0
    end = month_end(month)
    for side, entity, lines in (
        (IC_SUPPLIER_SIDE, supplier, _supplier_lines(supplier_delta, accounts, memo) if supplier_delta else []),
        (IC_RECEIVER_SIDE, receiver, _receiver_lines(cost_deltas, clients, accounts, memo)),
    ):
        if not lines:
            continue
        source = recharge_source(month, supplier, receiver, side)
        n = sequence.get(source, 0) + 1
        entry_post(
            spec=EntrySpec(date=end, memo=memo[:300], lines=tuple(lines), source=source, entity_id=entity),
            key=f"{source}:{n}",
        )
        posted += 1
    return supplier_delta, posted


def _fail(run: IntercompanyRun, error: str, details: list[str] | None = None) -> None:
    IntercompanyRun.objects.filter(pk=run.pk).update(
        status=IntercompanyRunStatus.FAILED,
        errors=[{"error": error[:500]}, *({"error": d[:500]} for d in (details or []))],
        finished_at=timezone.now(),
    )


@history_context("ic-recharge-run", key="run_id")
def recharge_execute(*, run_id: int, raise_errors: bool = False) -> IntercompanyRun | None:
    """Do a run (see the module docstring). A refusal (missing transfer or cost rate, closed period) marks the run
    failed with the reasons and posts nothing; `raise_errors` re-raises it (the synchronous callers)."""
    run = IntercompanyRun.objects.filter(pk=run_id).first()
    if run is None or run.status != IntercompanyRunStatus.RUNNING:
        return run
    acting(by=run.created_by_id)
    try:
        with transaction.atomic():
            # Runs of one month post one after the other (see the module docstring).
            list(IntercompanyRun.objects.select_for_update().filter(month=run.month).order_by("pk").values("pk"))
            plan = recharge_plan(run.month)
            _refuse_missing(plan)
            held = recharge_posted(run.month)
            prefix = f"{IC_RECHARGE_SOURCE}{run.month:%Y-%m}:"
            sequence = dict(
                JournalEntry.objects.filter(source__startswith=prefix)
                .values("source")
                .annotate(n=Count("pk"))
                .values_list("source", "n")
                .order_by()
            )
            accounts = _Accounts(
                receivable=account_code_for(SystemAccount.IC_RECEIVABLE),
                revenue=account_code_for(SystemAccount.IC_REVENUE),
                cost=account_code_for(SystemAccount.COST_OF_SERVICES),
                payable=account_code_for(SystemAccount.IC_PAYABLE),
            )
            planned = {(p.supplier.pk, p.receiver.pk): p for p in plan.pairs}
            keys = sorted(set(planned) | set(held))
            labels = dict(
                LegalEntity.objects.filter(pk__in={i for pair in keys for i in pair}).values_list("pk", "code")
            )
            results, added, entries = [], ZERO, 0
            for supplier, receiver in keys:
                pair = planned.get((supplier, receiver))
                delta, posted = _post_pair(
                    month=run.month,
                    supplier=supplier,
                    receiver=receiver,
                    plan=pair,
                    held=held.get((supplier, receiver), {}),
                    sequence=sequence,
                    accounts=accounts,
                    labels=labels,
                )
                added += delta
                entries += posted
                results.append(
                    {
                        "supplier": labels[supplier],
                        "receiver": labels[receiver],
                        "hours": str(pair.hours if pair else ZERO),
                        "amount": str(pair.amount if pair else ZERO),
                        "posted": str(delta),
                        "entries": posted,
                    }
                )
            IntercompanyRun.objects.filter(pk=run.pk).update(
                status=IntercompanyRunStatus.DONE if entries else IntercompanyRunStatus.UNCHANGED,
                hours=plan.hours,
                amount=plan.amount,
                posted=added,
                entries=entries,
                pairs=results,
                finished_at=timezone.now(),
            )
    except DomainError as exc:
        details = [str(m) for m in exc.fields.get("month", [])] if isinstance(exc, MissingTransferRates) else []
        _fail(run, exc.message, details)
        if raise_errors:
            raise
    run.refresh_from_db()
    return run


def recharge_run(*, month: date, by: User | None = None) -> IntercompanyRun:
    """Start and execute in this process (tests, the demo seed); refusals are raised."""
    run = recharge_start(month=month, by=by, enqueue=False)
    result = recharge_execute(run_id=run.pk, raise_errors=True)
    if result is None:
        raise NotFoundError(f"No intercompany run with id {run.pk}.")
    return result


__all__ = [
    "MissingTransferRates",
    "recharge_execute",
    "recharge_run",
    "recharge_start",
    "transfer_rate_create",
]
