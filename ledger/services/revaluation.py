"""Unrealised exchange differences at month-end: revalue open foreign-currency items at the period-end rate.

The rule (IAS 21.23: monetary items are translated at the closing rate):

- An open item is the balance of one monetary account (system roles RECEIVABLE and CASH; accounts payable joins
  by adding its role to ledger.choices.REVALUED_ROLES) x client x project x foreign currency. Its open amount in
  the currency and its booked functional amount come from the journal lines up to the period end, in ONE grouped
  query (ledger.selectors.revaluation.revaluation_plan); the revalued amount is the open amount converted at the
  rate on or before the period end (psa.core.fx, one query for all currencies); difference = revalued - booked.
- For each item with a difference the run posts an exchange-difference line (amount in the currency 0, the
  item's account, client, project and currency; Dr when the difference is positive) against Cr unrealised
  exchange gain / Dr unrealised exchange loss (FX_UNREALISED_GAIN / FX_UNREALISED_LOSS) with the same client,
  project and currency, so client and project P&L include their exchange differences. Dated the period end,
  with an automatic reversal on the first day of the next period (the auto-reverse job posts it): the next
  period starts again from the booked rates and the payment's realised difference is computed against them.
- Per legal entity: an item is in one entity's books (its lines' entity), so the run posts each entity's items in
  entries of that entity; the entities that have closed the month are left out of the plan.
- Entries of CHUNK items (two lines each), each committed with the run's progress (processed / total items):
  the balance check costs one read of an entry's lines (ledger migration 0012), so an entry's size is a trade
  between the fixed cost per entry (its posting, number, commit; about a third of the run at 100 items, measured
  by the fx_revaluation benchmark) and how often the progress moves and how much a crash leaves to redo. Each
  chunk's entry balances on its own. No per-item query: the plan is one aggregate, each chunk one `entry_post`.
- Before computing, the run posts the due automatic reversals of earlier periods' revaluations (auto-reverse
  date on or before this period end) itself, dated their own reversal date: otherwise this period would be
  computed against last month's revaluation and the reversal posted later would leave it wrong. The preview
  already leaves those entries out.
- A missing rate for any currency at the period end is MissingRate (409) naming the currency and the date;
  nothing is posted. A closed period is PeriodClosed (409): revalue before closing (a blocking checklist item).
- Idempotent: a run computes what the period's revaluation must hold per item; when that is what it holds
  already (same rates, no new postings) it posts nothing and records the run as UNCHANGED. Otherwise it REPLACES
  the earlier revaluation of the period: each earlier entry not yet reversed is reversed dated the period end
  (its automatic reversal then never runs); one already auto-reversed gets a cancelling mirror dated the period
  end with its own automatic reversal on the next period's first day. Then the new entries are posted. Net
  effect: the period holds exactly the new revaluation and the next period starts from the booked rates.
- Crash-safe: the plan depends only on the postings outside this period's revaluation, so re-executing the same
  run computes the same chunks, and their keys (`fxreval:<period>:<run>:<chunk>`, chunks numbered across the
  entities in entity order, so a key is unique per entity) replay what was posted.
- Each run is a RevaluationRun (period, status, items, processed/total, the rates used, first entry, the run it
  replaced, who and when). A run already going for the period is returned instead of starting a second one.
"""

from collections.abc import Sequence
from datetime import timedelta

from celery import current_app
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ledger.choices import RevaluationRunStatus, SystemAccount
from ledger.models import AccountingPeriod, JournalEntry, JournalLine, RevaluationRun
from ledger.models.revaluation import revaluation_prefix
from ledger.selectors.revaluation import RevaluationItem, RevaluationPlan, revaluation_plan
from ledger.services.accounts import account_code_for
from ledger.services.posting import EntrySpec, LineSpec, entry_post, entry_reverse, fx_difference_line
from psa.core.exceptions import DomainError, NotFoundError, PeriodClosed
from psa.core.history import acting, history_context
from psa.core.money import ZERO

REVALUATION_TASK = "ledger.tasks.revaluation_run_task"
CHUNK = 1_000  # items per journal entry (two lines each): 50 entries for 50,000 items


def _period_locked(period_id: int) -> AccountingPeriod:
    period = AccountingPeriod.objects.select_for_update().filter(pk=period_id).first()
    if period is None:
        raise NotFoundError(f"No accounting period with id {period_id}.", fields={"period": ["Not found."]})
    if not period.is_open:
        raise PeriodClosed(
            f"{period.label} is closed: revalue a month before closing it (reopen it first to revalue again).",
            fields={"period": [f"{period.label} is closed."]},
        )
    return period


