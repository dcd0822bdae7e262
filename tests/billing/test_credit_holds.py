"""Credit holds: a hold blocks winning a deal until finance releases it (or approves that deal); the daily rule
places and lifts its own holds; billing runs still invoice a held account but flag it; the account's credit
standing reaches the CRM pages and lists; webhook events account.credit_hold and invoice.overdue."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.choices import RunScope
from billing.models import BillingRunItem
from billing.selectors.credit import account_credit
from billing.services import billing_run_create, billing_run_execute, billing_run_start, payment_record
from billing.services.credit import credit_holds_apply, invoices_overdue_emit
from billing.services.disputes import dispute_open
from crm import services as crm
from crm.choices import CreditHoldSource, OpportunityStatus
from crm.models import CreditHold
from projects.services import opportunity_win
from psa.core.exceptions import ConflictError, PermissionDeniedError
from psa.core.models import Event
from tests.billing.factories import issued_invoice, make_account, milestone_contract
from tests.crm.factories import make_deal
from tests.projects.factories import make_template

pytestmark = pytest.mark.django_db
DUE = date(2026, 3, 3)


# --- the hold blocks a win until finance releases it ----------------------------------------------------
def test_a_credit_hold_refuses_the_win_until_finance_lifts_it(finance):
    make_template()
    deal = make_deal()
    crm.credit_hold_place(account_id=deal.account_id, by=finance, reason="Three invoices over 90 days")
    assert Event.objects.filter(type="account.credit_hold", data__on_hold=True).count() == 1

    with pytest.raises(ConflictError, match="is on credit hold") as refused:
        opportunity_win(opportunity_id=deal.pk, by=deal.owner)
    assert refused.value.code == "credit_hold" and "finance releases the hold" in refused.value.message
    deal.refresh_from_db()
    assert deal.status == OpportunityStatus.OPEN and not hasattr(deal, "contract")

    crm.credit_hold_release(account_id=deal.account_id, by=finance, note="Paid in full")
    assert Event.objects.filter(type="account.credit_hold", data__on_hold=False).count() == 1
    assert opportunity_win(opportunity_id=deal.pk, by=deal.owner).created


def test_finance_may_approve_one_deal_under_the_current_hold_only(finance):
    make_template()
    deal = make_deal()
    other = make_deal(owner=deal.owner, account=deal.account, name="Second deal")
    crm.credit_hold_place(account_id=deal.account_id, by=finance, reason="Over the limit")
    with pytest.raises(PermissionDeniedError):
        crm.credit_deal_approve(opportunity_id=deal.pk, by=deal.owner)
    crm.credit_deal_approve(opportunity_id=deal.pk, by=finance, note="Prepaid")
    assert opportunity_win(opportunity_id=deal.pk, by=deal.owner).created
    with pytest.raises(ConflictError, match="credit hold"):
        opportunity_win(opportunity_id=other.pk, by=deal.owner)
    # a new hold needs a new approval
    crm.credit_hold_release(account_id=deal.account_id, by=finance)
    crm.credit_hold_place(account_id=deal.account_id, by=finance, reason="Again")
    crm.credit_deal_approve(opportunity_id=other.pk, by=finance)
    crm.credit_hold_release(account_id=deal.account_id, by=finance)
    crm.credit_hold_place(account_id=deal.account_id, by=finance, reason="And again")
    with pytest.raises(ConflictError, match="credit hold"):
        opportunity_win(opportunity_id=other.pk, by=deal.owner)


def test_only_finance_holds_and_one_hold_at_a_time(finance, make_user):
    account = make_account()
    with pytest.raises(PermissionDeniedError):
        crm.credit_hold_place(account_id=account.pk, by=make_user("sales"), reason="x")
    crm.credit_hold_place(account_id=account.pk, by=finance, reason="Late")
    with pytest.raises(ConflictError, match="already on credit hold"):
        crm.credit_hold_place(account_id=account.pk, by=finance, reason="Late again")
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditHold.objects.create(account=account, reason="bypassing the service")
    with pytest.raises(PermissionDeniedError, match="released by finance only"):
        crm.credit_hold_release(account_id=account.pk, by=None)


def test_the_win_button_shows_the_refusal_and_finance_approves_from_the_deal_page(finance, client_as, client):
    make_template()
    deal = make_deal()
    crm.credit_hold_place(account_id=deal.account_id, by=finance, reason="Unpaid since March")
    client.force_login(deal.owner)
    response = client.post(reverse("projects:opportunity-win", args=[deal.pk]), follow=True)
    assert b"is on credit hold" in response.content and b'data-testid="credit-hold-banner"' in response.content
    assert b'data-testid="credit-approve"' not in response.content, "the rep cannot approve"
    assert client.post(reverse("crm:credit-approve", args=[deal.pk])).status_code == 403
    client.force_login(finance)
    assert client.post(reverse("crm:credit-approve", args=[deal.pk])).status_code == 302
    client.force_login(deal.owner)
    response = client.post(reverse("projects:opportunity-win", args=[deal.pk]))
    assert response.status_code == 302 and "/projects/" in response["Location"]


# --- the rule -------------------------------------------------------------------------------------------
def test_the_rule_holds_an_account_with_an_undisputed_balance_over_60_days_late_and_lifts_it_once_paid(
    periods, finance
):
    late = issued_invoice(finance, "1000.00")
    disputed = issued_invoice(finance, "1000.00")
    dispute_open(invoice_id=disputed.pk, by=finance, reason="quality")
    as_of = DUE + timedelta(days=61)

    result = credit_holds_apply(as_of=as_of)
    assert result.placed == [late.account_id], "a wholly disputed invoice does not count"
    hold = CreditHold.objects.get(account_id=late.account_id, released_at__isnull=True)
    assert hold.source == CreditHoldSource.RULE and late.number in hold.reason and "61 days overdue" in hold.reason
    assert credit_holds_apply(as_of=as_of).placed == [], "safe to run twice"

    payment_record(by=finance, account_id=late.account_id, amount=Decimal("1200.00"), received_on=as_of)
    assert credit_holds_apply(as_of=as_of).released == [late.account_id]


def test_the_rule_holds_an_account_over_its_credit_limit_and_leaves_finance_holds_alone(periods, finance):
    account = make_account()
    crm.credit_limit_set(account_id=account.pk, by=finance, limit="2000.00")
    issued_invoice(finance, "1000.00", account=account)
    assert credit_holds_apply(as_of=DUE).placed == []
    issued_invoice(finance, "1000.00", account=account)  # 2,400.00 open
    (placed,) = credit_holds_apply(as_of=DUE).placed
    assert placed == account.pk
    assert "exceed the credit limit of 2,000.00" in CreditHold.objects.get(account=account).reason
    crm.credit_hold_release(account_id=account.pk, by=finance, note="CFO agreed")
    assert credit_holds_apply(as_of=DUE).placed == [], "finance just lifted it: the rule waits"

    manual = make_account()
    crm.credit_hold_place(account_id=manual.pk, by=finance, reason="By hand")
    assert manual.pk not in credit_holds_apply(as_of=DUE).released


def test_invoice_overdue_is_emitted_once_per_invoice_by_the_daily_job(periods, finance, settings):
    invoice = issued_invoice(finance, "1000.00")
    assert invoices_overdue_emit(as_of=DUE) == 0, "due today is not overdue"
    assert invoices_overdue_emit(as_of=DUE + timedelta(days=1)) == 1
    assert invoices_overdue_emit(as_of=DUE + timedelta(days=2)) == 0
    event = Event.objects.get(type="invoice.overdue")
    assert event.data["number"] == invoice.number and event.data["balance"] == "1200.00"
    assert settings.CELERY_BEAT_SCHEDULE["billing-credit-daily"]["task"] == "billing.tasks.credit_daily_task"


# --- what sales sees ------------------------------------------------------------------------------------
def test_the_account_panel_shows_hold_ar_overdue_disputes_and_days_to_pay(periods, finance, client_as):
    account = make_account()
    issued_invoice(finance, "1000.00", account=account)  # paid 20 days after its issue
    payment_record(by=finance, account_id=account.pk, amount=Decimal("1200.00"), received_on=date(2026, 2, 21))
    open_one = issued_invoice(finance, "500.00", account=account)
    dispute_open(invoice_id=open_one.pk, by=finance, reason="po", amount="100.00")
    crm.credit_hold_place(account_id=account.pk, by=finance, reason="Manual review")

    figures = account_credit([account.pk], as_of=DUE + timedelta(days=1))[account.pk]
    assert figures.open == {"EUR": Decimal("600.00")} and figures.overdue == {"EUR": Decimal("600.00")}
    assert figures.disputed == {"EUR": Decimal("100.00")} and figures.open_disputes == 1
    assert figures.avg_days_to_pay == 20 and figures.on_hold

    c = client_as("sales")
    page = c.get(reverse("billing:account-ar", args=[account.pk])).content.decode()
    assert 'data-testid="ar-hold-badge"' in page and "Manual review" in page and "20 days" in page
    detail = c.get(reverse("crm:account", args=[account.pk])).content.decode()
    assert 'data-testid="account-hold-badge"' in detail
    assert client_as("consultant").get(reverse("billing:account-ar", args=[account.pk])).status_code == 403


@pytest.mark.parametrize("url_name", ["crm:accounts", "crm:opportunities", "billing:account-badges"])
def test_the_crm_lists_and_their_credit_badges_cost_the_same_queries_at_two_sizes(periods, finance, client, url_name):
    client.force_login(finance)

    def grow(n: int) -> list[int]:
        ids = []
        for _ in range(n):
            deal = make_deal(ready=False)
            crm.credit_hold_place(account_id=deal.account_id, by=finance, reason="Late")
            issued_invoice(finance, "100.00", account=deal.account)
            ids.append(deal.account_id)
        return ids

    def count(ids: list[int]) -> tuple[int, str]:
        params = {"ids": ",".join(map(str, ids))} if url_name == "billing:account-badges" else {}
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse(url_name), params)
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    ids = grow(2)
    small, page = count(ids)
    assert "Credit hold" in page
    ids += grow(6)
    big, page = count(ids)
    assert big == small and page.count("Credit hold") >= 8


def test_a_billing_run_still_invoices_a_held_account_but_flags_it(periods, finance):
    contract, _, _ = milestone_contract("1000.00")
    crm.credit_hold_place(account_id=contract.account_id, by=finance, reason="Late")
    run = billing_run_create(
        by=finance, period_end=date(2026, 1, 31), scope=RunScope.ACCOUNTS, account_ids=[contract.account_id]
    )
    billing_run_start(run_id=run.pk, by=finance)
    billing_run_execute(run_id=run.pk)
    item = BillingRunItem.objects.get(run=run, contract=contract)
    assert item.invoice is not None and item.credit_hold
