"""VAT determination: each rule (domestic, intra-EU reverse charge and its refusal without a VAT id, non-EU not
subject, B2C, a GB seller, an account override with its reason audited, a rate change between two service
periods), the e-invoice of each category valid against the EN 16931 schematron and the Factur-X XSD, and the
account's VAT id validated for its country."""

import importlib
from datetime import date
from decimal import Decimal

import facturx
import pytest
from django.apps import apps
from django.db import transaction
from django.urls import reverse

from billing.choices import TaxKind
from billing.models import Invoice, VatRate
from billing.services import invoice_draft_for_contract, invoice_issue
from billing.services.documents import invoice_xml
from billing.services.vat import (
    DEFAULT_RATES,
    RateTable,
    VatCase,
    VatRule,
    account_tax_override_set,
    vat_determine,
)
from crm.models import Account
from crm.services import account_update
from psa.core.audit import AuditEvent
from psa.core.exceptions import PermissionDeniedError, ValidationFailed
from psa.core.models import LegalEntity
from tests.billing.factories import make_account, milestone_contract
from tests.billing.schematron import schematron_failures

D = Decimal
TABLE = RateTable((c, "standard", date.fromisoformat(f), D(r)) for c, r, f, _ in DEFAULT_RATES)
FR_VAT = "FR40303265045"
NL_VAT = "NL004495445B01"
DE_VAT = "DE136695976"


def case(seller="DE", buyer="DE", *, business=True, vat_id="", on=date(2026, 3, 31), seller_vat=DE_VAT):
    return VatCase(
        seller_country=seller,
        seller_vat_id=seller_vat,
        buyer_country=buyer,
        buyer_vat_id=vat_id,
        buyer_is_business=business,
        tax_point=on,
        buyer_name="Client SA",
    )


# --- the rules, as a pure function ---------------------------------------------------------------------------
def test_a_domestic_b2b_service_carries_the_sellers_standard_rate():
    d = vat_determine(case("DE", "DE", vat_id="DE811234565"), rates=TABLE)
    assert (d.kind, d.rate, d.rule) == (TaxKind.STANDARD, D("19.00"), VatRule.DOMESTIC)
    assert d.why.startswith("Seller in DE, buyer a business in DE: domestic")
    assert "19 %" in d.why and d.exemption_reason == ""


def test_a_domestic_b2c_service_carries_the_domestic_rate_too():
    d = vat_determine(case("DE", "DE", business=False), rates=TABLE)
    assert (d.kind, d.rate, d.rule) == (TaxKind.STANDARD, D("19.00"), VatRule.DOMESTIC)
    assert "a consumer in DE" in d.why


def test_an_intra_eu_b2b_service_is_reverse_charged_with_the_vatex_code():
    d = vat_determine(case("DE", "FR", vat_id=FR_VAT), rates=TABLE)
    assert (d.kind, d.rate, d.rule) == (TaxKind.REVERSE_CHARGE, D("0.00"), VatRule.EU_REVERSE_CHARGE)
    assert (d.exemption_reason, d.exemption_code) == ("Reverse charge", "VATEX-EU-AE")
    assert d.why == (
        f"Seller in DE, buyer a business in FR with VAT id {FR_VAT}: intra-EU B2B service, reverse charge "
        "(Art. 196 VAT Directive); the buyer accounts for the VAT."
    )


@pytest.mark.parametrize("vat_id", ["", DE_VAT, "FR00303265045"])
def test_reverse_charge_is_refused_without_a_valid_buyer_vat_id_naming_the_accounts_tax_id(vat_id):
    with pytest.raises(ValidationFailed) as refused:
        vat_determine(case("DE", "FR", vat_id=vat_id), rates=TABLE)
    assert list(refused.value.fields) == ["account.tax_id"]
    assert "reverse charge" in refused.value.message.lower() and "tax id" in refused.value.message


def test_a_b2b_service_to_a_buyer_outside_the_eu_is_not_subject():
    for buyer in ("US", "GB", "CH"):
        d = vat_determine(case("DE", buyer, vat_id=""), rates=TABLE)
        assert (d.kind, d.rate, d.rule) == (TaxKind.NOT_SUBJECT, D("0.00"), VatRule.OUTSIDE_EU_B2B)
        assert (d.exemption_reason, d.exemption_code) == ("Not subject to VAT", "VATEX-EU-O")
        assert "outside the EU" in d.why and "Art. 44" in d.why