def revaluation_start(
    *, period_id: int, by: User | None = None, enqueue: bool = True, check_rates: bool = True
) -> RevaluationRun:
    """Start the revaluation of an open period (the job is enqueued after commit by its task name). Refused with
    MissingRate when a currency of the open items has no rate at the period end (`check_rates`), nothing
    written. A run already going for the period is returned (and re-enqueued) instead of a second one."""
    with transaction.atomic():
        period = _period_locked(period_id)
        run = RevaluationRun.objects.filter(period=period, status=RevaluationRunStatus.RUNNING).first()
        if run is None:
            if check_rates:
                revaluation_plan(period)  # MissingRate names the currency and the date
            run = RevaluationRun.objects.create(period=period, created_by=by if getattr(by, "pk", None) else None)
        if enqueue:
            run_id = run.pk
            transaction.on_commit(lambda: current_app.signature(REVALUATION_TASK, kwargs={"run_id": run_id}).delay())
    return run


def revaluation_lines(items: Sequence[RevaluationItem], *, gain: str, loss: str) -> list[LineSpec]:
    """Per item with a difference: the exchange-difference line on its account and the gain or loss line, both
    with the item's client, project and currency."""
    lines: list[LineSpec] = []
    for item in items:
        d = item.difference
        if not d:
            continue
        amount, memo = abs(d), f"Revaluation {item.currency} {item.open:,.2f}"
        for account, debit in ((item.account_code, d > 0), (gain if d > 0 else loss, d < 0)):
            lines.append(
                fx_difference_line(
                    account,
                    currency=item.currency,
                    debit=amount if debit else ZERO,
                    credit=ZERO if debit else amount,
                    client_id=item.client_id,
                    project_id=item.project_id,
                    memo=memo,
                )
            )
    return lines


def _reverse_due(plan: RevaluationPlan) -> None:
    """Post the due automatic reversals of earlier revaluations (same key as the auto-reverse job)."""
    dates = dict(JournalEntry.objects.filter(pk__in=plan.pending_reversals).values_list("pk", "auto_reverse_on"))
    for entry_id in plan.pending_reversals:
        entry_reverse(entry_id=entry_id, on=dates[entry_id], key=f"auto-reverse:{entry_id}")


def _replace_earlier(period: AccountingPeriod, run: RevaluationRun) -> RevaluationRun | None:
    """Take the earlier revaluation of the period out of it: reverse at the period end what is not reversed yet,
    mirror (with an automatic reversal next period) what was auto-reversed already. Returns the latest earlier
    run that had postings."""
    prefix = revaluation_prefix(period.label)
    cancelled = {
        int(source.rsplit(":", 1)[1])
        for source in JournalEntry.objects.filter(source__startswith=f"{prefix}cancel:").values_list(
            "source", flat=True
        )
    }
    active = list(
        JournalEntry.objects.filter(source__startswith=f"{prefix}run:", date=period.end)
        .exclude(source=run.source)
        .exclude(reversed_by__date__lte=period.end)
        .exclude(pk__in=cancelled)
        .order_by("pk")
        .values_list("pk", "number", "source", "reversed_by", "entity_id")
    )
    if not active:
        return None
    mirrored = [pk for pk, _n, _s, reversed_by, _e in active if reversed_by is not None]
    lines_by_entry: dict[int, list[LineSpec]] = {}
    for line in (
        JournalLine.objects.filter(entry_id__in=mirrored)
        .order_by("entry_id", "line_no")
        .values("entry_id", "account__code", "debit", "credit", "client_id", "project_id", "memo", "currency")
    ):
        lines_by_entry.setdefault(line["entry_id"], []).append(
            fx_difference_line(
                line["account__code"],
                currency=line["currency"],
                debit=line["credit"],
                credit=line["debit"],
                client_id=line["client_id"],
                project_id=line["project_id"],
                memo=line["memo"],
            )
        )
    next_day = period.end + timedelta(days=1)
    for pk, number, _source, reversed_by, entity_id in active:
        if reversed_by is None:
            entry_reverse(
                entry_id=pk,
                on=period.end,
                key=f"fxreval-replace:{pk}",
                memo=f"Replaced revaluation {period.label}: reversal of {number}",
            )
        else:
            entry_post(
                spec=EntrySpec(
                    date=period.end,
                    memo=f"Replaced revaluation {period.label}: cancels {number} (already reversed)",
                    source=f"{prefix}cancel:{pk}",
                    auto_reverse_on=next_day,
                    lines=lines_by_entry[pk],
                    entity_id=entity_id,
                ),
                key=f"fxreval-cancel:{pk}",
            )
    run_ids = {int(source.rsplit(":", 1)[1]) for _pk, _n, source, _r, _e in active}
    return RevaluationRun.objects.filter(pk__in=run_ids).order_by("-pk").first()


