"""Where a form sends the user back to: a `next` (or, failing that, Referer) on this site, else a fallback.

Every view that takes a `next` goes through `safe_next`, the same check Django's login view uses
(`url_has_allowed_host_and_scheme`): an absolute URL to another host, a scheme-relative `//host`, a
backslash trick or a `javascript:` URL falls back instead of leaving the site.
"""

from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, fallback: str, *, referer: bool = False) -> str:
    """`next` from POST (then GET), or with `referer` the Referer header, when it stays on this site; else
    `fallback` (a URL, or a URL name as `redirect()` takes it)."""
    candidates = [request.POST.get("next"), request.GET.get("next")]
    if referer:
        candidates.append(request.headers.get("referer"))
    for url in candidates:
        if url and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return url
    return resolve_url(fallback)
