"""One margin, end to end (issue "The cost side", Done when): a project with employee time, subcontractor time and
a vendor bill, with revenue recognised, labour cost posted by the month-end run and the bill posted by finance,
shows the same margin to the cent on the dashboard, the margin report, the project page, the account page and the
GL P&L by project. Rejecting back an approved entry or correcting a cost rate corrects the posted cost in the
next run, and a repeated run posts nothing twice."""

from datetime import date
from decimal import Decimal

import pytest

from ledger.choices import LABOUR_COST_SOURCE, SystemAccount
from ledger.models import AccountingPeriod, JournalEntry, JournalLine
from ledger.selectors.books import pnl
from ledger.selectors.margin import margin_report, project_margin
from ledger.services.cost_posting import cost_posting_run
from ledger.services.revenue import recognition_run
from projects.models import TimeEntry
from psa.web.dashboard import executive_dashboard
from tests.billing.factories import approved_entry, make_consultant, make_periods
from tests.billing.payables_factories import gb_entity, make_vendor, managed_project, posted_bill, subcontractor

pytestmark = pytest.mark.django_db

D = Decimal
JAN = (date(2026, 1, 1), date(2026, 1, 31))


def _margins(project, client) -> dict[str, Decimal]:
    """The project's margin as every place shows it."""
    report = margin_report(start=JAN[0], end=JAN[1])
    assert report.reconciles
    (row,) = [r for r in report.rows if r.project_id == project.pk]
    book = pnl(start=JAN[0], end=JAN[1], by="project")
    column = book.keys.index(project.pk)
    return {
        "report": row.margin,
        "project page": project_margin(project_id=project.pk, start=JAN[0], end=JAN[1]).margin,
        "dashboard": executive_dashboard(start=JAN[0], end=JAN[1]).series["project_margin"][0],
        "GL P&L by project": book.net[column],
        "account page": sum(r.margin for r in margin_report(start=JAN[0], end=JAN[1], client_id=client.pk).rows),
    }


def _accrual() -> Decimal:
    lines = JournalLine.objects.filter(account__system_role=SystemAccount.SUBCONTRACT_ACCRUAL)
    return sum((ln.credit - ln.debit for ln in lines), D("0"))


def test_employee_and_subcontractor_time_and_a_vendor_bill_give_one_margin_everywhere(finance, client_as):
    make_periods()
    gb_entity()
    january = AccountingPeriod.objects.get(start=JAN[0])
    project, line, _pm = managed_project()
    ada = make_consultant()  # an employee: 10 h at cost 60.00
    employee_entry = approved_entry(line, ada, date(2026, 1, 5), "10.00", "150")
    agency = make_vendor(is_subcontractor=True, hourly_rate=D("90"))
    sub = subcontractor(agency)  # a subcontractor: 5 h at the agency's 90.00
    sub_entry = approved_entry(line, sub, date(2026, 1, 6), "5.00", "150")
    TimeEntry.objects.filter(pk=sub_entry.pk).update(cost_rate=D("90"))
    recognition_run(period_id=january.pk, by=finance)  # 15 h x 150.00 = 2,250.00 revenue
    cost_posting_run(period_id=january.pk, by=finance)  # 600.00 labour + 450.00 subcontractor
    posted_bill(
        finance,
        agency,
        [
            {"kind": "subcontract", "description": "January hours", "project_id": project.pk,
             "consultant_id": sub.pk, "hours": "5.00", "period_start": JAN[0], "period_end": JAN[1],
             "net_amount": "450.00"},
            {"kind": "project_cost", "description": "Test environment", "project_id": project.pk,
             "net_amount": "200.00"},
        ],
        on=date(2026, 1, 31),
    )  # fmt: skip

    # 2,250.00 - (600.00 + 450.00 + 200.00): the subcontractor's bill clears the accrual, not the cost twice.
    assert set(_margins(project, project.account).values()) == {D("1000.00")}
    assert _accrual() == D("0.00")
    page = client_as("finance").get(f"/ledger/clients/{project.account_id}/margin/")
    assert page.status_code == 200 and "1,000.00" in page.content.decode()

    # A repeated run posts nothing; a rejected-back entry and a corrected cost rate are corrected by the next run.
    entries = JournalEntry.objects.filter(source__startswith=LABOUR_COST_SOURCE).count()
    cost_posting_run(period_id=january.pk, by=finance)
    assert JournalEntry.objects.filter(source__startswith=LABOUR_COST_SOURCE).count() == entries
    TimeEntry.objects.filter(pk=employee_entry.pk).update(status="submitted")
    cost_posting_run(period_id=january.pk, by=finance)
    assert _margins(project, project.account)["GL P&L by project"] == D("1600.00")  # revenue stays as recognised
    TimeEntry.objects.filter(pk=sub_entry.pk).update(cost_rate=D("100"))
    cost_posting_run(period_id=january.pk, by=finance)
    cost_posting_run(period_id=january.pk, by=finance)
    assert set(_margins(project, project.account).values()) == {D("1550.00")}
    assert JournalEntry.objects.filter(source__startswith=LABOUR_COST_SOURCE).count() == entries + 2
    assert _accrual() == D("50.00")  # the vendor billed 450.00 for hours now costed at 500.00: left to match
