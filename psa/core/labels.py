"""How people and records are named on the pages, the same way everywhere.

- A user appears by full name ("Sam Seller"), by username only when the account has no name.
- In a dropdown, two records that would read the same ("Fabrikam Energy" twice) get the detail that tells them
  apart: the legal name, code, e-mail or external id that differs between them, else their number.

`install()` (called from the kernel's AppConfig.ready) applies both to every model dropdown, Django's forms and
django-filter's alike: they all list their choices through `ModelChoiceIterator.__iter__`.
"""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.forms.models import ModelChoiceIterator

# Tried in order: the first detail whose values differ between the records that share a label names them.
DISTINGUISHING_FIELDS = ("legal_name", "code", "email", "external_id", "entity")


def person_name(user) -> str:
    """A user's name as pages show it: full name, else username; '' for no user."""
    if user is None or user == "":
        return ""
    if not hasattr(user, "get_username"):  # already a name (a denormalised column)
        return str(user)
    return user.get_full_name().strip() or user.get_username()


def _detail(obj, group: list) -> str:
    for name in DISTINGUISHING_FIELDS:
        values = [str(getattr(other, name, "") or "") for other in group]
        if all(values) and len(set(values)) == len(values):
            return str(getattr(obj, name))
    return f"#{obj.pk}"


def distinct_labels(choices: list[tuple]) -> list[tuple]:
    """`choices` as (value, label) with `value.instance` the record; users by name, shared labels told apart."""
    User = get_user_model()
    named = []
    for value, label in choices:
        obj = value.instance
        if isinstance(obj, User) and str(label) == obj.get_username():
            label = person_name(obj)
        named.append((value, label, obj))
    groups: dict[str, list] = defaultdict(list)
    for _, label, obj in named:
        groups[str(label)].append(obj)
    return [
        (value, f"{label} ({_detail(obj, groups[str(label)])})" if len(groups[str(label)]) > 1 else label)
        for value, label, obj in named
    ]


def _iter_with_distinct_labels(self):
    if self.field.empty_label is not None:
        yield ("", self.field.empty_label)
    # A fresh clone, read with one plain query: the labels need every record at once anyway, so Django's
    # iterator() would save no memory, and on PostgreSQL it opens a server-side cursor (DECLARE ... WITH HOLD,
    # FETCH, CLOSE: three round trips and a materialised copy) for every dropdown of every page. The clone keeps
    # the field's own queryset uncached, as iterator() did, so each render reads the choices afresh.
    queryset = self.queryset.all()
    yield from distinct_labels([self.choice(obj) for obj in queryset])


def install() -> None:
    ModelChoiceIterator.__iter__ = _iter_with_distinct_labels  # type: ignore[method-assign]
