"""Kernel-level factories (users with roles). App factories live in tests/<app>/factories.py."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

TEST_PASSWORD = "test-pass-4821"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            group, _ = Group.objects.get_or_create(name=str(role))
            self.groups.add(group)


def gb_vat_id(n: int) -> str:
    """A GB VAT id with valid check digits (python-stdnum's GB rule: the weighted sum of the first seven digits
    plus the last two is a multiple of 97), distinct for each `n`."""
    digits = f"{1000000 + n:07d}"
    weighted = sum(int(c) * w for c, w in zip(digits, range(8, 1, -1), strict=True))
    return f"GB{digits}{(-weighted) % 97:02d}"
