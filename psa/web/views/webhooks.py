"""Webhook subscriptions and their delivery log, for administrators."""

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.core.listing import paginate_sorted
from psa.core.models import OutboxMessage, WebhookAttempt, WebhookSubscription
from psa.core.roles import Role, role_required
from psa.core.webhooks import EVENT_TYPES, webhook_replay, webhook_subscription_create, webhook_subscription_update


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"class": "form-control"}))
    url = forms.CharField(
        label="Receiver URL",
        max_length=500,
        widget=forms.URLInput(attrs={"class": "form-control"}),
        help_text="http(s) only, at a publicly routable address; redirects are not followed.",
    )
    event_types = forms.MultipleChoiceField(
        choices=[(k, f"{k} — {v}") for k, v in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )


@role_required(Role.ADMIN)
def webhook_list(request):
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sub = webhook_subscription_create(by=request.user, **form.cleaned_data)
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, f"Webhook '{sub.name}' created. Its signing secret is shown on its page.")
            return redirect("webhook-detail", pk=sub.pk)
    subs = WebhookSubscription.objects.annotate(
        delivered=Count("attempts", filter=Q(attempts__ok=True)),
        failed_attempts=Count("attempts", filter=Q(attempts__ok=False)),
    ).order_by("name", "pk")
    return render(request, "web/webhooks/list.html", {"subscriptions": subs, "form": form})


@role_required(Role.ADMIN)
def webhook_detail(request, pk: int):
    sub = get_object_or_404(WebhookSubscription, pk=pk)
    attempts = WebhookAttempt.objects.filter(subscription=sub).select_related("event", "message")
    page_obj, sort = paginate_sorted(
        request, attempts, sort_fields={"at": "at", "status": "status_code"}, default_sort="-at"
    )
    return render(request, "web/webhooks/detail.html", {"sub": sub, "page_obj": page_obj, "sort": sort})


@require_POST
@role_required(Role.ADMIN)
def webhook_toggle(request, pk: int):
    sub = get_object_or_404(WebhookSubscription, pk=pk)
    webhook_subscription_update(subscription_id=sub.pk, active=not sub.active, by=request.user)
    messages.info(request, f"Webhook '{sub.name}' {'paused' if sub.active else 'resumed'}.")
    return redirect("webhook-detail", pk=pk)


@require_POST
@role_required(Role.ADMIN)
def webhook_replay_view(request, pk: int, message_id: str):
    get_object_or_404(OutboxMessage, pk=message_id, kind="webhook", payload__subscription_id=pk)
    webhook_replay(message_id=message_id, by=request.user)
    messages.success(request, "Delivery queued again.")
    return redirect("webhook-detail", pk=pk)
