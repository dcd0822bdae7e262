"""The ISO 20022 pain.001 credit-transfer file of a payment run, validated against its XSD before it is stored.

Version pain.001.001.09 for every currency (the version the EPC's SEPA rulebooks require since November 2025;
banks take it for cross-border payments too). A EUR run is a SEPA credit transfer written by the `sepaxml`
library (service level SEPA, charges shared per SEPA: SLEV). `sepaxml` writes SEPA transfers only (its service
level is always SEPA, its amounts are in cents), so a run in another currency (GBP, USD) is written here with
lxml in the same message structure, without the SEPA service level and with shared charges (SHAR). Both are
validated with lxml against the XSD that `sepaxml` bundles (sepaxml/schemas/pain.001.001.09.xsd); a file that
fails is refused with the schema's message and nothing is stored.

One PmtInf per run (one debtor account, one execution date); one CdtTrfTxInf per vendor payment, its EndToEndId
the payment's; the group header carries the run's MsgId, the number of transactions and the control sum.
"""

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import sepaxml  # type: ignore[import-untyped]
from django.utils import timezone
from lxml import etree  # type: ignore[import-untyped]
from sepaxml import SepaTransfer

from psa.core.exceptions import ValidationFailed
from psa.core.money import ZERO

PAIN_VERSION = "pain.001.001.09"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{PAIN_VERSION}"
SCHEMA_PATH = Path(sepaxml.__file__).parent / "schemas" / f"{PAIN_VERSION}.xsd"
SEPA_CURRENCY = "EUR"
NAME_MAX = 70  # Max70Text: party names
REMITTANCE_MAX = 140  # Max140Text: unstructured remittance information


@dataclass(frozen=True)
class Debtor:
    name: str
    iban: str
    bic: str
    currency: str


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    amount: Decimal
    name: str
    iban: str
    bic: str
    remittance: str


@functools.cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def pain001_validate(xml: bytes) -> None:
    """Refuse a file the pain.001.001.09 XSD does not accept, with the schema's first messages."""
    try:
        document = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        raise ValidationFailed(f"The payment file is not well-formed XML: {exc}", fields={"file": [str(exc)]}) from None
    schema = _schema()
    if not schema.validate(document):
        messages = [f"line {e.line}: {e.message}" for e in list(schema.error_log)[:5]]
        raise ValidationFailed(
            f"The payment file does not validate against the ISO 20022 {PAIN_VERSION} schema: {messages[0]}",
            fields={"file": messages},
        )


def pain001_build(
    *, message_id: str, debtor: Debtor, execution_date: date, transfers: list[Transfer], created: datetime | None = None
) -> bytes:
    """The validated pain.001.001.09 file (bytes, UTF-8)."""
    if not transfers:
        raise ValidationFailed("A payment file needs at least one payment.", fields={"payments": ["None."]})
    if debtor.currency == SEPA_CURRENCY:
        xml = _sepa(message_id, debtor, execution_date, transfers)
    else:
        xml = _generic(message_id, debtor, execution_date, transfers, created or timezone.now())
    pain001_validate(xml)
    return xml


class _Transfer(SepaTransfer):
    """sepaxml's SEPA transfer with our MsgId (it would make up its own)."""

    def __init__(self, config: dict, message_id: str) -> None:
        self._message_id = message_id
        super().__init__(config, schema=PAIN_VERSION, clean=True)

    def _create_header(self) -> None:
        self.msg_id = self._message_id
        super()._create_header()


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _sepa(message_id: str, debtor: Debtor, on: date, transfers: list[Transfer]) -> bytes:
    config = {"name": debtor.name, "IBAN": debtor.iban, "batch": True, "currency": SEPA_CURRENCY}
    if debtor.bic:
        config["BIC"] = debtor.bic
    document = _Transfer(config, message_id)
    for t in transfers:
        payment = {
            "name": t.name,
            "IBAN": t.iban,
            "amount": _cents(t.amount),
            "execution_date": on,
            "description": t.remittance,
            "endtoend_id": t.end_to_end_id,
        }
        if t.bic:
            payment["BIC"] = t.bic
        document.add_payment(payment)
    return document.export(validate=False)


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", **attrs)
    if text is not None:
        element.text = text
    return element


def _agent(parent: etree._Element, tag: str, bic: str) -> None:
    institution = _el(_el(parent, tag), "FinInstnId")
    if bic:
        _el(institution, "BICFI", bic)
    else:
        _el(_el(institution, "Othr"), "Id", "NOTPROVIDED")


def _account(parent: etree._Element, tag: str, iban: str) -> None:
    _el(_el(_el(parent, tag), "Id"), "IBAN", iban)


def _generic(message_id: str, debtor: Debtor, on: date, transfers: list[Transfer], created: datetime) -> bytes:
    total = sum((t.amount for t in transfers), ZERO)
    count = str(len(transfers))
    root = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    initiation = _el(root, "CstmrCdtTrfInitn")
    header = _el(initiation, "GrpHdr")
    _el(header, "MsgId", message_id)
    _el(header, "CreDtTm", created.replace(microsecond=0).isoformat())
    _el(header, "NbOfTxs", count)
    _el(header, "CtrlSum", f"{total:.2f}")
    _el(_el(header, "InitgPty"), "Nm", debtor.name[:NAME_MAX])
    info = _el(initiation, "PmtInf")
    _el(info, "PmtInfId", message_id)
    _el(info, "PmtMtd", "TRF")
    _el(info, "BtchBookg", "true")
    _el(info, "NbOfTxs", count)
    _el(info, "CtrlSum", f"{total:.2f}")
    _el(_el(info, "ReqdExctnDt"), "Dt", on.isoformat())
    _el(_el(info, "Dbtr"), "Nm", debtor.name[:NAME_MAX])
    _account(info, "DbtrAcct", debtor.iban)
    _agent(info, "DbtrAgt", debtor.bic)
    _el(info, "ChrgBr", "SHAR")
    for t in transfers:
        tx = _el(info, "CdtTrfTxInf")
        _el(_el(tx, "PmtId"), "EndToEndId", t.end_to_end_id)
        _el(_el(tx, "Amt"), "InstdAmt", f"{t.amount:.2f}", Ccy=debtor.currency)
        if t.bic:
            _agent(tx, "CdtrAgt", t.bic)
        _el(_el(tx, "Cdtr"), "Nm", t.name[:NAME_MAX])
        _account(tx, "CdtrAcct", t.iban)
        _el(_el(tx, "RmtInf"), "Ustrd", t.remittance[:REMITTANCE_MAX])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
