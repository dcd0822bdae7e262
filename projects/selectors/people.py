"""Reads for the people pages: consultants with their current cost rate (one subquery, not one query per
person) and a person's dated cost rates."""

from datetime import date

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import OuterRef, QuerySet, Subquery

from projects.models import Consultant, CostRate


def people(*, on: date) -> QuerySet[Consultant]:
    """Every consultant with the user, delivery role, entity and vendor loaded, and `current_cost_rate`: the
    dated cost rate in force on `on` (None when none started yet)."""
    current = (
        CostRate.objects.filter(consultant=OuterRef("pk"), valid_from__lte=on)
        .order_by("-valid_from")
        .values("rate")[:1]
    )
    return Consultant.objects.select_related("user", "role", "entity", "vendor").annotate(
        current_cost_rate=Subquery(current)
    )


def cost_rates_of(consultant_id: int) -> list[CostRate]:
    """A consultant's cost rates, newest first."""
    return list(CostRate.objects.filter(consultant_id=consultant_id).order_by("-valid_from"))


def has_consultant_record(user: AbstractBaseUser | AnonymousUser) -> bool:
    """The timesheet and expenses are a consultant's own: an administrator without a consultant record has
    none to open. Asked once per request (the answer is kept on the user object)."""
    cached = user.__dict__.get("_psa_has_consultant")
    if cached is None:
        pk = user.pk
        cached = pk is not None and Consultant.objects.filter(user_id=pk, is_active=True).exists()
        user.__dict__["_psa_has_consultant"] = cached
    return cached
