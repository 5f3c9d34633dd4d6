"""A search reads its matches once and pages among them: the same pages, in the same order,
as reading each temperature's matches on its own; a common term keeps the index walks."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales.selectors import Cursor, DashboardFilters, dashboard_page
from sales.selectors import dashboard as dashboard_module
from tests.factories import UserFactory
from tests.sales.support import make_lead

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def _walk(filters: DashboardFilters, *, size: int) -> list[list[str]]:
    user = UserFactory.build(pk=1)
    pages, after = [], None
    for _ in range(50):
        page = dashboard_page(filters=filters, user=user, after=after, size=size)
        pages.append([row.lead.email for row in page.rows])
        if page.next_cursor is None:
            return pages
        after = Cursor.decode(page.next_cursor.encode())
    raise AssertionError("the pages never ended")


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    leads=st.lists(
        st.tuples(
            st.sampled_from(["hot", "warm", "cold"]),
            st.integers(40, 42),
            st.integers(0, 3),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    ),
    size=st.integers(1, 4),
)
def test_a_narrowed_search_pages_as_the_three_reads_do(
    leads: list[tuple[str, int, int, bool]], size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import transaction

    class _Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            for index, (temperature, score, hours, matches) in enumerate(leads):
                make_lead(
                    email=f"l{index}@x.example",
                    company="Northwind" if matches else "Contoso",
                    temperature=temperature,
                    score=score,
                    created_at=NOW - timedelta(hours=hours),
                )
            filters = DashboardFilters(search="northwind")
            narrowed = _walk(filters, size=size)
            with monkeypatch.context() as patch:
                patch.setattr(dashboard_module, "SEARCH_SET", -1)  # never narrow
                assert narrowed == _walk(filters, size=size)
            raise _Rollback
    except _Rollback:
        pass


def test_a_search_reads_the_trigram_indexes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for index, temperature in enumerate(["cold", "warm", "hot", "cold"]):
        make_lead(email=f"n{index}@x.example", company="Northwind", temperature=temperature)
    make_lead(email="other@x.example", company="Contoso", temperature="hot")

    def searches(**kwargs: Any) -> int:
        with CaptureQueriesContext(connection) as queries:
            page = dashboard_page(filters=DashboardFilters(search="northwind"), user=UserFactory())
        assert [row.lead.company for row in page.rows] == ["Northwind"] * 4
        return sum('"company"' in q["sql"] and "LIKE" in q["sql"] for q in queries)

    assert searches() == 1
    monkeypatch.setattr(dashboard_module, "SEARCH_SET", 2)  # a common term: the index walks
    assert searches() == 4  # the id read that found too many, then one per temperature
