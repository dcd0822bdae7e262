"""API pagination: page numbers for ordinary lists, keyset cursors for the large tables."""

from rest_framework import pagination


class DefaultPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class KeysetPagination(pagination.CursorPagination):
    """For the large tables (time entries, journal lines): no COUNT(*), stable under inserts."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering: str | tuple[str, ...] = "-id"
