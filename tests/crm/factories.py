"""CRM factories: minimal valid objects with fixed Decimals. Deals are opened through the service."""

import datetime as dt
from decimal import Decimal

import factory

from crm import services
from crm.choices import BillingModel, ServiceType
from crm.models import Account, DeliveryRole, Stage
from tests.factories import UserFactory, gb_vat_id


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Client {n}")
    legal_name = factory.LazyAttribute(lambda a: f"{a.name} Ltd")
    # The test seller is in GB (tests/conftest.py): a GB business client is billed at the GB standard rate.
    tax_id = factory.Sequence(gb_vat_id)
    country = "GB"
    billing_address = "1 Main Street\nLondon EC1A 1BB"
    billing_email = factory.Sequence(lambda n: f"ap{n}@client.example")
    currency = "EUR"
    payment_terms_days = 30


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryRole
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Role {n}")
    code = factory.Sequence(lambda n: f"role-{n}")


def stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


START = dt.date(2027, 1, 4)
END = dt.date(2027, 3, 26)


def make_deal(owner=None, account=None, *, ready: bool = True, **fields):
    """An open deal through the service. `ready` adds what a win needs: a T&M line, a fixed-fee line with
    role demand, dates, terms and service type."""
    owner = owner or UserFactory(roles=["sales"])
    account = account or AccountFactory()
    defaults = {"expected_close_date": dt.date(2026, 12, 15), "name": "Data platform"}
    lines = []
    if ready:
        role = RoleFactory(name="Senior consultant", code="senior")
        defaults.update(service_start=START, service_end=END, service_type=ServiceType.IMPLEMENTATION)
        lines = [
            {
                "description": "Build",
                "billing_model": BillingModel.TIME_AND_MATERIALS,
                "hours": Decimal("100.00"),
                "rate": Decimal("150.0000"),
                "role_demands": [{"role": role, "hours": Decimal("100.00"), "start_date": START, "end_date": END}],
            },
            {"description": "Discovery", "billing_model": BillingModel.FIXED_FEE, "price": Decimal("5000.00")},
        ]
    defaults.update(fields)
    return services.opportunity_create(by=owner, account=account, lines=lines, **defaults)


def ensure_default_stages() -> None:
    """The default stages come from a data migration; a transactional test's flush removes them."""
    if not Stage.objects.exists():
        from importlib import import_module

        from django.apps import apps

        import_module("crm.migrations.0003_default_stages").forwards(apps, None)