def test_a_b2c_service_across_a_border_carries_the_sellers_rate():
    d = vat_determine(case("DE", "FR", business=False), rates=TABLE)
    assert (d.kind, d.rate, d.rule) == (TaxKind.STANDARD, D("19.00"), VatRule.B2C_CROSS_BORDER)
    assert "Art. 45" in d.why


def test_a_gb_seller_charges_gb_vat_at_home_and_none_to_a_business_abroad():
    home = vat_determine(case("GB", "GB", seller_vat="GB980780684"), rates=TABLE)
    abroad = vat_determine(case("GB", "FR", vat_id=FR_VAT, seller_vat="GB980780684"), rates=TABLE)
    assert (home.kind, home.rate) == (TaxKind.STANDARD, D("20.00"))
    assert (abroad.kind, abroad.rule) == (TaxKind.NOT_SUBJECT, VatRule.OUTSIDE_SCOPE_B2B)
    assert "outside the scope of UK VAT" in abroad.why


def test_a_seller_in_a_country_without_vat_rates_charges_no_vat():
    d = vat_determine(case("US", "US", seller_vat=""), rates=TABLE)
    assert (d.kind, d.rule) == (TaxKind.NOT_SUBJECT, VatRule.SELLER_WITHOUT_VAT)


def test_the_rate_is_the_one_in_force_at_the_tax_point():
    # Germany's temporary 16 % (2020-07-01..2020-12-31) between two 19 % periods
    rates = [vat_determine(case(on=day), rates=TABLE).rate for day in (date(2020, 6, 30), date(2020, 7, 1))]
    rates += [vat_determine(case(on=day), rates=TABLE).rate for day in (date(2020, 12, 31), date(2021, 1, 1))]
    assert rates == [D("19.00"), D("16.00"), D("16.00"), D("19.00")]


def test_a_missing_country_or_rate_is_refused_naming_the_field():
    with pytest.raises(ValidationFailed) as no_buyer:
        vat_determine(case("DE", ""), rates=TABLE)
    with pytest.raises(ValidationFailed) as no_rate:
        vat_determine(case("DE", "DE", on=date(1990, 1, 1)), rates=TABLE)
    assert list(no_buyer.value.fields) == ["account.country"]
    assert list(no_rate.value.fields) == ["vat_rate"] and "1990-01-01" in no_rate.value.message


# --- drafts, issue and the e-invoice ----------------------------------------------------------------------------
def _issue(account, amount="1000.00", *, on=date(2026, 1, 20), by=None, issue_on=date(2026, 2, 1)) -> Invoice:
    contract, _, _ = milestone_contract(amount, account=account, on=on)
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=on)
    return invoice_issue(invoice_id=draft.pk, by=by, on=issue_on)


def _valid(xml: str) -> None:
    assert facturx.xml_check_xsd(xml.encode(), flavor="factur-x", level="en16931")
    assert schematron_failures(xml) == []


def test_a_german_client_of_a_german_seller_is_invoiced_at_19_percent_with_a_valid_e_invoice(
    periods, finance, de_seller
):
    account = make_account(country="DE", tax_id="DE811234565", billing_address="Friedrichstrasse 44\n10117 Berlin")
    invoice = _issue(account, by=finance)
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (D("1000.00"), D("190.00"), D("1190.00"))
    assert invoice.tax_rule == VatRule.DOMESTIC and "DE standard rate 19 %" in invoice.tax_why
    xml = invoice_xml(invoice)
    _valid(xml)
    assert "<ram:CategoryCode>S</ram:CategoryCode>" in xml and "19.00" in xml


def test_an_eu_business_client_is_reverse_charged_with_both_vat_ids_and_the_reason_in_the_e_invoice(
    periods, finance, de_seller
):
    account = make_account(country="FR", tax_id=FR_VAT, billing_address="1 rue de Rivoli\n75001 Paris")
    invoice = _issue(account, by=finance)
    assert invoice.tax_total == 0 and invoice.tax_rule == VatRule.EU_REVERSE_CHARGE
    tax = invoice.taxes.get()
    assert (tax.kind, tax.exemption_reason, tax.exemption_code) == ("AE", "Reverse charge", "VATEX-EU-AE")
    xml = invoice_xml(invoice)
    _valid(xml)
    assert f'<ram:ID schemeID="VA">{FR_VAT}</ram:ID>' in xml and f'<ram:ID schemeID="VA">{DE_VAT}</ram:ID>' in xml
    assert "<ram:ExemptionReason>Reverse charge</ram:ExemptionReason>" in xml
    assert "<ram:ExemptionReasonCode>VATEX-EU-AE</ram:ExemptionReasonCode>" in xml
    assert "<ram:CountryID>FR</ram:CountryID>" in xml


