"""The main menu: the composition's own entries plus each app's `navigation.MENU`, filtered by role."""

from django.urls import NoReverseMatch, reverse

from psa.core.roles import Role, has_role
from psa.core.ui import NavItem
from psa.web.discovery import app_modules

R = Role

OWN: list[NavItem] = [
    NavItem("Home", "home", tuple(Role), "house", order=0),
    NavItem("API", "api-docs", (R.SALES, R.PROJECT_MANAGER, R.CONSULTANT, R.FINANCE, R.ADMIN), "braces", order=900),
    NavItem("Webhooks", "webhook-list", (R.ADMIN,), "broadcast", order=940),
    NavItem("Admin", "admin:index", (R.ADMIN,), "gear", order=950),
]


def all_items() -> list[NavItem]:
    items = list(OWN)
    for module in app_modules("navigation"):
        items.extend(getattr(module, "MENU", []))
    return sorted(items, key=lambda i: i.order)


def menu_for(user, current_path: str = "") -> list[dict]:
    items = []
    for item in all_items():
        if not has_role(user, *item.roles):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append({"label": item.label, "url": url, "icon": item.icon, "active": active})
    return items
