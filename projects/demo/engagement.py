"""Demo engagements: a project template per service type, a default rate card per currency, and the
won-ready demo deals won through the handoff (one project per billing model). Idempotent."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from crm.choices import OpportunityStatus, ServiceType
from crm.models import DeliveryRole, Opportunity
from projects import services
from projects.demo.time import won_on
from projects.models import MilestoneTemplate, ProjectTemplate, RateCard, RateCardLine, TaskTemplate

TEMPLATES = {
    ServiceType.ADVISORY: (
        "Advisory engagement",
        "ADV",
        [("Discovery", 30), ("Recommendations", 50), ("Handover", 20)],
    ),
    ServiceType.IMPLEMENTATION: (
        "Implementation project",
        "IMP",
        [("Analysis", 15), ("Design", 20), ("Build", 45), ("Test", 10), ("Go-live", 10)],
    ),
    ServiceType.MANAGED_SERVICE: ("Managed service", "MSV", [("Onboarding", 20), ("Run", 80)]),
    ServiceType.TRAINING: ("Training programme", "TRN", [("Preparation", 40), ("Delivery", 60)]),
}
RATES = {"senior": "160", "consultant": "120", "architect": "190", "engagement-manager": "175", "data-engineer": "135"}


@transaction.atomic
def seed() -> list[str]:
    User = get_user_model()
    admin, sales = User.objects.filter(username="admin").first(), User.objects.filter(username="sales").first()
    if admin is None or sales is None:
        return ["projects: demo users missing, skipped"]
    for service_type, (name, prefix, tasks) in TEMPLATES.items():
        template, created = ProjectTemplate.objects.get_or_create(
            service_type=service_type, defaults={"name": name, "code_prefix": prefix}
        )
        if created:
            TaskTemplate.objects.bulk_create(
                TaskTemplate(template=template, name=t, order=i, share_percent=s)
                for i, (t, s) in enumerate(tasks, start=1)
            )
            MilestoneTemplate.objects.bulk_create(
                [
                    MilestoneTemplate(template=template, name="Kick-off", order=1, offset_days=0),
                    MilestoneTemplate(template=template, name="Steering review", order=2, offset_days=45),
                ]
            )
    for currency in ("EUR", "USD", "GBP"):
        if RateCard.objects.filter(name=f"Standard {currency}").exists():
            continue
        card = services.rate_card_create(by=admin, name=f"Standard {currency}", currency=currency, is_default=True)
        for role in DeliveryRole.objects.filter(code__in=RATES):
            base = Decimal(RATES[role.code])
            services.rate_card_line_create(
                by=admin, rate_card_id=card.pk, role=role, rate=base, valid_from=dt.date(2025, 1, 1),
                valid_to=dt.date(2026, 12, 31),
            )  # fmt: skip
            services.rate_card_line_create(
                by=admin, rate_card_id=card.pk, role=role, rate=base * Decimal("1.05"), valid_from=dt.date(2027, 1, 1)
            )
    won = 0
    for opp in Opportunity.objects.filter(external_id__startswith="demo-won-", status=OpportunityStatus.OPEN):
        result = services.opportunity_win(opportunity_id=opp.pk, by=sales)
        assert opp.service_start is not None  # a won demo deal has its dates
        won_on(result, opp.service_start - dt.timedelta(days=7))  # closed a week before the work starts
        won += 1
    # Still nothing in RateCardLine means no roles yet (crm.demo skipped); report it plainly.
    lines = RateCardLine.objects.count()
    return [f"projects: {won} deals won into projects, {lines} rate-card lines"]
