"""A vendor bill's way to the books: submit, the projects' managers' approval, finance's approval (which posts),
or rejection with a reason.

Rules:
- finance submits a draft with lines; the bill's rate must exist for its date (checked at submission too, so a
  bill waits for approval only when it can be posted);
- a project's manager must approve first when the bill's lines on that project come to more than
  PSA_AP_PM_APPROVAL_THRESHOLD in the functional currency (at the bill date's rate); a manager approves only the
  projects they manage on a bill (consultants, sales and clients are refused; an administrator may approve any);
- finance approves once no manager's approval is outstanding: the bill is posted (billing.services.payables
  .posting, source key "vendor-bill:<id>") and each re-billable line's re-bill amount fixed, in one transaction;
- finance, or the manager of a project on the bill, rejects a bill waiting for approval with a reason; the
  managers' approvals are dropped (the corrected bill is approved again).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billing.choices import VENDOR_BILL_TRANSITIONS, VendorBillLineKind, VendorBillStatus
from billing.models import VendorBill, VendorBillApproval, VendorBillLine
from billing.services._common import FINANCE_ROLES, require_finance
from billing.services.payables.bills import locked_bill
from billing.services.payables.posting import bill_rate, rebill_amount, source_key, vendor_bill_spec
from billing.services.vendor_costs import vendor_bill_rebill_record
from ledger.services import entry_post
from projects.models import Project
from psa.conf import settings_value
from psa.core.audit import audit_record
from psa.core.exceptions import ConflictError, PermissionDeniedError, ValidationFailed, ensure_transition
from psa.core.fx import Rate, convert
from psa.core.money import ZERO, to_decimal
from psa.core.roles import Role, has_role

S = VendorBillStatus


@dataclass(frozen=True)
class ProjectApproval:
    """A project on a bill: its lines' functional amount, its manager, and whether that manager must approve."""

    project: Project
    amount: Decimal
    required: bool
    approval: VendorBillApproval | None

    @property
    def pending(self) -> bool:
        return self.required and self.approval is None


def approval_threshold() -> Decimal:
    return to_decimal(str(settings_value("PSA_AP_PM_APPROVAL_THRESHOLD")))


def project_approvals(bill: VendorBill, rate: Rate | None = None) -> list[ProjectApproval]:
    """The projects on `bill` with their functional amount and approval state (three queries)."""
    rate = rate or bill_rate(bill)
    sums: dict[int, Decimal] = {}
    for project_id, net in bill.lines.filter(project__isnull=False).values_list("project_id", "net_amount"):
        sums[project_id] = sums.get(project_id, ZERO) + net
    projects = Project.objects.select_related("project_manager").in_bulk(list(sums))
    approvals = {a.project_id: a for a in bill.approvals.select_related("approved_by")}
    threshold = approval_threshold()
    out = []
    for project_id, net in sorted(sums.items()):
        project = projects[project_id]
        amount = convert(amount=net, rate=rate)
        required = project.project_manager_id is not None and amount > threshold
        out.append(ProjectApproval(project, amount, required, approvals.get(project_id)))
    return out


def _history(bill: VendorBill, by: User | None, action: str, summary: str) -> None:
    audit_record(actor=by, action=f"billing.vendor_bill.{action}", obj=bill, summary=summary)


@transaction.atomic
def bill_submit(*, bill_id: int, by: User | None) -> VendorBill:
    """Send a draft bill for approval (rules in the module docstring)."""
    require_finance(by)
    bill = locked_bill(bill_id)
    ensure_transition(bill.status, S.AWAITING_APPROVAL, VENDOR_BILL_TRANSITIONS)
    if not bill.lines.exists():
        raise ValidationFailed("A bill needs at least one line.", fields={"lines": ["Add the bill's lines."]})
    bill_rate(bill)
    bill.status = S.AWAITING_APPROVAL
    bill.submitted_by = by if getattr(by, "is_authenticated", False) else None
    bill.submitted_at = timezone.now()
    bill.rejected_reason = ""
    bill.save()
    _history(bill, by, "submit", f"Submitted vendor bill {bill} for approval")
    return bill


