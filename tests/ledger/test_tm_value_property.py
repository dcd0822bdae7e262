"""Property (hypothesis): whatever the quarter hours, rates (2-4 decimals), roles, billing cut-offs, credit
notes of some entries and re-bills, and whichever billing path (the Python one or the one SQL statement), a T&M
line recognises exactly what it invoices, and the contract position ends at zero.

Billing cuts at a random day and then at the end of February, recognition runs at the end of February and, in
about half the examples, at the end of January first, so groups (contract line x role x rate) are cut across
months and invoices. Each example runs in a
savepoint that is rolled back, so examples do not see each other's documents.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.choices import InvoiceKind, InvoiceStatus, SourceKind
from billing.models import InvoiceLine, SourceLink, TaxCategory
from billing.services import credit_note_create, invoice_draft_for_contract, invoice_issue
from billing.services.vat import RateTable
from ledger.choices import SystemAccount
from ledger.models import RevenueSchedule
from ledger.services.revenue import recognition_run
from tests.billing.factories import make_contract, make_line
from tests.ledger.revenue_factories import (
    approved_time,
    books,
    consultant,
    gl,
    period,
    zero_tax_account,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.slow]  # a property test: many firms

JAN, FEB = date(2026, 1, 31), date(2026, 2, 28)
ISSUE_ON = FEB  # one issue date for every document: numbering stays chronological whatever the order
DAYS = [date(2026, 1, 1) + timedelta(days=n) for n in range(59)]  # 1 January to 28 February


class Rollback(Exception):
    pass


rates = st.integers(2, 4).flatmap(
    lambda places: st.integers(50 * 10**places, 250 * 10**places).map(lambda n: Decimal(n).scaleb(-places))
)
entries = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from(DAYS), st.integers(1, 32), st.integers(0, 1)),  # who, day, 1/4 h, rate
    min_size=1,
    max_size=6,
    unique_by=lambda e: (e[0], e[1]),  # one entry per consultant and day
)


@pytest.fixture
def world(make_user):
    books()
    return {
        "finance": make_user("finance"),
        "who": [consultant(), consultant()],
        "account": zero_tax_account(),
        # what a billing run passes: the account's override (the zero rate of zero_tax_account) and the rates
        "override": (TaxCategory.objects.get(code="Z"), "Zero-rated: the revenue tests compare nets"),
    }


def _bill(contract, period_end: date, *, in_sql: bool, world):
    """Draft and issue whatever is billable; `in_sql` bills the time alone through the one-statement path."""
    with transaction.atomic():
        if in_sql:
            draft = invoice_draft_for_contract(
                contract=contract,
                period_end=period_end,
                by=world["finance"],
                kinds=[SourceKind.TIME_ENTRY],
                override=world["override"],
                rates=RateTable.load(),
                has_caps=False,
            )
        else:
            draft = invoice_draft_for_contract(contract=contract, period_end=period_end, by=world["finance"])
    return invoice_issue(invoice_id=draft.pk, by=world["finance"], on=ISSUE_ON) if draft is not None else None


def _invoiced_net(line) -> Decimal:
    issued = InvoiceLine.objects.filter(contract_line=line).exclude(
        invoice__status__in=[InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED]
    )
    invoiced = issued.filter(invoice__kind=InvoiceKind.INVOICE).aggregate(s=Sum("net"))["s"] or Decimal("0")
    credited = issued.filter(invoice__kind=InvoiceKind.CREDIT_NOTE).aggregate(s=Sum("net"))["s"] or Decimal("0")
    return invoiced - credited


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rate_pair=st.tuples(rates, rates),
    time=entries,
    cut=st.sampled_from(DAYS),
    first_in_sql=st.booleans(),
    credit=st.lists(st.integers(0, 5), max_size=3, unique=True),
    recognise_january=st.booleans(),
    rebill_in_sql=st.booleans(),
)
def test_a_tm_line_recognises_what_it_invoices_and_the_position_ends_at_zero(
    world, rate_pair, time, cut, first_in_sql, credit, recognise_january, rebill_in_sql
):
    with pytest.raises(Rollback), transaction.atomic():
        # Given a T&M line with quarter-hour entries of two consultants (two roles) at two rates
        contract = make_contract(world["account"])
        line = make_line(contract, "tm", price="0.00")
        project = contract.project
        for who, day, quarters, rate in time:
            approved_time(
                project, line, day, str(Decimal(quarters) / 4), rate=str(rate_pair[rate]), who=world["who"][who]
            )

        # When it is billed up to a cut-off day, some of that invoice's entries are credited, January is (or is
        # not) recognised, everything left (the credited entries again) is billed at the end and February recognised
        first = _bill(contract, cut, in_sql=first_in_sql, world=world)
        if first is not None and credit:
            links = list(SourceLink.objects.filter(line__invoice=first, kind=SourceKind.TIME_ENTRY).order_by("pk"))
            chosen = [links[i].pk for i in credit if i < len(links)]
            if chosen:
                note = credit_note_create(invoice_id=first.pk, by=world["finance"], link_ids=chosen)
                invoice_issue(invoice_id=note.pk, by=world["finance"], on=ISSUE_ON)
        if recognise_january:
            recognition_run(period_id=period(JAN).pk, by=world["finance"])
        _bill(contract, FEB, in_sql=rebill_in_sql, world=world)
        recognition_run(period_id=period(FEB).pk, by=world["finance"])

        # Then the line recognised what it invoiced, net of credit notes, and the contract position is zero
        recognised = RevenueSchedule.objects.get(contract_line=line).recognised
        assert recognised == _invoiced_net(line)
        assert gl(SystemAccount.UNBILLED, project) == Decimal("0.00")
        assert gl(SystemAccount.DEFERRED, project) == Decimal("0.00")
        raise Rollback
