import re

import pytest

from psa.core.models import OutboxMessage, WebhookSubscription
from psa.core.webhooks import EVENT_TYPES, event_emit, webhook_subscription_create
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _allow_local(settings):
    settings.PSA_WEBHOOKS_ALLOW_PRIVATE = True


@pytest.mark.parametrize("role", ["finance", "sales", "consultant", "project_manager", "client"])
def test_only_admins_reach_webhook_pages(client_as, role):
    assert client_as(role).get("/settings/webhooks/").status_code == 403


def test_admin_creates_a_webhook_from_the_form(client_as):
    client = client_as("admin")
    response = client.post(
        "/settings/webhooks/", {"name": "ERP", "url": "http://127.0.0.1:9/h", "event_types": ["invoice.issued"]}
    )
    sub = WebhookSubscription.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/settings/webhooks/{sub.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert sub.secret in page


def test_a_bad_url_is_an_inline_error_and_nothing_is_saved(client_as):
    response = client_as("admin").post(
        "/settings/webhooks/", {"name": "ERP", "url": "ftp://example.com/", "event_types": ["invoice.issued"]}
    )
    assert response.status_code == 200
    assert "url" in response.context["form"].errors
    assert not WebhookSubscription.objects.exists()


def test_the_list_page_queries_do_not_grow_with_subscriptions(client_as):
    client = client_as("admin")
    webhook_subscription_create(name="a", url="http://127.0.0.1:9/a", event_types=["invoice.issued"])
    small, _ = count_queries(lambda: client.get("/settings/webhooks/"))
    for i in range(15):
        webhook_subscription_create(name=f"s{i}", url=f"http://127.0.0.1:9/{i}", event_types=["period.closed"])
    large, _ = count_queries(lambda: client.get("/settings/webhooks/"))
    assert large == small


def test_api_creates_and_refuses_with_the_field_named(api_as):
    client = api_as("admin")
    ok = client.post(
        "/api/v1/webhooks/",
        {"name": "ERP", "url": "http://127.0.0.1:9/", "event_types": ["time.approved"]},
        format="json",
    )
    assert ok.status_code == 201, ok.json()
    assert ok.json()["secret"].startswith("whsec_")
    bad = client.post(
        "/api/v1/webhooks/", {"name": "ERP", "url": "gopher://x/", "event_types": ["time.approved"]}, format="json"
    )
    assert bad.status_code == 400
    assert "url" in bad.json()["fields"]


def test_api_refuses_non_admins(api_as):
    assert api_as("finance").get("/api/v1/webhooks/").status_code == 403
    assert api_as("consultant").get("/api/v1/webhook-deliveries/").status_code == 403


def test_api_lists_deliveries_and_replays_one(api_as):
    client = api_as("admin")
    webhook_subscription_create(name="ERP", url="http://127.0.0.1:9/", event_types=["invoice.issued"])
    event_emit(type="invoice.issued", key="invoice:1", data={})
    listing = client.get("/api/v1/webhook-deliveries/").json()
    assert listing["count"] == 1
    message_id = listing["results"][0]["id"]
    response = client.post(f"/api/v1/webhook-deliveries/{message_id}/replay/")
    assert response.status_code == 202
    assert OutboxMessage.objects.filter(kind="webhook").count() == 2


def test_the_event_checkboxes_are_a_labelled_group_of_bootstrap_checks(client_as):
    # They were bare inputs in a <div> the label pointed at, and their text ran out of the card over the button.
    html = client_as("admin").get("/settings/webhooks/").content.decode()
    assert 'data-testid="choices-event_types"' in html, html
    group = html[html.index('data-testid="choices-event_types"') : html.index("</fieldset>")]
    assert '<legend class="form-label fs-6 mb-1">Event types</legend>' in group
    checks = re.findall(r'<div class="form-check">\s*<input type="checkbox" class="form-check-input" '
                        r'name="event_types" value="([^"]+)" id="(id_event_types_\d+)">\s*'
                        r'<label class="form-check-label text-break" for="\2">', group)  # fmt: skip
    assert len(checks) == len(EVENT_TYPES) > 1
