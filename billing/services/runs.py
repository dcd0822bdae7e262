"""Billing runs: create (idempotent by key), preview (claims nothing), start, execute, retry.

`billing_run_execute` is what the job calls. It takes one pending item at a time with
`SELECT ... FOR UPDATE SKIP LOCKED` (so several workers share a run), locks that item's contract (so two runs
never split one contract's sources between them), and builds the contract's draft invoice in the same
transaction; a failure rolls back that contract only and is recorded on the item with its reason. A killed
worker's transaction rolls back with its connection, leaving its item pending for the re-run; sources are
claimed with SKIP LOCKED and a partial unique index makes billing a source twice impossible.

Leases (how a dead worker is noticed): a worker leases an item before it works on it (`lease_owner`,
`leased_until`, committed so that everyone sees it: the first lease in a statement of its own, each next one
in the transaction that finishes the previous item) and a heartbeat thread renews its leases every third of
PSA_BILLING_LEASE_S while the job runs, so a slow contract keeps its lease. A worker killed mid-run stops
renewing: once every lease of a running run has expired and its job was queued more than a lease ago,
`billing_runs_resume_stalled` (beat, every 20 s) queues the run again. Who may take an item is decided by row
locks, not by the lease's clock: a worker processing an item holds a KEY SHARE lock on it (the heartbeat's
UPDATE does not wait for it) and a worker leasing the next item skips locked ones (FOR UPDATE SKIP LOCKED).
A dead worker's locks go with its connection, so a job queued again (by the beat, or by pressing start again)
takes its items at once; a draft commits only if its worker still owns the item's lease when it marks the
item done, so an item taken over between two statements is billed by one worker only.
"""

import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from billing import sql
from billing.choices import RUN_TRANSITIONS, ItemStatus, RunScope, RunStatus
from billing.jobs import billing_run_execute_enqueue, invoice_render_enqueue
from billing.models import BillingRun, BillingRunItem, Invoice, TaxCategory
from billing.services._common import locked, require_finance
from billing.services.invoices import invoice_draft_for_contract
from billing.services.sources import apply_caps, billing_schedules_sync, candidates_for, contracts_with_sources
from billing.services.vat import RateTable
from crm.models import Account, CreditHold
from projects.models import Contract
from psa.core.audit import audit_record
from psa.core.dates import month_end, next_month
from psa.core.exceptions import ConflictError, IdempotencyConflict, ValidationFailed, ensure_transition
from psa.core.history import acting, history_context
from psa.core.money import ZERO

log = logging.getLogger(__name__)


def _fingerprint(period_end: date, scope: str, account_ids: list[int], project_ids: list[int]) -> str:
    body = json.dumps([period_end.isoformat(), scope, sorted(account_ids), sorted(project_ids)])
    return hashlib.sha256(body.encode()).hexdigest()


def scoped_contracts(run: BillingRun) -> QuerySet[Contract]:
    qs = Contract.objects.all()
    if run.scope == RunScope.ACCOUNTS:
        qs = qs.filter(account_id__in=run.account_ids)
    elif run.scope == RunScope.PROJECTS:
        qs = qs.filter(project_id__in=run.project_ids)
    return qs.filter(start_date__lte=run.period_end)


