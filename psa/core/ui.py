"""Shapes the composition layer renders, so apps can describe their menu entries and home panels without
importing the composition layer (which sits above them).

Each app may define:
- `<app>/navigation.py` with `MENU: list[NavItem]`
- `<app>/home.py` with `PROVIDERS: list[Callable[[user], Panel | None]]` (fixed query count each)
- `<app>/demo.py` with `seed() -> list[str]` (idempotent demo data; returns report lines)
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psa.core.roles import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[Role, ...]
    icon: str = ""
    order: int = 100
    group: str = ""  # "Sales", "Delivery", "Finance", "Settings": a dropdown when the menu is long
    # Beyond the role: whether this user can open the page (e.g. the timesheet needs a consultant record).
    # The menu shows only what the user can open.
    available: Callable[[Any], bool] | None = None


@dataclass
class Figure:
    label: str
    value: object
    url: str = ""
    hint: str = ""
    tone: str = ""  # "", "warning", "danger", "success"
    small: bool = False  # text values (names, dates) render smaller than counts and amounts


@dataclass
class Panel:
    title: str
    figures: list[Figure] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)  # {"cells": [...], "url": optional link on the first cell}
    columns: list[str] = field(default_factory=list)
    empty: str = "Nothing here yet."
    chart: dict | None = None  # Chart.js config with an "id" key; rendered by static/psa/app.js
    width: int = 6
    order: int = 100
