"""Paying by bank transfer: the invoice's structured creditor reference (ISO 11649 "RF..") and the EPC QR code
(the European Payments Council's SEPA credit-transfer QR, "GiroCode") printed on the PDF and shown in the portal.

The reference is derived from the invoice number (its letters and digits, at most 21), so it is unique as the
number is and a bank statement that quotes it finds the invoice. The QR code is only for what SEPA credit transfers
can pay: an amount in euros to the seller's IBAN; any other currency, or a seller without an IBAN, gets none and
the page says why.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from segno import helpers as segno_helpers
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from billing.models import Invoice

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
EPC_MAX_AMOUNT = Decimal("999999999.99")


def creditor_reference(number: str) -> str:
    """The ISO 11649 reference for a document number: RF, two check digits (ISO 7064 mod 97-10), then the
    number's letters and digits (the last 21 when longer). Empty for an empty number."""
    body = _NOT_ALNUM.sub("", (number or "").upper())[-21:]
    if not body:
        return ""
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def references_in(text: str) -> list[str]:
    """The valid ISO 11649 references quoted in a bank statement's free text (spaces inside allowed)."""
    compact = re.sub(r"\s+", "", (text or "").upper())
    found = []
    for match in re.finditer(r"RF\d{2}[A-Z0-9]{1,21}", compact):
        candidate = match.group(0)
        # the greedy match may swallow what follows the reference: try the longest valid prefix
        for end in range(len(candidate), 4, -1):
            if iso11649.is_valid(candidate[:end]):
                found.append(candidate[:end])
                break
    return found


@dataclass(frozen=True)
class TransferDetails:
    """What the client needs to pay by bank transfer, and the EPC QR code when one can be made (`qr_svg`), or the
    reason there is none (`qr_missing`)."""

    amount: Decimal
    currency: str
    iban: str
    bic: str
    beneficiary: str
    reference: str
    qr_svg: str
    qr_missing: str


def transfer_details(invoice: Invoice, *, amount: Decimal | None = None) -> TransferDetails:
    """Bank-transfer details of an issued invoice for `amount` (default: what it asks to be paid now, its gross
    less the retainage held back; the portal passes the open balance)."""
    seller = invoice.seller or {}
    iban = str(seller.get("iban", "") or "").replace(" ", "")
    bic = str(seller.get("bic", "") or "")
    beneficiary = str(seller.get("legal_name") or seller.get("name") or "")[:70]
    amount = invoice.receivable if amount is None else amount
    reference = invoice.payment_reference or creditor_reference(invoice.number or "")
    missing = ""
    if invoice.currency != "EUR":
        missing = f"No EPC QR code: SEPA transfers are in euros and this invoice is in {invoice.currency}."
    elif not iban:
        missing = "No EPC QR code: the seller has no IBAN on this invoice."
    elif not (Decimal("0.01") <= amount <= EPC_MAX_AMOUNT):
        missing = "No EPC QR code: nothing is open to pay."
    svg = ""
    if not missing:
        # EPC069-12 takes a structured reference or a free text, never both.
        qr = segno_helpers.make_epc_qr(
            name=beneficiary,
            iban=iban,
            amount=amount,
            reference=reference or None,
            text=None if reference else (invoice.number or "Invoice")[:140],
            bic=bic or None,
        )
        svg = qr.svg_inline(scale=3, title=f"EPC QR code: pay {amount:.2f} EUR, reference {reference}")
    return TransferDetails(
        amount=amount,
        currency=invoice.currency,
        iban=iban,
        bic=bic,
        beneficiary=beneficiary,
        reference=reference,
        qr_svg=svg,
        qr_missing=missing,
    )