@transaction.atomic
def bill_approve_pm(*, bill_id: int, by: User) -> VendorBill:
    """The manager's approval of the projects they manage on a bill waiting for approval."""
    if not has_role(by, Role.PROJECT_MANAGER, Role.ADMIN):
        raise PermissionDeniedError("Only the project's manager approves a bill for a project.")
    bill = locked_bill(bill_id)
    if bill.status != S.AWAITING_APPROVAL:
        raise ConflictError(
            f"Bill {bill.number} is {bill.get_status_display().lower()}, not waiting for approval.",
            fields={"status": ["Not waiting for approval."]},
            code="invalid_transition",
        )
    is_admin = has_role(by, Role.ADMIN)
    mine = [p for p in project_approvals(bill) if is_admin or p.project.project_manager_id == by.pk]
    if not mine:
        raise PermissionDeniedError("This bill has no lines on a project you manage.")
    todo = [p for p in mine if p.approval is None]
    if not todo:
        raise ConflictError("You have already approved this bill.", code="already_approved")
    now = timezone.now()
    VendorBillApproval.objects.bulk_create(
        VendorBillApproval(bill=bill, project=p.project, approved_by=by, approved_at=now, functional_amount=p.amount)
        for p in todo
    )
    bill.pm_approved_by, bill.pm_approved_at = by, now
    bill.save(update_fields=["pm_approved_by", "pm_approved_at"])
    _history(bill, by, "approve_pm", f"Approved vendor bill {bill} for {', '.join(p.project.code for p in todo)}")
    return bill


@transaction.atomic
def bill_approve(*, bill_id: int, by: User | None) -> VendorBill:
    """Finance's approval: posts the bill and fixes its re-bill amounts (rules in the module docstring)."""
    require_finance(by)
    bill = locked_bill(bill_id)
    ensure_transition(bill.status, S.POSTED, VENDOR_BILL_TRANSITIONS)
    rate = bill_rate(bill)
    pending = [p for p in project_approvals(bill, rate) if p.pending]
    if pending:
        names = ", ".join(f"{p.project.code} ({p.project.project_manager})" for p in pending)
        raise ConflictError(
            f"The project manager must approve first: {names}.",
            fields={"approvals": [f"Waiting for {names}."]},
            code="approval_pending",
        )
    lines = list(
        bill.lines.select_related("project", "ledger_account", "contract_line__contract", "bill").order_by("pk")
    )
    for line in lines:
        if line.kind == VendorBillLineKind.REBILLABLE:
            line.rebill_amount = rebill_amount(line, rate)
    VendorBillLine.objects.bulk_update(
        [ln for ln in lines if ln.kind == VendorBillLineKind.REBILLABLE], ["rebill_amount"]
    )
    entry = entry_post(spec=vendor_bill_spec(bill, lines, rate), key=source_key(bill), catch_up=True)
    vendor_bill_rebill_record(bill=bill)  # recognition counts what the client will be re-billed
    bill.fx_rate, bill.fx_rate_date = rate.rate, rate.date
    bill.functional_gross = convert(amount=bill.gross_total, rate=rate)
    bill.journal_entry = entry
    bill.status = S.POSTED
    bill.approved_by = by if getattr(by, "is_authenticated", False) else None
    bill.approved_at = timezone.now()
    bill.save()
    _history(bill, by, "approve", f"Approved and posted vendor bill {bill} as {entry.number}")
    return bill


@transaction.atomic
def bill_reject(*, bill_id: int, by: User, reason: str) -> VendorBill:
    """Send a bill waiting for approval back, with the reason (finance, or a manager of one of its projects)."""
    bill = locked_bill(bill_id)
    if not has_role(by, *FINANCE_ROLES):
        managed = (
            bill.lines.filter(project__project_manager=by).exists() if has_role(by, Role.PROJECT_MANAGER) else False
        )
        if not managed:
            raise PermissionDeniedError("Only finance or the manager of a project on the bill may reject it.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the bill is rejected.", fields={"reason": ["A reason is required."]})
    ensure_transition(bill.status, S.REJECTED, VENDOR_BILL_TRANSITIONS)
    bill.approvals.all().delete()
    bill.status, bill.rejected_reason = S.REJECTED, reason[:2000]
    bill.rejected_by, bill.rejected_at = by, timezone.now()
    bill.pm_approved_by, bill.pm_approved_at = None, None
    bill.save()
    _history(bill, by, "reject", f"Rejected vendor bill {bill}: {reason[:200]}")
    return bill


def bill_approve_as(*, bill_id: int, by: User) -> VendorBill:
    """One "approve" for both approvers: finance (and administrators) give finance's approval, which posts;
    a project manager gives the manager's approval of their projects."""
    if has_role(by, *FINANCE_ROLES):
        return bill_approve(bill_id=bill_id, by=by)
    return bill_approve_pm(bill_id=bill_id, by=by)