def billing_run_create(
    *,
    by: User,
    period_end: date,
    scope: str = RunScope.ALL,
    account_ids: list[int] | None = None,
    project_ids: list[int] | None = None,
    key: str | None = None,
) -> BillingRun:
    """A run in preview. The same `key` gives the same run; the same key with other parameters is a 409.

    The period end may be at most the end of next month: a run bills what is due by its end (approved time
    and expenses, accepted milestones, scheduled retainer and subscription fees), and billing in advance
    reaches one period ahead at most. A later end would invoice fees for months not yet due, and a mistyped
    year (2062, 9999) every future fee at once."""
    require_finance(by)
    account_ids = sorted({int(x) for x in account_ids or []})
    project_ids = sorted({int(x) for x in project_ids or []})
    errors = {}
    if scope not in RunScope.values:
        errors["scope"] = [f"One of: {', '.join(RunScope.values)}."]
    if scope == RunScope.ACCOUNTS and not account_ids:
        errors["account_ids"] = ["Pick at least one account."]
    if scope == RunScope.PROJECTS and not project_ids:
        errors["project_ids"] = ["Pick at least one project."]
    if not isinstance(period_end, date):
        errors["period_end"] = ["Enter a date."]
    else:
        latest = month_end(next_month(timezone.localdate()))
        if period_end > latest:
            errors["period_end"] = [f"A run ends by the end of next month ({latest:%Y-%m-%d}) at the latest."]
    if errors:
        raise ValidationFailed("The run is not valid.", fields=errors)
    fingerprint = _fingerprint(period_end, scope, account_ids, project_ids)
    billing_schedules_sync()  # new contracts and change orders: the preview must see their scheduled fees
    if key:
        existing = BillingRun.objects.filter(key=key).first()
        if existing is not None:
            if existing.fingerprint != fingerprint:
                raise IdempotencyConflict(
                    f"The key '{key}' already made run {existing.pk} with other parameters.",
                    fields={"key": ["Reused with other parameters."]},
                )
            return existing
    try:
        with transaction.atomic():
            run = BillingRun.objects.create(
                key=key or None,
                fingerprint=fingerprint,
                period_end=period_end,
                scope=scope,
                account_ids=account_ids if scope == RunScope.ACCOUNTS else [],
                project_ids=project_ids if scope == RunScope.PROJECTS else [],
                created_by=by if getattr(by, "is_authenticated", False) else None,
            )
    except IntegrityError:
        if not key:
            raise
        return billing_run_create(
            by=by, period_end=period_end, scope=scope, account_ids=account_ids, project_ids=project_ids, key=key
        )
    return run


@dataclass
class PreviewRow:
    account: Account
    contract: Contract
    sources: int = 0
    net: Decimal = ZERO
    written_down: Decimal = ZERO
    lines: list = field(default_factory=list)


@dataclass
class Preview:
    rows: list[PreviewRow]
    net: Decimal = ZERO
    written_down: Decimal = ZERO
    sources: int = 0

    @property
    def accounts(self) -> int:
        return len({r.account.pk for r in self.rows})


def billing_run_preview(*, run: BillingRun) -> Preview:
    """What the run would invoice per account and contract, claiming nothing (a fixed number of queries)."""
    contracts = {c.pk: c for c in scoped_contracts(run).select_related("account", "project")}
    capped = apply_caps(candidates_for(contract_ids=list(contracts), period_end=run.period_end))
    rows: dict[int, PreviewRow] = {}
    for c in capped:
        contract = contracts[c.candidate.contract_id]
        row = rows.setdefault(contract.pk, PreviewRow(account=contract.account, contract=contract))
        row.sources += 1
        row.net += c.billed
        row.written_down += c.written_down
        row.lines.append(c)
    ordered = sorted(rows.values(), key=lambda r: (r.account.name, r.contract.number))
    return Preview(
        rows=ordered,
        net=sum((r.net for r in ordered), ZERO),
        written_down=sum((r.written_down for r in ordered), ZERO),
        sources=sum(r.sources for r in ordered),
    )


def _enqueue(run_id: int, jobs: int = 1) -> None:
    billing_run_execute_enqueue(run_id=run_id, jobs=jobs)