def test_an_eu_business_client_without_a_vat_id_cannot_be_drafted(periods, de_seller):
    account = make_account(country="NL", tax_id="")
    contract, _, _ = milestone_contract("100.00", account=account)
    with pytest.raises(ValidationFailed) as refused, transaction.atomic():
        invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    assert "account.tax_id" in refused.value.fields and account.name in refused.value.message
    assert not Invoice.objects.exists()


def test_a_us_business_client_is_not_subject_and_its_e_invoice_carries_no_vat_id(periods, finance, de_seller):
    account = make_account(
        country="US", tax_id="12-3456789", currency="EUR", billing_address="1400 Douglas Street\n68179 Omaha"
    )
    invoice = _issue(account, by=finance)
    assert invoice.tax_total == 0 and invoice.tax_rule == VatRule.OUTSIDE_EU_B2B
    xml = invoice_xml(invoice)
    _valid(xml)  # BR-O-02: no seller or buyer VAT id; BR-CO-26: the seller identified otherwise
    assert 'schemeID="VA"' not in xml and "12-3456789" not in xml
    assert "<ram:ExemptionReasonCode>VATEX-EU-O</ram:ExemptionReasonCode>" in xml
    assert "<ram:CategoryCode>O</ram:CategoryCode>" in xml


def test_a_not_subject_e_invoice_names_the_sellers_tax_number_as_fc(periods, finance, de_seller):
    account = make_account(country="US", tax_id="", billing_address="1 Main Street\n10001 New York")
    invoice = _issue(account, by=finance)
    seller = dict(invoice.seller, tax_number="27/123/45678")
    invoice.seller = seller  # a seller with a tax number (legal entities will provide one), not saved
    xml = invoice_xml(invoice)
    _valid(xml)
    assert '<ram:ID schemeID="FC">27/123/45678</ram:ID>' in xml


def test_a_b2c_client_abroad_pays_the_sellers_rate(periods, finance, de_seller):
    account = make_account(country="FR", tax_id="", buyer_type="consumer")
    invoice = _issue(account, by=finance)
    assert invoice.tax_total == D("190.00") and invoice.tax_rule == VatRule.B2C_CROSS_BORDER
    _valid(invoice_xml(invoice))


def test_a_rate_change_between_two_service_periods_gives_each_invoice_its_own_rate(periods, finance, de_seller):
    # Given a new German rate from 1 July 2026 (test data)
    VatRate.objects.create(country="DE", rate=D("21.00"), valid_from=date(2026, 7, 1), note="test")
    account = make_account(country="DE", tax_id="DE811234565")
    # When June's and July's services are invoiced (both issued in August)
    june = _issue(account, on=date(2026, 6, 30), by=finance, issue_on=date(2026, 8, 3))
    july = _issue(account, on=date(2026, 7, 31), by=finance, issue_on=date(2026, 8, 3))
    # Then each carries the rate of its own service period
    assert (june.tax_total, july.tax_total) == (D("190.00"), D("210.00"))
    assert june.lines.get().tax_rate == D("19.00") and july.lines.get().tax_rate == D("21.00")
    assert "19 % at the tax point" in june.tax_why and "21 % at the tax point" in july.tax_why
    # and editing the rate afterwards changes no issued invoice
    VatRate.objects.filter(country="DE", valid_from=date(2026, 7, 1)).update(rate=D("22.00"))
    july.refresh_from_db()
    assert july.tax_total == D("210.00") and july.taxes.get().rate == D("21.00")


def test_an_override_with_its_reason_wins_over_the_rules_and_is_audited(periods, finance, de_seller):
    account = make_account(country="DE", tax_id="DE811234565")
    account_tax_override_set(
        account_id=account.pk, category_code="Z", reason="Zero-rated under the client's diplomatic status", by=finance
    )
    invoice = _issue(account, by=finance)
    assert invoice.tax_total == 0 and invoice.tax_rule == VatRule.OVERRIDE
    assert "diplomatic status" in invoice.tax_why
    event = AuditEvent.objects.get(action="billing.account_tax_override")
    assert event.actor == finance and "diplomatic status" in event.summary
    _valid(invoice_xml(invoice))


