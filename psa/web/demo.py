"""The demo firm. Each app contributes a seeding step; every step is idempotent (get-or-create by natural key)
so `seed_demo` can run on every start."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from psa.core.roles import Role, ensure_role_groups
from psa.web.discovery import app_modules

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


def seed_all(*, reset_passwords: bool = False) -> list[str]:
    """Users first, then each app's `demo.seed()` in layer order (crm, projects, ledger, billing)."""
    report = seed_users(reset_passwords=reset_passwords)
    for module in app_modules("demo"):
        report.extend(module.seed())
    for module in app_modules("demo"):
        if hasattr(module, "seed_month_end"):  # month-end after every app's data: recognition follows invoices
            report.extend(module.seed_month_end())
    return report