@transaction.atomic
def billing_run_start(*, run_id: int, by: User) -> BillingRun:
    """Start a previewed run: one item per contract with something to bill, then the job. Starting a run
    that is already running only re-enqueues the job (it resumes the pending items; nothing runs twice)."""
    require_finance(by)
    run = locked(BillingRun, run_id, "billing run")
    if run.status == RunStatus.RUNNING:
        run.queued_at = timezone.now()
        run.save(update_fields=["queued_at"])
        _enqueue(run.pk)
        return run
    ensure_transition(run.status, RunStatus.RUNNING, RUN_TRANSITIONS)
    billing_schedules_sync(contract_ids=scoped_contracts(run).values_list("pk", flat=True))
    contract_ids = contracts_with_sources(
        contract_ids=scoped_contracts(run).values_list("pk", flat=True), period_end=run.period_end
    )
    BillingRunItem.objects.bulk_create(
        [BillingRunItem(run=run, contract_id=pk, kinds=kinds) for pk, kinds in contract_ids.items()],
        ignore_conflicts=True,
    )
    run.status = RunStatus.RUNNING
    run.started_at = run.queued_at = timezone.now()
    run.save(update_fields=["status", "started_at", "queued_at"])
    audit_record(
        actor=by,
        action="billing.run_start",
        obj=run,
        summary=f"Billing run {run.pk} started ({len(contract_ids)} contracts)",
    )
    if contract_ids:
        _enqueue(run.pk, jobs=min(settings.PSA_BILLING_RUN_JOBS, len(contract_ids)))
    else:
        _finish(run)
    return run


@transaction.atomic
def billing_run_retry(*, run_id: int, by: User) -> BillingRun:
    """Put the failed items back in the queue and resume the run."""
    require_finance(by)
    run = locked(BillingRun, run_id, "billing run")
    ensure_transition(run.status, RunStatus.RUNNING, RUN_TRANSITIONS)
    if run.status == RunStatus.DRAFT:
        raise ConflictError("Start the run first.", code="invalid_transition")
    BillingRunItem.objects.filter(run=run, status=ItemStatus.FAILED).update(
        status=ItemStatus.PENDING, lease_owner="", leased_until=None
    )
    run.status = RunStatus.RUNNING
    run.finished_at = None
    run.queued_at = timezone.now()
    run.save(update_fields=["status", "finished_at", "queued_at"])
    _enqueue(run.pk)
    return run


def _finish(run: BillingRun) -> None:
    counts = dict(BillingRunItem.objects.filter(run=run).values_list("status").annotate(n=Count("id")).order_by())
    if counts.get(ItemStatus.PENDING):
        return
    run.status = RunStatus.DONE_WITH_ERRORS if counts.get(ItemStatus.FAILED) else RunStatus.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    # Accounts on credit hold are still invoiced (the work was sold and done) but flagged in the run's report.
    held = CreditHold.objects.filter(account_id=OuterRef("contract__account_id"), released_at__isnull=True)
    BillingRunItem.objects.filter(run=run, status=ItemStatus.DONE).filter(Exists(held)).update(credit_hold=True)


class LeaseLost(Exception):
    """The item's lease passed to another worker: this worker's work on it rolls back."""


def _lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _lease_until() -> datetime | str:  # adapted for the backend: PostgreSQL's takes the datetime, others text
    until = connection.ops.adapt_datetimefield_value(timezone.now() + timedelta(seconds=settings.PSA_BILLING_LEASE_S))
    assert until is not None  # only None adapts to None
    return until


def _lease_next(run_id: int, owner: str) -> int | None:
    """Lease the run's next pending item to `owner`: one statement, in the caller's transaction or on its own.
    FOR UPDATE SKIP LOCKED passes over the items live workers are leasing or processing (they hold row locks);
    an item whose worker died carries no lock any more and is taken at once, whatever its lease says."""
    lock = "FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(sql.ITEM_LEASE_NEXT.format(lock=lock), [owner, _lease_until(), run_id, ItemStatus.PENDING])
        row = cursor.fetchone()
    return row[0] if row else None


class _LeaseKeeper:
    """The worker's heartbeat: while the job runs, a thread renews the leases `owner` holds on the run's pending
    items every third of PSA_BILLING_LEASE_S, through its own connection (so a long contract keeps its lease,
    and a killed worker's leases lapse). It touches the database only once the first third has passed."""

    def __init__(self, run_id: int, owner: str) -> None:
        self.run_id, self.owner = run_id, owner
        self.lease_s = settings.PSA_BILLING_LEASE_S
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"billing-lease-{owner}", daemon=True)

    def __enter__(self) -> "_LeaseKeeper":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=self.lease_s)

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(self.lease_s / 3):
                try:
                    BillingRunItem.objects.filter(
                        run_id=self.run_id, status=ItemStatus.PENDING, lease_owner=self.owner
                    ).update(leased_until=timezone.now() + timedelta(seconds=self.lease_s))
                except DatabaseError as exc:  # the next beat tries again; the lease is three beats long
                    log.warning("billing run %s: lease renewal failed: %s", self.run_id, exc)
        finally:
            connection.close()


