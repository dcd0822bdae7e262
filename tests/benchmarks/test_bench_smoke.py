"""The benchmark generator works and is deterministic (tiny size, inside `make test`)."""

import pytest
from django.contrib.auth import get_user_model

from tests.benchmarks.generator import FirmGenerator
from tests.benchmarks.workloads import generator_load

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_generator_loads_logins_with_roles_and_tokens():
    rows = FirmGenerator("tiny").load_users()
    User = get_user_model()
    assert User.objects.count() == len(rows.users) == 50
    assert User.objects.filter(groups__name="consultant").count() == 20
    assert User.objects.filter(auth_token_set__isnull=False).distinct().count() == 50


def test_the_same_seed_builds_the_same_rows():
    assert FirmGenerator("tiny").build_users().users == FirmGenerator("tiny").build_users().users


def test_generator_load_record_has_the_agreed_shape():
    (record,) = generator_load.run("tiny")
    d = record.as_dict()
    assert list(d) == ["name", "size", "ours_s", "baseline_s", "ratio", "goal_ratio", "queries", "notes"]
    assert d["name"] == "generator_load" and d["goal_ratio"] == 1.5
    assert d["ours_s"] > 0 and d["baseline_s"] > 0
