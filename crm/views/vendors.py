"""Vendor pages: list (filter by name, country, subcontractor; paginated), create/edit (finance and
administrators), detail with its subcontractors and the slot billing's bills-and-balance panel loads into
(billing owns the bills: crm may not import it). Project managers read; everyone else gets 403."""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render

from crm import services
from crm.filtersets import VendorFilter
from crm.forms import VendorForm
from crm.models import Vendor
from crm.services.vendors import VENDOR_EDIT_ROLES, VENDOR_VIEW_ROLES
from crm.views._common import call_service
from psa.core.listing import paginate_sorted
from psa.core.roles import has_role, role_required

SORT_FIELDS = {"name": "name", "country": "country", "currency": "currency", "people": "people"}


@role_required(*VENDOR_VIEW_ROLES)
def vendor_list(request):
    queryset = Vendor.objects.annotate(people=Count("subcontractors"))
    filterset = VendorFilter(request.GET or None, queryset=queryset)
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    page_obj, _sort = paginate_sorted(request, queryset, sort_fields=SORT_FIELDS, default_sort="name")
    return render(
        request,
        "crm/vendors/list.html",
        {"filter": filterset, "page_obj": page_obj, "can_edit": has_role(request.user, *VENDOR_EDIT_ROLES)},
    )


def _fields(form) -> dict:
    return dict(form.cleaned_data)


@role_required(*VENDOR_EDIT_ROLES)
def vendor_create(request):
    form = VendorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        vendor = call_service(form, services.vendor_create, by=request.user, **_fields(form))
        if vendor:
            messages.success(request, f"Created {vendor.name}.")
            return redirect("crm:vendor", pk=vendor.pk)
    status = 400 if form.errors else 200
    return render(request, "crm/vendors/form.html", {"form": form, "title": "New vendor"}, status=status)


@role_required(*VENDOR_EDIT_ROLES)
def vendor_edit(request, pk: int):
    vendor = get_object_or_404(Vendor, pk=pk)
    form = VendorForm(request.POST or None, instance=vendor)
    if (
        request.method == "POST"
        and form.is_valid()
        and call_service(form, services.vendor_update, vendor_id=pk, by=request.user, **_fields(form))
    ):
        messages.success(request, "Saved.")
        return redirect("crm:vendor", pk=pk)
    status = 400 if form.errors else 200
    context = {"form": form, "title": f"Edit {vendor.name}", "vendor": vendor}
    return render(request, "crm/vendors/form.html", context, status=status)


@role_required(*VENDOR_VIEW_ROLES)
def vendor_detail(request, pk: int):
    vendor = get_object_or_404(Vendor, pk=pk)
    return render(
        request,
        "crm/vendors/detail.html",
        {
            "vendor": vendor,
            "subcontractors": vendor.subcontractors.select_related("user", "role"),
            "can_edit": has_role(request.user, *VENDOR_EDIT_ROLES),
        },
    )
