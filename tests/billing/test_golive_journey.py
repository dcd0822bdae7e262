"""Done when (issue 20): a small firm moves in — three clients with one open invoice each, a half-delivered
fixed-fee project with deferred revenue, a T&M project with approved unbilled time, an opening trial balance —
every reconciliation check is green; then a billing run, a recognition run, a payment on an imported invoice and
a month-end close work on top of it."""

from datetime import date
from decimal import Decimal

import pytest

from billing.choices import GoLiveStatus, InvoiceStatus
from billing.models import Invoice
from billing.selectors.golive import golive_reconciliation
from billing.services import (
    billing_run_create,
    billing_run_execute,
    billing_run_start,
    invoice_issue,
    payment_record,
)
from billing.services.golive import golive_complete, golive_create
from ledger.choices import SystemAccount
from ledger.models import PeriodClose
from ledger.selectors.books import pnl, trial_balance
from ledger.services import account_code_for
from ledger.services.contract_position import contract_positions
from projects.models import ContractLine, Project
from psa.core.entities import entity_default
from tests.billing.golive_fixtures import CUTOVER, csv, run
from tests.ledger.factories import close_month
from tests.ledger.revenue_factories import approved_time, consultant, period, revenue

pytestmark = pytest.mark.django_db
D = Decimal
APRIL_END = date(2026, 4, 30)


def firm_files(ada) -> dict[str, bytes]:
    """The previous system's exports: its own account codes, three clients, three open invoices (3,000.00 of AR),
    a fixed-fee contract billed 6,000 and recognised 5,000 (deferred 1,000), a T&M contract billed 2,000 and
    recognised 2,500 (unbilled 500: five approved hours not billed yet)."""
    code = {role: account_code_for(role) for role in SystemAccount}
    return {
        "chart": csv(
            "Their code,Their name,Our code",
            f"1400,Debtors,{code[SystemAccount.RECEIVABLE]}",
            f"1410,Work in progress,{code[SystemAccount.UNBILLED]}",
            f"2400,Payments in advance,{code[SystemAccount.DEFERRED]}",
            f"1800,Bank,{code[SystemAccount.CASH]}",
            f"0800,Capital,{code[SystemAccount.EQUITY]}",
            f"8400,Revenue,{code[SystemAccount.SERVICES_REVENUE]}",
        ),
        "periods": csv("Period", *[f"2025-{m:02d}" for m in (10, 11, 12)], "2026-01", "2026-02", "2026-03"),
        "opening_balances": csv(
            "Account,Name,Debit,Credit",
            "1400,Debtors,3000.00,",
            "1410,Work in progress,500.00,",
            "1800,Bank,10000.00,",
            "2400,Payments in advance,,1000.00",
            "0800,Capital,,12500.00",
        ),
        "balance_history": csv("Account,Period,Debit,Credit", "8400,2025-10,,4000.00", "8400,2025-11,,4500.00"),
        "parties": csv(
            "Type,Name,Legal name,External id,Country,Billing email,Billing address",
            'customer,Alder Ltd,Alder Ltd,C-1,GB,ap@alder.example,"1 Alder Road, London"',
            'customer,Birch Ltd,Birch Ltd,C-2,GB,ap@birch.example,"2 Birch Road, Leeds"',
            'customer,Cedar Ltd,Cedar Ltd,C-3,GB,ap@cedar.example,"3 Cedar Road, York"',
        ),
        "receivables": csv(
            "Number,Customer,Issue date,Due date,Gross,Paid",
            "RE-2026-0101,C-1,2026-03-02,2026-04-01,1200.00,200.00",
            "RE-2026-0102,C-2,2026-03-10,2026-04-09,1000.00,",
            "RE-2026-0103,C-3,2026-03-25,2026-04-24,1000.00,",
        ),
        "contracts": csv(
            "Contract,Customer,Project,Start date,End date,Description,Billing model,Price,Rate,Hours,Billed,"
            "Recognised,Hours to date",
            "FF-1,C-1,P-FF,2026-01-01,2026-12-31,Fixed-fee build,fixed_fee,10000.00,,100,6000.00,5000.00,50",
            "TM-1,C-2,P-TM,2026-01-01,2026-12-31,Support,tm,,100,,2000.00,2500.00,",
        ),
        "unbilled_time": csv("Consultant,Project,Date,Hours,Rate", f"{ada.user.username},P-TM,2026-03-20,5,100"),
    }


