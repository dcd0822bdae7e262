"""The client's address, as the lockout (django-axes) and the API throttles see it.

Behind reverse proxies the peer address (REMOTE_ADDR) is the nearest proxy, and X-Forwarded-For is a list
that anyone can start: only the entries that trusted proxies appended can be believed. So the address is read
from the right: `PSA_TRUSTED_PROXY_COUNT` proxies in front of the app (each appends the address it saw), or
`PSA_TRUSTED_PROXY_IPS` (addresses or networks of the proxies: every right-hand hop inside them is skipped).
With neither set (the default) the header is ignored and the peer address is the client.
"""

import ipaddress

from django.conf import settings


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip().strip("[]")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address of the client that sent `request`, trusting only the configured proxies."""
    peer = request.META.get("REMOTE_ADDR") or None
    count: int = settings.PSA_TRUSTED_PROXY_COUNT
    networks = [ipaddress.ip_network(n, strict=False) for n in settings.PSA_TRUSTED_PROXY_IPS]
    if not count and not networks:
        return peer
    forwarded = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    chain = [*forwarded, peer or ""]
    if networks:
        for hop in reversed(chain):
            address = _parse(hop)
            if address is None:
                return peer  # a malformed hop: believe nothing past the peer
            if not any(address in network for network in networks):
                return str(address)
        return str(_parse(chain[0]) or peer)
    # The count of proxies: the client is the hop that the outermost trusted proxy saw.
    if len(chain) <= count:
        return peer  # fewer hops than proxies: the request did not come through them
    address = _parse(chain[-(count + 1)])
    return str(address) if address is not None else peer
