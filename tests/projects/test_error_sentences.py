"""Refusals on pages read as sentences: no rule codes, no "__all__:", no raw field names, each point once, a
field named as its form labels it; and a refused form keeps what the user typed. The API keeps its codes."""

import pytest
from django import forms
from django.urls import reverse

from projects.models import ChangeOrder
from projects.services import opportunity_win
from psa.core.exceptions import ValidationFailed
from psa.core.forms import error_text, form_apply_domain_error, form_errors_text, plain_message
from tests.crm.factories import make_deal
from tests.projects.factories import make_template
from tests.projects.time_factories import MONDAY

CODES = ("rule:", "__all__", "non_field_errors", "lines[1]", "hours_max_per_entry")


class _Form(forms.Form):
    end_date = forms.DateField(label="Ends on")
    hours = forms.DecimalField(label="Hours worked")


def test_a_message_loses_its_rule_code_and_its_all_prefix():
    assert plain_message("At most 24 hours per entry (rule: hours_max_per_entry).") == "At most 24 hours per entry."
    assert plain_message("__all__: The end is before the start.") == "The end is before the start."


def test_a_flash_names_the_field_by_its_label_and_makes_each_point_once():
    error = ValidationFailed(
        "The end is before the start (rule: dates_ordered).",
        fields={"end_date": ["The end is before the start."], "hours_per_week": ["At most 168."]},
    )
    assert error_text(error, {"end_date": "Ends on"}) == "The end is before the start. Hours per week: At most 168."
    assert "(rule: dates_ordered)" in error.as_dict()["message"], "the API keeps the rule code"


def test_a_form_shows_a_field_point_under_its_field_and_not_again_at_the_top():
    form = _Form({"end_date": "2026-01-01", "hours": "1"})
    assert form.is_valid()
    form_apply_domain_error(
        form, ValidationFailed("Too many hours (rule: hours_max_per_entry)", fields={"hours": ["Too many hours."]})
    )
    assert form.errors == {"hours": ["Too many hours."]}
    form = _Form({"end_date": "2026-01-01", "hours": "1"})
    form.is_valid()
    form_apply_domain_error(form, ValidationFailed("Not allowed (rule: x).", fields={"__all__": ["Locked."]}))
    assert form.non_field_errors() == ["Not allowed.", "Locked."]


def test_a_bound_forms_errors_read_with_labels():
    form = _Form({"end_date": "soon", "hours": ""})
    assert not form.is_valid()
    text = form_errors_text(form)
    assert text.startswith("Ends on: ") and "Hours worked: " in text and "end_date" not in text


@pytest.mark.django_db
def test_a_refused_timesheet_cell_reads_as_a_sentence(client, setup, carl):
    client.force_login(carl.user)
    data = {"project": setup.project.pk, "task": "", "date": MONDAY.isoformat(), "hours": "25"}
    body = client.post(reverse("projects:timesheet-cell"), data).content.decode()
    assert "cell-error" in body and not any(code in body for code in CODES)
    body = client.post(reverse("projects:timesheet-cell"), {**data, "hours": "abc"}).content.decode()
    assert "is not a number of hours" in body and "rule:" not in body
    body = client.post(reverse("projects:timesheet-cell"), {**data, "date": "someday"}).content.decode()
    assert "Date: " in body and "date:" not in body


@pytest.mark.django_db
def test_a_refused_change_order_keeps_what_was_typed_and_names_the_fields(client):
    make_template()
    deal = make_deal()
    result = opportunity_win(opportunity_id=deal.pk, by=deal.owner)
    client.force_login(deal.owner)
    url = reverse("projects:change-order-create", args=[result.project.pk])
    data = {"co-title": "Extra workshop", "co-reason": "The client asked for a second day", "co-action": "add",
            "co-value_delta": "5", "co-hours_delta": ""}  # fmt: skip
    page = client.post(url, data)
    assert page.status_code == 400 and not ChangeOrder.objects.exists()
    body = page.content.decode()
    assert 'value="Extra workshop"' in body and "The client asked for a second day" in body and 'value="5"' in body
    assert "A new line needs a description." in body and body.count("A new line needs a description.") == 1
    assert 'id="co-form"' in body and 'class="collapse show" id="co-form"' in body, "the form stays open"
    assert not any(code in body for code in CODES)
