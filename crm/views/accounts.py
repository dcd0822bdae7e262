"""Account pages: list with filters, create/edit, detail with contacts, opportunities, projects (a projects
fragment) and the slot billing's AR panel loads into."""

from django.contrib import messages
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render

from crm import services
from crm.choices import OpportunityStatus
from crm.filtersets import AccountFilter
from crm.forms import AccountForm, ContactForm
from crm.models import Account, CreditHold
from crm.permissions import ACCOUNT_EDIT_ROLES, VIEW_ROLES
from crm.services.credit import CREDIT_ROLES
from crm.views._common import call_service
from psa.core.listing import paginate_sorted
from psa.core.roles import COST_ROLES, has_role, role_required

SORT_FIELDS = {"name": "name", "currency": "currency", "open": "open_deals", "pipeline": "pipeline"}


def _accounts():
    return Account.objects.select_related("owner", "parent").annotate(
        open_deals=Count("opportunities", filter=Q(opportunities__status=OpportunityStatus.OPEN)),
        pipeline=Sum("opportunities__amount", filter=Q(opportunities__status=OpportunityStatus.OPEN)),
        on_hold=Exists(CreditHold.objects.filter(account=OuterRef("pk"), released_at__isnull=True)),
    )


@role_required(*VIEW_ROLES)
def account_list(request):
    filterset = AccountFilter(request.GET or None, queryset=_accounts())
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    page_obj, _sort = paginate_sorted(request, queryset, sort_fields=SORT_FIELDS, default_sort="name")
    return render(
        request,
        "crm/account_list.html",
        {"filter": filterset, "page_obj": page_obj, "can_edit": has_role(request.user, *ACCOUNT_EDIT_ROLES)},
    )


def _fields(form) -> dict:
    data = dict(form.cleaned_data)
    return data


@role_required(*ACCOUNT_EDIT_ROLES)
def account_create(request):
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = call_service(form, services.account_create, by=request.user, **_fields(form))
        if account:
            messages.success(request, f"Created {account.name}.")
            return redirect("crm:account", pk=account.pk)
    return render(request, "crm/account_form.html", {"form": form, "title": "New account"})


@role_required(*ACCOUNT_EDIT_ROLES)
def account_edit(request, pk: int):
    account = get_object_or_404(Account, pk=pk)
    form = AccountForm(request.POST or None, instance=account)
    if (
        request.method == "POST"
        and form.is_valid()
        and call_service(form, services.account_update, account_id=pk, by=request.user, **_fields(form))
    ):
        messages.success(request, "Saved.")
        return redirect("crm:account", pk=pk)
    return render(request, "crm/account_form.html", {"form": form, "title": f"Edit {account.name}", "account": account})


@role_required(*VIEW_ROLES)
def account_detail(request, pk: int):
    account = get_object_or_404(Account.objects.select_related("owner", "parent"), pk=pk)
    opportunities = account.opportunities.select_related("owner", "stage").order_by("-expected_close_date", "-id")[:50]
    holds = list(account.credit_holds.select_related("placed_by", "released_by")[:5])
    return render(
        request,
        "crm/account_detail.html",
        {
            "account": account,
            "contacts": account.contacts.select_related("user"),
            "children": account.children.only("id", "name"),
            "opportunities": opportunities,
            "missing": [Account._meta.get_field(f).verbose_name for f in account.billing_entity_missing()],  # type: ignore[union-attr]
            "contact_form": ContactForm(prefix="contact"),
            "can_edit": has_role(request.user, *ACCOUNT_EDIT_ROLES),
            # The margin panel shows cost: finance and admin only (the ledger's view checks it again).
            "can_see_costs": has_role(request.user, *COST_ROLES),
            "holds": holds,
            "hold": next((h for h in holds if h.is_active), None),
            "can_manage_credit": has_role(request.user, *CREDIT_ROLES),
        },
    )


@role_required(*ACCOUNT_EDIT_ROLES)
def contact_add(request, pk: int):
    account = get_object_or_404(Account, pk=pk)
    form = ContactForm(request.POST or None, prefix="contact")
    if (
        request.method == "POST"
        and form.is_valid()
        and call_service(form, services.contact_create, by=request.user, account_id=account.pk, **form.cleaned_data)
    ):
        messages.success(request, "Added the contact.")
        return redirect("crm:account", pk=pk)
    status = 400 if form.errors else 200
    return render(request, "crm/contact_form.html", {"form": form, "account": account}, status=status)
