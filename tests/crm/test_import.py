"""CSV import: dry run per row, bulk import of good rows, bad rows with reasons, re-import updates."""

from decimal import Decimal

import pytest

from crm import services
from crm.models import Account, Opportunity
from psa.core.exceptions import PermissionDeniedError, ValidationFailed
from tests.crm.factories import AccountFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACCOUNTS = """Name,Domain,Owner Email,External ID,Currency,Payment Terms
Acme,acme.example,rep@firm.example,A-1,EUR,30
Beta,beta.example,nobody@firm.example,A-2,EUR,30
,empty.example,,A-3,EUR,30
Gamma,gamma.example,,A-4,XXX,30
"""

DEALS = """Deal Name,Account,Owner Email,Stage,Amount,Close Date,External ID
Big one,Acme,rep@firm.example,Proposal,"12,000.50",2027-03-31,D-1
Lost one,A-1,rep@firm.example,Lost,500,2027-01-31,D-2
No stage,Acme,rep@firm.example,Dreaming,100,2027-01-31,D-3
Bad date,Acme,rep@firm.example,Lead,100,31/01/2027,D-4
Unknown account,Nope Inc,rep@firm.example,Lead,100,2027-01-31,D-5
Won already,Acme,rep@firm.example,Won,100,2027-01-31,D-6
"""


@pytest.fixture
def admin():
    return UserFactory(roles=["admin"], email="admin@firm.example")


@pytest.fixture
def rep():
    return UserFactory(roles=["sales"], email="rep@firm.example")


def test_a_dry_run_reports_every_row_and_writes_nothing(admin, rep):
    report = services.csv_import(by=admin, kind="accounts", content=ACCOUNTS, dry_run=True)
    assert [(r.row, r.action) for r in report.rows] == [(2, "create"), (3, "error"), (4, "error"), (5, "error")]
    assert "no user with email nobody@firm.example" in report.rows[1].reason
    assert "name is empty" in report.rows[2].reason
    assert "unknown currency XXX" in report.rows[3].reason
    assert Account.objects.count() == 0


def test_good_rows_are_imported_and_a_reimport_updates_by_external_id(admin, rep):
    services.csv_import(by=admin, kind="accounts", content=ACCOUNTS, dry_run=False)
    acme = Account.objects.get(external_id="A-1")
    assert (acme.name, acme.domain, acme.owner, acme.currency) == ("Acme", "acme.example", rep, "EUR")
    again = ACCOUNTS.replace("Acme,acme.example", "Acme Corp,acme.example")
    report = services.csv_import(by=admin, kind="accounts", content=again.encode(), dry_run=False)
    assert report.updated == 1 and report.created == 0
    assert Account.objects.filter(external_id="A-1").get().name == "Acme Corp"
    assert Account.objects.count() == 1


def test_deals_import_with_amount_stage_and_reasons_for_bad_rows(admin, rep):
    AccountFactory(name="Acme", external_id="A-1")
    report = services.csv_import(by=admin, kind="opportunities", content=DEALS, dry_run=False)
    actions = {r.external_id: (r.action, r.reason) for r in report.rows}
    assert actions["D-1"][0] == actions["D-2"][0] == "create"
    assert "unknown stage 'Dreaming'" in actions["D-3"][1]
    assert "not a date" in actions["D-4"][1]
    assert "unknown account 'Nope Inc'" in actions["D-5"][1]
    assert "win them in PSA" in actions["D-6"][1]
    big = Opportunity.objects.get(external_id="D-1")
    assert (big.amount, big.probability, big.stage.name, big.owner) == (Decimal("12000.50"), 50, "Proposal", rep)
    assert big.history.count() == 1
    lost = Opportunity.objects.get(external_id="D-2")
    assert lost.status == "lost" and lost.lost_reason == "Imported as lost"


def test_reimporting_deals_updates_instead_of_duplicating(admin, rep):
    AccountFactory(name="Acme", external_id="A-1")
    services.csv_import(by=admin, kind="opportunities", content=DEALS, dry_run=False)
    moved = DEALS.replace(
        'Big one,Acme,rep@firm.example,Proposal,"12,000.50"', "Big one,Acme,rep@firm.example,Negotiation,15000"
    )
    report = services.csv_import(by=admin, kind="opportunities", content=moved, dry_run=False)
    assert report.updated == 2 and report.created == 0
    big = Opportunity.objects.get(external_id="D-1")
    assert (big.amount, big.stage.name, big.probability) == (Decimal("15000.00"), "Negotiation", 75)
    assert big.lines.get().amount == Decimal("15000.00")
    assert big.history.count() == 2
    assert Opportunity.objects.count() == 2


