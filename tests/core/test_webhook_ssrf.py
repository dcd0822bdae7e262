"""Webhook targets with production settings: only globally routable addresses, resolved once, connected to as
checked, never redirected. The fake internet serves a public stand-in address from 127.0.0.1 and refuses
every other address without sending a packet, so these tests prove where each connection went."""

import os
import socket
import ssl
import subprocess
import sys

import pytest
import trustme

from psa.core.exceptions import ValidationFailed
from psa.core.models import OutboxMessage, OutboxStatus, WebhookAttempt
from psa.core.outbox import outbox_deliver
from psa.core.webhooks import event_emit, webhook_subscription_create
from tests.core.webhook_net import PUBLIC_IP, FakeInternet, Receiver

pytestmark = pytest.mark.django_db

HOST = "hooks.example.test"


@pytest.fixture
def internet(monkeypatch, settings):
    settings.PSA_WEBHOOKS_ALLOW_PRIVATE = False
    return FakeInternet(monkeypatch)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def internal():
    """A service on the internal network (an admin API, a metadata endpoint) that must never be reached."""
    r = Receiver()
    yield r
    r.close()


def _subscribe(url: str):
    return webhook_subscription_create(name="ERP", url=url, event_types=["invoice.issued"])


def _emit_and_deliver(key: str = "invoice.issued:1") -> OutboxMessage:
    event_emit(type="invoice.issued", key=key, data={"number": "INV-1"})
    message = OutboxMessage.objects.get(kind="webhook")
    outbox_deliver(message_id=str(message.pk))
    message.refresh_from_db()
    return message


@pytest.mark.parametrize("debug", ["false", "true"])
def test_settings_refuse_private_targets_unless_the_one_setting_allows_them(debug):
    """DEBUG does not open private targets: PSA_WEBHOOKS_ALLOW_PRIVATE is the only opt-out."""
    env = {k: v for k, v in os.environ.items() if k != "PSA_WEBHOOKS_ALLOW_PRIVATE" and not k.startswith("PYTEST")}
    env.update(DEBUG=debug, DJANGO_SETTINGS_MODULE="psa.settings")
    code = "import django; django.setup(); from django.conf import settings; print(settings.PSA_WEBHOOKS_ALLOW_PRIVATE)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "address",
    [
        "100.64.0.1",  # carrier-grade NAT (shared address space)
        "100.127.255.254",
        "169.254.169.254",  # cloud metadata (link-local)
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "0.0.0.0",
        "192.0.2.10",  # documentation
        "198.18.0.1",  # benchmarking
        "224.0.0.1",  # multicast
        "255.255.255.255",
        "::1",
        "::",
        "fc00::1",  # unique local
        "fd00:ec2::254",  # unique local (the IPv6 metadata endpoint)
        "fe80::1",
        "::ffff:127.0.0.1",  # IPv4-mapped IPv6
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:a9fe:a9fe::",  # 6to4 wrapping 169.254.169.254
    ],
)
def test_special_ranges_are_refused(internet, address):
    url = f"http://[{address}]/h" if ":" in address else f"http://{address}/h"
    with pytest.raises(ValidationFailed) as exc:
        _subscribe(url)
    assert "url" in exc.value.fields
    internet.resolve(HOST, address)
    with pytest.raises(ValidationFailed) as exc:
        _subscribe(f"http://{HOST}/h")
    assert "url" in exc.value.fields
    assert internet.connects == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(internet, monkeypatch):
    internet.resolve(HOST, PUBLIC_IP)
    real = socket.getaddrinfo

    def two_answers(host, port, *args, **kwargs):
        answers = real(host, port, *args, **kwargs)
        if host == HOST:
            answers = answers + real("100.64.0.9", port, *args, **kwargs)
        return answers

    monkeypatch.setattr("socket.getaddrinfo", two_answers)
    with pytest.raises(ValidationFailed, match=r"100\.64\.0\.9"):
        _subscribe(f"http://{HOST}/h")


def test_a_public_target_is_accepted_and_delivered_to(internet, receiver):
    internet.resolve(HOST, PUBLIC_IP)
    _subscribe(receiver.url_for(HOST))
    message = _emit_and_deliver()
    assert message.status == OutboxStatus.DELIVERED
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["headers"]["host"] == f"{HOST}:{receiver.port}"


def test_dns_rebinding_cannot_move_the_connection_to_an_internal_address(internet, receiver):
    """The attacker's name server answers a public address to the check and an internal one afterwards.
    The delivery resolves once and connects to the address it checked."""
    internet.resolve(HOST, PUBLIC_IP)
    _subscribe(receiver.url_for(HOST))
    internet.lookups.clear()
    internet.resolve(HOST, PUBLIC_IP, "10.0.0.7")
    message = _emit_and_deliver()
    assert internet.lookups == [HOST], "one lookup per delivery"
    assert internet.connects == [(PUBLIC_IP, receiver.port)]
    assert message.status == OutboxStatus.DELIVERED
    assert len(receiver.requests) == 1


def test_a_target_that_now_resolves_internally_is_refused_at_delivery_and_recorded(internet, receiver):
    internet.resolve(HOST, PUBLIC_IP)
    _subscribe(receiver.url_for(HOST))
    internet.resolve(HOST, "169.254.169.254")
    message = _emit_and_deliver()
    assert internet.connects == []
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    attempt = WebhookAttempt.objects.get()
    assert not attempt.ok and "169.254.169.254" in attempt.error


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed_and_count_as_a_failed_attempt(internet, receiver, internal, status):
    internet.resolve(HOST, PUBLIC_IP)
    _subscribe(receiver.url_for(HOST))
    receiver.answers = [(status, {"Location": f"http://127.0.0.1:{internal.port}/admin/delete-everything"})]
    message = _emit_and_deliver()
    assert internal.requests == []
    assert len(receiver.requests) == 1
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == status and not attempt.ok
    assert "redirect" in attempt.error.lower()


@pytest.fixture
def ca():
    return trustme.CA()


def _tls_receiver(ca, name: str) -> Receiver:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    return Receiver(tls_context=context)


def test_https_connects_to_the_checked_address_and_verifies_the_certificate_for_the_name(
    internet, ca, monkeypatch, tmp_path
):
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    server = _tls_receiver(ca, HOST)
    try:
        internet.resolve(HOST, PUBLIC_IP)
        _subscribe(server.url_for(HOST))
        message = _emit_and_deliver()
    finally:
        server.close()
    assert message.status == OutboxStatus.DELIVERED, message.last_error
    assert internet.connects == [(PUBLIC_IP, server.port)]
    assert server.server_names == [HOST], "SNI names the host, not the address"
    assert server.requests[0]["headers"]["host"] == f"{HOST}:{server.port}"


def test_https_refuses_a_certificate_for_another_name(internet, ca, monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    server = _tls_receiver(ca, "other.example.test")
    try:
        internet.resolve(HOST, PUBLIC_IP)
        _subscribe(server.url_for(HOST))
        message = _emit_and_deliver()
    finally:
        server.close()
    assert server.requests == []
    assert message.status == OutboxStatus.PENDING
    assert "certificate" in WebhookAttempt.objects.get().error.lower()
