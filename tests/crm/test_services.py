"""crm services: successes and refusals (bad input, wrong state, wrong role)."""

import datetime as dt
from decimal import Decimal

import pytest

from crm import services
from crm.choices import BillingModel, OpportunityStatus
from crm.models import Account, Opportunity
from psa.core.exceptions import InvalidTransition, MissingFields, PermissionDeniedError, ValidationFailed
from tests.crm.factories import AccountFactory, RoleFactory, make_deal, stage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_rep_opens_a_deal_with_the_stage_probability_and_the_account_currency_and_terms():
    account = AccountFactory(currency="GBP", payment_terms_days=14)
    deal = make_deal(account=account, ready=False, stage=stage("Proposal"))
    assert (deal.probability, deal.currency, deal.payment_terms_days) == (50, "GBP", 14)
    assert deal.history.get().note == "Created"


def test_a_rep_may_not_open_a_deal_for_another_owner():
    rep, other = UserFactory(roles=["sales"]), UserFactory(roles=["sales"])
    with pytest.raises(PermissionDeniedError):
        services.opportunity_create(
            by=rep, owner=other, account=AccountFactory(), name="X", expected_close_date=dt.date(2027, 1, 1)
        )


def test_the_owner_must_be_a_sales_rep():
    admin = UserFactory(roles=["admin"])
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_create(
            by=admin,
            owner=UserFactory(roles=["consultant"]),
            account=AccountFactory(),
            name="X",
            expected_close_date=dt.date(2027, 1, 1),
        )
    assert "owner" in exc.value.fields


def test_consultants_cannot_open_deals():
    with pytest.raises(PermissionDeniedError):
        services.opportunity_create(
            by=UserFactory(roles=["consultant"]),
            account=AccountFactory(),
            name="X",
            expected_close_date=dt.date(2027, 1, 1),
        )


def test_a_probability_override_survives_and_out_of_range_is_refused():
    deal = make_deal(ready=False, probability=42)
    assert deal.probability == 42
    with pytest.raises(ValidationFailed):
        services.opportunity_update(opportunity_id=deal.pk, by=deal.owner, probability=101)
    with pytest.raises(ValidationFailed):
        services.opportunity_move(opportunity_id=deal.pk, stage_id=stage("Proposal").pk, by=deal.owner, probability=-5)


def test_line_values_follow_the_billing_model():
    deal = make_deal(ready=False)
    tm = services.opportunity_line_add(
        opportunity_id=deal.pk, by=deal.owner, description="T&M", billing_model=BillingModel.TIME_AND_MATERIALS,
        hours=Decimal("33.33"), rate=Decimal("99.99"), cap=Decimal("3000.00"),
    )  # fmt: skip
    assert tm.amount == Decimal("3000.00")  # 3,332.67 capped
    services.opportunity_line_add(
        opportunity_id=deal.pk, by=deal.owner, description="Sub", billing_model=BillingModel.SUBSCRIPTION,
        price=Decimal("1200.00"),
    )  # fmt: skip
    deal.refresh_from_db()
    assert deal.amount == Decimal("4200.00")
    services.opportunity_line_remove(line_id=tm.pk, by=deal.owner)
    deal.refresh_from_db()
    assert deal.amount == Decimal("1200.00")


def test_a_cap_on_a_fixed_fee_line_and_milestones_on_a_t_and_m_line_are_refused():
    deal = make_deal(ready=False)
    with pytest.raises(ValidationFailed):
        services.opportunity_line_add(
            opportunity_id=deal.pk, by=deal.owner, description="F", billing_model=BillingModel.FIXED_FEE,
            price=Decimal("10"), cap=Decimal("5"),
        )  # fmt: skip
    line = services.opportunity_line_add(
        opportunity_id=deal.pk, by=deal.owner, description="T", billing_model=BillingModel.TIME_AND_MATERIALS
    )
    with pytest.raises(ValidationFailed):
        services.line_milestone_add(
            line_id=line.pk, by=deal.owner, name="M", amount=Decimal("1"), due_date=dt.date(2027, 1, 1)
        )


