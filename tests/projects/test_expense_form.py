"""The expense form: currency is a choice of the firm's currencies, project and date come filled in, and the
flash counts expenses in good English."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.models import Expense
from projects.services import expenses as ex
from projects.services import staffing
from psa.core.currency import SUPPORTED, functional_currency
from tests.projects.time_factories import END, MONDAY, START, won_project

pytestmark = pytest.mark.django_db


def _expense(consultant, project, day=MONDAY):
    return ex.expense_create(
        by=consultant.user, consultant_id=consultant.pk, project_id=project.pk, day=day, category="travel",
        amount="80", currency="EUR", receipt=SimpleUploadedFile("r.pdf", b"%PDF-1.4 x"),
    )  # fmt: skip


def test_the_currency_is_a_select_of_the_firms_currencies_defaulting_to_the_books_currency(client, setup, carl):
    client.force_login(carl.user)
    form = client.get(reverse("projects:expenses")).context["form"]
    field = form["currency"]
    assert field.widget_type == "select"
    assert [code for code, _ in field.field.choices] == list(SUPPORTED)
    assert field.value() == functional_currency()


def test_a_currency_outside_the_list_is_refused_inline_and_nothing_is_saved(client, setup, carl):
    client.force_login(carl.user)
    data = {"project": setup.project.pk, "date": MONDAY.isoformat(), "category": "travel", "amount": "12",
            "currency": "XYZ", "description": "Taxi to the client"}  # fmt: skip
    page = client.post(reverse("projects:expenses"), data)
    assert page.status_code == 200 and not Expense.objects.exists()
    assert page.context["form"].errors["currency"]
    # What the user typed stays in the form.
    assert 'value="Taxi to the client"' in page.content.decode()


def test_the_date_defaults_to_today_and_the_project_to_the_only_one(client, setup, carl):
    client.force_login(carl.user)
    form = client.get(reverse("projects:expenses")).context["form"]
    assert form["date"].value() == dt.date.today()
    assert form["project"].value() == setup.project.pk


def test_the_project_defaults_to_the_one_of_the_latest_expense(client, setup, carl):
    other = won_project(pm=setup.pm)
    staffing.allocation_create(
        by=setup.admin, project_id=other.project.pk, consultant_id=carl.pk, hours_per_week=10,
        start_date=START, end_date=END, kind="hard", confirm_overbooking=True,
    )  # fmt: skip
    _expense(carl, setup.project, day=MONDAY)
    _expense(carl, other.project, day=MONDAY + dt.timedelta(days=1))
    client.force_login(carl.user)
    form = client.get(reverse("projects:expenses")).context["form"]
    assert form["project"].value() == other.project.pk


@pytest.mark.parametrize(("count", "text"), [(1, "Submitted 1 expense for approval."),
                                             (3, "Submitted 3 expenses for approval.")])  # fmt: skip
def test_the_submit_flash_counts_in_good_english(client, setup, carl, count, text):
    ids = [_expense(carl, setup.project).pk for _ in range(count)]
    client.force_login(carl.user)
    page = client.post(reverse("projects:expenses"), {"action": "submit", "ids": ids}, follow=True)
    assert text in [str(m) for m in page.context["messages"]]
