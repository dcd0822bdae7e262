"""Chart of accounts, general ledger per account, periods, and the export download."""

from datetime import timedelta

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from ledger.filtersets import LedgerAccountFilter
from ledger.forms import AccountForm, EarlierMonthsForm, EntityChoiceForm, ExportForm, ReasonForm
from ledger.models import AccountingPeriod, JournalLine, LedgerAccount, PeriodClose
from ledger.selectors import general_ledger, parse_cursor
from ledger.selectors.exports import EXPORTERS
from ledger.services import (
    account_create,
    account_update,
    period_close,
    period_reopen,
    periods_earlier_create,
    periods_ensure,
)
from ledger.views.journal import LEDGER_ROLES
from psa.core.audit import audit_for
from psa.core.entities import entity_default
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.core.listing import paginate_sorted
from psa.core.models import LegalEntity
from psa.core.replica import replica_view
from psa.core.roles import Role, has_role, role_required


@role_required(*LEDGER_ROLES)
def account_list(request):
    filterset = LedgerAccountFilter(request.GET, queryset=LedgerAccount.objects.all())
    page_obj, sort = paginate_sorted(
        request,
        filterset.qs,
        sort_fields={"code": "code", "name": "name", "type": "type"},
        default_sort="code",
        per_page=50,
    )
    return render(request, "ledger/account_list.html", {"filter": filterset, "page_obj": page_obj, "sort": sort})


@role_required(*LEDGER_ROLES)
def account_form(request, pk: int | None = None):
    account = get_object_or_404(LedgerAccount, pk=pk) if pk else None
    initial = {f: getattr(account, f) for f in AccountForm.base_fields} if account else None
    form = AccountForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if account:
                account = account_update(account_id=account.pk, by=request.user, **form.cleaned_data)
            else:
                account = account_create(by=request.user, **form.cleaned_data)
        except DomainError as error:
            form_apply_domain_error(form, error)
        else:
            messages.success(request, f"Saved account {account}.")
            return redirect("ledger:accounts")
    return render(request, "ledger/account_form.html", {"form": form, "account": account})


@role_required(*LEDGER_ROLES)
@replica_view
def account_ledger(request, pk: int):
    """General ledger of one account: lines in date order with a running balance, keyset-paginated."""
    account = get_object_or_404(LedgerAccount, pk=pk)
    after = request.GET.get("after")
    page = general_ledger(account=account, after=after if parse_cursor(after) else None, limit=50)
    return render(
        request,
        "ledger/account_ledger.html",
        {"account": account, "page": page, "after": after, "events": audit_for(account, limit=10)},
    )


def chosen_entity(request) -> LegalEntity:
    """The legal entity whose months a periods or month-end page shows and closes: `entity` (an id) from the form
    or the query string, else the default entity. An unknown id is a 404."""
    raw = request.POST.get("entity") or request.GET.get("entity")
    if not raw:
        return entity_default()
    if not str(raw).isdigit():
        raise Http404("No such legal entity.")
    return get_object_or_404(LegalEntity, pk=int(raw))


@role_required(*LEDGER_ROLES)
def period_list(request):
    """The months as one entity sees them (`?entity=`, default: the default entity): open or closed for it, its
    lines, and the close or reopen it may do next."""
    return _period_page(request)


def _period_page(request, *, earlier_form: EarlierMonthsForm | None = None, status: int = 200):
    entity = chosen_entity(request)
    periods = AccountingPeriod.objects.order_by("-start")
    counts = dict(
        JournalLine.objects.filter(period__in=periods, entity=entity)
        .values("period")
        .annotate(n=Count("id"))
        .values_list("period", "n")
    )
    closes = {c.period_id: c for c in PeriodClose.objects.filter(entity=entity).select_related("closed_by")}
    rows = [{"period": p, "lines": counts.get(p.pk, 0), "close": closes.get(p.pk)} for p in periods]
    first_open = next((r["period"] for r in reversed(rows) if r["close"] is None), None)
    last_closed = next((r["period"] for r in rows if r["close"] is not None), None)
    return render(
        request,
        "ledger/period_list.html",
        {
            "rows": rows,
            "first_open": first_open,
            "last_closed": last_closed,
            "form": ReasonForm(),
            "entity": entity,
            "entity_form": EntityChoiceForm(initial={"entity": entity.pk}),
            "can_add_earlier": has_role(request.user, Role.ADMIN),
            "earlier_form": earlier_form or EarlierMonthsForm(),
        },
        status=status,
    )


def _period_action(request, pk: int, action, verb: str, **extra):
    entity = chosen_entity(request)
    back = f"{reverse('ledger:periods')}?entity={entity.pk}"
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Give a reason to {verb} the period; it goes into the audit log.")
        return redirect(back)
    try:
        period = action(period_id=pk, by=request.user, reason=form.cleaned_data["reason"], entity_id=entity.pk, **extra)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        state = "closed" if verb == "close" else "open"
        messages.success(request, f"{period.label} is {state} for {entity.code}.")
    return redirect(back)


@require_POST
@role_required(*LEDGER_ROLES)
def period_close_view(request, pk: int):
    # The checklist rule lives in period_close; an administrator's override reason comes from the month-end page.
    return _period_action(request, pk, period_close, "close", override_reason=request.POST.get("override_reason", ""))


@require_POST
@role_required(*LEDGER_ROLES)
def period_reopen_view(request, pk: int):
    return _period_action(request, pk, period_reopen, "reopen")


@require_POST
@role_required(*LEDGER_ROLES)
def periods_ensure_view(request):
    today = timezone.localdate()
    created = periods_ensure(start=today, through=today + timedelta(days=92))
    messages.success(request, f"{len(created)} period(s) created." if created else "Periods already exist ahead.")
    return redirect("ledger:periods")


@require_POST
@role_required(Role.ADMIN)
def periods_earlier_view(request):
    """An administrator adds months before the calendar's first; a refusal shows the page again with the form's
    errors under their fields (400)."""
    form = EarlierMonthsForm(request.POST)
    if form.is_valid():
        try:
            made = periods_earlier_create(
                start=form.cleaned_data["start"], by=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            form_apply_domain_error(form, error)
        else:
            closed = {c.period_id for c in made.closes}
            messages.success(
                request,
                f"{len(made.created)} month(s) created, {made.created[0].label} to {made.created[-1].label}"
                + (
                    f"; {len(closed)} of them closed for the entities that had closed the first month."
                    if closed
                    else "."
                ),
            )
            return redirect("ledger:periods")
    return _period_page(request, earlier_form=form, status=400)


@role_required(*LEDGER_ROLES)
@replica_view
def export(request):
    """The export form; with its fields filled in, the download itself (streamed)."""
    today = timezone.localdate()
    if request.GET.get("format"):
        form = ExportForm(request.GET)
        if form.is_valid():
            data = form.cleaned_data
            exporter, extension, content_type = EXPORTERS[data["format"]]
            response = StreamingHttpResponse(
                exporter(start=data["start"], end=data["end"]), content_type=f"{content_type}; charset=utf-8"
            )
            name = f"ledger-{data['start']:%Y%m%d}-{data['end']:%Y%m%d}.{extension}"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    else:
        first = JournalLine.objects.order_by("date").values_list("date", flat=True).first()
        form = ExportForm(initial={"format": "beancount", "start": first or today.replace(day=1), "end": today})
    return render(request, "ledger/export.html", {"form": form})
