"""List pages: filter with a FilterSet, sort by a whitelisted field, paginate. One helper for every list."""

from django.core.paginator import Paginator
from django.db.models import QuerySet


def paginate_sorted(request, queryset: QuerySet, *, sort_fields: dict[str, str], default_sort: str, per_page: int = 25):
    """Apply `?sort=` (keys of `sort_fields`, '-' for descending) and `?page=`; returns (page_obj, sort).

    Unknown sort keys fall back to `default_sort`; the primary key breaks ties so pages are stable.
    """
    requested = request.GET.get("sort", default_sort)
    key = requested.lstrip("-")
    if key not in sort_fields:
        requested, key = default_sort, default_sort.lstrip("-")
    column = sort_fields[key]
    prefix = "-" if requested.startswith("-") else ""
    ordered = queryset.order_by(f"{prefix}{column}", f"{prefix}pk")
    page_obj = Paginator(ordered, per_page).get_page(request.GET.get("page"))
    return page_obj, requested
