"""Labour cost posting: the cost of approved work reaches the general ledger at month end.

Why a month-end job rather than a posting at approval: approvals come in batches of a few entries all month long,
and a posting per approval would write thousands of small entries (one per batch and project) whose number and
balance check cost more than the work they record, while every rejection-back or cost-rate correction would need
its own reversal. A month-end job computes each project's cost with two grouped queries and posts ONE entry per
project and work month; corrections are differences computed the same way by the next run. The books carry
labour cost from the month's close on, which is when the P&L by project is read.

The rule (the definition is ledger.selectors.project_cost, shared with percent-of-completion by cost):

- For a run of month M (optionally one legal entity), per project x work month (every month up to M, so a late
  change to an earlier month is found) x kind x currency: target = the approved cost (employee time: hours x
  snapshot cost rate, rounded per entry; subcontractor time: the same in the vendor's currency; approved expenses:
  their amount); posted = what the `labour-cost:<YYYY-MM>:<project>` entries hold already, read from the journal
  (the GL is the truth: a table of what was posted would be a second copy to keep in step; the entries are
  system-only, on control accounts, so nothing else moves them). difference = target - posted.
- Each project x work month with a difference gets one entry in the project's entity's books, dated the work
  month's last day (in a month closed for the entity, the first open month's first day: posting catch-up), with
  source `labour-cost:<YYYY-MM>:<project id>` and key `<source>:<n>` (n = that source's entries so far + 1):
    employee time      Dr Cost of services        / Cr Labour cost absorbed (5150)
    subcontractor time Dr Cost of services        / Cr Accrued subcontractor costs (2150; the vendor bill clears it)
    expenses           Dr Cost of services        / Cr Expense claims payable (2350)
    re-billed expenses Dr Re-billable costs (5050) / Cr Expense claims payable (2350)
  every line with the project and client dimensions; a negative difference (an entry rejected back, a lower
  corrected rate) swaps the sides. Intercompany time (an employee of another entity) is left to the month-end
  intercompany recharge, which already debits the project's cost of services at the transfer rate.
- Re-billed expenses go to Re-billable costs so the pass-through shows apart from delivery cost in the P&L (its
  revenue is Expense reimbursement revenue); both accounts are project cost (PROJECT_COST_ROLES).
- Currency: a kind's difference in a foreign cost currency converts at the rate of the work month's last day
  (psa.core.fx, the latest on or before it); the line records the currency, amount and rate. A project-month
  needing a missing rate is refused with the currency and date in the run's errors; the others post, and the next
  run posts what was left. Posted amounts are compared in the cost currency, so a rate corrected later does not
  re-post anything (journal lines keep their rate).
- Idempotent and concurrent-safe: each chunk of project-months takes a transaction-level advisory lock, re-reads
  what is posted for its projects under it and posts only the difference; a second or concurrent run therefore
  finds nothing left and posts nothing (status UNCHANGED when the whole run found nothing).
- Each run is a CostPostingRun (month, entity, progress per chunk, projects, entries, amount, errors).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from celery import current_app
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from ledger import sql
from ledger.choices import LABOUR_COST_SOURCE, CostRunStatus, SystemAccount
from ledger.models import AccountingPeriod, CostPostingRun, JournalEntry
from ledger.selectors.project_cost import (
    POSTED_KINDS,
    CostRates,
    GroupKey,
    cost_differences,
    cost_groups,
    cost_posted,
    cost_rates,
    cost_targets,
)
from ledger.services.accounts import account_code_for
from ledger.services.posting import EntrySpec, LineSpec, entries_post, fx_line
from projects.models import Project
from psa.core.currency import functional_currency
from psa.core.dates import month_end
from psa.core.exceptions import DomainError, NotFoundError
from psa.core.fx import MissingRate, Rate
from psa.core.history import acting, history_context
from psa.core.models import LegalEntity
from psa.core.money import ZERO

COST_POSTING_TASK = "ledger.tasks.cost_posting_task"
CHUNK = 200  # project-months per transaction: progress moves per chunk, a crash redoes at most one chunk
LOCK = "ledger.cost_posting"


def cost_source(month: date, project_id: int) -> str:
    """The `source` of a project's labour cost entries for one work month."""
    return f"{LABOUR_COST_SOURCE}{month:%Y-%m}:{project_id}"


def run_memo_suffix(run_id: int) -> str:
    """The end of the memo of every entry a run posts (its page lists them by it)."""
    return f"(run #{run_id})"


