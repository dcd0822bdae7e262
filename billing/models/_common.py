"""Field defaults and constraint helpers shared by the billing models."""

from decimal import Decimal

from django.db.models import Q
from django.db.models.enums import Choices

from psa.core.money import DecimalDefault

ZERO_DEFAULT: DecimalDefault = {"default": Decimal("0.00")}


def in_choices(field: str, choices: type[Choices]) -> Q:
    """A check-constraint condition: `field` holds one of the values of a TextChoices."""
    return Q(**{f"{field}__in": [c.value for c in choices]})
