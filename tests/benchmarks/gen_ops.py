"""Operational data for the exception_scan benchmark, on top of gen_time's firm and approved entries:
caps on the bench contract lines, accepted milestones (some invoiced), issued invoices per account (the
invoice-outlier history), failed and stuck outbox messages, a billing run with failed contracts.
Deterministic; rows are bulk-created (the benchmark measures the scan, not the services)."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection

from billing.models import BillingRun, BillingRunItem, Invoice
from crm.models import Account
from ledger.models import ProjectEstimate
from projects.models import Contract, ContractLine, Milestone, Project
from psa.core.models import OutboxMessage
from tests.benchmarks.gen_time import END

OPS = {"tiny": (20, 60, 50), "S": (100, 400, 200), "M": (300, 1500, 500)}  # milestones, invoices, outbox msgs
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def ops_truncate() -> None:
    """Remove the operational rows and put the shared bench contracts back as gen_time made them."""
    ContractLine.objects.filter(contract__project__code__startswith="BENCH-T-").update(cap=None, price=Decimal("0.00"))
    Contract.objects.filter(project__code__startswith="BENCH-T-").update(end_date=END)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE billing_billingrunitem, billing_billingrun, billing_invoice, projects_milestone, "
            "core_outboxmessage, ledger_projectestimate RESTART IDENTITY CASCADE"
        )


def ops_load(size: str, as_of: date) -> dict[str, int]:
    ops_truncate()
    milestones, invoices, messages = OPS[size]
    rng = random.Random(20261122)
    projects = list(Project.objects.filter(code__startswith="BENCH-T-").order_by("pk"))
    lines = list(ContractLine.objects.filter(contract__project__in=projects).order_by("pk"))
    # the engagements run on past the scan day (the cap rule looks at current contracts only)
    Contract.objects.filter(project__in=projects).update(end_date=max(END, as_of + timedelta(days=90)))
    with connection.cursor() as cursor:  # the approval snapshot: entries point at their project's T&M line
        cursor.execute(
            "UPDATE projects_timeentry te SET contract_line_id = l.id FROM projects_contract c "
            "JOIN projects_contractline l ON l.contract_id = c.id WHERE c.project_id = te.project_id"
        )
        cursor.execute("ANALYZE projects_timeentry")
        # every other line is capped 10 % above what it consumed (flagged), the rest ten times above (not)
        cursor.execute(
            "UPDATE projects_contractline l SET cap = ROUND(t.v * CASE WHEN l.id %% 2 = 0 THEN 1.1 ELSE 10 END, 2) "
            "FROM (SELECT contract_line_id, SUM(hours * bill_rate) v FROM projects_timeentry WHERE billable "
            "GROUP BY 1) t "
            "WHERE t.contract_line_id = l.id AND l.id = ANY(%s)",
            [[line.pk for line in lines]],
        )
    Milestone.objects.bulk_create(
        Milestone(
            project=projects[i % len(projects)], contract_line=lines[i % len(lines)], name=f"Bench milestone {i}",
            amount=Decimal(1000 + i), due_date=as_of - timedelta(days=5 + i % 40), status="accepted",
            achieved_at=NOW, accepted_at=datetime.combine(as_of - timedelta(days=2 + i % 40), datetime.min.time(), UTC),
        )
        for i in range(milestones)
    )  # fmt: skip
    accounts = []
    for i in range(10):
        account, _ = Account.objects.get_or_create(
            name=f"Bench ops client {i}",
            defaults={"legal_name": f"Bench ops {i} GmbH", "billing_address": "1 Bench St", "currency": "EUR",
                      "billing_email": f"ap{i}@bench.example"},
        )  # fmt: skip
        accounts.append(account)
    rows = []
    for i in range(invoices):
        account = accounts[i % len(accounts)]
        issued = as_of - timedelta(days=(invoices - i) * 300 // invoices)
        net = Decimal(60000) if i % 29 == 28 else Decimal(rng.randint(8000, 12000))  # a few far outside
        rows.append(
            Invoice(
                kind="invoice", number=f"BENCH-{i:06d}", status="issued", account=account, currency="EUR",
                issue_date=issued, due_date=issued + timedelta(days=30), buyer_name=account.legal_name,
                net_total=net, tax_total=Decimal("0.00"), gross_total=net, payment_terms_days=30,
            )
        )  # fmt: skip
    Invoice.objects.bulk_create(rows)
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            kind="email", dedupe_key=f"bench-{i}", payload={}, status=("failed", "delivered", "pending")[i % 3],
            attempts=i % 5, next_attempt_at=NOW, last_error="SMTP 550" if i % 3 == 0 else "",
        )
        for i in range(messages)
    )  # fmt: skip
    # the PMs' estimates to complete: lines are priced at what they consumed so far plus 10 %; every other
    # project's estimate to complete goes beyond that margin (flagged), the rest stays within it
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE projects_contractline l SET price = ROUND(t.c * 1.1, 2) FROM (SELECT te.contract_line_id, "
            "SUM(hours * cost_rate) c FROM projects_timeentry te GROUP BY 1) t WHERE t.contract_line_id = l.id "
            "AND l.id = ANY(%s)",
            [[line.pk for line in lines]],
        )
    ProjectEstimate.objects.bulk_create(
        ProjectEstimate(
            project=p, as_of=as_of - timedelta(days=3), etc_hours=Decimal("99999") if k % 2 == 0 else Decimal("10"),
            etc_cost=Decimal("0.00") if k % 2 else None,
        )
        for k, p in enumerate(projects)
    )  # fmt: skip
    run = BillingRun.objects.create(period_end=as_of - timedelta(days=15), status="done_with_errors")
    contracts = list(Contract.objects.filter(project__in=projects).order_by("pk")[:3])
    BillingRunItem.objects.bulk_create(BillingRunItem(run=run, contract=c, status="failed") for c in contracts)
    return {"milestones": milestones, "invoices": invoices, "outbox": messages}
