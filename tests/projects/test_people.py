"""People in the app: resource managers add and edit consultants (capacity, skills, entity, the vendor of a
subcontractor); finance sets dated cost rates; nobody else sees a cost rate."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from crm.models import Vendor
from projects.models import Consultant, CostRate
from projects.services import people as people_services
from psa.core.exceptions import PermissionDeniedError, ValidationFailed
from psa.web.audit_trail import event_model
from tests.crm.factories import RoleFactory
from tests.factories import UserFactory
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _vendor(**kwargs) -> Vendor:
    values = {"name": "Nordic Dev", "legal_name": "Nordic Dev AB", "country": "SE", "currency": "SEK",
              "is_subcontractor": True, "hourly_rate": Decimal("900")}  # fmt: skip
    values.update(kwargs)
    return Vendor.objects.create(**values)


def _person_post(role, **extra) -> dict:
    data = {"username": "ada", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
            "role": role.pk, "weekly_capacity": "32", "utilization_target": "80",
            "skills": "Django: 4\nSQL: 5"}  # fmt: skip
    data.update(extra)
    return data


def _entity_id(client) -> int:
    return client.get("/people/new/").context["form"].initial["entity"].pk


def test_a_project_manager_adds_a_person_with_skills_and_capacity(client_as):
    client = client_as("project_manager")
    role = RoleFactory(name="Developer", code="dev")
    response = client.post("/people/new/", _person_post(role, entity=_entity_id(client)))
    assert response.status_code == 302
    person = Consultant.objects.get(user__username="ada")
    assert (person.weekly_capacity, person.utilization_target, person.vendor) == (Decimal("32.00"), 80, None)
    assert {s.skill.name: s.level for s in person.skills.all()} == {"Django": 4, "SQL": 5}
    assert person.user.groups.filter(name="consultant").exists() and not person.user.has_usable_password()


def test_a_bad_form_names_the_field_and_keeps_nothing(client_as):
    client = client_as("project_manager")
    role = RoleFactory(name="Developer", code="dev")
    UserFactory(username="ada")
    response = client.post(
        "/people/new/", _person_post(role, entity=_entity_id(client), weekly_capacity="200", skills="Django: 9")
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"weekly_capacity", "skills"}
    assert "level from 1 to 5" in errors["skills"][0]
    response = client.post("/people/new/", _person_post(role, entity=_entity_id(client)))
    assert response.context["form"].errors["username"] == ["This username is already taken."]
    assert not Consultant.objects.filter(user__username="ada").exists()
    assert User.objects.filter(username="ada").count() == 1


def test_a_subcontractor_takes_the_vendors_currency_and_a_vendor_must_supply_people(client_as):
    client = client_as("project_manager")
    role = RoleFactory(name="Developer", code="dev")
    agency = _vendor()
    software = _vendor(name="Cloud Co", legal_name="Cloud Co Ltd", country="GB", currency="GBP", is_subcontractor=False)
    response = client.post("/people/new/", _person_post(role, entity=_entity_id(client), vendor=software.pk))
    assert response.status_code == 200 and "vendor" in response.context["form"].errors
    response = client.post("/people/new/", _person_post(role, entity=_entity_id(client), vendor=agency.pk))
    assert response.status_code == 302
    person = Consultant.objects.get(user__username="ada")
    assert (person.vendor, person.cost_currency, person.is_subcontractor) == (agency, "SEK", True)
    with pytest.raises(ValidationFailed):
        people_services.consultant_update(
            by=UserFactory(roles=["admin"]), consultant_id=person.pk, role=role, weekly_capacity=40,
            utilization_target=75, entity=person.entity, vendor=software,
        )  # fmt: skip


def test_editing_a_person_replaces_skills_and_records_history(client_as):
    client = client_as("project_manager")
    role = RoleFactory(name="Developer", code="dev")
    person = people_services.person_create(
        by=client.user, username="bo", first_name="Bo", last_name="Berg", role=role, skills={"Go": 3, "SQL": 2}
    )
    response = client.post(
        f"/people/{person.pk}/",
        {"role": role.pk, "weekly_capacity": "20", "utilization_target": "60", "entity": person.entity_id,
         "is_active": "on", "skills": "SQL: 4"},
    )  # fmt: skip
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.weekly_capacity == Decimal("20.00")
    assert {s.skill.name: s.level for s in person.skills.all()} == {"SQL": 4}
    updates = event_model(Consultant).objects.filter(pgh_obj_id=person.pk, pgh_label="update")
    assert updates.filter(pgh_context__metadata__correlation_id=f"consultant-update:{person.pk}").exists()


def test_cost_rates_are_set_and_seen_by_finance_only(client_as, make_user):
    role = RoleFactory(name="Developer", code="dev")
    person = people_services.person_create(
        by=make_user("admin"), username="cy", first_name="Cy", last_name="Dunn", role=role
    )
    CostRate.objects.create(consultant=person, rate=Decimal("61.50"), valid_from=dt.date(2026, 1, 1))
    pm = client_as("project_manager")
    page = pm.get(f"/people/{person.pk}/")
    assert page.status_code == 200 and b'data-testid="cost-rates"' not in page.content
    assert b"61.50" not in pm.get("/people/").content
    assert pm.post(f"/people/{person.pk}/cost-rates/", {"rate": "70", "valid_from": "2026-07-01"}).status_code == 403
    finance = client_as("finance")
    assert b"61.50" in finance.get("/people/").content
    response = finance.post(f"/people/{person.pk}/cost-rates/", {"rate": "70", "valid_from": "2026-07-01"})
    assert response.status_code == 302
    response = finance.post(f"/people/{person.pk}/cost-rates/", {"rate": "75", "valid_from": "2026-07-01"})
    assert response.status_code == 400 and "valid_from" in response.context["rate_form"].errors
    assert list(person.cost_rates.order_by("valid_from").values_list("rate", flat=True)) == [
        Decimal("61.5000"), Decimal("70.0000")
    ]  # fmt: skip
    assert finance.post(f"/people/{person.pk}/", {"weekly_capacity": "1"}).status_code == 403


@pytest.mark.parametrize("role", ["consultant", "sales", "client"])
def test_other_roles_cannot_open_or_change_people(client_as, role):
    client = client_as(role)
    person = people_services.person_create(
        by=UserFactory(roles=["admin"]), username="di", first_name="Di", last_name="Eck", role=RoleFactory()
    )
    assert client.get("/people/").status_code == 403
    assert client.get(f"/people/{person.pk}/").status_code == 403
    assert client.post("/people/new/", {}).status_code == 403
    assert client.post(f"/people/{person.pk}/cost-rates/", {"rate": "1", "valid_from": "2026-01-01"}).status_code == 403
    with pytest.raises(PermissionDeniedError):
        people_services.person_create(by=client.user, username="x", first_name="X", last_name="", role=person.role)


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get("/people/").status_code == 302


def test_the_people_list_filters_and_issues_the_same_queries_at_two_sizes(client_as):
    client = client_as("finance")
    admin = UserFactory(roles=["admin"])
    role = RoleFactory(name="Developer", code="dev")
    agency = _vendor()

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            person = people_services.person_create(
                by=admin, username=f"p{i}", first_name=f"P{i}", last_name="Test", role=role,
                vendor=agency if i % 2 else None, skills={"SQL": 3},
            )  # fmt: skip
            CostRate.objects.create(consultant=person, rate=Decimal("50"), valid_from=dt.date(2026, 1, 1))

    add(2, 0)
    small, _ = count_queries(lambda: client.get("/people/?sort=-capacity"))
    add(20, 2)
    large, _ = count_queries(lambda: client.get("/people/?sort=-capacity"))
    assert large == small
    subcontractors = client.get("/people/?kind=subcontractor")
    assert subcontractors.status_code == 200
    assert {p.user.username for p in subcontractors.context["page_obj"]} == {f"p{i}" for i in range(1, 22, 2)}
    found = client.get("/people/?q=P13")
    assert [p.user.username for p in found.context["page_obj"]] == ["p13"]
