"""Global search: one box in the top bar over accounts, deals, projects, invoices (by number) and people.

Each kind is searched in the queryset its own page uses to decide who may open it, so a result is always a page
the user may open: a consultant finds none of the pipeline, accounts or invoices; a client-portal user has no
search at all (the portal is all they reach). On PostgreSQL the match is pg_trgm's: `ILIKE '%q%'` for a part of a
word and the trigram `%` operator for a misspelling, both served by the GIN trigram indexes of migration
web 0007, ranked by trigram similarity. On SQLite (the zero-setup demo) it is a plain substring match.

One query per kind the user may search, whatever the number of rows: a fixed cost per search.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Greatest
from django.urls import reverse

from billing.selectors import invoices_for
from crm.models import Account
from crm.permissions import VIEW_ROLES as CRM_VIEW_ROLES
from crm.selectors import opportunities_for
from projects.models import Consultant, Project
from projects.permissions import VIEW_ROLES as PROJECT_VIEW_ROLES
from projects.selectors import CONSULTANT_NAME
from psa.core.roles import Role, has_role, is_client_only

MIN_LENGTH = 2
MAX_LENGTH = 100
PER_KIND = 8
# People pages (projects/views/people.py): project managers, finance and admins.
PEOPLE_VIEW_ROLES = (Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)


@dataclass(frozen=True)
class Hit:
    label: str
    detail: str
    url: str


@dataclass(frozen=True)
class Group:
    kind: str
    label: str
    hits: list[Hit]


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    roles: tuple[Role, ...]  # who may open this kind's pages
    visible: Callable[[User], QuerySet]  # what the user may open; none() when the kind is not theirs
    fields: tuple[str, ...]  # the columns matched (a trigram GIN index each, migration web 0007)
    hit: Callable[[Any], Hit]  # takes a row of `visible`


def _accounts(user: User) -> QuerySet:
    return Account.objects.all() if has_role(user, *CRM_VIEW_ROLES) else Account.objects.none()


def _projects(user: User) -> QuerySet:
    if not has_role(user, *PROJECT_VIEW_ROLES):
        return Project.objects.none()
    return Project.objects.select_related("account")


def _people(user: User) -> QuerySet:
    if not has_role(user, *PEOPLE_VIEW_ROLES):
        return Consultant.objects.none()
    return Consultant.objects.select_related("user", "role").annotate(full_name=CONSULTANT_NAME)


def _invoices(user: User) -> QuerySet:
    # Staff search only (clients have none); drafts have no number to find.
    return invoices_for(user).filter(number__isnull=False).select_related("account")


KINDS: tuple[Kind, ...] = (
    Kind(
        "accounts",
        "Accounts",
        CRM_VIEW_ROLES,
        _accounts,
        ("name", "legal_name"),
        lambda a: Hit(a.name, a.legal_name if a.legal_name != a.name else "", reverse("crm:account", args=[a.pk])),
    ),
    Kind(
        "opportunities",
        "Deals",
        CRM_VIEW_ROLES,
        lambda user: opportunities_for(user).select_related("account", "stage"),
        ("name",),
        lambda o: Hit(o.name, f"{o.account.name} · {o.stage.name}", reverse("crm:opportunity", args=[o.pk])),
    ),
    Kind(
        "projects",
        "Projects",
        PROJECT_VIEW_ROLES,
        _projects,
        ("name", "code"),
        lambda p: Hit(f"{p.code} {p.name}", p.account.name, reverse("projects:project", args=[p.pk])),
    ),
    Kind(
        "invoices",
        "Invoices",
        (Role.FINANCE, Role.ADMIN),
        _invoices,
        ("number",),
        lambda i: Hit(
            str(i.number),
            f"{i.account.name} · {i.get_status_display()}",
            reverse("billing:invoice-detail", args=[i.pk]),
        ),
    ),
    Kind(
        "people",
        "People",
        PEOPLE_VIEW_ROLES,
        _people,
        ("full_name",),
        lambda c: Hit(c.full_name, c.role.name, reverse("projects:person", args=[c.pk])),
    ),
)


def search_kinds(user: User) -> list[Kind]:
    """The kinds `user` may search; empty for a client-portal user and for anyone who may open none of them."""
    if user is None or not user.is_authenticated or is_client_only(user):
        return []
    return [k for k in KINDS if has_role(user, *k.roles)]


def _matches(qs: QuerySet, fields: tuple[str, ...], q: str) -> QuerySet:
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": q})
        if connection.vendor == "postgresql":
            condition |= Q(**{f"{field}__trigram_similar": q})
    qs = qs.filter(condition)
    if connection.vendor != "postgresql":
        return qs.order_by(*fields)
    scores = [TrigramSimilarity(f, q) for f in fields]
    return qs.annotate(search_rank=Greatest(*scores) if len(scores) > 1 else scores[0]).order_by(
        "-search_rank", *fields
    )


def search(*, user: User, q: str, per_kind: int = PER_KIND) -> list[Group]:
    """The hits for `q` grouped by kind, each group at most `per_kind` long, best match first; kinds with no
    hit are left out. One query per kind the user may search."""
    q = " ".join(q.split())[:MAX_LENGTH]
    if len(q) < MIN_LENGTH:
        return []
    groups = []
    for kind in search_kinds(user):
        rows = list(_matches(kind.visible(user), kind.fields, q)[:per_kind])
        if rows:
            groups.append(Group(kind.key, kind.label, [kind.hit(r) for r in rows]))
    return groups
