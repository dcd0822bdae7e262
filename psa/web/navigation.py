"""The main menu: the composition's own entries plus each app's `navigation.MENU` (crm, projects, ledger,
billing, imported by name), filtered by role.

A user who sees a handful of entries (a consultant, a client, a sales rep) gets them side by side. Past
FLAT_LIMIT entries (finance, admin) the entries that share a `group` fold into one dropdown per group, placed
where the group's first entry would be, so the bar stays one line on a laptop screen.
"""

import functools

from django.urls import NoReverseMatch, get_script_prefix, reverse

from billing import navigation as billing_navigation
from crm import navigation as crm_navigation
from ledger import navigation as ledger_navigation
from projects import navigation as projects_navigation
from psa.core.roles import Role, roles_allow, user_roles
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
    """The entries `user` sees, with the one `current_path` is under marked active. Which entries a set of roles
    sees, and their URLs, are worked out once per process (_entries); only the availability checks (kept on the
    user for the request) and the active mark are per request."""
    held = user_roles(user)
    available = tuple(
        roles_allow(held, *item.roles) and item.available is not None and bool(item.available(user))
        for item in _gated()
    )
    items = []
    for label, url, icon, group in _entries(held, available, get_script_prefix()):
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append({"label": label, "url": url, "icon": icon, "active": active, "group": group})
    return items


@functools.cache
def _gated() -> tuple[NavItem, ...]:
    """The entries with an availability rule (e.g. the timesheet: only for a user with a consultant record)."""
    return tuple(item for item in all_items() if item.available is not None)


@functools.cache
def _entries(held: frozenset, available: tuple[bool, ...], prefix: str) -> tuple[tuple[str, str, str, str], ...]:
    """(label, url, icon, group) of the entries these roles see, given the gated entries' answers in _gated()
    order; `prefix` (the script prefix the URLs are reversed under) is part of the key."""
    answers = dict(zip(_gated(), available, strict=True))
    out = []
    for item in all_items():
        if not roles_allow(held, *item.roles) or not answers.get(item, True):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        out.append((item.label, url, item.icon, item.group))
    return tuple(out)


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
