"""The bank CSV import: amounts read by the file's declared or detected decimal convention, ambiguous cells
refused with the row named, and a dry run that writes nothing before the confirmed import."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import Payment
from billing.services import payments_import_csv
from tests.billing.factories import issued_invoice, make_account

pytestmark = pytest.mark.django_db


def _rows(report, action):
    return [r for r in report.rows if r.action == action]


def test_a_decimal_comma_is_read_as_the_decimal_separator_not_as_thousands(periods, finance):
    account = make_account()
    content = (
        "date;amount;reference;bank_ref;account\n"
        f"15.02.2026;250,00;Rent;TX-1;{account.pk}\n"
        f"16.02.2026;1.234,56;Fees;TX-2;{account.pk}\n"
    )
    payments_import_csv(by=finance, content=content, dry_run=False)
    amounts = sorted(Payment.objects.values_list("amount", flat=True))
    assert amounts == [Decimal("250.00"), Decimal("1234.56")]


def test_a_decimal_point_file_with_thousands_commas_is_read_as_such(periods, finance):
    account = make_account()
    content = (
        "date,amount,reference,bank_ref,account\n"
        f'2026-02-15,"1,234.56",Fees,TX-1,{account.pk}\n'
        f"2026-02-16,250.5,Rent,TX-2,{account.pk}\n"
    )
    payments_import_csv(by=finance, content=content, dry_run=False)
    amounts = sorted(Payment.objects.values_list("amount", flat=True))
    assert amounts == [Decimal("250.50"), Decimal("1234.56")]


def test_the_declared_convention_decides_a_cell_that_alone_is_ambiguous(periods, finance):
    account = make_account()
    content = f"date;amount;reference;bank_ref;account\n15.02.2026;1.234;Fees;TX-1;{account.pk}\n"
    payments_import_csv(by=finance, content=content, dry_run=False, decimal="comma")
    assert list(Payment.objects.values_list("amount", flat=True)) == [Decimal("1234.00")]


def test_an_ambiguous_cell_is_refused_with_its_row_named_and_nothing_guessed(periods, finance):
    account = make_account()
    content = (
        "date,amount,reference,bank_ref,account\n"
        f"2026-02-15,100,Fees,TX-1,{account.pk}\n"
        f'2026-02-16,"1,234",Rent,TX-2,{account.pk}\n'
    )
    report = payments_import_csv(by=finance, content=content, dry_run=False)
    (refused,) = _rows(report, "error")
    assert refused.row == 3 and "1,234" in refused.reason and "convention" in refused.reason
    assert list(Payment.objects.values_list("amount", flat=True)) == [Decimal("100.00")]


def test_a_cell_against_the_declared_convention_is_refused(periods, finance):
    account = make_account()
    content = f'date,amount,reference,bank_ref,account\n2026-02-15,"1,234.56",Fees,TX-1,{account.pk}\n'
    report = payments_import_csv(by=finance, content=content, dry_run=False, decimal="comma")
    (refused,) = _rows(report, "error")
    assert refused.row == 2 and "1,234.56" in refused.reason
    assert not Payment.objects.exists()


def test_a_file_mixing_both_conventions_is_refused_naming_the_rows(periods, finance):
    account = make_account()
    content = (
        "date,amount,reference,bank_ref,account\n"
        f'2026-02-15,"250,00",Fees,TX-1,{account.pk}\n'
        f'2026-02-16,"1,234.56",Rent,TX-2,{account.pk}\n'
    )
    report = payments_import_csv(by=finance, content=content, dry_run=True)
    assert {r.row for r in _rows(report, "error")} == {2, 3}
    assert "both" in report.rows[0].reason


def test_a_dry_run_reports_each_row_and_writes_nothing(periods, finance):
    invoice = issued_invoice(finance, "100.00")
    content = (
        "date,amount,reference,bank_ref\n"
        f"2026-02-15,120.00,Payment {invoice.number} thanks,TX-1\n"
        "2026-02-16,5.00,unknown,TX-2\n"
    )
    report = payments_import_csv(by=finance, content=content, dry_run=True)
    assert report.dry_run and report.created == 1 and report.errors == 1
    assert invoice.number in report.rows[0].reason
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.amount_paid == 0


def test_the_confirmed_import_records_what_the_dry_run_reported_and_a_rerun_changes_nothing(periods, finance):
    invoice = issued_invoice(finance, "100.00")
    content = f"date,amount,reference,bank_ref\n2026-02-15,120.00,Payment {invoice.number},TX-1\n"
    report = payments_import_csv(by=finance, content=content, dry_run=False)
    assert report.created == 1 and Payment.objects.count() == 1
    again = payments_import_csv(by=finance, content=content, dry_run=True)
    assert again.created == 0 and again.unchanged == 1 and "already imported" in again.rows[0].reason


def test_the_page_shows_the_dry_run_then_imports_the_same_file_on_confirm(client_as, periods):
    account = make_account()
    client = client_as("finance")
    content = f"date;amount;reference;bank_ref;account\n15.02.2026;250,00;Rent;TX-1;{account.pk}\n".encode()
    upload = SimpleUploadedFile("statement.csv", content, content_type="text/csv")
    response = client.post("/billing/payments/import/", {"file": upload, "decimal": "auto"})
    assert response.status_code == 200 and not Payment.objects.exists()
    assert b"250.00" in response.content and b"1.234,56" in response.content  # as read, and how
    payload = response.context["payload"]
    response = client.post("/billing/payments/import/", {"payload": payload, "decimal": "auto", "confirm": "1"})
    assert response.status_code == 200
    assert list(Payment.objects.values_list("amount", flat=True)) == [Decimal("250.00")]


def test_the_api_dry_runs_by_default_and_imports_when_asked(api_as, periods):
    account = make_account()
    api = api_as("finance")
    content = f'date,amount,reference,bank_ref,account\n2026-02-15,"1.234",Fees,TX-1,{account.pk}\n'.encode()

    def post(**extra):
        upload = SimpleUploadedFile("statement.csv", content, content_type="text/csv")
        return api.post("/api/v1/billing/payment-imports/", {"file": upload, **extra}, format="multipart")

    response = post()
    assert response.status_code == 200, response.json()
    assert response.json()["dry_run"] is True and response.json()["errors"] == 1  # 1.234 alone is ambiguous
    response = post(decimal="comma")
    assert response.json()["created"] == 1 and not Payment.objects.exists()
    response = post(decimal="comma", dry_run="false")
    assert response.json()["created"] == 1
    assert list(Payment.objects.values_list("amount", flat=True)) == [Decimal("1234.00")]


def test_only_finance_imports_bank_statements(api_as, client_as, periods):
    content = b"date,amount,reference,bank_ref\n"
    upload = SimpleUploadedFile("statement.csv", content, content_type="text/csv")
    response = api_as("sales").post("/api/v1/billing/payment-imports/", {"file": upload}, format="multipart")
    assert response.status_code == 403
    assert client_as("consultant").get("/billing/payments/import/").status_code in (403, 302)
