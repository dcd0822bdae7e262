"""A firm of three legal entities for intercompany and consolidation tests: DE (the default entity), UK and US,
all booking in EUR; a DE client project; consultants employed by UK and US; approved time with snapshot rates."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import count

from django.utils import timezone

from crm.models import Account, DeliveryRole
from projects.models import Consultant, Project, TimeEntry
from psa.core.entities import entity_default
from psa.core.models import ExchangeRate, LegalEntity
from tests.crm.factories import RoleFactory
from tests.factories import UserFactory

D = Decimal
_n = count(1)


@dataclass
class Firm:
    de: LegalEntity
    uk: LegalEntity
    us: LegalEntity
    role: DeliveryRole
    client: Account
    project: Project
    uk_consultant: Consultant
    us_consultant: Consultant


def _entity(code: str, prefix: str, country: str) -> LegalEntity:
    return LegalEntity.objects.create(
        code=code, series_prefix=prefix, name=f"Northwind {code}", legal_name=f"Northwind {code} Ltd",
        country=country, functional_currency="EUR",
    )  # fmt: skip


def three_entities() -> Firm:
    de = entity_default()
    if de.code != "DE":
        LegalEntity.objects.filter(pk=de.pk).update(code="DE", country="DE")
        de.refresh_from_db()
    uk, us = _entity("UK", "GB", "GB"), _entity("US", "US", "US")
    role = RoleFactory(code="senior", name="Senior consultant")
    client = Account.objects.create(name="Acme GmbH")
    project = Project.objects.create(code="ACME-DE", name="Acme rollout", account=client, entity=de)
    return Firm(de, uk, us, role, client, project, consultant(uk, role), consultant(us, role))


def consultant(entity: LegalEntity, role: DeliveryRole) -> Consultant:
    return Consultant.objects.create(user=UserFactory(roles=["consultant"]), role=role, entity=entity)


def approved(who: Consultant, project: Project, on: date, hours: str, *, cost: str | None = "60") -> TimeEntry:
    at = timezone.make_aware(datetime(on.year, on.month, on.day, 18, 0))
    return TimeEntry.objects.create(
        consultant=who, project=project, date=on, hours=D(hours), status="approved", billable=True,
        bill_rate=D("150"), cost_rate=D(cost) if cost is not None else None, submitted_at=at, approved_at=at,
    )  # fmt: skip


def rate(currency: str, on: date, value: str) -> ExchangeRate:
    return ExchangeRate.objects.update_or_create(currency=currency, quote="EUR", date=on, defaults={"rate": D(value)})[
        0
    ]


def more_projects(firm: Firm, n: int, on: date) -> None:
    """`n` more DE projects, each with UK hours on `on` (the query-count tests' larger size)."""
    for _ in range(n):
        k = next(_n)
        project = Project.objects.create(code=f"DE-{k}", name=f"Project {k}", account=firm.client, entity=firm.de)
        approved(firm.uk_consultant, project, on, "2")
