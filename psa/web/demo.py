"""The demo firm. Each app contributes a seeding step; every step is idempotent (get-or-create by natural key)
so `seed_demo` can run on every start.

The seed touches only the demo: it works on a database that holds nothing but what an earlier seed created,
and changes nothing at all on one that holds anything else. What it creates is recorded in the `DemoObject`
registry (its accounts, deals, projects, contracts and manual journal entries); a database is the demo's while
every such row is registered, and, before the first seed, while it holds none of them and no accounting period.
Rows derived from the demo's own (invoices, payments, time, system and reversal entries, periods added later)
are the demo's too. A firm's data thus never gets a demo estimate, a recognition run or a period close.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from billing import demo as billing_demo
from billing.services.time_summary import time_summary_refresh
from crm import demo as crm_demo
from crm.models import Account, Opportunity
from ledger import demo as ledger_demo
from ledger.choices import EntryOrigin
from ledger.models import AccountingPeriod, JournalEntry
from projects import demo as projects_demo
from projects.models import Contract, Project
from psa.core import demo as core_demo
from psa.core.roles import Role, ensure_role_groups
from psa.web.models import DemoObject

DEMO_PASSWORD = "psa-demo-2026"

# username, first name, last name, role
DEMO_USERS: list[tuple[str, str, str, Role]] = [
    ("sales", "Sam", "Seller", Role.SALES),
    ("pm", "Paula", "Manager", Role.PROJECT_MANAGER),
    ("consultant", "Carl", "Consultant", Role.CONSULTANT),
    ("finance", "Fiona", "Finance", Role.FINANCE),
    ("admin", "Ada", "Admin", Role.ADMIN),
    ("client", "Claire", "Client", Role.CLIENT),
]


def seed_users(*, reset_passwords: bool = False) -> list[str]:
    ensure_role_groups()
    User = get_user_model()
    created = 0
    for username, first, last, role in DEMO_USERS:
        user, was_created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@northwind.example"},
        )
        if was_created or reset_passwords:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role == Role.ADMIN
            user.is_superuser = role == Role.ADMIN
            user.save()
            created += was_created
        user.groups.add(Group.objects.get(name=role.value))
    return [f"users: {created} created, {len(DEMO_USERS) - created} already there"]


class DemoNotSeeded(Exception):
    """The database holds a firm's own data: the seed leaves it alone."""


def _roots() -> dict[str, QuerySet]:
    """The rows that make a firm's data: only the demo may have them for the seed to run."""
    return {
        "accounts": Account.objects.all(),
        "deals": Opportunity.objects.all(),
        "projects": Project.objects.all(),
        "contracts": Contract.objects.all(),
        "manual journal entries": JournalEntry.objects.filter(origin=EntryOrigin.MANUAL),
    }


def _registered(queryset: QuerySet) -> QuerySet:
    ct = ContentType.objects.get_for_model(queryset.model)
    return DemoObject.objects.filter(content_type=ct).values("object_id")


def demo_foreign_data() -> dict[str, int]:
    """What the database holds outside the demo, by kind (empty: the seed may run)."""
    foreign = {name: qs.exclude(pk__in=_registered(qs)).count() for name, qs in _roots().items()}
    if not DemoObject.objects.exists():  # never seeded: periods set up by the firm are its data too
        foreign["accounting periods"] = AccountingPeriod.objects.count()
    return {name: n for name, n in foreign.items() if n}


def demo_register() -> int:
    """Record every root row as the demo's. Called at the end of a seed that started on a demo-only database,
    in the same transaction, so every unregistered row is one the seed has just created."""
    rows = []
    for qs in _roots().values():
        ct = ContentType.objects.get_for_model(qs.model)
        rows += [
            DemoObject(content_type=ct, object_id=pk)
            for pk in qs.exclude(pk__in=_registered(qs)).values_list("pk", flat=True)
        ]
    DemoObject.objects.bulk_create(rows)
    return len(rows)


def seed_all(*, reset_passwords: bool = False) -> list[str]:
    """Users first, the legal entities and the exchange rates (psa.core.demo), then each app's `demo.seed()` in
    layer order (crm, projects, ledger, billing), then the month-end, then the approved-time summary; nothing at
    all on a database that holds data of its own (see the module's docstring)."""
    foreign = demo_foreign_data()
    if foreign:
        held = ", ".join(f"{n} {name}" for name, n in foreign.items())
        raise DemoNotSeeded(
            f"Demo not seeded: this database holds data that is not the demo's ({held}), and the demo seed "
            "changes nothing in it. Use an empty database for the demo."
        )
    report = seed_users(reset_passwords=reset_passwords)
    report.extend(core_demo.seed_entities(by=get_user_model().objects.get(username="admin")))
    report.extend(core_demo.seed())  # exchange rates, before any document converts
    for module in (crm_demo, projects_demo, ledger_demo, billing_demo):
        report.extend(module.seed())
    report.extend(ledger_demo.seed_month_end())  # after every app's data: recognition follows invoices
    report.append(f"demo: {demo_register()} new demo objects registered")
    summary = time_summary_refresh()  # so the dashboard and the exception queue read the summary from the start
    report.append(f"approved-time summary: {summary.months} months refreshed")
    return report
