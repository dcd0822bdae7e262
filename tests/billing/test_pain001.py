"""Payment runs and their ISO 20022 pain.001.001.09 file (billing.services.payment_runs, pain001): the file
validates against the XSD bundled with sepaxml, carries the right amounts, IBANs, EndToEndIds, MsgId and control
sums, and a broken one is refused; booking posts each payment once and settles the bills."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from lxml import etree

from billing.choices import PaymentRunStatus, VendorBillStatus
from billing.models import PaymentRun, VendorPayment
from billing.services.pain001 import NAMESPACE, SCHEMA_PATH, Debtor, Transfer, pain001_build, pain001_validate
from billing.services.payment_runs import (
    payment_run_book,
    payment_run_cancel,
    payment_run_export,
    payment_run_propose,
)
from ledger.choices import SystemAccount
from ledger.models import JournalEntry
from psa.core.entities import entity_create, entity_default
from psa.core.exceptions import InvalidTransition, ValidationFailed
from tests.billing.vendor_payment_factories import (
    gl_balance,
    make_bank_account,
    make_vendor,
    open_functional,
    posted_bill,
    set_rate,
)

D = Decimal
pytestmark = pytest.mark.django_db
NS = {"p": NAMESPACE}


def _propose(finance, account=None, due_by=date(2026, 3, 31), **kw):
    return payment_run_propose(
        entity=entity_default(),
        bank_account=account or make_bank_account(),
        execution_date=kw.pop("execution_date", date(2026, 3, 5)),
        due_by=due_by,
        by=finance,
        **kw,
    )


def _xml(run: PaymentRun) -> etree._Element:
    with default_storage.open(run.file.name, "rb") as f:
        return etree.fromstring(f.read())


def _texts(doc, path):
    return [e.text for e in doc.xpath(path, namespaces=NS)]


def test_a_run_pays_each_vendor_its_due_bills_and_its_file_validates(periods, finance):
    acme, beta = make_vendor("Acme", iban="DE89370400440532013000", bic="COBADEFFXXX"), make_vendor("Beta")
    a1 = posted_bill(acme, "100.10", bill_date=date(2026, 1, 5))
    a2 = posted_bill(acme, "200.20", bill_date=date(2026, 1, 20))
    b1 = posted_bill(beta, "50.05", bill_date=date(2026, 2, 1))
    posted_bill(beta, "999.00", bill_date=date(2026, 3, 20))  # due in April: not in the run
    run = _propose(finance)
    assert run.status == PaymentRunStatus.DRAFT and run.total == D("350.35")
    payments = {p.vendor_id: p for p in run.payments.all()}
    assert payments[acme.pk].amount == D("300.30") and payments[beta.pk].amount == D("50.05")
    assert {a.bill_id for a in payments[acme.pk].allocations.all()} == {a1.pk, a2.pk}
    assert len({p.end_to_end_id for p in payments.values()}) == 2
    run = payment_run_export(run_id=run.pk, by=finance)
    assert run.status == PaymentRunStatus.EXPORTED and run.file.name.endswith(".xml")
    doc = _xml(run)
    etree.XMLSchema(etree.parse(str(SCHEMA_PATH))).assertValid(doc)  # against the XSD, independently
    assert doc.tag == f"{{{NAMESPACE}}}Document" and NAMESPACE.endswith("pain.001.001.09")
    assert _texts(doc, "//p:GrpHdr/p:MsgId") == [run.message_id]
    assert _texts(doc, "//p:GrpHdr/p:NbOfTxs") == ["2"] and _texts(doc, "//p:GrpHdr/p:CtrlSum") == ["350.35"]
    assert _texts(doc, "//p:PmtInf/p:CtrlSum") == ["350.35"]
    assert _texts(doc, "//p:DbtrAcct/p:Id/p:IBAN") == [run.bank_account.iban]
    assert _texts(doc, "//p:ReqdExctnDt/p:Dt") == ["2026-03-05"]
    txs = {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): (
            tx.findtext("p:Amt/p:InstdAmt", namespaces=NS),
            tx.find("p:Amt/p:InstdAmt", namespaces=NS).get("Ccy"),
            tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS),
        )
        for tx in doc.xpath("//p:CdtTrfTxInf", namespaces=NS)
    }
    assert txs == {
        payments[acme.pk].end_to_end_id: ("300.30", "EUR", "DE89370400440532013000"),
        payments[beta.pk].end_to_end_id: ("50.05", "EUR", beta.iban),
    }
    assert _texts(doc, "//p:CdtrAgt//p:BICFI") == ["COBADEFFXXX"]
    assert a1.number in doc.xpath("string(//p:CdtTrfTxInf[1]//p:Ustrd)", namespaces=NS) + doc.xpath(
        "string(//p:CdtTrfTxInf[2]//p:Ustrd)", namespaces=NS
    )
    assert b1.number


def test_a_usd_run_is_written_with_lxml_and_validates(periods, finance):
    set_rate("USD", date(2026, 1, 1), "0.90")
    vendor = make_vendor("Yankee", currency="USD", iban="GB33BUKB20201555555555", bic="BUKBGB22")
    posted_bill(vendor, "1234.50")
    run = payment_run_export(run_id=_propose(finance, make_bank_account(currency="USD")).pk, by=finance)
    doc = _xml(run)
    assert _texts(doc, "//p:InstdAmt") == ["1234.50"] and doc.xpath("//p:InstdAmt/@Ccy", namespaces=NS) == ["USD"]
    assert _texts(doc, "//p:ChrgBr") == ["SHAR"] and not doc.xpath("//p:SvcLvl", namespaces=NS)
    assert _texts(doc, "//p:GrpHdr/p:MsgId") == [run.message_id]


def _file(iban: str) -> bytes:
    return pain001_build(
        message_id="PSA-TEST-1",
        debtor=Debtor(name="Firm GmbH", iban="DE02120300000000202051", bic="", currency="GBP"),
        execution_date=date(2026, 3, 5),
        transfers=[Transfer(end_to_end_id="E2E-1", amount=D("10.00"), name="V", iban=iban, bic="", remittance="x")],
    )


def test_a_broken_file_fails_validation_with_the_schemas_message():
    good = _file("GB33BUKB20201555555555")
    pain001_validate(good)
    tampered = good.replace(b"GB33BUKB20201555555555", b"GB33BUKB20201555555555555555555555555")
    with pytest.raises(ValidationFailed) as exc:
        pain001_validate(tampered)
    assert "IBAN" in exc.value.message and "pain.001.001.09" in exc.value.message
    with pytest.raises(ValidationFailed):  # the builder validates before returning
        _file("gb33 not an iban")


def test_a_vendor_without_a_valid_iban_is_refused_by_name(periods, finance):
    posted_bill(make_vendor("Nobank", iban=""), "10.00")
    posted_bill(make_vendor("Typo", iban="DE89370400440532013001"), "10.00")
    posted_bill(make_vendor("Fine"), "10.00")
    with pytest.raises(ValidationFailed) as exc:
        _propose(finance)
    assert "Nobank" in exc.value.message and "Typo" in exc.value.message and "Fine" not in exc.value.message
    assert not PaymentRun.objects.exists()


def test_bills_in_a_run_are_not_proposed_again_until_it_is_cancelled(periods, finance):
    vendor = make_vendor()
    posted_bill(vendor, "10.00")
    account = make_bank_account()
    first = _propose(finance, account)
    with pytest.raises(ValidationFailed) as exc:
        _propose(finance, account)
    assert "due_by" in exc.value.fields
    payment_run_cancel(run_id=first.pk, by=finance)
    second = _propose(finance, account)
    assert second.message_id != first.message_id and second.total == D("10.00")


def test_booking_posts_every_payment_once_and_settles_the_bills(periods, finance):
    set_rate("USD", date(2026, 1, 1), "0.90")
    vendors = [make_vendor(currency="USD") for _ in range(2)]
    bills = [posted_bill(v, amount) for v, amount in zip(vendors, ("100.00", "250.00"), strict=True)]
    run = _propose(finance, make_bank_account(currency="USD"))
    with pytest.raises(InvalidTransition):  # the bank is sent the file first
        payment_run_book(run_id=run.pk, by=finance)
    payment_run_export(run_id=run.pk, by=finance)
    set_rate("USD", date(2026, 3, 5), "0.92")
    run = payment_run_book(run_id=run.pk, by=finance)
    assert run.status == PaymentRunStatus.BOOKED
    for bill in bills:
        bill.refresh_from_db()
        assert bill.status == VendorBillStatus.PAID
    entries = JournalEntry.objects.filter(source__startswith="vendor-payment:")
    assert entries.count() == 2
    assert gl_balance(SystemAccount.PAYABLE) == 0 == open_functional()
    assert gl_balance(SystemAccount.CASH) == D("-322.00")  # 350 USD at 0.92
    assert gl_balance(SystemAccount.FX_REALISED_LOSS) == D("7.00")  # booked at 315.00
    payment_run_book(run_id=run.pk, by=finance)  # again: nothing more
    assert entries.count() == 2
    assert all(p.journal_entry_id for p in VendorPayment.objects.filter(run=run))
    with pytest.raises(InvalidTransition):
        payment_run_cancel(run_id=run.pk, by=finance)


def test_a_bank_account_of_another_entity_is_refused(periods, finance):
    entity_default()  # the firm's first entity exists before the second
    uk = entity_create(
        by=finance,
        values={"code": "UK", "series_prefix": "GB", "name": "UK Ltd", "legal_name": "UK Ltd", "country": "GB",
                "functional_currency": "EUR"},
    )  # fmt: skip
    posted_bill(make_vendor(), "10.00")
    with pytest.raises(ValidationFailed) as exc:
        _propose(finance, make_bank_account(uk))
    assert "bank_account" in exc.value.fields
