"""Billing forms: they collect input; the services decide."""

from decimal import Decimal

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone

from billing.choices import DisputeReason, PaymentMethod, PurchaseTax, RunScope, VendorBillLineKind
from billing.services.payments import BANK_UPLOAD_LIMIT
from crm.models import Account, Vendor
from ledger.models import LedgerAccount
from projects.models import Consultant, ContractLine, Project
from psa.core.dates import DateFormField
from psa.core.imports import DECIMAL_CONVENTIONS
from psa.core.models import LegalEntity

W = {"class": "form-control"}


class RunForm(forms.Form):
    period_end = DateFormField(
        widget=forms.DateInput(attrs={"type": "date", **W}), help_text="Bill everything up to this date."
    )
    scope = forms.ChoiceField(
        choices=RunScope.choices, initial=RunScope.ALL, widget=forms.Select(attrs={"class": "form-select"})
    )
    accounts = forms.ModelMultipleChoiceField(
        queryset=Account.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 6}),
    )
    projects = forms.ModelMultipleChoiceField(
        queryset=Project.objects.order_by("code"),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 6}),
    )


class PaymentForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=Account.objects.order_by("name"), widget=forms.Select(attrs={"class": "form-select"})
    )
    amount = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, widget=forms.NumberInput(attrs={"step": "0.01", **W})
    )
    received_on = DateFormField(initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date", **W}))
    method = forms.ChoiceField(choices=PaymentMethod.choices, widget=forms.Select(attrs={"class": "form-select"}))
    reference = forms.CharField(max_length=200, required=False, widget=forms.TextInput(W))
    invoice = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with columns date, amount, reference, bank_ref (and optionally invoice or account), "
        f"{BANK_UPLOAD_LIMIT.describe()}.",
        widget=forms.ClearableFileInput(attrs=W),
    )
    decimal = forms.ChoiceField(
        label="Amounts written as",
        choices=list(DECIMAL_CONVENTIONS.items()),
        initial="auto",
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text="Detection reads the rows that show it (250,00 or 1,234.56); a cell that could be read both ways "
        "is refused until you choose.",
    )


class CreditNoteForm(forms.Form):
    lines = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked and no amount to credit the whole invoice.",
    )
    amount = forms.DecimalField(
        required=False,
        max_digits=18,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", **W}),
        help_text="Or a price reduction (net).",
    )
    reason = forms.CharField(max_length=300, widget=forms.TextInput(W))

    def __init__(self, *args, invoice=None, **kwargs):
        super().__init__(*args, **kwargs)
        if invoice is not None:
            self.fields["lines"].choices = [
                (str(ln.pk), f"{ln.position}. {ln.description} ({ln.net})") for ln in invoice.lines.all()
            ]


class WriteOffForm(forms.Form):
    amount = forms.DecimalField(
        required=False,
        max_digits=18,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", **W}),
        help_text="Empty = the whole open balance.",
    )
    reason = forms.CharField(max_length=300, widget=forms.TextInput(W))


SELECT = {"class": "form-select form-select-sm"}
SMALL = {"class": "form-control form-control-sm"}


class VendorBillForm(forms.Form):
    """A vendor bill's header. The purchase tax is decided from the countries unless an override is chosen."""

    vendor = forms.ModelChoiceField(queryset=Vendor.objects.filter(is_active=True).order_by("name"),
                                    widget=forms.Select(attrs={"class": "form-select"}))  # fmt: skip
    entity = forms.ModelChoiceField(
        queryset=LegalEntity.objects.filter(is_active=True).order_by("code"),
        required=False,
        empty_label="The default entity",
        label="Legal entity",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    number = forms.CharField(max_length=100, label="Vendor's bill number", widget=forms.TextInput(attrs=W))
    po_number = forms.CharField(max_length=100, required=False, label="PO number", widget=forms.TextInput(attrs=W))
    bill_date = DateFormField(widget=forms.DateInput(attrs={"type": "date", **W}))
    due_date = DateFormField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date", **W}),
        help_text="Empty: the bill date plus the vendor's payment terms.",
    )
    currency = forms.CharField(
        max_length=3, required=False, widget=forms.TextInput(attrs=W), help_text="Empty: the vendor's currency."
    )
    purchase_tax = forms.ChoiceField(
        choices=[("", "Decide from the countries"), *PurchaseTax.choices],
        required=False,
        label="Tax on the purchase",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    purchase_tax_reason = forms.CharField(
        max_length=300, required=False, label="Why (when overriding)", widget=forms.TextInput(attrs=W)
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, **W}))