def _claim(item_id: int, owner: str) -> tuple[list[str], Contract, bool, tuple[int, str] | None] | None:
    """Take the leased item and lock its contract, in one statement (`billing.sql.item_claim`). Returns (kinds,
    contract with its account, whether a contract line has a cap, the account's tax override as (category id,
    reason) or None), or None when the item is no longer this worker's or no longer pending.

    One hand-written SELECT rather than two ORM queries: a run does this once per contract, and compiling the
    querysets cost more than PostgreSQL takes to run them."""
    with connection.cursor() as cursor:
        cursor.execute(sql.item_claim(connection.features.has_select_for_update), [item_id, ItemStatus.PENDING, owner])
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(Contract._meta.concrete_fields)
    contract = sql.instance_from_row(Contract, row[4 : 4 + n])
    contract.account = sql.instance_from_row(Account, row[4 + n :])
    # no expression for a raw row's column: JSONField.from_db_value only reads it for a KeyTransform
    kinds = BillingRunItem._meta.get_field("kinds").from_db_value(row[0], None, connection)  # type: ignore[arg-type]
    return kinds, contract, bool(row[1]), (row[2], row[3]) if row[2] is not None else None


def _item_done(item_id: int, owner: str, invoice: Invoice | None, run_id: int) -> int | None:
    """Mark the leased item processed (done with its invoice, or empty) and lease the run's next item, in the
    caller's transaction; returns the next item (None when none is left to take). Raises LeaseLost when the item
    is no longer this worker's. On PostgreSQL one statement (`billing.sql.ITEM_DONE_LEASE_NEXT`)."""
    done = [
        ItemStatus.DONE if invoice else ItemStatus.EMPTY,
        invoice.pk if invoice else None,
        connection.ops.adapt_datetimefield_value(timezone.now()),
        item_id,
        owner,
        ItemStatus.PENDING,
    ]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql.ITEM_DONE, done)
            if cursor.rowcount != 1:
                raise LeaseLost(f"item {item_id} is no longer leased to {owner}")
        return _lease_next(run_id, owner)
    with connection.cursor() as cursor:
        cursor.execute(sql.ITEM_DONE_LEASE_NEXT, [*done, owner, _lease_until(), run_id, ItemStatus.PENDING, item_id])
        marked, next_id = cursor.fetchone()
    if marked != 1:
        raise LeaseLost(f"item {item_id} is no longer leased to {owner}")
    return next_id


