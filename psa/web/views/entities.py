"""Legal entities, for finance and administrators: the list, an entity's page (address, ids, bank accounts, footer,
logo), the create and edit forms, adding a bank account and uploading the logo. The rules are the kernel's
(psa.core.entities, psa.core.logos); refusals come back inline under the field they name."""

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from psa.core.countries import COUNTRIES
from psa.core.currency import CURRENCIES
from psa.core.entities import (
    FIXED_ONCE_NUMBERED,
    bank_account_add,
    entities_for,
    entity_create,
    entity_has_numbers,
    entity_update,
)
from psa.core.exceptions import DomainError
from psa.core.files import file_url
from psa.core.forms import form_apply_domain_error
from psa.core.logos import LOGO_LIMIT, entity_logo_set
from psa.core.models import LegalEntity
from psa.core.roles import Role, role_required
from psa.core.uploads import upload_limited

ROLES = (Role.FINANCE, Role.ADMIN)
MONTHS = [(m, name) for m, name in enumerate(
    ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
     "November", "December"), start=1)]  # fmt: skip


class StyledForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class EntityForm(StyledForm):
    code = forms.CharField(label="Code", max_length=10, help_text="Capital letters and digits, e.g. DE or UK.")
    series_prefix = forms.CharField(
        label="Series prefix",
        max_length=6,
        required=False,
        help_text="Put before its document numbers: GB gives GB-INV-2026-000001. Empty for one entity only.",
    )
    name = forms.CharField(label="Name", max_length=200, help_text="The trading name people use.")
    legal_name = forms.CharField(label="Legal name", max_length=200, help_text="The registered name on invoices.")
    street = forms.CharField(label="Street", max_length=200, required=False)
    postcode = forms.CharField(label="Postcode", max_length=20, required=False)
    city = forms.CharField(label="City", max_length=100, required=False)
    country = forms.ChoiceField(label="Country", choices=[("", "—"), *COUNTRIES])
    vat_id = forms.CharField(label="VAT id", max_length=20, required=False, help_text="With its country prefix.")
    tax_number = forms.CharField(label="Tax number", max_length=30, required=False)
    registration = forms.CharField(
        label="Registration", max_length=200, required=False, help_text="E.g. HRB 12345, Amtsgericht Berlin."
    )
    email = forms.EmailField(label="Invoice e-mail", required=False)
    functional_currency = forms.ChoiceField(label="Functional currency", choices=[("", "—"), *CURRENCIES])
    fiscal_year_start_month = forms.TypedChoiceField(
        label="Fiscal year starts in", choices=MONTHS, coerce=int, initial=1
    )
    invoice_footer = forms.CharField(label="Invoice footer", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    is_active = forms.BooleanField(label="Active", required=False, initial=True)


class BankAccountForm(StyledForm):
    iban = forms.CharField(label="IBAN", max_length=42)
    bic = forms.CharField(label="BIC", max_length=14, required=False)
    bank_name = forms.CharField(label="Bank", max_length=200, required=False)
    currency = forms.ChoiceField(label="Currency", choices=CURRENCIES)
    is_default = forms.BooleanField(
        label="Default for its currency", required=False, initial=True, help_text="Printed on invoices in it."
    )


class LogoForm(StyledForm):
    logo = forms.FileField(label="Logo", help_text=f"PNG, JPEG or SVG, {LOGO_LIMIT.describe()}.")


@role_required(*ROLES)
def entity_list(request):
    entities = entities_for(request.user).annotate(accounts=Count("bank_accounts")).order_by("code")
    return render(request, "web/entities/list.html", {"entities": entities})


@role_required(*ROLES)
def entity_detail(request, pk: int):
    entity = get_object_or_404(entities_for(request.user), pk=pk)
    return render(request, "web/entities/detail.html", _detail_context(entity))


def _detail_context(entity: LegalEntity, **forms_in: forms.Form) -> dict:
    return {
        "entity": entity,
        "accounts": list(entity.bank_accounts.all()),
        "logo_url": file_url("entity-logo", entity.pk) if entity.logo else "",
        "numbered": entity_has_numbers(entity),
        "account_form": forms_in.get("account_form")
        or BankAccountForm(initial={"currency": entity.functional_currency}),
        "logo_form": forms_in.get("logo_form") or LogoForm(),
    }


@role_required(*ROLES)
def entity_create_view(request):
    form = EntityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            entity = entity_create(by=request.user, values=form.cleaned_data)
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, f"Entity {entity.code} created. Add a bank account before it issues invoices.")
            return redirect("entity-detail", pk=entity.pk)
    return _form_page(request, form, title="New legal entity")


@role_required(*ROLES)
def entity_edit_view(request, pk: int):
    entity = get_object_or_404(entities_for(request.user), pk=pk)
    initial = {f: getattr(entity, f) for f in EntityForm.base_fields}
    form = EntityForm(request.POST or None, initial=initial)
    numbered = entity_has_numbers(entity)
    if numbered:  # shown, not editable: the service refuses a change anyway
        for name in FIXED_ONCE_NUMBERED:
            form.fields[name].disabled = True
            form.fields[name].help_text = "Fixed: the entity has numbered documents in its series."
    if request.method == "POST" and form.is_valid():
        try:
            entity_update(by=request.user, entity_id=entity.pk, values=form.cleaned_data)
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, f"Entity {form.cleaned_data['code']} saved.")
            return redirect("entity-detail", pk=entity.pk)
    return _form_page(request, form, title=f"Edit {entity.code}", entity=entity)


def _form_page(request, form: EntityForm, *, title: str, entity: LegalEntity | None = None):
    # The summary names each field in error as the form labels it; the reason is shown under the field.
    labels = [str(form.fields[name].label) for name in form.errors if name in form.fields]
    context = {"form": form, "title": title, "entity": entity, "error_labels": labels}
    return render(request, "web/entities/form.html", context, status=400 if form.errors else 200)


@require_POST
@role_required(*ROLES)
def entity_bank_account_add(request, pk: int):
    entity = get_object_or_404(entities_for(request.user), pk=pk)
    form = BankAccountForm(request.POST)
    if form.is_valid():
        try:
            account = bank_account_add(by=request.user, entity_id=entity.pk, **form.cleaned_data)
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, f"Bank account {account.iban} added.")
            return redirect("entity-detail", pk=entity.pk)
    return render(request, "web/entities/detail.html", _detail_context(entity, account_form=form), status=400)


@role_required(*ROLES)
@upload_limited(LOGO_LIMIT)
def entity_logo_upload(request, pk: int):
    entity = get_object_or_404(entities_for(request.user), pk=pk)
    if request.method != "POST":
        return redirect("entity-detail", pk=entity.pk)
    form = LogoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            entity_logo_set(by=request.user, entity_id=entity.pk, logo=form.cleaned_data["logo"])
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, "Logo saved: it is printed on the entity's invoices.")
            return redirect("entity-detail", pk=entity.pk)
    return render(request, "web/entities/detail.html", _detail_context(entity, logo_form=form), status=400)
