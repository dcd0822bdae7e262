"""The Django admin opens every registered model's list for an administrator, and the read-only ones (documents,
journal, audit rows) offer no add form."""

import pytest
from django.contrib import admin
from django.urls import reverse

from psa.core.admin import ReadOnlyAdmin

pytestmark = pytest.mark.django_db


def test_every_admin_list_opens_and_read_only_models_cannot_be_added(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(root)
    read_only = 0
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        listing = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert listing.status_code == 200, f"{meta.label}: {listing.status_code}"
        if isinstance(model_admin, ReadOnlyAdmin):
            read_only += 1
            add = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
            assert add.status_code == 403, f"{meta.label} offers an add form"
    assert read_only >= 10
