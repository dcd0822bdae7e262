"""Every filter of every list is labelled in words: django-filter labels a filter it cannot name from a model
field "[invalid name]" (a method filter on a name that is not a field), and the page showed that."""

import inspect

import django_filters
import pytest

from billing import filtersets as billing_filtersets
from billing import vendor_payment_forms
from crm import filtersets as crm_filtersets
from ledger import filtersets as ledger_filtersets
from projects import filtersets as projects_filtersets

MODULES = [crm_filtersets, projects_filtersets, ledger_filtersets, billing_filtersets, vendor_payment_forms]
FILTERSETS = [
    obj
    for module in MODULES
    for _, obj in inspect.getmembers(module, inspect.isclass)
    if issubclass(obj, django_filters.FilterSet)
    and obj is not django_filters.FilterSet
    and obj.__module__ == module.__name__
]


@pytest.mark.django_db
@pytest.mark.parametrize("filterset", FILTERSETS, ids=lambda f: f.__name__)
def test_every_filter_has_a_label_in_words(filterset):
    form = filterset(data={}).form
    labels = {name: str(field.label) for name, field in form.fields.items()}
    assert not [name for name, label in labels.items() if "invalid name" in label], labels


def test_negative_figures_carry_one_kind_of_minus():
    # Pages wrote U+2212 (the typographic minus) before a figure in some places while the money filter writes "-":
    # a deduction is now the negated figure through the money filter, so every negative shows the same sign.
    from pathlib import Path

    from psa.core.templatetags.psa_ui import money, negate

    templates = Path(__file__).resolve().parents[2] / "templates"
    prefixed = [
        f"{path.relative_to(templates)}:{n}"
        for path in templates.rglob("*.html")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "\u2212{{" in line or "(\u2212{" in line
    ]
    assert prefixed == []
    assert money(negate("1200.5")) == "-1,200.50" and money(negate("-3")) == "3.00"


TEMPLATES = __import__("pathlib").Path(__file__).resolve().parents[2] / "templates"


def _templates() -> list[tuple[str, str]]:
    return [(str(p.relative_to(TEMPLATES)), p.read_text()) for p in TEMPLATES.rglob("*.html")]


def test_icons_are_hidden_from_screen_readers_and_icon_only_controls_are_named():
    import re

    unhidden = [
        f"{name}: {tag}"
        for name, text in _templates()
        for tag in re.findall(r'<i class="bi[^>]*>', text)
        if 'aria-hidden="true"' not in tag
    ]
    assert unhidden == []
    icon_only = re.compile(r'<(a|button)\b([^>]*)>\s*<i class="bi[^>]*></i>\s*</\1>')
    unnamed = [
        f"{name}: {m.group(0)[:120]}"
        for name, text in _templates()
        for m in icon_only.finditer(text)
        if "aria-label=" not in m.group(2)
    ]
    assert unnamed == []


def test_every_page_has_a_skip_link_to_its_main_content(client_as):
    html = client_as("finance").get("/").content.decode()
    assert '<a class="visually-hidden-focusable psa-skip-link" href="#main"' in html
    assert '<main class="container-fluid px-4 pb-5" id="main" tabindex="-1">' in html
    assert html.index("psa-skip-link") < html.index("<nav")


def test_a_sorted_column_says_so_to_assistive_technology(client_as):
    html = client_as("project_manager").get("/projects/?sort=-name").content.decode()
    assert '<th aria-sort="descending">' in html and html.count("aria-sort=") == 1
