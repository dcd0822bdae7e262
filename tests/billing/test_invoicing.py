"""From sources to drafts, issue, ledger posting, credit notes and the billed-once rule."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.choices import InvoiceStatus, SourceKind
from billing.models import CapWriteDown, Invoice, SourceLink
from billing.services import credit_note_create, invoice_cancel, invoice_draft_for_contract, invoice_issue
from ledger.choices import SystemAccount
from ledger.models import JournalLine
from psa.core.exceptions import InvalidTransition, PermissionDeniedError, ValidationFailed
from psa.core.models import Event
from tests.billing.factories import milestone_contract, retainer_contract

pytestmark = pytest.mark.django_db


def _draft(contract, period_end=date(2026, 1, 31)):
    with transaction.atomic():
        return invoice_draft_for_contract(contract=contract, period_end=period_end)


def test_a_draft_bills_each_accepted_milestone_once_with_tax_on_the_summed_basis(periods):
    contract, _line, milestones = milestone_contract("10.04", "10.04", "10.04")
    invoice = _draft(contract)
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
    assert invoice.lines.count() == 3
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("30.12"),
        Decimal("6.02"),
        Decimal("36.14"),
    )
    assert set(SourceLink.objects.values_list("kind", "source_id")) == {
        (SourceKind.MILESTONE, m.pk) for m in milestones
    }
    assert _draft(contract) is None, "nothing is left to bill"


def test_the_database_refuses_to_bill_a_source_twice(periods):
    contract, _, (m,) = milestone_contract("100.00")
    invoice = _draft(contract)
    line = invoice.lines.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        SourceLink.objects.create(line=line, kind=SourceKind.MILESTONE, source_id=m.pk, amount=Decimal("1.00"))


def test_issuing_numbers_posts_and_emits_in_one_transaction(periods, finance, django_capture_on_commit_callbacks):
    contract, _, _ = milestone_contract("1000.00")
    invoice = _draft(contract)
    with django_capture_on_commit_callbacks() as callbacks:
        issued = invoice_issue(invoice_id=invoice.pk, by=finance, on=date(2026, 2, 1))
    assert issued.number == "INV-2026-000001"
    assert issued.due_date == date(2026, 3, 3)
    assert issued.status == InvoiceStatus.ISSUED
    lines = {
        (ln.account.system_role, ln.debit, ln.credit)
        for ln in JournalLine.objects.filter(entry=issued.journal_entry).select_related("account")
    }
    assert lines == {
        (SystemAccount.RECEIVABLE, Decimal("1200.00"), Decimal("0")),
        (SystemAccount.TAX_PAYABLE, Decimal("0"), Decimal("200.00")),
        (SystemAccount.DEFERRED, Decimal("0"), Decimal("1000.00")),
    }
    assert Event.objects.filter(type="invoice.issued", key=f"invoice.issued:{issued.pk}").exists()
    assert len(callbacks) >= 1


def test_an_invoice_first_relieves_the_contracts_unbilled_receivable(periods, finance):
    from ledger.services import EntrySpec, LineSpec, account_code_for, entry_post

    contract, _, _ = milestone_contract("1000.00")
    entry_post(
        spec=EntrySpec(
            date=date(2026, 1, 31),
            memo="Revenue recognised",
            lines=(
                LineSpec(
                    account=account_code_for(SystemAccount.UNBILLED),
                    debit=Decimal("600.00"),
                    project_id=contract.project_id,
                ),
                LineSpec(
                    account=account_code_for(SystemAccount.SERVICES_REVENUE),
                    credit=Decimal("600.00"),
                    project_id=contract.project_id,
                ),
            ),
        ),
        key="rev:1",
    )
    invoice = invoice_issue(invoice_id=_draft(contract).pk, by=finance, on=date(2026, 2, 1))
    credits = {
        ln.account.system_role: ln.credit
        for ln in JournalLine.objects.filter(entry=invoice.journal_entry, credit__gt=0).select_related("account")
    }
    assert credits[SystemAccount.UNBILLED] == Decimal("600.00")
    assert credits[SystemAccount.DEFERRED] == Decimal("400.00")


@pytest.mark.postgres  # the trigger is PostgreSQL's (migration); SQLite keeps the service check only
def test_issued_invoices_are_immutable_in_the_database(periods, finance):
    contract, _, _ = milestone_contract("100.00")
    invoice = invoice_issue(invoice_id=_draft(contract).pk, by=finance, on=date(2026, 2, 1))
    with pytest.raises(Exception, match="cannot change"), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(
            net_total=Decimal("1.00"), gross_total=Decimal("1.20"), tax_total=Decimal("0.20")
        )
    with pytest.raises(Exception, match="cannot change"), transaction.atomic():
        invoice.lines.update(description="changed")
    with pytest.raises(InvalidTransition):
        invoice_issue(invoice_id=invoice.pk, by=finance)


def test_only_finance_issues(periods, make_user):
    contract, _, _ = milestone_contract("100.00")
    with pytest.raises(PermissionDeniedError):
        invoice_issue(invoice_id=_draft(contract).pk, by=make_user("sales"))


def test_numbers_are_chronological(periods, finance):
    a, _, _ = milestone_contract("100.00")
    b, _, _ = milestone_contract("100.00")
    invoice_issue(invoice_id=_draft(a).pk, by=finance, on=date(2026, 2, 10))
    with pytest.raises(ValidationFailed) as err:
        invoice_issue(invoice_id=_draft(b).pk, by=finance, on=date(2026, 2, 9))
    assert "issue_date" in err.value.fields
    again = invoice_issue(invoice_id=Invoice.objects.get(contract=b).pk, by=finance, on=date(2026, 2, 10))
    assert again.number == "INV-2026-000002", "the refused issue gave its number back"


def test_discarding_a_draft_releases_its_sources(periods, finance):
    contract, _, _ = milestone_contract("100.00")
    invoice_cancel(invoice_id=_draft(contract).pk, by=finance)
    again = _draft(contract)
    assert again is not None and again.net_total == Decimal("100.00")


def test_a_partial_credit_note_releases_exactly_what_it_credits_and_the_next_draft_bills_it_once(periods, finance):
    contract, _, (_m1, m2, _m3) = milestone_contract("100.00", "200.00", "300.00")
    invoice = invoice_issue(invoice_id=_draft(contract).pk, by=finance, on=date(2026, 2, 1))
    credited_line = invoice.lines.get(net=Decimal("200.00"))
    note = credit_note_create(invoice_id=invoice.pk, by=finance, line_ids=[credited_line.pk], reason="Wrong milestone")
    assert _draft(contract, date(2026, 3, 31)) is None, "a draft credit note releases nothing yet"
    note = invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 2))
    assert note.number == "CN-2026-000001"
    assert (note.net_total, note.tax_total, note.gross_total) == (
        Decimal("200.00"),
        Decimal("40.00"),
        Decimal("240.00"),
    )
    invoice.refresh_from_db()
    assert invoice.amount_credited == Decimal("240.00") and invoice.status == InvoiceStatus.PARTLY_CREDITED
    rebill = _draft(contract, date(2026, 3, 31))
    assert list(rebill.lines.values_list("net", flat=True)) == [Decimal("200.00")]
    assert SourceLink.objects.filter(source_id=m2.pk, released_at__isnull=True).count() == 1
    assert _draft(contract, date(2026, 3, 31)) is None
    with pytest.raises(ValidationFailed):
        credit_note_create(invoice_id=invoice.pk, by=finance, line_ids=[credited_line.pk])


def test_a_full_credit_note_mirrors_the_posting(periods, finance):
    contract, _, _ = milestone_contract("10.04", "10.04", "10.04")
    invoice = invoice_issue(invoice_id=_draft(contract).pk, by=finance, on=date(2026, 2, 1))
    note = invoice_issue(
        invoice_id=credit_note_create(invoice_id=invoice.pk, by=finance).pk, by=finance, on=date(2026, 2, 3)
    )
    assert note.tax_total == invoice.tax_total == Decimal("6.02")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CREDITED and invoice.balance == 0
    debits = {
        ln.account.system_role: ln.debit
        for ln in JournalLine.objects.filter(entry=note.journal_entry, debit__gt=0).select_related("account")
    }
    assert debits == {SystemAccount.TAX_PAYABLE: Decimal("6.02"), SystemAccount.DEFERRED: Decimal("30.12")}


def test_a_cap_bills_up_to_the_limit_and_records_the_overflow(periods):
    contract, _line, _ = milestone_contract("600.00", "600.00", cap="1000.00")
    invoice = _draft(contract)
    assert invoice.net_total == Decimal("1000.00")
    (down,) = CapWriteDown.objects.all()
    assert down.amount == Decimal("200.00") and down.cap == Decimal("1000.00")
    assert invoice.lines.filter(written_down=Decimal("200.00")).count() == 1


def test_a_retainer_bills_one_period_per_month_and_the_schedule_sums_to_the_price(periods):
    contract, line = retainer_contract("1000.00")
    events = list(line.schedule_events.order_by("sequence"))
    assert len(events) == 12 and sum(e.amount for e in events) == Decimal("1000.00")
    assert events[-1].amount == Decimal("83.37")
    invoice = _draft(contract, date(2026, 3, 31))
    assert invoice.lines.count() == 3 and invoice.net_total == Decimal("249.99")