def _chunks(items: Sequence[RevaluationItem]) -> list[tuple[int | None, Sequence[RevaluationItem]]]:
    """The items to post cut into entries: per legal entity (in entity order), CHUNK items at most each."""
    by_entity: dict[int | None, list[RevaluationItem]] = {}
    for item in items:
        by_entity.setdefault(item.entity_id, []).append(item)
    return [
        (entity_id, group[start : start + CHUNK])
        for entity_id, group in sorted(by_entity.items(), key=lambda kv: kv[0] or 0)
        for start in range(0, len(group), CHUNK)
    ]


def _fail(run: RevaluationRun, error: str) -> None:
    RevaluationRun.objects.filter(pk=run.pk).update(
        status=RevaluationRunStatus.FAILED,
        errors=[*(run.errors or []), {"error": error[:500]}],
        finished_at=timezone.now(),
    )


@history_context("revaluation-run", key="run_id")
def revaluation_execute(*, run_id: int, raise_errors: bool = False) -> RevaluationRun | None:
    """Do a run (see the module docstring). A refusal (closed period, missing rate) marks the run failed with the
    reason and posts nothing; `raise_errors` re-raises it (the synchronous callers)."""
    run = RevaluationRun.objects.select_related("period").filter(pk=run_id).first()
    if run is None or run.status != RevaluationRunStatus.RUNNING:
        return run
    acting(by=run.created_by_id)
    try:
        with transaction.atomic():
            period = _period_locked(run.period_id)
            run.period = period
            plan = revaluation_plan(period)
            if plan.pending_reversals:
                _reverse_due(plan)
                plan = revaluation_plan(period)
            items = sum(1 for i in plan.items if i.open)
            if not plan.changed:
                RevaluationRun.objects.filter(pk=run.pk).update(
                    status=RevaluationRunStatus.UNCHANGED,
                    items=items,
                    rates=plan.rates_used,
                    finished_at=timezone.now(),
                )
                run.refresh_from_db()
                return run
            replaced = _replace_earlier(period, run)
            to_post = plan.to_post
            RevaluationRun.objects.filter(pk=run.pk).update(
                total=len(to_post), items=items, rates=plan.rates_used, replaces=replaced
            )
        gain = account_code_for(SystemAccount.FX_UNREALISED_GAIN)
        loss = account_code_for(SystemAccount.FX_UNREALISED_LOSS)
        next_day = period.end + timedelta(days=1)
        first_entry = None
        processed = 0
        for n, (entity_id, chunk) in enumerate(_chunks(to_post), start=1):
            with transaction.atomic():
                entry = entry_post(
                    spec=EntrySpec(
                        date=period.end,
                        memo=f"Unrealised exchange differences {period.label} ({n})",
                        source=run.source,
                        auto_reverse_on=next_day,
                        lines=revaluation_lines(chunk, gain=gain, loss=loss),
                        entity_id=entity_id,
                    ),
                    key=f"fxreval:{period.label}:{run.pk}:{n}",
                )
                first_entry = first_entry or entry
                processed += len(chunk)
                RevaluationRun.objects.filter(pk=run.pk).update(processed=processed)
    except DomainError as exc:
        _fail(run, exc.message)
        if raise_errors:
            raise
        run.refresh_from_db()
        return run
    RevaluationRun.objects.filter(pk=run.pk).update(
        status=RevaluationRunStatus.DONE,
        amount=sum((i.difference for i in to_post), ZERO),
        entry=first_entry,
        entries=JournalEntry.objects.filter(source=run.source).count(),
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run


def revaluation_run(*, period_id: int, by: User | None = None) -> RevaluationRun:
    """Start and execute in this process (tests, the demo seed, the benchmark); refusals are raised."""
    run = revaluation_start(period_id=period_id, by=by, enqueue=False, check_rates=False)
    return revaluation_execute(run_id=run.pk, raise_errors=True) or run


__all__ = ["CHUNK", "revaluation_execute", "revaluation_lines", "revaluation_run", "revaluation_start"]