def cost_posting_start(
    *, period_id: int, entity_id: int | None = None, by: User | None = None, enqueue: bool = True
) -> CostPostingRun:
    """Start the labour cost run of a month (the job is enqueued after commit by its task name). A run already
    going for the same month and entity is returned instead of a second one."""
    with transaction.atomic():
        period = AccountingPeriod.objects.select_for_update().filter(pk=period_id).first()
        if period is None:
            raise NotFoundError(f"No accounting period with id {period_id}.", fields={"period": ["Not found."]})
        if entity_id is not None and not LegalEntity.objects.filter(pk=entity_id).exists():
            raise NotFoundError(f"No legal entity with id {entity_id}.", fields={"entity": ["Not found."]})
        run = CostPostingRun.objects.filter(period=period, entity_id=entity_id, status=CostRunStatus.RUNNING).first()
        if run is None:
            run = CostPostingRun.objects.create(
                period=period, entity_id=entity_id, created_by=by if getattr(by, "pk", None) else None
            )
        if enqueue:
            run_id = run.pk
            transaction.on_commit(lambda: current_app.signature(COST_POSTING_TASK, kwargs={"run_id": run_id}).delay())
    return run


@dataclass(frozen=True)
class _Accounts:
    codes: dict[str, str]  # system role -> account code

    @classmethod
    def load(cls) -> "_Accounts":
        roles = {role for pair in POSTED_KINDS.values() for role in pair}
        return cls({role: account_code_for(role) for role in roles})


def _lines(
    diffs: dict[tuple[str, str], Decimal],
    *,
    month: date,
    project: tuple[int, int],
    accounts: _Accounts,
    rates: CostRates,
) -> tuple[list[LineSpec], Decimal]:
    """The entry's lines (two per kind and currency) and the net functional cost they post."""
    project_id, client_id = project
    functional = functional_currency()
    lines: list[LineSpec] = []
    net = ZERO
    for (kind, currency), diff in sorted(diffs.items()):
        debit_role, credit_role = POSTED_KINDS[kind]
        memo = f"{kind.capitalize()} cost {month:%Y-%m}"
        amount = abs(diff)
        pair = ((accounts.codes[debit_role], diff > 0, True), (accounts.codes[credit_role], diff < 0, False))
        for code, is_debit, cost_side in pair:
            debit, credit = (amount, ZERO) if is_debit else (ZERO, amount)
            # Labour absorbed is a firm-wide P&L account (payroll less what projects absorbed): it carries no
            # project, or the project's column of the P&L by project would net its labour cost away.
            dims = (
                (client_id, project_id) if cost_side or credit_role != SystemAccount.LABOUR_ABSORBED else (None, None)
            )
            if currency == functional:
                lines.append(
                    LineSpec(code, debit=debit, credit=credit, client_id=dims[0], project_id=dims[1], memo=memo)
                )
            else:
                rate = rates.for_group(currency, month)
                assert isinstance(rate, Rate)  # a missing rate refused the project-month before (_missing)
                lines.append(
                    fx_line(
                        code, rate=rate, debit=debit, credit=credit, client_id=dims[0], project_id=dims[1], memo=memo,
                    )
                )  # fmt: skip
        functional_amount = lines[-1].debit or lines[-1].credit
        net += functional_amount if diff > 0 else -functional_amount
    return lines, net


def _missing(diffs: dict[tuple[str, str], Decimal], month: date, rates: CostRates) -> MissingRate | None:
    functional = functional_currency()
    for _kind, currency in diffs:
        if currency != functional:
            rate = rates.for_group(currency, month)
            if isinstance(rate, MissingRate):
                return rate
    return None


