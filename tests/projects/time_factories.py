"""Time factories: a won project with a rate card, its PM, and consultants allocated to it."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from crm.models import DeliveryRole
from projects import services
from projects.models import Consultant, Project, RateCard
from projects.services import staffing
from tests.crm.factories import END, START, RoleFactory, make_deal
from tests.factories import UserFactory
from tests.projects.factories import make_template

MONDAY = dt.date(2027, 1, 11)  # a week inside the demo deal's service dates (START..END)


@dataclass
class Setup:
    project: Project
    pm: object
    admin: object
    role: DeliveryRole
    card: RateCard


def won_project(*, pm=None, account=None) -> Setup:
    """A won implementation project (T&M line with the default EUR card, a fixed-fee line) run by `pm`."""
    make_template()
    admin = UserFactory(roles=["admin"])
    role = RoleFactory(name="Senior consultant", code="senior")
    card = RateCard.objects.filter(currency="EUR", is_default=True).first()
    if card is None:
        card = services.rate_card_create(by=admin, name="Standard EUR", currency="EUR", is_default=True)
        services.rate_card_line_create(
            by=admin, rate_card_id=card.pk, role=role, rate=Decimal("160"), valid_from=dt.date(2026, 1, 1),
            valid_to=dt.date(2027, 1, 31),
        )  # fmt: skip
        services.rate_card_line_create(
            by=admin, rate_card_id=card.pk, role=role, rate=Decimal("170"), valid_from=dt.date(2027, 2, 1)
        )
    pm = pm or UserFactory(roles=["project_manager"])
    extra = {"account": account} if account else {}
    deal = make_deal(delivery_manager=pm, **extra)
    result = services.opportunity_win(opportunity_id=deal.pk, by=deal.owner)
    return Setup(project=result.project, pm=pm, admin=admin, role=role, card=card)


def consultant_on(setup: Setup, *, user=None, cost=Decimal("70"), hours=Decimal("40")) -> Consultant:
    user = user or UserFactory(roles=["consultant"])
    consultant = staffing.consultant_create(
        by=setup.admin, user=user, role=setup.role, cost_rate=cost, cost_from=dt.date(2026, 1, 1),
        skills={"Python": 4},
    )  # fmt: skip
    staffing.allocation_create(
        by=setup.admin, project_id=setup.project.pk, consultant_id=consultant.pk, hours_per_week=hours,
        start_date=START, end_date=END, kind="hard", confirm_overbooking=True,
    )  # fmt: skip
    return consultant
