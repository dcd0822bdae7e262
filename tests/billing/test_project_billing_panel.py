"""Billed and recognised per contract line on the project page (the billing-served panel)."""

from datetime import date
from decimal import Decimal

import pytest

from billing.selectors.contract_lines import contract_line_billing
from billing.services import invoice_issue
from ledger.models import AccountingPeriod
from ledger.services.revenue import recognition_run
from tests.billing.factories import approved_entry, make_consultant, tm_contract
from tests.billing.test_time_billing import _draft
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def test_each_line_shows_billed_recognised_and_the_difference(periods, finance, client_as):
    contract, line = tm_contract()
    ada = make_consultant()
    approved_entry(line, ada, date(2026, 1, 5), "8.00", "150")
    recognition_run(period_id=AccountingPeriod.objects.get(start=date(2026, 1, 1)).pk, by=finance)
    (row,) = contract_line_billing(project_id=contract.project_id)
    assert (row.billed, row.recognised, row.position) == (Decimal("0"), Decimal("1200.00"), Decimal("1200.00"))
    invoice_issue(invoice_id=_draft(contract).pk, by=finance, on=date(2026, 2, 1))
    approved_entry(line, ada, date(2026, 2, 2), "2.00", "150")
    (row,) = contract_line_billing(project_id=contract.project_id)
    assert (row.billed, row.recognised, row.position) == (Decimal("1200.00"), Decimal("1200.00"), Decimal("0.00"))

    pm = client_as("project_manager")
    url = f"/billing/fragments/projects/{contract.project_id}/billing/"
    small, response = count_queries(lambda: pm.get(url))
    assert b"1,200.00" in response.content
    for day in (3, 4, 5):
        approved_entry(line, ada, date(2026, 2, day), "1.00", "150")
    recognition_run(period_id=AccountingPeriod.objects.get(start=date(2026, 2, 1)).pk, by=finance)
    large, _ = count_queries(lambda: pm.get(url))
    assert large == small
    assert client_as("consultant").get(url).status_code == 403
    assert client_as("sales").get(url).status_code == 403
