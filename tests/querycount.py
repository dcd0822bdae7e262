"""Query-budget helpers: a list must issue the same number of queries at two data sizes.

`count_queries` returns what the call returned as well as the count, and refuses a response that is not a 2xx
(or not the status the test names): a page that starts answering 403, or redirects to the login, sends fewer
queries and would otherwise keep passing its budget."""

from collections.abc import Callable

from django.db import connection


class StatementCounter:
    """An execute wrapper counting the statements sent (Django's captured-query log stops at 9,000 and reads 0
    once full; a wrapper does not)."""

    def __init__(self) -> None:
        self.sent = 0

    def __call__(self, execute, sql, params, many, context):
        self.sent += 1
        return execute(sql, params, many, context)


def assert_status(response: object, status: int | None = None) -> None:
    """A response (anything with a `status_code`) must be a 2xx, or exactly `status` when one is named."""
    code = getattr(response, "status_code", None)
    if status is not None:
        assert code == status, f"expected {status}, got {code}"
    elif code is not None:
        assert 200 <= code < 300, f"expected a 2xx, got {code} {getattr(response, 'url', '')}".rstrip()


def count_queries[T](fn: Callable[[], T], *, status: int | None = None) -> tuple[int, T]:
    """The statements one call of `fn` sends, and what it returned (checked by `assert_status`)."""
    counter = StatementCounter()
    with connection.execute_wrapper(counter):
        result = fn()
    assert_status(result, status)
    return counter.sent, result
