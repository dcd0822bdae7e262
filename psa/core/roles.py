"""Roles and the one permission helper used by views, forms and the API alike.

Roles are Django groups with these names. A superuser counts as `admin`. Object scoping (a client sees its
own account, a consultant its own time) lives in each app's selectors; role checks live here.
"""

from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import wraps

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.models import Group
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission


class Role(StrEnum):
    SALES = "sales"
    PROJECT_MANAGER = "project_manager"
    CONSULTANT = "consultant"
    FINANCE = "finance"
    ADMIN = "admin"
    CLIENT = "client"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.SALES: "Sales",
    Role.PROJECT_MANAGER: "Project manager",
    Role.CONSULTANT: "Consultant",
    Role.FINANCE: "Finance",
    Role.ADMIN: "Administrator",
    Role.CLIENT: "Client",
}

# Internal staff roles: everyone but clients.
STAFF_ROLES = frozenset({Role.SALES, Role.PROJECT_MANAGER, Role.CONSULTANT, Role.FINANCE, Role.ADMIN})
# Roles that may see bill rates, cost rates and margins.
RATE_ROLES = frozenset({Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN})
COST_ROLES = frozenset({Role.FINANCE, Role.ADMIN})

_CACHE_ATTR = "_psa_roles"


def user_roles(user) -> frozenset[Role]:
    """The roles a user holds, read once per request and cached on the user object."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    roles = {r for r in Role if r.value in names}
    if user.is_superuser:
        roles.add(Role.ADMIN)
    result = frozenset(roles)
    setattr(user, _CACHE_ATTR, result)
    return result


def has_role(user, *roles: Role | str) -> bool:
    """True when the user holds any of `roles`. Admin holds every staff permission but not `client`."""
    return roles_allow(user_roles(user), *roles)


def roles_allow(held: frozenset[Role], *roles: Role | str) -> bool:
    """has_role's rule for a set of roles already read (user_roles)."""
    wanted = {Role(r) for r in roles}
    if held & wanted:
        return True
    return Role.ADMIN in held and bool(wanted & STAFF_ROLES)


def is_client_only(user) -> bool:
    """A user whose only role is `client`: the portal is all they may reach."""
    held = user_roles(user)
    return Role.CLIENT in held and not (held & STAFF_ROLES)


def primary_role(user) -> Role | None:
    """The role that picks a user's home page, most senior first."""
    held = user_roles(user)
    for role in (Role.ADMIN, Role.FINANCE, Role.PROJECT_MANAGER, Role.SALES, Role.CONSULTANT, Role.CLIENT):
        if role in held:
            return role
    return None


def require_role(user, *roles: Role | str) -> None:
    """Raise Django's PermissionDenied (403) unless the user holds one of `roles`."""
    if not has_role(user, *roles):
        raise PermissionDenied(f"This needs one of the roles: {', '.join(Role(r).label for r in roles)}.")


def role_required(*roles: Role | str) -> Callable:
    """Decorator for function views: login required, then one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_role(request.user, *roles)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class RoleRequiredMixin(AccessMixin):
    """Class-based views: `allowed_roles` lists who may open the view (login required first)."""

    allowed_roles: Iterable[Role | str] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not has_role(request.user, *self.allowed_roles):
            raise PermissionDenied(
                f"This page needs one of the roles: {', '.join(Role(r).label for r in self.allowed_roles)}."
            )
        return super().dispatch(request, *args, **kwargs)


class HasRole(BasePermission):
    """DRF permission: the view's `allowed_roles` (or `action_roles[action]`) decides who may call it."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        action = getattr(view, "action", None)
        action_roles = getattr(view, "action_roles", {}) or {}
        roles = action_roles.get(action) if action in action_roles else getattr(view, "allowed_roles", ())
        return has_role(request.user, *(roles or ()))


def ensure_role_groups() -> None:
    """Create the role groups if missing (also done by migration core 0002)."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)
