"""The month-end page says how many items are outstanding, in words ("1 draft invoice ..."), not bare labels
("Drafts", "Unallocated"), and its cards read in order 1, 2, 3, 4 (the Close card came before the Review)."""

import re
from datetime import date

import pytest
from django.db import transaction
from django.urls import reverse

from billing.services import invoice_draft_for_contract, payment_record
from ledger.models import AccountingPeriod
from tests.billing.factories import make_account, make_periods, milestone_contract

pytestmark = pytest.mark.django_db


def test_the_checklist_counts_drafts_and_unallocated_payments_and_its_cards_are_in_order(client_as, finance):
    make_periods()
    contract, _, _ = milestone_contract("100.00")
    with transaction.atomic():
        invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    payment_record(by=finance, account_id=make_account().pk, amount="80.00", received_on=date(2026, 1, 10))
    january = AccountingPeriod.objects.get(start=date(2026, 1, 1))

    html = client_as("finance").get(reverse("ledger:close_checklist", args=[january.pk])).content.decode()
    rows = dict(
        re.findall(r'data-check="(\w+)".*?<span class="small text-body-secondary d-block">(.*?)</span>', html, re.S)
    )
    assert rows["draft_invoices"] == "1 draft invoice for this month or earlier, not issued yet"
    assert rows["unallocated_payments"] == "1 payment received by the month end not fully allocated to invoices"
    assert rows["vendor_bills_waiting"] == "No vendor bill waiting."
    headers = re.findall(r"card-header[^>]*>(\d)\. ", html)
    assert headers == ["1", "2", "3", "4"]
