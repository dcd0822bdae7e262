"""The query-budget helper refuses a response the test did not ask for, so a page that starts answering 403 or
redirecting to the login fails its budget test instead of passing it with fewer queries."""

import pytest
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseRedirect

from tests.querycount import count_queries


def test_it_returns_the_count_and_what_the_call_returned():
    response = HttpResponse("ok")
    assert count_queries(lambda: response) == (0, response)


def test_it_refuses_a_403():
    with pytest.raises(AssertionError, match="expected a 2xx, got 403"):
        count_queries(HttpResponseForbidden)


def test_it_refuses_a_redirect_to_the_login():
    with pytest.raises(AssertionError, match="got 302"):
        count_queries(lambda: HttpResponseRedirect("/accounts/login/?next=/"))


def test_it_accepts_the_status_a_test_names_and_only_that():
    assert count_queries(HttpResponseForbidden, status=403)[0] == 0
    with pytest.raises(AssertionError, match="expected 403, got 200"):
        count_queries(HttpResponse, status=403)


def test_a_call_that_returns_no_response_is_counted_as_it_is():
    assert count_queries(lambda: 42) == (0, 42)