def test_an_override_needs_a_reason_and_finance(periods, finance, make_user, de_seller):
    account = make_account(country="DE")
    with pytest.raises(ValidationFailed) as no_reason:
        account_tax_override_set(account_id=account.pk, category_code="Z", reason="  ", by=finance)
    with pytest.raises(PermissionDeniedError):
        account_tax_override_set(account_id=account.pk, category_code="Z", reason="why", by=make_user("sales"))
    assert list(no_reason.value.fields) == ["reason"]
    assert not AuditEvent.objects.filter(action="billing.account_tax_override").exists()


def test_the_invoice_page_and_api_show_why_this_vat(periods, finance, de_seller, client_as, api_as):
    invoice = _issue(make_account(country="FR", tax_id=FR_VAT), by=finance)
    page = client_as("finance").get(reverse("billing:invoice-detail", args=[invoice.pk])).content.decode()
    assert "Why this VAT" in page and "intra-EU B2B service, reverse charge" in page and "VATEX-EU-AE" in page
    body = api_as("finance").get(f"/api/v1/billing/invoices/{invoice.pk}/").json()
    assert body["tax_rule"] == VatRule.EU_REVERSE_CHARGE and "reverse charge" in body["tax_why"]
    assert body["taxes"][0]["exemption_code"] == "VATEX-EU-AE" and body["buyer_country"] == "FR"


def test_a_draft_made_before_the_seller_was_configured_gets_its_vat_at_issue(periods, finance, settings):
    settings.PSA_FIRM_COUNTRY = ""
    account = make_account(country="DE", tax_id="DE811234565")
    contract, _, _ = milestone_contract("1000.00", account=account)
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    assert draft.tax_total == 0 and draft.tax_rule == VatRule.SELLER_UNKNOWN
    # The seller is the invoice's legal entity: completing it changes the VAT of the draft when it is issued
    LegalEntity.objects.filter(pk=draft.entity_id).update(country="DE", vat_id=DE_VAT)
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    assert (invoice.tax_total, invoice.tax_rule) == (D("190.00"), VatRule.DOMESTIC)
    assert invoice.lines.get().tax_rate == D("19.00") and invoice.taxes.get().amount == D("190.00")


# --- the account's VAT id -----------------------------------------------------------------------------------------
def test_an_account_vat_id_must_match_its_eu_country_and_check_digits(db, make_user):
    admin = make_user("admin")
    account = make_account(country="", tax_id="")
    with pytest.raises(ValidationFailed) as wrong_prefix:
        account_update(account_id=account.pk, by=admin, country="FR", tax_id=DE_VAT)
    with pytest.raises(ValidationFailed) as bad_digits:
        account_update(account_id=account.pk, by=admin, country="FR", tax_id="FR00303265045")
    assert "starts with FR" in wrong_prefix.value.fields["tax_id"][0]
    assert "not a valid FR VAT id" in bad_digits.value.fields["tax_id"][0]
    updated = account_update(account_id=account.pk, by=admin, country="NL", tax_id=NL_VAT, buyer_type="consumer")
    assert (updated.country, updated.tax_id, updated.is_business) == ("NL", NL_VAT, False)


def test_the_account_api_refuses_a_bad_vat_id_with_400_naming_the_field(db, api_as):
    api = api_as("admin")
    account = make_account(country="", tax_id="")
    response = api.patch(f"/api/v1/accounts/{account.pk}/", {"country": "DE", "tax_id": "DE123"}, format="json")
    assert response.status_code == 400 and "tax_id" in response.json()["fields"]
    ok = api.patch(f"/api/v1/accounts/{account.pk}/", {"country": "DE", "tax_id": DE_VAT}, format="json")
    assert ok.status_code == 200 and ok.json()["country"] == "DE" and ok.json()["buyer_type"] == "business"


def test_the_migration_sets_the_country_from_the_tax_id_prefix_where_it_is_one(db):
    # Given accounts from before the country field: Greek (EL), German, an EIN and an unknown prefix
    accounts = [make_account(country="", tax_id=t) for t in ("EL094259216", DE_VAT, "12-3456789", "XX123", "")]
    # When the data migration runs
    importlib.import_module("crm.migrations.0009_account_country_buyer_type").country_from_tax_id(apps, None)
    # Then the country is the prefix's where it names one, else blank (to be completed by hand)
    assert [Account.objects.get(pk=a.pk).country for a in accounts] == ["GR", "DE", "", "", ""]
