"""The invoice PDF and its e-invoice show the seller of the invoice's own legal entity: legal name, structured
address, VAT id, tax number, registration, e-mail, bank account, logo and footer, all from the entity as it was
when the invoice was issued, nothing from another entity or from the settings."""

from datetime import date
from pathlib import Path

import facturx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.template.loader import render_to_string

from billing.services import invoice_draft_for_contract, invoice_issue, invoice_render
from billing.services.documents import invoice_context, invoice_pdf_stored, invoice_xml
from projects.models import Contract
from psa.core.entities import bank_account_add, entity_create, entity_default
from psa.core.logos import entity_logo_set
from psa.core.models import LegalEntity
from tests.billing.factories import milestone_contract
from tests.billing.schematron import schematron_failures
from tests.fixtures_browser import SCREENSHOTS
from tests.pdf_text import pdf_text

pytestmark = pytest.mark.django_db

# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101005be3b1a50000000049454e44ae426082"
)


def _uk(finance) -> LegalEntity:
    entity_default()
    uk = entity_create(
        by=finance,
        values={
            "code": "UK", "series_prefix": "GB", "name": "Northwind UK", "legal_name": "Northwind Consulting UK Ltd",
            "street": "1 King Street", "postcode": "EC2V 8AU", "city": "London", "country": "GB",
            "vat_id": "GB123456727", "tax_number": "1955839661", "registration": "Companies House 01234567",
            "email": "accounts@northwind.example.co.uk", "functional_currency": "EUR",
            "invoice_footer": "Northwind Consulting UK Ltd, registered in England and Wales no. 01234567",
        },
    )  # fmt: skip
    bank_account_add(
        by=finance, entity_id=uk.pk, iban="GB29NWBK60161331926819", bic="NWBKGB2L", bank_name="NatWest",
        currency="EUR",
    )  # fmt: skip
    return uk


def _issued(finance, entity: LegalEntity | None = None):
    contract, _, _ = milestone_contract("100.00")
    if entity is not None:
        Contract.objects.filter(pk=contract.pk).update(entity=entity)
        contract.refresh_from_db()
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    return invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))


def test_an_invoice_of_the_second_entity_prints_that_entity_and_not_the_first(periods, finance):
    uk = _uk(finance)
    home = entity_default()
    invoice = _issued(finance, uk)
    text = " ".join(pdf_text(invoice_pdf_stored(invoice_render(invoice_id=invoice.pk))).split())
    for shown in ("Northwind Consulting UK Ltd", "1 King Street", "EC2V 8AU London", "United Kingdom",
                  "VAT ID GB123456727", "Tax number 1955839661", "Companies House 01234567",
                  "accounts@northwind.example.co.uk", "GB29NWBK60161331926819", "NWBKGB2L", "NatWest",
                  "registered in England and Wales no. 01234567", invoice.number):  # fmt: skip
        assert shown in text, shown
    for other in (home.legal_name, home.vat_id, home.bank_accounts.get().iban, home.street):
        assert other not in text, other


def test_the_first_entitys_invoice_prints_its_own_details(periods, finance):
    _uk(finance)
    home = entity_default()
    invoice = _issued(finance)
    text = " ".join(pdf_text(invoice_pdf_stored(invoice_render(invoice_id=invoice.pk))).split())
    assert home.legal_name in text and home.bank_accounts.get().iban in text
    assert "Northwind Consulting UK Ltd" not in text and "GB29NWBK60161331926819" not in text


def test_the_entitys_logo_is_embedded_from_storage_not_fetched(periods, finance):
    uk = _uk(finance)
    svg = (Path(__file__).resolve().parents[2] / "static" / "psa" / "favicon.svg").read_bytes()
    entity_logo_set(by=finance, entity_id=uk.pk, logo=SimpleUploadedFile("logo.svg", svg))
    invoice = _issued(finance, uk)
    assert invoice_context(invoice)["logo"].startswith("data:image/svg+xml;base64,")
    entity_logo_set(by=finance, entity_id=uk.pk, logo=SimpleUploadedFile("logo.png", PNG))
    invoice = _issued(finance, uk)
    assert invoice.seller["logo"].startswith("entities/uk-logo")
    context = invoice_context(invoice)
    assert context["logo"].startswith("data:image/png;base64,")
    html = render_to_string("billing/pdf/invoice.html", context)
    assert 'class="logo" src="data:image/png;base64,' in html
    assert "http://" not in html and "https://" not in html
    pdf = invoice_pdf_stored(invoice_render(invoice_id=invoice.pk))
    assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "billing-invoice-uk-entity.pdf").write_bytes(pdf)  # for a person to look at (pdftoppm -png)


def test_without_a_logo_no_image_is_printed(periods, finance):
    invoice = _issued(finance, _uk(finance))
    assert invoice_context(invoice)["logo"] == ""
    assert "<img" not in render_to_string("billing/pdf/invoice.html", invoice_context(invoice))


def test_the_e_invoice_seller_is_the_entity_with_its_structured_address_and_ids(periods, finance):
    invoice = _issued(finance, _uk(finance))
    xml = invoice_xml(invoice)
    assert facturx.xml_check_xsd(xml.encode(), flavor="factur-x", level="en16931")
    seller = xml.split("<ram:SellerTradeParty>")[1].split("</ram:SellerTradeParty>")[0]
    assert "<ram:Name>Northwind Consulting UK Ltd</ram:Name>" in seller
    assert "<ram:PostcodeCode>EC2V 8AU</ram:PostcodeCode><ram:LineOne>1 King Street</ram:LineOne>" in seller
    assert "<ram:CityName>London</ram:CityName><ram:CountryID>GB</ram:CountryID>" in seller
    assert '<ram:ID schemeID="FC">1955839661</ram:ID>' in seller
    assert '<ram:ID schemeID="VA">GB123456727</ram:ID>' in seller
    assert "<ram:IBANID>GB29NWBK60161331926819</ram:IBANID>" in xml
    assert [f for f in schematron_failures(xml) if "BR-CO-26" in f or "BR-08" in f or "BR-09" in f] == []
