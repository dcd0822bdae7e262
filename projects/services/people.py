"""People in the app, not only in the admin: resource managers (project managers and administrators) add and
edit consultants — their sign-in, delivery role, weekly capacity, utilization target, employing legal entity,
skills and, for a subcontractor, the vendor who supplies them. Cost rates stay with finance
(projects.services.staffing.cost_rate_set), and a subcontractor's cost is the vendor's rate.

Every write is one transaction and leaves nothing behind when it is refused.
"""

from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import transaction

from crm.models import DeliveryRole, Vendor
from projects.models import Consultant, ConsultantSkill, Skill
from projects.services._common import clean_or_refuse
from projects.services.staffing import STAFF_ROLES
from psa.core.exceptions import NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.history import history_context
from psa.core.models import LegalEntity
from psa.core.money import DecimalInput, to_decimal
from psa.core.roles import Role, has_role

SKILL_LEVELS = range(1, 6)


def _may_staff(by: User, what: str) -> None:
    if not has_role(by, *STAFF_ROLES):
        raise PermissionDeniedError(f"Your role may not {what}.")


def _skills_checked(skills: dict[str, int] | None) -> dict[str, int]:
    """Skill names trimmed, levels 1 to 5; a bad level is refused naming the skill."""
    out: dict[str, int] = {}
    for name, level in (skills or {}).items():
        name = (name or "").strip()
        if not name:
            continue
        if level not in SKILL_LEVELS:
            raise ValidationFailed(
                f"The level of {name} must be between 1 (aware) and 5 (expert).",
                fields={"skills": [f"{name}: the level must be between 1 and 5."]},
            )
        out[name[:100]] = level
    return out


def _vendor_checked(vendor: Vendor | None) -> Vendor | None:
    if vendor is not None and not vendor.is_subcontractor:
        raise ValidationFailed(
            f"{vendor.name} is not marked as a vendor that supplies people.",
            fields={"vendor": ["This vendor does not supply people (mark it as a subcontractor first)."]},
        )
    return vendor


def _skills_replace(consultant: Consultant, skills: dict[str, int]) -> None:
    ConsultantSkill.objects.filter(consultant=consultant).exclude(skill__name__in=list(skills)).delete()
    for name, level in skills.items():
        skill, _ = Skill.objects.get_or_create(name=name)
        ConsultantSkill.objects.update_or_create(consultant=consultant, skill=skill, defaults={"level": level})


@transaction.atomic
def person_create(
    *,
    by: User,
    username: str,
    first_name: str,
    last_name: str,
    email: str = "",
    role: DeliveryRole,
    weekly_capacity: DecimalInput = Decimal("40"),
    utilization_target: int = 75,
    entity: LegalEntity | None = None,
    vendor: Vendor | None = None,
    skills: dict[str, int] | None = None,
) -> Consultant:
    """A new person who logs time: a sign-in (no password yet: they set one through the password reset, or
    sign in with the firm's identity provider) in the consultant role, and their consultant record."""
    _may_staff(by, "add people")
    username = (username or "").strip()
    if not username:
        raise ValidationFailed("A username is needed.", fields={"username": ["Enter a username."]})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed(
            f"The username {username} is taken.", fields={"username": ["This username is already taken."]}
        )
    if not (first_name or "").strip():
        raise ValidationFailed("A first name is needed.", fields={"first_name": ["Enter a first name."]})
    skills = _skills_checked(skills)
    vendor = _vendor_checked(vendor)
    user = User(username=username, first_name=first_name.strip(), last_name=(last_name or "").strip(), email=email)
    user.set_unusable_password()
    clean_or_refuse(user, exclude=["password"])
    user.save()
    user.groups.add(Group.objects.get_or_create(name=Role.CONSULTANT.value)[0])
    consultant = Consultant(
        user=user,
        role=role,
        weekly_capacity=to_decimal(weekly_capacity),
        utilization_target=utilization_target,
        vendor=vendor,
    )
    if entity is not None:
        consultant.entity = entity
    if vendor is not None:
        consultant.cost_currency = vendor.currency
    clean_or_refuse(consultant, exclude=["user"])
    consultant.save()
    _skills_replace(consultant, skills)
    return consultant


@transaction.atomic
@history_context("consultant-update", key="consultant_id", by="by")
def consultant_update(
    *,
    by: User,
    consultant_id: int,
    role: DeliveryRole,
    weekly_capacity: DecimalInput,
    utilization_target: int,
    entity: LegalEntity,
    vendor: Vendor | None = None,
    is_active: bool = True,
    skills: dict[str, int] | None = None,
) -> Consultant:
    """Change a consultant's delivery role, capacity, target, employing entity, vendor, activity and skills (the
    whole set: skills left out are removed). Approved time keeps the rates copied onto it at approval."""
    _may_staff(by, "edit people")
    consultant = Consultant.objects.select_for_update().filter(pk=consultant_id).first()
    if consultant is None:
        raise NotFoundError("No such consultant.")
    skills = _skills_checked(skills)
    consultant.vendor = _vendor_checked(vendor)
    consultant.role = role
    consultant.weekly_capacity = to_decimal(weekly_capacity)
    consultant.utilization_target = utilization_target
    consultant.entity = entity
    consultant.is_active = is_active
    if consultant.vendor is not None:
        consultant.cost_currency = consultant.vendor.currency
    clean_or_refuse(consultant, exclude=["user"])
    consultant.save()
    _skills_replace(consultant, skills)
    return consultant
