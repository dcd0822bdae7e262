"""An over-long value in an import is refused with its row and column named, never cut short or left to fail
at the database."""

import pytest

from billing.models import Payment
from billing.services import payments_import_csv
from crm import services as crm_services
from crm.models import Account, Opportunity
from projects.models import TimeEntry
from projects.services.time_import import time_csv_import
from tests.billing.factories import make_account, make_periods
from tests.crm.factories import AccountFactory
from tests.factories import UserFactory
from tests.projects.time_factories import MONDAY, consultant_on, won_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def periods(db):
    return make_periods()


def _refusal(report, row: int) -> str:
    (result,) = [r for r in report.rows if r.row == row]
    assert result.action == "error", result
    return result.reason


def test_an_account_with_an_over_long_domain_or_tax_id_is_refused_naming_the_column():
    admin = UserFactory(roles=["admin"])
    content = f"Name,Domain,Tax ID\nGood,good.example,DE1\nLong domain,{'d' * 201},DE2\nLong tax,x.example,{'T' * 51}\n"
    report = crm_services.csv_import(by=admin, kind="accounts", content=content, dry_run=False)
    assert "domain" in _refusal(report, 3) and "200" in _refusal(report, 3)
    assert "tax_id" in _refusal(report, 4) and "50" in _refusal(report, 4)
    assert list(Account.objects.values_list("name", flat=True)) == ["Good"]


def test_a_deal_with_an_over_long_name_is_refused_naming_the_column():
    rep = UserFactory(roles=["sales"], email="rep@firm.example")
    AccountFactory(name="Acme")
    content = (
        "Deal Name,Account,Owner Email,Stage,Amount,Close Date\n"
        f"{'n' * 201},Acme,rep@firm.example,Lead,100,2027-03-31\n"
    )
    admin = UserFactory(roles=["admin"])
    report = crm_services.csv_import(by=admin, kind="opportunities", content=content, dry_run=False)
    assert "name" in _refusal(report, 2) and "200" in _refusal(report, 2)
    assert not Opportunity.objects.filter(owner=rep).exists()


def test_a_time_row_with_an_over_long_note_is_refused_naming_the_column():
    setup = won_project()
    carl = consultant_on(setup)
    content = f"consultant,project,date,hours,note\n{carl.user.username},{setup.project.code},{MONDAY},2,{'n' * 501}\n"
    report = time_csv_import(by=setup.pm, content=content, dry_run=False)
    assert "note" in _refusal(report, 2) and "500" in _refusal(report, 2)
    assert not TimeEntry.objects.exists()


def test_a_bank_row_with_an_over_long_reference_or_bank_ref_is_refused_naming_the_column(periods, finance):
    account = make_account()
    content = (
        "date,amount,reference,bank_ref,account\n"
        f"2026-02-15,10.00,{'r' * 201},TX-1,{account.pk}\n"
        f"2026-02-15,10.00,Rent,{'B' * 101},{account.pk}\n"
    )
    report = payments_import_csv(by=finance, content=content, dry_run=False)
    assert "reference" in _refusal(report, 2) and "200" in _refusal(report, 2)
    assert "bank_ref" in _refusal(report, 3) and "100" in _refusal(report, 3)
    assert not Payment.objects.exists()
