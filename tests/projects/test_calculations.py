"""The value of approved T&M work (projects.calculations): once per group, cumulative, and the same in SQL."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projects.calculations import tm_group_net, tm_group_net_sql, tm_group_value, tm_value_by_line
from projects.models import TimeEntry
from tests.billing.factories import approved_entry, make_consultant, tm_contract

D = Decimal
hours = st.integers(1, 2400).map(lambda n: D(n).scaleb(-2))  # 0.01 .. 24.00
rates = st.integers(2, 4).flatmap(lambda p: st.integers(1, 500 * 10**p).map(lambda n: D(n).scaleb(-p)))
amounts = st.integers(0, 10_000_00).map(lambda n: D(n).scaleb(-2))


def test_a_group_is_valued_once_not_per_entry():
    assert tm_group_value(D("0.50"), D("150.50")) == D("75.25")  # per entry: 2 x 37.63
    assert tm_group_value(D("0.30"), D("141.75")) == D("42.53")  # per entry: 3 x 14.18


def test_a_group_billed_again_bills_what_its_new_hours_add_to_its_value():
    first = tm_group_net(hours=D("0.25"), rate=D("150.50"))
    second = tm_group_net(hours=D("0.25"), rate=D("150.50"), billed_hours=D("0.25"), billed=first)
    assert (first, second) == (D("37.63"), D("37.62"))
    assert first + second == tm_group_value(D("0.50"), D("150.50"))


def test_a_true_up_is_never_negative():
    assert tm_group_net(hours=D("0.01"), rate=D("0.10"), billed_hours=D("1.00"), billed=D("5.00")) == D("0.00")


@pytest.mark.django_db
@pytest.mark.postgres
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(new=hours, rate=rates, billed_hours=st.just(D("0")) | hours, billed=amounts)
def test_the_sql_form_computes_what_the_python_form_computes(new, rate, billed_hours, billed):
    terms = {name: f"%({name})s::numeric" for name in ("hours", "rate", "billed_hours", "billed")}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {tm_group_net_sql(**terms)}",
            {"hours": new, "rate": rate, "billed_hours": billed_hours, "billed": billed},
        )
        (in_sql,) = cursor.fetchone()
    assert in_sql == tm_group_net(hours=new, rate=rate, billed_hours=billed_hours, billed=billed)


@pytest.mark.django_db
def test_the_value_per_line_sums_its_groups_by_role_and_rate():
    # Given two consultants of two roles on one line, one of them at two rates
    _, line = tm_contract()
    ada, grace = make_consultant(), make_consultant("Junior consultant", "Grace", "Hopper")
    for day in (5, 6):
        approved_entry(line, ada, date(2026, 1, day), "0.25", "150.50")
    for day in (5, 6, 7):
        approved_entry(line, grace, date(2026, 1, day), "0.10", "141.75")
    approved_entry(line, ada, date(2026, 1, 8), "0.10", "141.75")  # Ada's role at Grace's rate: its own group

    # Then each group is rounded once: 75.25 + 42.53 + 14.18
    assert tm_value_by_line(TimeEntry.objects.all()) == {line.pk: D("131.96")}
