"""The demo firm's books: the default chart, periods around today, and six months of manual entries posted by
the finance user through the posting service (idempotent keys per month).

Billing then invoices those months; `seed_month_end` (run by psa.web.demo after every app's step) posts each
month's labour cost (approved time and expenses, ledger.services.cost_posting), recognises revenue month by
month, revalues open foreign-currency items at each month-end rate (when there are such items and rates) and
closes each past month, the current one staying open. Safe to run again: every entry is keyed by month, so a
re-run posts only the months that are new since the last run.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from crm.models import Account as Client
from ledger.choices import PeriodStatus
from ledger.models import AccountingPeriod, JournalEntry, ProjectEstimate, RevenueSchedule
from ledger.selectors.revaluation import revaluation_plan
from ledger.services import EntrySpec, LineSpec, entries_auto_reverse_due, entry_post, period_close, periods_ensure
from ledger.services.chart import chart_ensure_default
from ledger.services.cost_posting import cost_posting_run
from ledger.services.revaluation import revaluation_run
from ledger.services.revenue import estimate_set, recognition_run, revenue_schedules_ensure
from projects.models import Project
from psa.core.dates import month_end, month_start
from psa.core.exceptions import DomainError
from psa.core.models import LegalEntity
from psa.core.money import round_money

DEMO_MONTHS = 6


def demo_months(today: date) -> list[date]:
    months = [month_start(today)]
    while len(months) < DEMO_MONTHS:
        months.insert(0, month_start(months[0] - timedelta(days=1)))
    return months


def _dimensions() -> list[tuple[int | None, int | None]]:
    clients = list(Client.objects.order_by("pk").values_list("pk", flat=True)[:3])
    dims: list[tuple[int | None, int | None]] = []
    for client_id in clients:
        project_id = Project.objects.filter(account_id=client_id).order_by("pk").values_list("pk", flat=True).first()
        dims.append((client_id, project_id))
    return dims or [(None, None)]


def _month_entries(month: date, index: int, dims, today: date) -> list[tuple[str, EntrySpec]]:
    growth = Decimal(1) + Decimal(index) / Decimal(20)
    last_day = min(month_end(month), today)

    def amount(base: str) -> Decimal:
        return round_money(Decimal(base) * growth)

    def on(day: int) -> date:
        return min(month.replace(day=day), last_day)

    key = f"demo:{month:%Y-%m}"
    entries = []
    if index == 0:
        entries.append(
            (
                f"{key}:capital",
                EntrySpec(
                    date=month,
                    memo="Owner's capital contribution",
                    lines=(LineSpec("1000", debit=Decimal("250000.00")), LineSpec("3000", credit=Decimal("250000.00"))),
                ),
            )
        )
    receipts = [amount(base) for base in ("42000.00", "31500.00", "18250.00")][: len(dims)]
    entries.append(
        (
            f"{key}:receipts",
            EntrySpec(
                date=on(10),
                memo=f"Consulting fees received {month:%B %Y}",
                lines=(
                    LineSpec("1000", debit=sum(receipts, Decimal(0))),
                    # Fees paid on the spot, no contract: the client's revenue, no project's (a project's revenue
                    # comes from its contract's invoices and recognition, not from these).
                    *(
                        LineSpec("4000", credit=value, client_id=client_id)
                        for value, (client_id, _project_id) in zip(receipts, dims, strict=False)
                    ),
                ),
            ),
        )
    )
    travel = amount("1840.00")
    entries += [
        (
            f"{key}:payroll",
            EntrySpec(
                date=on(25),
                memo=f"Payroll {month:%B %Y}",
                lines=(
                    LineSpec("5000", debit=amount("38000.00"), memo="Delivery consultants"),
                    LineSpec("5100", debit=amount("12500.00"), memo="Sales and administration"),
                    LineSpec("1000", credit=amount("38000.00") + amount("12500.00")),
                ),
            ),
        ),
        (
            f"{key}:rent",
            EntrySpec(
                date=on(1),
                memo=f"Office rent {month:%B %Y}",
                lines=(LineSpec("6000", debit=Decimal("6500.00")), LineSpec("1000", credit=Decimal("6500.00"))),
            ),
        ),
        (
            f"{key}:software",
            EntrySpec(
                date=on(5),
                memo="Software subscriptions (supplier invoice)",
                lines=(LineSpec("6100", debit=Decimal("1290.00")), LineSpec("2300", credit=Decimal("1290.00"))),
            ),
        ),
        (
            f"{key}:travel",
            EntrySpec(
                date=on(18),
                memo="Client travel, rebilled at cost",
                lines=(
                    LineSpec("6200", debit=travel, client_id=dims[0][0], project_id=dims[0][1]),
                    LineSpec("1000", credit=travel),
                    LineSpec("1000", debit=travel, memo="Reimbursed by the client"),
                    LineSpec("4100", credit=travel, client_id=dims[0][0], project_id=dims[0][1]),
                ),
            ),
        ),
    ]
    if month_end(month) < today:
        entries.append(
            (
                f"{key}:accrual",
                EntrySpec(
                    date=month_end(month),
                    memo=f"Accrued utilities {month:%B %Y} (reverses next month)",
                    lines=(LineSpec("6000", debit=Decimal("740.00")), LineSpec("2300", credit=Decimal("740.00"))),
                    auto_reverse_on=month_end(month) + timedelta(days=1),
                ),
            )
        )
        entries.append(
            (
                f"{key}:supplier-payment",
                EntrySpec(
                    date=month_end(month),
                    memo="Supplier payments",
                    lines=(LineSpec("2300", debit=Decimal("1290.00")), LineSpec("1000", credit=Decimal("1290.00"))),
                ),
            )
        )
    return entries


def seed() -> list[str]:
    today = timezone.localdate()
    created_accounts = chart_ensure_default()
    months = demo_months(today)
    periods_ensure(start=months[0], through=today + timedelta(days=92))
    finance = get_user_model().objects.filter(username="finance").first()
    assert finance is not None  # the demo accounts are seeded first
    dims = _dimensions()
    before = JournalEntry.objects.count()
    skipped = 0
    for index, month in enumerate(months):
        for key, spec in _month_entries(month, index, dims, today):
            try:
                entry_post(spec=spec, key=key, by=finance, catch_up=True)
            except DomainError:
                skipped += 1  # e.g. the demo clients changed since the first run: keep what is posted
    posted = JournalEntry.objects.count() - before
    reversals = entries_auto_reverse_due(today=today)
    return [
        f"ledger: {created_accounts} accounts added, {posted} entries posted, {reversals} reversals, {skipped} skipped"
    ]


def seed_month_end() -> list[str]:
    """After every app's demo data (billing's invoices included): recognise each past demo month and close it,
    in order, as finance would at month-end; the current month stays open and unrecognised. Months already
    closed are skipped, so a second seed posts and closes nothing. Firm-wide as it is (estimates for every
    percent-complete project, recognition, close), it runs only on a database holding nothing but the demo:
    psa.web.demo.seed_all checks that first."""
    today = timezone.localdate()
    finance = get_user_model().objects.filter(username="finance").first()
    assert finance is not None  # the demo accounts are seeded first
    months = demo_months(today)
    revenue_schedules_ensure()
    # The PMs' first estimates to complete for the fixed-fee projects measured by percent complete.
    for project_id, hours in (
        RevenueSchedule.objects.filter(method__startswith="percent_")
        .exclude(project__in=ProjectEstimate.objects.values("project"))
        .values_list("project_id", "contract_line__hours")
    ):
        estimate_set(project_id=project_id, etc_hours=hours or Decimal("240"), as_of=months[0], by=finance)
    recognised = closed = revalued = costed = 0
    for month in months[:-1]:
        period = AccountingPeriod.objects.filter(start=month, status=PeriodStatus.OPEN).first()
        if period is None:
            continue
        try:
            # Labour cost first: the books carry the month's cost before it closes (the checklist's line).
            costed += cost_posting_run(period_id=period.pk, by=finance).entries
            run = recognition_run(period_id=period.pk, by=finance)
            recognised += run.posted_lines
            # Foreign-currency invoices (billing's USD and GBP clients) are revalued at the month-end rate before
            # the close, as the checklist asks; without foreign items or without rates there is nothing to run.
            if revaluation_plan(period).items:
                revalued += revaluation_run(period_id=period.pk, by=finance).total
            # Each legal entity closes its own month (ledger.services.periods).
            for entity_id in LegalEntity.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True):
                period_close(period_id=period.pk, by=finance, reason="Demo month-end close", entity_id=entity_id)
            closed += 1
        except DomainError:
            break  # an earlier month is still open (months close in order): leave the rest open
    return [
        f"ledger month-end: {costed} labour cost entries, {recognised} recognitions posted, {revalued} foreign items "
        f"revalued, {closed} months closed"
    ]
