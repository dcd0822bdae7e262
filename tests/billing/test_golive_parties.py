"""Go-live import of customers, contacts and vendors: merged by tax id or external id, never silently duplicated."""

import pytest

from billing.services.golive import golive_rollback
from crm.models import Account, Contact, Vendor
from tests.billing.factories import make_account
from tests.billing.open_items_factories import errors, make_golive, run
from tests.factories import gb_vat_id

pytestmark = pytest.mark.django_db


def test_the_dry_run_names_every_bad_row_with_its_rule_and_writes_nothing(finance):
    make_account(name="Acme Ltd", tax_id=gb_vat_id(901), external_id=None)
    golive = make_golive(finance)
    rows = [
        {"type": "customer", "name": "Acme Ltd", "tax_id": "", "external_id": "OLD-1"},  # 2: possible duplicate
        {"type": "customer", "name": "Globex", "country": "GB", "tax_id": "GB123", "external_id": "OLD-2"},  # 3
        {"type": "customer", "name": "Initech", "external_id": "OLD-3"},  # 4: good
        {"type": "customer", "name": "Initech Two", "external_id": "OLD-3"},  # 5: same external id
        {"type": "contact", "name": "Ann Smith", "account": "Nobody Inc"},  # 6: unknown customer
        {"type": "vendor", "name": "Subco", "country": ""},  # 7: a vendor needs its country
        {"type": "partner", "name": "Who"},  # 8
    ]
    report = run(golive, "parties", rows, finance, dry_run=True)
    found = errors(report)
    assert found[2][0] == "possible_duplicate" and "Acme Ltd" in found[2][1]
    assert found[3][0] == "invalid_value" and "tax id" in found[3][1]
    assert found[5][0] == "duplicate_in_file" and "row 4" in found[5][1]
    assert found[6][0] == "unknown_customer"
    assert found[7][0] == "invalid_value" and "country" in found[7][1]
    assert found[8][0] == "unknown_type"
    assert 4 not in found
    assert Account.objects.count() == 1 and not Vendor.objects.exists() and not Contact.objects.exists()


def test_apply_merges_by_tax_id_and_external_id_creates_the_rest_and_rollback_removes_only_what_it_created(finance):
    by_tax = make_account(name="Acme Ltd", tax_id=gb_vat_id(902), external_id=None)
    by_ext = make_account(name="Globex", external_id="OLD-2")
    golive = make_golive(finance)
    rows = [
        {"type": "customer", "name": "Acme Ltd", "tax_id": gb_vat_id(902).lower(), "external_id": "OLD-1",
         "country": "GB"},
        {"type": "customer", "name": "Globex", "external_id": "OLD-2"},
        {"type": "customer", "name": "Initech", "external_id": "OLD-3", "currency": "gbp", "payment_terms": "14"},
        {"type": "contact", "first_name": "Ann", "last_name": "Smith", "email": "ann@initech.example",
         "account": "OLD-3"},
        {"type": "contact", "first_name": "Bob", "account": "Acme Ltd"},
        {"type": "vendor", "name": "Subco", "legal_name": "Subco Ltd", "country": "GB", "external_id": "V-1"},
    ]  # fmt: skip
    report = run(golive, "parties", rows, finance, dry_run=False)
    assert report.errors == 0, report.rows
    assert [r.action for r in report.rows] == ["update", "unchanged", "create", "create", "create", "create"]
    by_tax.refresh_from_db()
    assert by_tax.external_id == "OLD-1"  # linked, not duplicated
    assert Account.objects.filter(name__iexact="acme ltd").count() == 1
    initech = Account.objects.get(external_id="OLD-3")
    assert (initech.currency, initech.payment_terms_days) == ("GBP", 14)
    assert Contact.objects.get(email="ann@initech.example").account == initech
    assert Contact.objects.get(first_name="Bob").account == by_tax
    assert Vendor.objects.get(external_id="V-1").legal_name == "Subco Ltd"
    # Importing the same file again changes nothing.
    again = run(golive, "parties", rows, finance, dry_run=True)
    assert {r.action for r in again.rows} == {"unchanged"}

    golive_rollback(golive=golive, user=finance)
    assert not Account.objects.filter(external_id="OLD-3").exists()
    assert not Vendor.objects.exists() and not Contact.objects.exists()
    assert Account.objects.filter(pk__in=[by_tax.pk, by_ext.pk]).count() == 2  # merged records stay


def test_a_tax_id_of_a_record_that_carries_another_external_id_is_refused(finance):
    make_account(name="Acme Ltd", tax_id=gb_vat_id(903), external_id="CRM-9")
    golive = make_golive(finance)
    report = run(
        golive, "parties", [{"name": "Acme", "tax_id": gb_vat_id(903), "external_id": "OLD-1"}], finance, dry_run=True
    )
    assert errors(report)[2][0] == "external_id_conflict"


def test_a_file_with_a_bad_row_is_not_applied_at_all(finance):
    golive = make_golive(finance)
    rows = [{"name": "Initech", "external_id": "OLD-3"}, {"name": "Bad", "currency": "XXX"}]
    report = run(golive, "parties", rows, finance, dry_run=False)
    assert report.errors == 1
    assert not Account.objects.exists()