def test_a_sales_rep_imports_deals_they_own_and_only_a_manager_assigns_others(admin, rep):
    # The README says sales import deals: a rep imports their own; a deal owned by someone else (new, or
    # already in PSA under another owner) is refused on its row, as the pipeline refuses a rep who assigns it.
    services.csv_import(by=admin, kind="accounts", content=ACCOUNTS, dry_run=False)
    other = UserFactory(roles=["sales"], email="other@firm.example")
    services.csv_import(
        by=admin,
        kind="opportunities",
        content="Deal Name,Account,Owner Email,Stage,Amount,Close Date,External ID\n"
        "Theirs,Acme,other@firm.example,Lead,100,2027-01-31,D-9\n",
        dry_run=False,
    )
    mixed = DEALS + "Someone else's,Acme,other@firm.example,Lead,100,2027-01-31,D-7\n"
    mixed += "Taken over,Acme,rep@firm.example,Lead,100,2027-01-31,D-9\n"
    report = services.csv_import(by=rep, kind="opportunities", content=mixed, dry_run=False)
    rows = {r.external_id: r for r in report.rows}
    assert rows["D-1"].action == "create" and rows["D-2"].action == "create"
    assert rows["D-7"].action == "error" and "owner email must be yours (rep@firm.example)" in rows["D-7"].reason
    assert rows["D-9"].action == "error" and "belongs to other@firm.example" in rows["D-9"].reason
    assert Opportunity.objects.get(external_id="D-1").owner == rep
    assert Opportunity.objects.get(external_id="D-9").owner == other
    assert not Opportunity.objects.filter(external_id="D-7").exists()


def test_roles_outside_sales_do_not_import_deals():
    finance = UserFactory(roles=["finance"], email="fin@firm.example")
    with pytest.raises(PermissionDeniedError):
        services.csv_import(by=finance, kind="opportunities", content=DEALS, dry_run=True)


def test_a_file_without_a_name_column_is_refused(admin):
    with pytest.raises(ValidationFailed) as exc:
        services.csv_import(by=admin, kind="accounts", content="foo,bar\n1,2\n", dry_run=True)
    assert "name" in exc.value.message


def test_the_import_page_dry_runs_then_imports(client_as, rep):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_as("admin")
    upload = SimpleUploadedFile("accounts.csv", ACCOUNTS.encode(), content_type="text/csv")
    response = client.post("/crm/import/", {"kind": "accounts", "file": upload})
    assert response.status_code == 200 and Account.objects.count() == 0
    payload = response.context["payload"]
    response = client.post("/crm/import/", {"kind": "accounts", "payload": payload, "confirm": "1"})
    assert response.status_code == 200 and Account.objects.count() == 1


def test_the_import_api_reports_rows(api_as, rep):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api = api_as("admin")
    upload = SimpleUploadedFile("accounts.csv", ACCOUNTS.encode(), content_type="text/csv")
    response = api.post(
        "/api/v1/crm-imports/", {"kind": "accounts", "file": upload, "dry_run": "true"}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 1 and response.json()["errors"] == 3


def test_deal_amounts_are_read_by_the_file_s_decimal_convention_and_an_ambiguous_one_is_refused(admin, rep):
    AccountFactory(name="Acme", external_id="A-1")
    comma = """Deal Name,Account,Owner Email,Stage,Amount,Close Date,External ID
Euro deal,Acme,rep@firm.example,Proposal,"12.000,50",2027-03-31,E-1
Small one,Acme,rep@firm.example,Lead,"250,00",2027-03-31,E-2
"""
    services.csv_import(by=admin, kind="opportunities", content=comma, dry_run=False)
    amounts = dict(Opportunity.objects.values_list("external_id", "amount"))
    assert amounts == {"E-1": Decimal("12000.50"), "E-2": Decimal("250.00")}

    ambiguous = """Deal Name,Account,Owner Email,Stage,Amount,Close Date,External ID
Which one,Acme,rep@firm.example,Lead,"1,234",2027-03-31,E-3
"""
    report = services.csv_import(by=admin, kind="opportunities", content=ambiguous, dry_run=False)
    (row,) = report.rows
    assert row.row == 2 and row.action == "error" and "either way" in row.reason
    assert not Opportunity.objects.filter(external_id="E-3").exists()


def test_the_import_page_offers_only_what_the_user_may_import_and_refuses_before_reading_the_file(client_as):
    from django.core.files.uploadedfile import SimpleUploadedFile

    finance = client_as("finance")
    page = finance.get("/crm/import/")
    assert page.status_code == 200
    assert [value for value, _ in page.context["form"].fields["kind"].choices] == ["accounts"]
    upload = SimpleUploadedFile("deals.csv", DEALS.encode(), content_type="text/csv")
    refused = finance.post("/crm/import/", {"kind": "opportunities", "file": upload})
    assert refused.status_code == 400 and refused.context["report"] is None
    assert "kind" in refused.context["form"].errors

    sales = client_as("sales").get("/crm/import/")
    assert [value for value, _ in sales.context["form"].fields["kind"].choices] == ["accounts", "opportunities"]
    assert b"The owner email is yours" in sales.content
    assert client_as("project_manager").get("/crm/import/").status_code == 403
