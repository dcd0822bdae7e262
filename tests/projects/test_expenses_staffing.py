"""Expenses (receipts, currency, re-bill policy), staffing refusals and missing-time reminders."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.choices import EntryStatus, RebillPolicy
from projects.models import Expense, ExpensePolicy
from projects.selectors import missing_time
from projects.services import expenses as ex
from projects.services import staffing
from projects.services import time as ts
from projects.services.reminders import missing_time_remind
from psa.core.exceptions import NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.models import OutboxMessage
from tests.projects.time_factories import MONDAY, consultant_on

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n%fake receipt\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20


def file(name="receipt.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def create(carl, setup, amount="80.00", receipt="default", **kw):
    kw.setdefault("currency", "EUR")
    return ex.expense_create(
        by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, day=MONDAY, category="travel",
        amount=amount, receipt=file() if receipt == "default" else receipt, **kw,
    )  # fmt: skip


def test_an_expense_with_a_pdf_receipt_is_saved(setup, carl):
    expense = create(carl, setup)
    assert expense.receipt.name.endswith(".pdf") and expense.status == EntryStatus.DRAFT


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"currency": "USD"}, "currency_matches_project"),
        ({"receipt": None}, "receipt_required"),
        ({"amount": "0"}, "amount_positive"),
        ({"receipt": file("r.exe", b"MZ")}, "receipt_type"),
        ({"receipt": file("r.png", PDF)}, "receipt_type"),
    ],
)
def test_bad_expenses_are_refused_naming_the_rule(setup, carl, kwargs, rule):
    with pytest.raises(ValidationFailed) as exc:
        create(carl, setup, **kwargs)
    assert exc.value.code == rule
    assert not Expense.objects.exists()


def test_a_receipt_over_5_mb_is_refused(setup, carl):
    with pytest.raises(ValidationFailed, match="receipt_size"):
        create(carl, setup, receipt=file("big.png", PNG + b"\0" * (5 * 1024 * 1024)))


def test_small_expenses_need_no_receipt(setup, carl, settings):
    settings.PSA_RECEIPT_REQUIRED_ABOVE = "25.00"
    assert create(carl, setup, amount="12.50", receipt=None).pk


def test_approval_rebills_with_the_contract_lines_markup(setup, carl):
    line = setup.project.contracts.get().lines.get(billing_model="tm")
    ExpensePolicy.objects.create(contract_line=line, policy=RebillPolicy.MARKUP, markup_percent=Decimal("10"))
    e1 = create(carl, setup, amount="80.05")
    e2 = create(carl, setup, amount="20.00", receipt=None, billable=False)
    ex.expenses_submit(by=carl.user, consultant_id=carl.pk, expense_ids=[e1.pk, e2.pk])
    assert ex.expenses_approve(by=setup.pm, expense_ids=[e1.pk, e2.pk]) == 2
    e1.refresh_from_db()
    e2.refresh_from_db()
    assert (e1.rebill_policy, e1.rebill_amount, e1.contract_line_id) == ("markup", Decimal("88.06"), line.pk)
    assert e2.rebill_amount is None and e2.status == EntryStatus.APPROVED


def test_without_a_policy_expenses_rebill_at_cost(setup, carl):
    e = create(carl, setup, amount="80.00")
    ex.expenses_submit(by=carl.user, consultant_id=carl.pk, expense_ids=[e.pk])
    ex.expenses_approve(by=setup.pm, expense_ids=[e.pk])
    e.refresh_from_db()
    assert (e.rebill_policy, e.rebill_amount) == ("at_cost", Decimal("80.00"))


def test_another_consultant_cannot_touch_an_expense(setup, carl):
    e = create(carl, setup)
    bob = consultant_on(setup)
    with pytest.raises(NotFoundError):
        ex.expense_delete(by=bob.user, expense_id=e.pk)
    with pytest.raises(PermissionDeniedError):
        ex.expenses_reject(by=bob.user, expense_ids=[e.pk], reason="no")


def test_allocation_outside_the_project_is_refused(setup, carl):
    with pytest.raises(ValidationFailed, match="inside_project_dates"):
        staffing.allocation_create(
            by=setup.pm, project_id=setup.project.pk, consultant_id=carl.pk, hours_per_week="10",
            start_date=dt.date(2026, 1, 1), end_date=MONDAY,
        )  # fmt: skip
    with pytest.raises(PermissionDeniedError):
        staffing.allocation_create(
            by=carl.user, project_id=setup.project.pk, consultant_id=carl.pk, hours_per_week="10",
            start_date=MONDAY, end_date=MONDAY,
        )  # fmt: skip


def test_missing_time_counts_time_off_and_reminds_once(setup, carl):
    full = consultant_on(setup)
    for i in range(5):
        ts.time_entry_put(by=full.user, consultant_id=full.pk, project_id=setup.project.pk, task_id=None,
                          day=MONDAY + dt.timedelta(days=i), hours="8")  # fmt: skip
    staffing.time_off_add(
        by=carl.user, consultant_id=carl.pk, start_date=MONDAY, end_date=MONDAY + dt.timedelta(days=1)
    )
    rows = missing_time(week=MONDAY)
    assert [(r.consultant, r.expected, r.logged) for r in rows] == [(carl, Decimal("24.00"), Decimal("0.00"))]
    assert missing_time_remind(week=MONDAY) == 1
    missing_time_remind(week=MONDAY)
    message = OutboxMessage.objects.get(kind="email")
    assert message.payload["to"] == [carl.user.email] and "24.00 h missing" in message.payload["subject"]
