"""Field defaults and constraint helpers shared by the billing models."""

from decimal import Decimal

from django.db.models import Q

ZERO_DEFAULT = {"default": Decimal("0.00")}


def in_choices(field: str, choices) -> Q:
    """A check-constraint condition: `field` holds one of the values of a TextChoices."""
    return Q(**{f"{field}__in": [c.value for c in choices]})
