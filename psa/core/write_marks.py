"""A signed cookie that marks a browser for a while after its last successful write (a non-safe method answered
below 400): until when its reports read the primary instead of the replica (psa.core.replica), until when its
shared pages compute afresh (psa.core.pagecache). The cookie holds that moment in epoch seconds, signed with a
salt of its own, so a browser can neither forge nor move it."""

import time

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class WriteMark:
    def __init__(self, cookie: str, salt: str) -> None:
        self.cookie = cookie
        self.salt = salt

    def until(self, request: HttpRequest) -> float:
        """Until when (epoch seconds) this browser is marked; 0 when it is not (no cookie, or a bad one)."""
        raw = request.COOKIES.get(self.cookie)
        if not raw:
            return 0.0
        try:
            return float(signing.get_cookie_signer(salt=self.salt).unsign(raw))
        except (signing.BadSignature, ValueError):
            return 0.0

    def mark_after_write(self, request: HttpRequest, response: HttpResponse, seconds: int) -> None:
        """Mark the browser for `seconds` when `request` was a successful write (nothing when `seconds` is 0)."""
        if seconds <= 0 or request.method in SAFE_METHODS or response.status_code >= 400:
            return
        value = signing.get_cookie_signer(salt=self.salt).sign(f"{time.time() + seconds:.3f}")
        response.set_cookie(
            self.cookie, value, max_age=seconds, secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax"
        )