def _post_chunk(
    run: CostPostingRun,
    chunk: list[tuple[int, date]],
    targets: dict[GroupKey, Decimal],
    accounts: _Accounts,
    errors: list[dict],
) -> tuple[int, int, Decimal, set[int]]:
    """Under the lock: re-read what the chunk's projects hold, post each project-month's difference."""
    sql.advisory_xact_lock(LOCK)
    months = set(chunk)
    posted = cost_posted(project_ids={p for p, _m in chunk})
    wanted = {k: v for k, v in targets.items() if (k[0], k[1]) in months}
    held = {k: v for k, v in posted.items() if (k[0], k[1]) in months}
    diffs = cost_differences(wanted, held)
    if not diffs:
        return 0, 0, ZERO, set()
    rates = cost_rates((c, m) for (_p, m), d in diffs.items() for (_k, c) in d if c != functional_currency())
    projects = {
        pk: (pk, client_id, entity_id, code)
        for pk, client_id, entity_id, code in Project.objects.filter(pk__in={p for p, _m in diffs}).values_list(
            "pk", "account_id", "entity_id", "code"
        )
    }
    sources = [cost_source(m, p) for p, m in diffs]
    counts = dict(
        JournalEntry.objects.filter(source__in=sources)
        .values("source")
        .annotate(n=Count("pk"))
        .values_list("source", "n")
        .order_by()
    )
    items: list[tuple[EntrySpec, str]] = []
    amount, touched = ZERO, set[int]()
    for (project_id, month), d in sorted(diffs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        pk, client_id, entity_id, code = projects[project_id]
        missing = _missing(d, month, rates)
        if missing is not None:
            errors.append({"project": code, "month": f"{month:%Y-%m}", "error": missing.message})
            continue
        lines, net = _lines(d, month=month, project=(pk, client_id), accounts=accounts, rates=rates)
        source = cost_source(month, project_id)
        n = counts.get(source, 0) + 1
        spec = EntrySpec(
            date=month_end(month),
            memo=f"Labour cost {month:%Y-%m} {code}"
            + (f", correction {n - 1}" if n > 1 else "")
            + f" {run_memo_suffix(run.pk)}",
            source=source,
            lines=lines,
            entity_id=entity_id,
        )
        items.append((spec, f"{source}:{n}"))
        amount += net
        touched.add(project_id)
    entries_post(items=items, catch_up=True)
    entries = len(items)
    return len(diffs), entries, amount, touched


def _fail(run: CostPostingRun, error: str) -> None:
    CostPostingRun.objects.filter(pk=run.pk).update(
        status=CostRunStatus.FAILED,
        errors=[*(run.errors or []), {"error": error[:500]}],
        finished_at=timezone.now(),
    )


@history_context("cost-posting-run", key="run_id")
def cost_posting_execute(*, run_id: int, raise_errors: bool = False) -> CostPostingRun | None:
    """Do a run (see the module docstring). A refusal that stops the whole run marks it failed with the reason;
    a project refused for a missing rate is an error of the run and the others post."""
    run = CostPostingRun.objects.select_related("period").filter(pk=run_id).first()
    if run is None or run.status != CostRunStatus.RUNNING:
        return run
    acting(by=run.created_by_id)
    errors: list[dict] = []
    try:
        groups = cost_groups(through=run.period.end, entity_id=run.entity_id)
        targets = cost_targets(groups)
        plan = cost_differences(targets, cost_posted(entity_id=run.entity_id))
        todo = sorted(plan, key=lambda pm: (pm[1], pm[0]))
        CostPostingRun.objects.filter(pk=run.pk).update(total=len(todo))
        accounts = _Accounts.load() if todo else _Accounts({})
        processed, entries, amount, projects = 0, 0, ZERO, set[int]()
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            with transaction.atomic():
                _n, posted, net, touched = _post_chunk(run, chunk, targets, accounts, errors)
                processed += len(chunk)
                entries += posted
                amount += net
                projects |= touched
                CostPostingRun.objects.filter(pk=run.pk).update(processed=processed, errors=errors)
    except DomainError as exc:
        _fail(run, exc.message)
        if raise_errors:
            raise
        run.refresh_from_db()
        return run
    if not todo:
        status = CostRunStatus.UNCHANGED
    elif errors:
        status = CostRunStatus.DONE_WITH_ERRORS
    elif entries:
        status = CostRunStatus.DONE
    else:
        status = CostRunStatus.UNCHANGED
    CostPostingRun.objects.filter(pk=run.pk).update(
        status=status,
        entries=entries,
        projects=len(projects),
        amount=amount,
        errors=errors,
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run


def cost_posting_run(*, period_id: int, entity_id: int | None = None, by: User | None = None) -> CostPostingRun:
    """Start and execute in this process (tests, the demo seed, the command, the benchmark)."""
    run = cost_posting_start(period_id=period_id, entity_id=entity_id, by=by, enqueue=False)
    return cost_posting_execute(run_id=run.pk, raise_errors=True) or run


__all__ = [
    "CHUNK",
    "cost_posting_execute",
    "cost_posting_run",
    "cost_posting_start",
    "cost_source",
    "run_memo_suffix",
]
