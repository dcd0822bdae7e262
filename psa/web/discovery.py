"""Collect what each app contributes to the composition layer (menu, home panels, demo steps)."""

import importlib
from types import ModuleType

APPS = ("crm", "projects", "ledger", "billing")  # in layer order


def app_modules(name: str) -> list[ModuleType]:
    modules = []
    for app in APPS:
        try:
            modules.append(importlib.import_module(f"{app}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.{name}":
                raise
    return modules
