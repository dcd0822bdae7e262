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