class VendorBillLineForm(forms.Form):
    kind = forms.ChoiceField(choices=VendorBillLineKind.choices, widget=forms.Select(attrs=SELECT))
    description = forms.CharField(max_length=300, widget=forms.TextInput(attrs=SMALL))
    project = forms.ModelChoiceField(
        queryset=Project.objects.order_by("code"), required=False, widget=forms.Select(attrs=SELECT)
    )
    contract_line = forms.ModelChoiceField(
        queryset=ContractLine.objects.select_related("contract").order_by("contract__number", "position"),
        required=False,
        label="Contract line (re-billable)",
        widget=forms.Select(attrs=SELECT),
    )
    consultant = forms.ModelChoiceField(
        queryset=Consultant.objects.filter(vendor__isnull=False).select_related("user"),
        required=False,
        label="Subcontractor",
        widget=forms.Select(attrs=SELECT),
    )
    ledger_account = forms.ModelChoiceField(
        queryset=LedgerAccount.objects.filter(type="expense", is_control=False, is_active=True).order_by("code"),
        required=False,
        label="Account (overhead)",
        widget=forms.Select(attrs=SELECT),
    )
    hours = forms.DecimalField(max_digits=8, decimal_places=2, required=False, widget=forms.NumberInput(attrs=SMALL))
    period_start = DateFormField(required=False, widget=forms.DateInput(attrs={"type": "date", **SMALL}))
    period_end = DateFormField(required=False, widget=forms.DateInput(attrs={"type": "date", **SMALL}))
    net_amount = forms.DecimalField(max_digits=18, decimal_places=2, widget=forms.NumberInput(attrs=SMALL))
    tax_rate = forms.DecimalField(
        max_digits=5, decimal_places=2, required=False, label="VAT %", widget=forms.NumberInput(attrs=SMALL)
    )

    def as_service_line(self) -> dict:
        d = self.cleaned_data
        line = {"kind": d["kind"], "description": d["description"], "net_amount": d["net_amount"]}
        for name in ("project", "contract_line", "consultant", "ledger_account"):
            if d.get(name):
                line[f"{name}_id"] = d[name].pk
        for name in ("hours", "period_start", "period_end", "tax_rate"):
            if d.get(name) is not None:
                line[name] = d[name]
        return line


VendorBillLineFormSet = forms.formset_factory(VendorBillLineForm, extra=0, min_num=1, validate_min=True, max_num=200)


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2, **W}))


class BillPdfForm(forms.Form):
    pdf = forms.FileField(label="The vendor's PDF", widget=forms.ClearableFileInput(attrs={"accept": ".pdf", **W}))


# --- disputes -------------------------------------------------------------------------------------------------
class DisputeOpenForm(forms.Form):
    """Open a dispute (portal and finance): the whole invoice or the lines ticked, with a reason."""

    reason = forms.ChoiceField(choices=DisputeReason.choices, widget=forms.Select(attrs=SELECT))
    lines = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Disputed lines",
        help_text="Tick the lines you dispute, or none to dispute the invoice.",
    )
    amount = forms.DecimalField(
        required=False,
        max_digits=18,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.01", **W}),
        help_text="With tax. Empty: the ticked lines in full, or the whole open amount.",
    )
    description = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3, **W}), label="What is wrong"
    )

    def __init__(self, *args, invoice=None, **kwargs):
        super().__init__(*args, **kwargs)
        if invoice is not None:
            self.fields["lines"].choices = [
                (str(ln.pk), f"{ln.position}. {ln.description} ({ln.net} net)") for ln in invoice.lines.all()
            ]


class DisputeOwnerForm(forms.Form):
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True, groups__name__in=["finance", "admin"])
        .distinct()
        .order_by("username"),
        widget=forms.Select(attrs=SELECT),
    )


class DisputeRejectForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.TextInput(W), label="Why it is rejected")


class DisputeCreditForm(forms.Form):
    amount = forms.DecimalField(
        required=False,
        max_digits=18,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.01", **W}),
        label="Net amount to credit",
        help_text="Empty: the disputed amount (its net). Less is a partial credit: the rest is due again.",
    )
    note = forms.CharField(required=False, max_length=300, widget=forms.TextInput(W), label="Reason on the credit note")


class DisputeWriteOffForm(forms.Form):
    note = forms.CharField(required=False, max_length=300, widget=forms.TextInput(W), label="Reason")


class GoLiveForm(forms.Form):
    entity = forms.ModelChoiceField(
        queryset=LegalEntity.objects.filter(is_active=True),
        label="Legal entity",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    cutover_date = DateFormField(
        label="Cut-over date",
        widget=forms.DateInput(attrs={"type": "date", **W}),
        help_text="The first day in PSA (the first of a month): everything before it is imported history.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, **W}))


class GoLiveFileForm(forms.Form):
    file = forms.FileField(
        help_text="CSV (UTF-8; comma, semicolon or tab) or XLSX (the first sheet), up to 20 MB.",
        widget=forms.ClearableFileInput(attrs={**W, "accept": ".csv,.txt,.xlsx"}),
    )
