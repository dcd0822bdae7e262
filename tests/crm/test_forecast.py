"""Forecast, win rate and sales cycle equal figures computed by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import selectors, services
from crm.choices import BillingModel
from crm.models import Opportunity, StageHistory
from tests.crm.factories import AccountFactory, RoleFactory, make_deal, stage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _deal(owner, account, amount: str, close: dt.date, stage_name: str, probability=None):
    deal = make_deal(
        owner=owner, account=account, ready=False, expected_close_date=close, stage=stage(stage_name),
        probability=probability,
    )  # fmt: skip
    services.opportunity_line_add(
        opportunity_id=deal.pk, by=owner, description="Fee", billing_model=BillingModel.FIXED_FEE, price=Decimal(amount)
    )
    return deal


@pytest.fixture
def pipeline():
    ann, bob = UserFactory(roles=["sales"], username="ann"), UserFactory(roles=["sales"], username="bob")
    acme = AccountFactory()
    # January: 10,000.00 at 10% (Lead) + 3,333.33 at 25% (Qualified) -> 1,000.00 + 833.33 (833.3325 rounded half up)
    _deal(ann, acme, "10000.00", dt.date(2027, 1, 5), "Lead")
    _deal(bob, acme, "3333.33", dt.date(2027, 1, 20), "Qualified")
    # February: 7,000.00 at 50% (Proposal) + 1,234.50 at an overridden 33% -> 3,500.00 + 407.39 (407.385)
    _deal(ann, acme, "7000.00", dt.date(2027, 2, 1), "Proposal")
    _deal(bob, acme, "1234.50", dt.date(2027, 2, 28), "Negotiation", probability=33)
    return ann, bob, acme


def test_weighted_pipeline_by_month_equals_the_hand_computed_sums(pipeline):
    rows = selectors.forecast_by_month(Opportunity.objects.all())
    assert [(r["month"], r["deals"], r["pipeline"], r["weighted"]) for r in rows] == [
        (dt.date(2027, 1, 1), 2, Decimal("13333.33"), Decimal("1833.33")),
        (dt.date(2027, 2, 1), 2, Decimal("8234.50"), Decimal("3907.39")),
    ]


def test_weighted_pipeline_by_owner_and_stage(pipeline):
    owners = {r["owner__username"]: r["weighted"] for r in selectors.forecast_by_owner(Opportunity.objects.all())}
    assert owners == {"ann": Decimal("4500.00"), "bob": Decimal("1240.72")}
    stages = [(r["stage__name"], r["weighted"]) for r in selectors.forecast_by_stage(Opportunity.objects.all())]
    assert stages == [
        ("Lead", Decimal("1000.00")),
        ("Qualified", Decimal("833.33")),
        ("Proposal", Decimal("3500.00")),
        ("Negotiation", Decimal("407.39")),
    ]


def test_closed_deals_leave_the_weighted_pipeline(pipeline):
    ann, _, acme = pipeline
    lost = _deal(ann, acme, "999.00", dt.date(2027, 1, 9), "Lead")
    services.opportunity_lose(opportunity_id=lost.pk, by=ann, reason="No budget")
    january = selectors.forecast_by_month(Opportunity.objects.all())[0]
    assert january["weighted"] == Decimal("1833.33")


def test_win_rate_and_average_sales_cycle_from_the_stage_history():
    from projects.services import opportunity_win
    from tests.projects.factories import make_template

    make_template()
    rep = UserFactory(roles=["sales"])
    RoleFactory(name="Senior consultant", code="senior")
    won = [make_deal(owner=rep) for _ in range(3)]
    lost = make_deal(owner=rep, ready=False)
    for deal in won:
        opportunity_win(opportunity_id=deal.pk, by=rep)
    services.opportunity_lose(opportunity_id=lost.pk, by=rep, reason="Price")
    # Created 10, 20 and 33 days before the win: mean 21.0 days.
    now = timezone.now()
    for deal, days in zip(won, (10, 20, 33), strict=True):
        StageHistory.objects.filter(opportunity=deal, to_status="open").update(at=now - dt.timedelta(days=days))
        StageHistory.objects.filter(opportunity=deal, to_status="won").update(at=now)

    stats = selectors.win_stats(Opportunity.objects.all())

    assert (stats.won, stats.lost) == (3, 1)
    assert stats.win_rate == Decimal("75.0")
    assert stats.avg_cycle_days == Decimal("21.0")


def test_win_stats_are_empty_without_closed_deals():
    stats = selectors.win_stats(Opportunity.objects.all())
    assert stats.win_rate is None and stats.avg_cycle_days is None


def test_weighted_demand_spreads_hours_by_week_and_probability():
    rep = UserFactory(roles=["sales"])
    role = RoleFactory(name="Architect", code="architect")
    deal = make_deal(owner=rep, ready=False, stage=stage("Proposal"))  # 50%
    monday = dt.date(2027, 3, 1)
    services.opportunity_line_add(
        opportunity_id=deal.pk,
        by=rep,
        description="Design",
        billing_model=BillingModel.FIXED_FEE,
        price=Decimal("1000"),
        role_demands=[
            {"role": role, "hours": Decimal("70"), "start_date": monday, "end_date": monday + dt.timedelta(13)}
        ],
    )
    grid = selectors.weighted_demand(Opportunity.objects.all(), start=monday, weeks=3)
    # 70 h over 14 days at 50% -> 17.50 weighted hours in each of the two weeks, none in the third.
    assert grid.rows == [
        {"role": "Architect", "cells": [Decimal("17.50"), Decimal("17.50"), Decimal("0.00")], "total": Decimal("35.00")}
    ]


def test_the_forecast_page_shows_the_hand_computed_total(client_as, pipeline):
    response = client_as("sales").get("/crm/forecast/")
    assert response.status_code == 200
    assert response.context["total_weighted"] == Decimal("5740.72")
    assert "5,740.72" in response.content.decode()


def test_the_forecast_never_adds_currencies(client_as, pipeline):
    ann, _, _ = pipeline
    usd = AccountFactory(currency="USD")
    _deal(ann, usd, "50000.00", dt.date(2027, 1, 5), "Negotiation")
    client = client_as("sales")
    assert client.get("/crm/forecast/", {"currency": "EUR"}).context["total_weighted"] == Decimal("5740.72")
    assert client.get("/crm/forecast/", {"currency": "USD"}).context["total_weighted"] == Decimal("37500.00")
    lead = next(c for c in client.get("/crm/pipeline/").context["columns"] if c.stage.name == "Negotiation")
    assert [(cur, w) for cur, _, w in lead.totals] == [("EUR", Decimal("407.39")), ("USD", Decimal("37500.00"))]


def test_the_deals_behind_a_roles_demand_in_a_week_are_listed_largest_first(client_as):
    rep = UserFactory(roles=["sales"])
    role = RoleFactory(name="Architect", code="architect")
    monday = dt.date(2027, 3, 1)
    likely = make_deal(owner=rep, ready=False, stage=stage("Proposal"), name="Likely")  # 50%
    for deal, hours in ((likely, Decimal("70")), (make_deal(owner=rep, ready=False, name="Early"), Decimal("14"))):
        services.opportunity_line_add(
            opportunity_id=deal.pk, by=rep, description="Design", billing_model=BillingModel.FIXED_FEE,
            price=Decimal("1000"),
            role_demands=[{"role": role, "hours": hours, "start_date": monday, "end_date": monday + dt.timedelta(13)}],
        )  # fmt: skip
    drivers = selectors.demand_drivers(role_name="Architect", week=monday + dt.timedelta(days=3))
    assert (drivers[0].name, drivers[0].hours, drivers[0].weighted) == ("Likely", Decimal("35.00"), Decimal("17.50"))
    assert [d.name for d in drivers] == ["Likely", "Early"] and drivers[1].hours == Decimal("7.00")
    grid = selectors.weighted_demand(Opportunity.objects.all(), start=monday, weeks=1)
    assert grid.rows[0]["cells"][0] == sum((d.weighted for d in drivers), Decimal(0))
    pm = client_as("project_manager")
    page = pm.get("/staffing/heatmap/", {"start": monday.isoformat()})
    assert page.status_code == 200 and b'data-testid="demand-cell"' in page.content
    fragment = pm.get("/staffing/heatmap/drivers/", {"role": "Architect", "week": monday.isoformat()})
    assert fragment.status_code == 200 and b"Likely" in fragment.content and b"gap" in fragment.content
    assert client_as("consultant").get("/staffing/heatmap/drivers/", {"role": "Architect"}).status_code == 403