def _process_one(
    run: BillingRun,
    item_id: int,
    owner: str,
    categories: dict[int, TaxCategory],
    rates: RateTable,
) -> int | None:
    """Process the leased item `item_id` in its own transaction and return the next item, leased in the same
    transaction (None when none is left to take).

    The happy path is one transaction of three statements without savepoints (claim the item and lock its
    contract, draft, mark the item and lease the next). A failure rolls the whole contract back, and a second
    short transaction records it on the item with its reason (unless the item is no longer this worker's) and
    leases the next; the run goes on."""
    try:
        with transaction.atomic():
            claimed = _claim(item_id, owner)
            if claimed is not None:
                kinds, contract, has_caps, own = claimed
                override = (categories[own[0]], own[1]) if own is not None else None
                invoice = invoice_draft_for_contract(
                    contract=contract,
                    period_end=run.period_end,
                    run=run,
                    kinds=kinds,
                    override=override,
                    rates=rates,
                    has_caps=has_caps,
                )
                return _item_done(item_id, owner, invoice, run.pk)
            return _lease_next(run.pk, owner)
    except OperationalError:
        raise
    except LeaseLost:
        log.warning("billing run %s: the lease on item %s passed to another worker", run.pk, item_id)
        return _lease_next(run.pk, owner)
    except Exception as exc:  # recorded on the item, the run goes on
        error = (getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")[:2000]
    with transaction.atomic():
        item = (
            BillingRunItem.objects.select_for_update(skip_locked=True)
            .filter(pk=item_id, status=ItemStatus.PENDING, lease_owner=owner)
            .first()
        )
        if item is not None:
            item.attempts += 1
            item.status = ItemStatus.FAILED
            item.error = error
            item.processed_at = timezone.now()
            item.save(update_fields=["status", "error", "attempts", "processed_at"])
        return _lease_next(run.pk, owner)


@history_context("billing-run", key="run_id")
def billing_run_execute(*, run_id: int) -> BillingRun | None:
    """The job: lease and process pending items one contract per transaction until none is left to take (items
    another live worker is processing are left to it), renewing the leases meanwhile, then close the run."""
    run = BillingRun.objects.filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        return run
    acting(by=run.created_by_id)  # the history's user of the drafts: who created the run
    # Read once per run: the categories (an account override names one) and the dated VAT rates.
    categories = {c.pk: c for c in TaxCategory.objects.all()}
    rates = RateTable.load()
    owner = _lease_owner()
    with _LeaseKeeper(run.pk, owner):
        item_id = _lease_next(run.pk, owner)
        while item_id is not None:
            item_id = _process_one(run, item_id, owner, categories, rates)
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().get(pk=run_id)
        if run.status == RunStatus.RUNNING:
            _finish(run)
    return run


@transaction.atomic
def billing_runs_resume_stalled() -> list[int]:
    """Queue again every running run that lost its workers: it has pending items, none of its items holds a
    live lease (a live worker renews its lease every third of PSA_BILLING_LEASE_S; a dead one's expires), and
    its job was queued more than a lease ago (time for a worker to take it). A run is queued again at most once
    per lease period; running it twice is safe (items are taken under row locks, a source is billed once)."""
    now = timezone.now()
    pending = BillingRunItem.objects.filter(run=OuterRef("pk"), status=ItemStatus.PENDING)
    live = BillingRunItem.objects.filter(run=OuterRef("pk"), leased_until__gt=now)
    stalled = list(
        BillingRun.objects.select_for_update(skip_locked=True)
        .filter(status=RunStatus.RUNNING)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - timedelta(seconds=settings.PSA_BILLING_LEASE_S)))
        .filter(Exists(pending))
        .exclude(Exists(live))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if stalled:
        BillingRun.objects.filter(pk__in=stalled).update(queued_at=now)
        for run_id in stalled:
            _enqueue(run_id)
        log.warning("billing runs %s lost their workers (leases expired): queued again", stalled)
    return stalled


def run_progress(run: BillingRun) -> dict:
    counts = defaultdict(int)
    for status, n in BillingRunItem.objects.filter(run=run).values_list("status").annotate(n=Count("id")).order_by():
        counts[status] = n
    total = sum(counts.values())
    processed = total - counts[ItemStatus.PENDING]
    return {
        "total": total,
        "processed": processed,
        "invoiced": counts[ItemStatus.DONE],
        "empty": counts[ItemStatus.EMPTY],
        "failed": counts[ItemStatus.FAILED],
        "percent": int(processed * 100 / total) if total else 100,
    }


def billing_sweep() -> dict:
    """The five-minute beat job's service: resume runs that lost their workers (as the 20 s job does) and render
    PDFs a lost job never rendered. Both are safe to repeat."""
    runs = billing_runs_resume_stalled()
    unrendered = list(
        Invoice.objects.filter(number__isnull=False, pdf_sha256="", issued_at__lt=timezone.now() - timedelta(minutes=5))
        .order_by("pk")
        .values_list("pk", flat=True)[:200]
    )
    for invoice_id in unrendered:
        invoice_render_enqueue(invoice_id=invoice_id)
    return {"runs": len(runs), "pdfs": len(unrendered)}
