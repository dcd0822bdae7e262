"""Data for the revenue_run benchmark: N contract lines in N/4 contracts (one project each), each contract with a
T&M line, a fixed-fee line (hours to hours, with the PM's estimate), a milestone line (two milestones, one
accepted) and a retainer; approved time on the T&M and fixed-fee lines through the run's month. A third of the
contracts are in a foreign currency (USD and GBP in turn, with their clients), with monthly rates into EUR, so
the run converts them (IFRIC 22, ledger.services.revenue). Loaded with
bulk inserts (the services that create these rows are benchmarked elsewhere); the recognition schedules are
set up with the real `revenue_schedules_ensure` before timing, so both sides start from the same state.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from crm.models import Account, DeliveryRole
from ledger.models import AccountingPeriod, ProjectEstimate
from ledger.services import periods_ensure
from ledger.services.chart import chart_ensure_default
from ledger.services.revenue import revenue_schedules_ensure
from projects.models import Consultant, Contract, ContractLine, Milestone, Project, TimeEntry
from psa.core.models import ExchangeRate

LINES = {"tiny": 100, "S": 2_000, "M": 2_000}
ENTRIES_PER_LINE = {"tiny": 6, "S": 12, "M": 40}
RUN_MONTH = date(2026, 6, 1)
CONSULTANTS = 24
# Every third contract is in a foreign currency, USD and GBP in turn; a rate per month into EUR.
FOREIGN = ("USD", "GBP")
RATES = {"USD": Decimal("0.9137"), "GBP": Decimal("1.1713")}


def contract_currency(i: int) -> str:
    return FOREIGN[(i // 3) % len(FOREIGN)] if i % 3 == 0 else "EUR"


def rates_ensure() -> None:
    """A rate on the first of each month of 2026 for each foreign currency (idempotent)."""
    ExchangeRate.objects.bulk_create(
        [
            ExchangeRate(currency=c, quote="EUR", date=date(2026, m, 1), rate=RATES[c] + Decimal(m) / 1000)
            for c in FOREIGN
            for m in range(1, 13)
        ],
        ignore_conflicts=True,
    )


_TRUNCATE = [
    "ledger_recognition",
    "ledger_recognitionrun",
    "ledger_accountbalance",
    "ledger_journalline",
    "ledger_journalentry",
]


def revenue_reset() -> None:
    """Back to 'nothing recognised': the journal and the runs emptied, the schedules' totals zeroed."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(_TRUNCATE)} RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM core_numberseries WHERE series = 'JE'")
        cursor.execute("UPDATE ledger_revenueschedule SET recognised = 0, provision = 0, last_period_id = NULL")


def revenue_load(size: str) -> dict:
    n_lines = LINES[size]
    chart_ensure_default()
    periods_ensure(start=date(2026, 1, 1), through=date(2026, 12, 31))
    rates_ensure()
    if ContractLine.objects.filter(contract__number__startswith="RB-").count() != n_lines:
        _generate(size, n_lines)
    revenue_schedules_ensure()
    revenue_reset()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics after the bulk load, for both sides' plans
    period = AccountingPeriod.objects.get(start=RUN_MONTH)
    return {
        "period": period,
        "lines": n_lines,
        "entries": TimeEntry.objects.filter(project__code__startswith="RB-").count(),
    }


def _generate(size: str, n_lines: int) -> None:
    User = get_user_model()
    role, _ = DeliveryRole.objects.get_or_create(code="rb-consultant", defaults={"name": "Bench revenue consultant"})
    consultants = []
    for i in range(CONSULTANTS):
        user, _ = User.objects.get_or_create(username=f"rb-consultant-{i}")
        consultant, _ = Consultant.objects.get_or_create(user=user, defaults={"role": role})
        consultants.append(consultant)
    n_contracts = n_lines // 4
    n_clients = max(n_contracts // 10, 1)
    clients: dict[str, list[Account]] = {}
    for currency in ("EUR", *FOREIGN):
        clients[currency] = Account.objects.bulk_create(
            [
                Account(
                    name=f"RB client {currency} {i}", legal_name=f"RB client {currency} {i} GmbH", currency=currency
                )
                for i in range(n_clients)
            ]
        )
    projects = Project.objects.bulk_create(
        [
            Project(
                code=f"RB-{i:05d}",
                name=f"Bench project {i}",
                account=clients[contract_currency(i)][i % n_clients],
                currency=contract_currency(i),
            )
            for i in range(n_contracts)
        ]
    )
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    contracts = Contract.objects.bulk_create(
        [
            Contract(
                number=f"RB-{i:05d}", account=p.account, project=p, currency=p.currency, payment_terms_days=30,
                start_date=start, end_date=end,
            )
            for i, p in enumerate(projects)
        ]
    )  # fmt: skip
    lines = []
    for c in contracts:
        for position, (model, price, hours) in enumerate(
            (("tm", "0.00", "0"), ("fixed_fee", "40000.00", "400"), ("milestone", "4000.00", "0"),
             ("retainer", "12000.00", "0")),
            start=1,
        ):  # fmt: skip
            lines.append(
                ContractLine(
                    contract=c, position=position, description=f"{model} line", billing_model=model,
                    price=Decimal(price), hours=Decimal(hours), start_date=start, end_date=end,
                )
            )  # fmt: skip
    lines = ContractLine.objects.bulk_create(lines)
    by_contract: dict[int, dict[str, ContractLine]] = {}
    for line in lines:
        by_contract.setdefault(line.contract_id, {})[line.billing_model] = line
    accepted = timezone.make_aware(datetime(2026, 3, 20, 12, 0))
    milestones, estimates, entries = [], [], []
    per_line = ENTRIES_PER_LINE[size]
    days = [RUN_MONTH - timedelta(days=d) for d in range(1, 150) if (RUN_MONTH - timedelta(days=d)).weekday() < 5]
    for i, c in enumerate(contracts):
        ms = by_contract[c.pk]["milestone"]
        milestones += [
            Milestone(project_id=c.project_id, contract_line=ms, name="Design", amount=Decimal("1500.00"),
                      due_date=date(2026, 3, 20), status="accepted", achieved_at=accepted, accepted_at=accepted),
            Milestone(project_id=c.project_id, contract_line=ms, name="Go-live", amount=Decimal("2500.00"),
                      due_date=date(2026, 9, 30)),
        ]  # fmt: skip
        estimates.append(ProjectEstimate(project_id=c.project_id, as_of=date(2026, 5, 31), etc_hours=Decimal("300")))
        for k, model in enumerate(("tm", "fixed_fee")):
            line = by_contract[c.pk][model]
            for j in range(per_line):
                day = days[(i + j) % len(days)]
                at = timezone.make_aware(datetime(day.year, day.month, day.day, 18, 0))
                entries.append(
                    TimeEntry(
                        consultant=consultants[(i * 2 + k + j * 7) % CONSULTANTS], project_id=c.project_id, date=day,
                        hours=Decimal("7.50"), status="approved", contract_line=line, billable=True,
                        bill_rate=Decimal("150.0000"), cost_rate=Decimal("80.0000"), submitted_at=at, approved_at=at,
                    )
                )  # fmt: skip
    Milestone.objects.bulk_create(milestones)
    ProjectEstimate.objects.bulk_create(estimates)
    TimeEntry.objects.bulk_create(entries, batch_size=5000, ignore_conflicts=True)
