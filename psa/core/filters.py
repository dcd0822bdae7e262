"""Filters shared by every FilterSet (HTML lists and the API alike), so a bad filter value is an inline error on
a page and a 400 naming the parameter in the API, never a database error."""

import django_filters
from django import forms

from psa.core.dates import DateFormField


class DateFilter(django_filters.DateFilter):
    """django-filter's DateFilter, refusing dates outside the years the product handles (psa.core.dates)."""

    field_class = DateFormField


class IdFilter(django_filters.NumberFilter):
    """A filter on a primary or foreign key: a whole number ("abc", "1.5" or "NaN" is refused, not looked up)."""

    field_class = forms.IntegerField  # type: ignore[assignment]  # stubs: any form field class
