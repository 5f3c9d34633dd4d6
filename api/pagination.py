from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    """Opaque cursors over a unique ordering: stable while rows are added, fast at any depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
