"""Vendor bills: entry (duplicates, lines per kind, tax on purchases, rounding), approval by the project's
manager above the threshold and by finance, the posting and its currency, re-bill amounts, immutability."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.choices import PurchaseTax, VendorBillStatus
from billing.models import VendorBill
from billing.services.payables import (
    bill_approve,
    bill_approve_pm,
    bill_create,
    bill_reject,
    bill_submit,
    bill_update,
)
from ledger.choices import SystemAccount
from ledger.models import AccountingPeriod, JournalLine, LedgerAccount, PeriodClose
from projects.choices import RebillPolicy
from projects.models import ExpensePolicy
from psa.core.entities import entity_default_id
from psa.core.exceptions import ConflictError, PermissionDeniedError, ValidationFailed
from psa.core.fx import MissingRate
from psa.core.models import ExchangeRate
from tests.billing.payables_factories import (
    cost_accounts,
    cost_line,
    foreign_agency,
    gb_entity,
    make_vendor,
    managed_project,
    overhead_account,
    posted_bill,
    subcontractor,
)

D = Decimal
pytestmark = pytest.mark.django_db
FEB = date(2026, 2, 10)


@pytest.fixture
def books(periods):
    cost_accounts()
    gb_entity()


def _lines_by_role(bill):
    rows = JournalLine.objects.filter(entry=bill.journal_entry).select_related("account")
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for row in rows:
        key = row.account.system_role or row.account.code
        d, c = out.get(key, (D(0), D(0)))
        out[key] = (d + row.debit, c + row.credit)
    return out


def test_a_draft_takes_the_vendors_currency_and_terms_and_sums_its_rounded_lines(books, finance):
    vendor = make_vendor(currency="GBP", payment_terms_days=14)
    project, _, _ = managed_project()
    bill = bill_create(
        by=finance,
        vendor_id=vendor.pk,
        number="INV-1",
        bill_date=FEB,
        lines=[cost_line(project, "100.005", tax_rate="20"), cost_line(project, "50.00", tax_rate="20")],
    )
    assert (bill.currency, bill.due_date, bill.purchase_tax) == ("GBP", date(2026, 2, 24), PurchaseTax.STANDARD)
    assert (bill.net_total, bill.tax_total, bill.gross_total) == (D("150.01"), D("30.00"), D("180.01"))


def test_a_duplicate_number_in_another_case_is_refused_naming_the_bill(books, finance):
    vendor = make_vendor()
    project, _, _ = managed_project()
    first = bill_create(by=finance, vendor_id=vendor.pk, number="inv-7", bill_date=FEB, lines=[cost_line(project)])
    with pytest.raises(ConflictError) as exc:
        bill_create(by=finance, vendor_id=vendor.pk, number="INV-7", bill_date=FEB, lines=[cost_line(project)])
    assert exc.value.status == 409 and f"bill id {first.pk}" in exc.value.message
    # Another vendor may use the same number.
    bill_create(by=finance, vendor_id=make_vendor().pk, number="INV-7", bill_date=FEB, lines=[cost_line(project)])


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"kind": "project_cost", "description": "x", "net_amount": "10"}, "lines.0.project_id"),
        ({"kind": "rebillable", "description": "x", "net_amount": "10"}, "lines.0.contract_line_id"),
        ({"kind": "subcontract", "description": "x", "net_amount": "10"}, "lines.0.consultant_id"),
        ({"kind": "overhead", "description": "x", "net_amount": "10"}, "lines.0.ledger_account_id"),
        ({"kind": "project_cost", "description": "x", "net_amount": "0"}, "lines.0.net_amount"),
        ({"kind": "gift", "description": "x", "net_amount": "10"}, "lines.0.kind"),
    ],
)
def test_each_kind_of_line_needs_its_own_fields(books, finance, line, field):
    project, _, _ = managed_project()
    if line["kind"] in ("rebillable", "subcontract"):
        line = line | {"project_id": project.pk}
    with pytest.raises(ValidationFailed) as exc:
        bill_create(by=finance, vendor_id=make_vendor().pk, number="X", bill_date=FEB, lines=[line])
    assert field in exc.value.fields
    assert not VendorBill.objects.exists()


def test_a_rebillable_line_needs_a_contract_line_of_its_own_project(books, finance):
    project, _, _ = managed_project()
    _, other_line, _ = managed_project()
    line = {"kind": "rebillable", "description": "Hotel", "project_id": project.pk, "net_amount": "90",
            "contract_line_id": other_line.pk}  # fmt: skip
    with pytest.raises(ValidationFailed) as exc:
        bill_create(by=finance, vendor_id=make_vendor().pk, number="X", bill_date=FEB, lines=[line])
    assert "lines.0.contract_line_id" in exc.value.fields


def test_subcontract_hours_need_a_person_of_this_vendor(books, finance):
    agency, other = foreign_agency(), foreign_agency(tax_id="DE298765435")
    person = subcontractor(other)
    project, _, _ = managed_project()
    line = {"kind": "subcontract", "description": "Jan", "project_id": project.pk, "net_amount": "800",
            "consultant_id": person.pk, "hours": "10", "period_start": date(2026, 1, 1),
            "period_end": date(2026, 1, 31)}  # fmt: skip
    with pytest.raises(ValidationFailed) as exc:
        bill_create(by=finance, vendor_id=agency.pk, number="X", bill_date=FEB, lines=[line])
    assert "lines.0.consultant_id" in exc.value.fields


def test_overhead_refuses_a_control_account(books, finance):
    control = LedgerAccount.objects.get(system_role=SystemAccount.RECEIVABLE)
    line = {"kind": "overhead", "description": "x", "net_amount": "10", "ledger_account_id": control.pk}
    with pytest.raises(ValidationFailed):
        bill_create(by=finance, vendor_id=make_vendor().pk, number="X", bill_date=FEB, lines=[line])


def test_purchase_tax_follows_the_countries_and_an_override_needs_a_reason(books, finance):
    project, _, _ = managed_project()
    foreign = bill_create(by=finance, vendor_id=foreign_agency().pk, number="A", bill_date=FEB,
                          lines=[cost_line(project, "1000.00")])  # fmt: skip
    assert (foreign.purchase_tax, foreign.reverse_charge_tax, foreign.gross_total) == (
        PurchaseTax.REVERSE_CHARGE, D("200.00"), D("1000.00"),
    )  # fmt: skip
    no_vat = bill_create(by=finance, vendor_id=make_vendor(tax_id="").pk, number="B", bill_date=FEB,
                         lines=[cost_line(project)])  # fmt: skip
    assert no_vat.purchase_tax == PurchaseTax.NONE
    with pytest.raises(ValidationFailed) as exc:
        bill_create(by=finance, vendor_id=make_vendor().pk, number="C", bill_date=FEB, lines=[cost_line(project)],
                    purchase_tax=PurchaseTax.NONE)  # fmt: skip
    assert "purchase_tax_reason" in exc.value.fields
    override = bill_create(by=finance, vendor_id=make_vendor().pk, number="C", bill_date=FEB,
                           lines=[cost_line(project)], purchase_tax=PurchaseTax.NONE,
                           purchase_tax_reason="Exempt medical services")  # fmt: skip
    assert (override.purchase_tax, override.purchase_tax_reason) == (PurchaseTax.NONE, "Exempt medical services")


def test_vat_on_a_reverse_charge_line_is_refused(books, finance):
    project, _, _ = managed_project()
    with pytest.raises(ValidationFailed) as exc:
        bill_create(by=finance, vendor_id=foreign_agency().pk, number="A", bill_date=FEB,
                    lines=[cost_line(project, tax_rate="19")])  # fmt: skip
    assert "lines.0.tax_rate" in exc.value.fields


@pytest.mark.parametrize("role", ["consultant", "sales", "client", "project_manager"])
def test_only_finance_enters_bills(books, make_user, role):
    project, _, _ = managed_project()
    with pytest.raises(PermissionDeniedError):
        bill_create(by=make_user(role), vendor_id=make_vendor().pk, number="A", bill_date=FEB,
                    lines=[cost_line(project)])  # fmt: skip


def test_above_the_threshold_the_manager_approves_before_finance_posts(books, finance):
    project, _, pm = managed_project()
    bill = bill_create(by=finance, vendor_id=make_vendor().pk, number="A", bill_date=FEB,
                       lines=[cost_line(project, "1000.01", tax_rate="20")])  # fmt: skip
    bill_submit(bill_id=bill.pk, by=finance)
    with pytest.raises(ConflictError) as exc:
        bill_approve(bill_id=bill.pk, by=finance)
    assert exc.value.code == "approval_pending" and project.code in exc.value.message
    bill_approve_pm(bill_id=bill.pk, by=pm)
    bill = bill_approve(bill_id=bill.pk, by=finance)
    assert bill.status == VendorBillStatus.POSTED and bill.journal_entry.source == f"vendor-bill:{bill.pk}"
    assert bill.approvals.get().approved_by == pm


def test_at_the_threshold_finance_alone_approves(books, finance):
    project, _, _ = managed_project()
    bill = posted_bill(finance, make_vendor(), [cost_line(project, "1000.00")])
    assert bill.status == VendorBillStatus.POSTED


@pytest.mark.parametrize("role", ["consultant", "sales", "client", "finance"])
def test_only_the_projects_manager_gives_the_managers_approval(books, finance, make_user, role):
    project, _, _ = managed_project()
    bill = bill_create(by=finance, vendor_id=make_vendor().pk, number="A", bill_date=FEB,
                       lines=[cost_line(project, "5000")])  # fmt: skip
    bill_submit(bill_id=bill.pk, by=finance)
    with pytest.raises(PermissionDeniedError):
        bill_approve_pm(bill_id=bill.pk, by=make_user(role))
    with pytest.raises(PermissionDeniedError):
        bill_approve_pm(bill_id=bill.pk, by=make_user("project_manager"))  # another project's manager


def test_a_rejected_bill_keeps_the_reason_and_is_corrected_back_to_draft(books, finance):
    project, _, pm = managed_project()
    bill = bill_create(by=finance, vendor_id=make_vendor().pk, number="A", bill_date=FEB,
                       lines=[cost_line(project, "5000")])  # fmt: skip
    bill_submit(bill_id=bill.pk, by=finance)
    with pytest.raises(ValidationFailed):
        bill_reject(bill_id=bill.pk, by=pm, reason=" ")
    bill = bill_reject(bill_id=bill.pk, by=pm, reason="Hours not agreed")
    assert (bill.status, bill.rejected_reason, bill.rejected_by) == (VendorBillStatus.REJECTED, "Hours not agreed", pm)
    bill = bill_update(bill_id=bill.pk, by=finance, lines=[cost_line(project, "4000")])
    assert (bill.status, bill.net_total) == (VendorBillStatus.DRAFT, D("4000.00"))


def test_posting_debits_cost_by_line_kind_with_dimensions_and_credits_payables(books, finance):
    agency = foreign_agency()
    person = subcontractor(agency)
    project, contract_line, pm = managed_project()
    lines = [
        cost_line(project, "300.00"),
        {"kind": "rebillable", "description": "Hotel", "project_id": project.pk, "net_amount": "200.00",
         "contract_line_id": contract_line.pk},
        {"kind": "subcontract", "description": "January", "project_id": project.pk, "net_amount": "800.00",
         "consultant_id": person.pk, "hours": "10", "period_start": date(2026, 1, 1),
         "period_end": date(2026, 1, 31)},
        {"kind": "overhead", "description": "Licences", "net_amount": "100.00",
         "ledger_account_id": overhead_account().pk},
    ]  # fmt: skip
    bill = posted_bill(finance, agency, lines, pm=pm)
    by_role = _lines_by_role(bill)
    assert by_role[SystemAccount.COST_OF_SERVICES] == (D("300.00"), D(0))
    assert by_role[SystemAccount.REBILLABLE_COSTS] == (D("200.00"), D(0))
    assert by_role[SystemAccount.SUBCONTRACT_ACCRUAL] == (D("800.00"), D(0))
    assert by_role["6100"] == (D("100.00"), D(0))
    # Reverse charge at the GB standard rate: 20 % of 1,400 self-assessed, both sides.
    assert by_role[SystemAccount.INPUT_VAT] == (D("280.00"), D(0))
    assert by_role[SystemAccount.REVERSE_CHARGE_VAT] == (D(0), D("280.00"))
    assert by_role[SystemAccount.PAYABLE] == (D(0), D("1400.00"))
    cost = JournalLine.objects.get(entry=bill.journal_entry, account__system_role=SystemAccount.COST_OF_SERVICES)
    assert (cost.project_id, cost.client_id) == (project.pk, project.account_id)
    assert bill.journal_entry.entity_id == bill.entity_id


def test_a_foreign_bill_converts_at_its_dates_rate_and_keeps_its_currency(books, finance):
    ExchangeRate.objects.filter(currency="USD").delete()
    vendor = make_vendor(currency="USD")
    project, _, _ = managed_project()
    lines = [cost_line(project, "100.00", tax_rate="20"), cost_line(project, "33.33", tax_rate="20")]
    bill = bill_create(by=finance, vendor_id=vendor.pk, number="U1", bill_date=FEB, lines=lines)
    with pytest.raises(MissingRate):
        bill_submit(bill_id=bill.pk, by=finance)
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 2, 9), rate=D("0.9123"))
    bill_submit(bill_id=bill.pk, by=finance)
    bill = bill_approve(bill_id=bill.pk, by=finance)
    assert (bill.fx_rate, bill.fx_rate_date, bill.functional_gross) == (D("0.9123"), date(2026, 2, 9), D("145.97"))
    rows = JournalLine.objects.filter(entry=bill.journal_entry)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows) == D("145.97")
    assert {r.currency for r in rows} == {"USD"}


def test_posting_fixes_the_rebill_amount_in_the_contracts_currency_with_the_markup(books, finance):
    project, contract_line, _ = managed_project()
    ExpensePolicy.objects.create(contract_line=contract_line, policy=RebillPolicy.MARKUP, markup_percent=D("10"))
    line = {"kind": "rebillable", "description": "Hotel", "project_id": project.pk, "net_amount": "200.00",
            "contract_line_id": contract_line.pk}  # fmt: skip
    bill = posted_bill(finance, make_vendor(), [line])
    assert bill.lines.get().rebill_amount == D("220.00")


def test_not_rebilled_policy_leaves_no_rebill_amount(books, finance):
    project, contract_line, _ = managed_project()
    ExpensePolicy.objects.create(contract_line=contract_line, policy=RebillPolicy.NONE)
    line = {"kind": "rebillable", "description": "Hotel", "project_id": project.pk, "net_amount": "200.00",
            "contract_line_id": contract_line.pk}  # fmt: skip
    assert posted_bill(finance, make_vendor(), [line]).lines.get().rebill_amount is None


@pytest.mark.postgres
def test_a_posted_bill_and_its_lines_cannot_change_in_the_database(books, finance):
    project, _, _ = managed_project()
    bill = posted_bill(finance, make_vendor(), [cost_line(project)])
    with pytest.raises(IntegrityError), transaction.atomic():
        VendorBill.objects.filter(pk=bill.pk).update(net_total=D("1.00"), gross_total=D("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        bill.lines.update(description="changed")
    with pytest.raises(IntegrityError), transaction.atomic():
        VendorBill.objects.filter(pk=bill.pk).update(status=VendorBillStatus.DRAFT)
    # Settlement may still move.
    VendorBill.objects.filter(pk=bill.pk).update(amount_paid=D("10.00"), status=VendorBillStatus.PARTLY_PAID)


def test_a_posted_bill_is_not_edited_by_the_service(books, finance):
    project, _, _ = managed_project()
    bill = posted_bill(finance, make_vendor(), [cost_line(project)])
    with pytest.raises(ConflictError):
        bill_update(bill_id=bill.pk, by=finance, notes="x")


def test_a_bill_dated_in_a_closed_month_posts_in_the_first_open_one(books, finance):
    february = AccountingPeriod.objects.get(start=date(2026, 2, 1))
    PeriodClose.objects.create(period=february, entity_id=entity_default_id(), closed_at=timezone.now())
    project, _, _ = managed_project()
    bill = posted_bill(finance, make_vendor(), [cost_line(project)], on=FEB)
    assert (bill.bill_date, bill.journal_entry.date) == (FEB, date(2026, 3, 1))


def test_approving_twice_posts_once(books, finance):
    project, _, _ = managed_project()
    bill = posted_bill(finance, make_vendor(), [cost_line(project)])
    with pytest.raises(ConflictError):
        bill_approve(bill_id=bill.pk, by=finance)
    assert JournalLine.objects.filter(entry__source=f"vendor-bill:{bill.pk}").values("entry").distinct().count() == 1


def test_every_bad_line_is_named_at_once(books, finance):
    bad = {"kind": "project_cost", "description": "x", "net_amount": "10"}
    with pytest.raises(ValidationFailed) as exc:
        bill_create(by=finance, vendor_id=make_vendor().pk, number="X", bill_date=FEB, lines=[bad, bad])
    assert {"lines.0.project_id", "lines.1.project_id"} <= set(exc.value.fields)