def test_role_demand_needs_positive_hours_and_ordered_dates():
    deal = make_deal(ready=False)
    line = services.opportunity_line_add(opportunity_id=deal.pk, by=deal.owner, description="T")
    role = RoleFactory()
    with pytest.raises(ValidationFailed) as exc:
        services.role_demand_add(
            line_id=line.pk, by=deal.owner, role=role, hours=Decimal("8"),
            start_date=dt.date(2027, 2, 1), end_date=dt.date(2027, 1, 1),
        )  # fmt: skip
    assert "end_date" in exc.value.fields
    with pytest.raises(ValidationFailed):
        services.role_demand_add(
            line_id=line.pk, by=deal.owner, role=role, hours=Decimal("0"),
            start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 1, 2),
        )  # fmt: skip


def test_another_rep_cannot_edit_add_lines_or_lose_a_deal():
    deal = make_deal(ready=False)
    intruder = UserFactory(roles=["sales"])
    with pytest.raises(PermissionDeniedError):
        services.opportunity_update(opportunity_id=deal.pk, by=intruder, name="Mine now")
    with pytest.raises(PermissionDeniedError):
        services.opportunity_line_add(opportunity_id=deal.pk, by=intruder, description="X")
    with pytest.raises(PermissionDeniedError):
        services.opportunity_lose(opportunity_id=deal.pk, by=intruder, reason="Sabotage")


def test_only_a_manager_hands_a_deal_to_another_owner():
    deal = make_deal(ready=False)
    with pytest.raises(PermissionDeniedError):
        services.opportunity_update(opportunity_id=deal.pk, by=deal.owner, owner=UserFactory(roles=["sales"]))
    new_owner = UserFactory(roles=["sales"])
    services.opportunity_update(opportunity_id=deal.pk, by=UserFactory(roles=["admin"]), owner=new_owner)
    assert Opportunity.objects.get(pk=deal.pk).owner == new_owner


def test_lose_needs_a_reason_then_reopen_returns_the_deal_to_the_first_stage():
    deal = make_deal(ready=False, stage=stage("Proposal"))
    with pytest.raises(MissingFields):
        services.opportunity_lose(opportunity_id=deal.pk, by=deal.owner, reason="  ")
    services.opportunity_lose(opportunity_id=deal.pk, by=deal.owner, reason="Budget")
    with pytest.raises(InvalidTransition):
        services.opportunity_lose(opportunity_id=deal.pk, by=deal.owner, reason="Again")
    with pytest.raises(InvalidTransition):
        services.opportunity_update(opportunity_id=deal.pk, by=deal.owner, name="Edited while lost")
    services.opportunity_reopen(opportunity_id=deal.pk, by=deal.owner)
    deal.refresh_from_db()
    assert (deal.status, deal.stage.name, deal.probability, deal.lost_reason) == (
        OpportunityStatus.OPEN,
        "Lead",
        10,
        "",
    )
    assert [h.to_status for h in deal.history.all()] == ["open", "lost", "open"]


def test_an_account_currency_cannot_change_under_open_deals():
    deal = make_deal(ready=False)
    finance = UserFactory(roles=["finance"])
    with pytest.raises(ValidationFailed) as exc:
        services.account_update(account_id=deal.account_id, by=finance, currency="USD")
    assert "currency" in exc.value.fields


def test_an_account_parent_chain_cannot_loop():
    finance = UserFactory(roles=["finance"])
    group = AccountFactory()
    child = AccountFactory(parent=group)
    with pytest.raises(ValidationFailed):
        services.account_update(account_id=group.pk, by=finance, parent=child)
    assert Account.objects.get(pk=group.pk).parent is None


def test_consultants_cannot_create_accounts_and_portal_access_needs_a_login():
    with pytest.raises(PermissionDeniedError):
        services.account_create(by=UserFactory(roles=["consultant"]), name="X")
    account = AccountFactory()
    with pytest.raises(ValidationFailed):
        services.contact_create(
            by=UserFactory(roles=["sales"]), account_id=account.pk, first_name="A", portal_access=True
        )
