"""Expenses: filed by the consultant with a receipt, approved by the project's PM, re-billed by the contract
line's policy (at cost, with a markup percent, or not at all).

Rules (each refusal names it): amount above 0; currency equal to the project's; a receipt above
settings.PSA_RECEIPT_REQUIRED_ABOVE; receipts are PNG, JPEG, WebP or PDF (by content, not only by name) and at
most RECEIPT_LIMIT; allocated on the project that day, project open and the day inside its dates; only
drafts and rejected expenses change; only the PM (or an admin) decides. Approval fixes the contract line,
the policy and the re-bill amount in one set-based UPDATE.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Case, DecimalField, ExpressionWrapper, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Round
from django.utils import timezone

from projects.choices import EDITABLE_STATUSES, EntryStatus, ExpenseCategory, RebillPolicy
from projects.models import ContractLine, Expense, ExpensePolicy, Project
from projects.services.time import EntrySpec, _lock_consultants, _may_write_for, validate_specs
from psa.core.audit import audit_record
from psa.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.files import StoredFile
from psa.core.money import DecimalInput, to_decimal
from psa.core.roles import Role, has_role
from psa.core.uploads import MB, UploadLimit

RECEIPT_LIMIT = UploadLimit(kind="receipt", label="receipts", max_bytes=5 * MB, field="receipt")
RECEIPT_TYPES = {  # extension -> magic bytes at the start of the file
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "webp": (b"RIFF",),
}

RECEIPT_CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}


def receipt_file(expense: Expense) -> StoredFile:
    """The receipt as its reader opens it: in the browser with the type its upload was checked for (a name
    without an accepted type is only ever downloaded). The caller has checked who may read `expense`."""
    filename = (expense.receipt.name or "").rsplit("/", 1)[-1]
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    content_type = RECEIPT_CONTENT_TYPES.get(ext)
    return StoredFile(
        name=expense.receipt.name or "",
        filename=filename,
        content_type=content_type or "application/octet-stream",
        as_attachment=content_type is None,
    )


def receipt_threshold() -> Decimal:
    return to_decimal(str(settings.PSA_RECEIPT_REQUIRED_ABOVE))


def check_receipt(receipt: UploadedFile | None) -> None:
    """A receipt is an image (PNG, JPEG, WebP) or a PDF within RECEIPT_LIMIT, checked by its first bytes."""
    if receipt is None:
        return
    assert receipt.name is not None and receipt.size is not None  # an upload has both
    ext = receipt.name.rsplit(".", 1)[-1].lower() if "." in receipt.name else ""
    if ext not in RECEIPT_TYPES:
        raise ValidationFailed(
            "A receipt must be a PDF or an image (PNG, JPEG, WebP) (rule: receipt_type).",
            fields={"receipt": [f"'.{ext}' files are not accepted."]},
            code="receipt_type",
        )
    if receipt.size > RECEIPT_LIMIT.max_bytes:
        raise ValidationFailed(
            f"A receipt may be at most {RECEIPT_LIMIT.size} (rule: receipt_size).",
            fields={"receipt": [f"This file has {receipt.size // 1024} KB."]},
            code="receipt_size",
        )
    receipt.seek(0)
    head = receipt.read(12)
    receipt.seek(0)
    if not any(head.startswith(magic) for magic in RECEIPT_TYPES[ext]) or (ext == "webp" and head[8:12] != b"WEBP"):
        raise ValidationFailed(
            f"The file's content is not a .{ext} (rule: receipt_type).",
            fields={"receipt": ["The content does not match the file type."]},
            code="receipt_type",
        )


@transaction.atomic
def expense_create(
    *,
    by: User,
    consultant_id: int,
    project_id: int,
    day: date,
    category: str,
    amount: DecimalInput,
    currency: str,
    billable: bool = True,
    description: str = "",
    receipt: UploadedFile | None = None,
) -> Expense:
    _may_write_for(by, consultant_id)
    _lock_consultants([consultant_id])
    amount = to_decimal(amount)
    if amount <= 0:
        raise ValidationFailed(
            "The amount must be more than 0 (rule: amount_positive).",
            fields={"amount": ["Must be more than 0."]},
            code="amount_positive",
        )
    if category not in ExpenseCategory.values:
        raise ValidationFailed(
            "Unknown expense category (rule: category_valid).",
            fields={"category": [f"Choose from: {', '.join(ExpenseCategory.values)}."]},
            code="category_valid",
        )
    project = Project.objects.filter(pk=project_id).only("currency", "code").first()
    if project is None:
        raise ValidationFailed("No such project (rule: project_exists).", fields={"project": ["No such project."]})
    if currency != project.currency:
        raise ValidationFailed(
            f"{project.code} is in {project.currency}; the expense must be too (rule: currency_matches_project).",
            fields={"currency": [f"Must be {project.currency}."]},
            code="currency_matches_project",
        )
    if receipt is None and amount > receipt_threshold():
        raise ValidationFailed(
            f"Expenses above {receipt_threshold()} {currency} need a receipt (rule: receipt_required).",
            fields={"receipt": ["A receipt is required for this amount."]},
            code="receipt_required",
        )
    check_receipt(receipt)
    # Same staffing rules as time (allocated that day, project open, inside its dates); hours are a stand-in.
    validate_specs([EntrySpec(consultant_id, project_id, None, day, Decimal("0.01"))], replacing={(0,): 0})
    expense = Expense(
        consultant_id=consultant_id,
        project_id=project_id,
        date=day,
        category=category,
        amount=amount,
        currency=currency,
        billable=billable,
        description=description[:200],
    )
    if receipt is not None:
        expense.receipt.save(receipt.name or "", receipt, save=False)
    expense.save()
    return expense


def _editable(by: User, expense_id: int) -> Expense:
    row = Expense.objects.filter(pk=expense_id).values("consultant_id").first()
    if row is None:
        raise NotFoundError("No such expense.")
    _may_write_for(by, row["consultant_id"])
    expense = Expense.objects.select_for_update().get(pk=expense_id)
    if expense.status not in EDITABLE_STATUSES:
        raise ConflictError(
            f"This expense is {expense.get_status_display().lower()} and can no longer change "
            "(rule: locked_after_submit).",
            code="locked_after_submit",
        )
    return expense


@transaction.atomic
def expense_delete(*, by: User, expense_id: int) -> None:
    _editable(by, expense_id).delete()


@transaction.atomic
def expenses_delete(*, by: User, consultant_id: int, expense_ids: list[int]) -> int:
    """Delete a consultant's draft or rejected expenses (receipts go with them), all or nothing: one that is
    submitted or approved, or not theirs, refuses the whole selection."""
    _may_write_for(by, consultant_id)
    ids = sorted(set(expense_ids))
    if not ids:
        raise ValidationFailed("Select the expenses to delete.", fields={"ids": ["Nothing selected."]})
    rows = list(Expense.objects.select_for_update().filter(pk__in=ids, consultant_id=consultant_id))
    if len(rows) != len(ids):
        raise NotFoundError("No such expense in your scope.")
    locked = [e for e in rows if e.status not in EDITABLE_STATUSES]
    if locked:
        raise ConflictError(
            f"{len(locked)} of the selected expenses are submitted or approved and can no longer be deleted "
            "(rule: locked_after_submit).",
            code="locked_after_submit",
        )
    receipts = [(e.receipt.storage, e.receipt.name or "") for e in rows if e.receipt]
    Expense.objects.filter(pk__in=ids).delete()
    # The stored receipt files go with their rows, once the delete is committed.

    def receipts_delete() -> None:
        for storage, name in receipts:
            storage.delete(name)

    transaction.on_commit(receipts_delete)
    return len(ids)


@transaction.atomic
def expenses_submit(*, by: User, consultant_id: int, expense_ids: list[int]) -> int:
    _may_write_for(by, consultant_id)
    n = Expense.objects.filter(pk__in=expense_ids, consultant_id=consultant_id, status__in=EDITABLE_STATUSES).update(
        status=EntryStatus.SUBMITTED, submitted_at=timezone.now(), rejection_reason=""
    )
    if n != len(set(expense_ids)):
        raise ConflictError(
            "Only your own draft or rejected expenses can be submitted (rule: only_drafts).", code="only_drafts"
        )
    return n


def _lock_submitted(*, by: User, expense_ids: list[int]) -> list[int]:
    ids = sorted({int(i) for i in expense_ids})
    if not ids:
        raise ValidationFailed("Pick at least one expense (rule: selection_required).", code="selection_required")
    rows = list(
        Expense.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "status", "project__project_manager_id")
    )
    if len(rows) != len(ids):
        raise NotFoundError("Some of these expenses do not exist.")
    if not has_role(by, Role.ADMIN) and (
        not has_role(by, Role.PROJECT_MANAGER) or any(pm != by.pk for _, _, pm in rows)
    ):
        raise PermissionDeniedError(
            "Only the project's manager approves or rejects its expenses (rule: project_manager)."
        )
    if any(st != EntryStatus.SUBMITTED for _, st, _ in rows):
        raise ConflictError("Some of these expenses are not waiting for approval (rule: only_submitted).")
    return ids


@transaction.atomic
def expenses_approve(*, by: User, expense_ids: list[int]) -> int:
    """Approve and fix the re-bill: contract line covering the day, its policy (at cost when none), and
    amount x (1 + markup/100) rounded half up to the cent for billable expenses."""
    ids = _lock_submitted(by=by, expense_ids=expense_ids)
    qs = Expense.objects.filter(pk__in=ids)
    qs.update(
        contract_line_id=Subquery(
            ContractLine.objects.filter(
                contract__project_id=OuterRef("project_id"),
                start_date__lte=OuterRef("date"),
                end_date__gte=OuterRef("date"),
            )
            .order_by("position", "id")
            .values("pk")[:1]
        )
    )
    policy = ExpensePolicy.objects.filter(contract_line_id=OuterRef("contract_line_id"))
    qs.update(
        rebill_policy=Coalesce(Subquery(policy.values("policy")[:1]), Value(RebillPolicy.AT_COST)),
        markup_percent=Coalesce(
            Subquery(policy.filter(policy=RebillPolicy.MARKUP).values("markup_percent")[:1]), Value(Decimal("0"))
        ),
    )
    now = timezone.now()
    money = DecimalField(max_digits=18, decimal_places=2)
    qs.update(
        rebill_amount=Case(
            When(billable=False, then=Value(None)),
            When(rebill_policy=RebillPolicy.NONE, then=Value(None)),
            default=Round(
                ExpressionWrapper(F("amount") * (Value(Decimal("100")) + F("markup_percent")) / Value(Decimal("100")),
                                  output_field=money),
                2,
            ),
            output_field=money,
        ),
        status=EntryStatus.APPROVED,
        approved_at=now,
        decided_by=by,
    )  # fmt: skip
    audit_record(actor=by, action="projects.expense.approve", obj=None, summary=f"Approved {len(ids)} expenses")
    return len(ids)


@transaction.atomic
def expenses_reject(*, by: User, expense_ids: list[int], reason: str) -> int:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "Say why the expense is rejected (rule: reason_required).",
            fields={"reason": ["A reason is required."]},
            code="reason_required",
        )
    ids = _lock_submitted(by=by, expense_ids=expense_ids)
    Expense.objects.filter(pk__in=ids).update(status=EntryStatus.REJECTED, rejection_reason=reason[:500], decided_by=by)
    return len(ids)