def test_a_small_firm_moves_in_and_works_on_top_of_its_history(periods, make_user, finance):
    admin = make_user("admin")
    ada = consultant()
    golive = golive_create(entity=entity_default(), cutover_date=CUTOVER, user=admin)
    files = firm_files(ada)

    # Each file: the dry run first (names nothing bad, writes nothing), then the apply.
    for kind, content in files.items():
        dry = run(golive, kind, content, admin)
        assert dry.errors == 0, (kind, [(r.row, r.rule, r.reason) for r in dry.rows if r.action == "error"])
        applied = run(golive, kind, content, admin, apply=True)
        assert applied.errors == 0, kind

    checks = golive_reconciliation(golive)
    groups = {c.group for c in checks}
    assert {"Trial balance", "Receivables", "Contract positions"} <= groups, groups
    assert all(c.ok for c in checks), [(c.group, c.name, c.difference, c.rows) for c in checks if not c.ok]
    golive = golive_complete(golive=golive, user=admin)
    assert golive.status == GoLiveStatus.COMPLETE

    # The books at the cut-over are the opening trial balance; the positions are the contracts'.
    tb = {r.account.code: r.closing for r in trial_balance(at=CUTOVER, entity_id=golive.entity_id).rows}
    assert tb[account_code_for(SystemAccount.RECEIVABLE)] == D("3000.00")
    ff, tm = Project.objects.get(code="P-FF"), Project.objects.get(code="P-TM")
    positions = contract_positions(project_ids=[ff.pk, tm.pk], on=CUTOVER)
    assert positions[ff.pk].deferred == D("1000.00") and positions[tm.pk].unbilled == D("500.00")

    # A billing run at the end of April bills the imported unbilled time once.
    billing = billing_run_create(by=finance, period_end=APRIL_END)
    billing_run_start(run_id=billing.pk, by=finance)
    billing_run_execute(run_id=billing.pk)
    drafts = Invoice.objects.filter(run=billing, project=tm)
    assert drafts.count() == 1 and drafts.get().net_total == D("500.00")
    issued = invoice_issue(invoice_id=drafts.get().pk, by=finance, on=APRIL_END)
    assert issued.number.startswith("INV-2026-")  # PSA's own series, whatever the imported numbers

    # Recognition carries on from the imported position: half the remaining hours delivered in April.
    line = ContractLine.objects.get(contract__project=ff)
    approved_time(ff, line, date(2026, 4, 15), "20", billable=False, who=ada)
    approved_time(ff, line, date(2026, 4, 16), "5", billable=False, who=ada)
    close_month(period_id=period(date(2026, 4, 1)).pk, by=finance)  # the recognition run, then the close
    assert revenue(ff) == D("2500.00")
    assert PeriodClose.objects.filter(period=period(date(2026, 4, 1)), entity=golive.entity).exists()

    # A payment on an imported invoice settles it like one of PSA's own.
    old = Invoice.objects.get(number="RE-2026-0102")
    payment_record(
        by=finance,
        account_id=old.account_id,
        amount=D("1000.00"),
        received_on=date(2026, 5, 5),
        allocations=[{"invoice_id": old.pk, "amount": "1000.00"}],
    )
    old.refresh_from_db()
    assert old.status == InvoiceStatus.PAID

    # Last year's P&L comes from the balance history; the sub-ledgers still agree with the books.
    assert pnl(start=date(2025, 10, 1), end=date(2025, 12, 31), entity_id=golive.entity_id).income_total == D("8500.00")
    receivables = next(c for c in golive_reconciliation(golive) if c.group == "Receivables")
    assert receivables.ok, receivables.rows
