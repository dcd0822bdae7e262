"""The main menu: the composition's own entries plus each app's `navigation.MENU` (crm, projects, ledger,
billing, imported by name), filtered by role.

A user who sees a handful of entries (a consultant, a client, a sales rep) gets them side by side. Past
FLAT_LIMIT entries (finance, admin) the entries that share a `group` fold into one dropdown per group, placed
where the group's first entry would be, so the bar stays one line on a laptop screen.
"""

from django.urls import NoReverseMatch, reverse

from billing import navigation as billing_navigation
from crm import navigation as crm_navigation
from ledger import navigation as ledger_navigation
from projects import navigation as projects_navigation
from psa.core.roles import Role, has_role
from psa.core.ui import NavItem

R = Role

OWN: list[NavItem] = [
    NavItem("Home", "home", tuple(Role), "house", order=0),
    NavItem("Dashboard", "dashboard", (R.FINANCE, R.ADMIN, R.PROJECT_MANAGER, R.SALES), "speedometer2", order=5),
    NavItem("Legal entities", "entity-list", (R.FINANCE, R.ADMIN), "buildings", order=545, group="Finance"),
    NavItem("Exceptions", "exceptions", (R.FINANCE, R.ADMIN), "exclamation-triangle", order=540, group="Finance"),
    NavItem("Exports", "exports", (R.FINANCE, R.ADMIN, R.PROJECT_MANAGER), "filetype-csv", order=550, group="Finance"),
    NavItem(
        "API",
        "api-docs",
        (R.SALES, R.PROJECT_MANAGER, R.CONSULTANT, R.FINANCE, R.ADMIN),
        "braces",
        order=900,
        group="Settings",
    ),
    NavItem("Webhooks", "webhook-list", (R.ADMIN,), "broadcast", order=940, group="Settings"),
    NavItem("Admin", "admin:index", (R.ADMIN,), "gear", order=950, group="Settings"),
]


def all_items() -> list[NavItem]:
    items = [*OWN, *crm_navigation.MENU, *projects_navigation.MENU, *ledger_navigation.MENU, *billing_navigation.MENU]
    return sorted(items, key=lambda i: i.order)


def menu_for(user, current_path: str = "") -> list[dict]:
    items = []
    for item in all_items():
        if not has_role(user, *item.roles):
            continue
        if item.available is not None and not item.available(user):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append({"label": item.label, "url": url, "icon": item.icon, "active": active, "group": item.group})
    return items


FLAT_LIMIT = 8
GROUP_ICONS = {"Sales": "graph-up-arrow", "Delivery": "briefcase", "Finance": "bank", "Settings": "gear"}


def menu_grouped(items: list[dict]) -> list[dict]:
    """The bar's entries: the items themselves when few, else one dropdown (`children`) per group."""
    if len(items) <= FLAT_LIMIT:
        return items
    out: list[dict] = []
    groups: dict[str, dict] = {}
    for item in items:
        name = item["group"]
        if not name:
            out.append(item)
            continue
        if name not in groups:
            groups[name] = {"label": name, "icon": GROUP_ICONS.get(name, ""), "children": [], "active": False}
            out.append(groups[name])
        groups[name]["children"].append(item)
        groups[name]["active"] = groups[name]["active"] or item["active"]
    # A group the user sees one entry of is just that entry.
    return [e["children"][0] if "children" in e and len(e["children"]) == 1 else e for e in out]
