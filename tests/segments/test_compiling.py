"""One SQL query per tree, and it agrees with a brute-force Python evaluation of the same
tree over random leads, activities, submissions, journeys and emails."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.models import Lead
from segments.compiling import matching_leads, members_q
from segments.selectors import count_matching
from segments.trees import validate_tree
from tests.segments.world import (
    NOW,
    build_world,
    expected_members,
    leads_strategy,
    load_facts,
    store_leads,
    trees,
)


class _Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_it_matches_the_brute_force_evaluation(data: st.DataObject) -> None:
    try:
        with transaction.atomic():
            world = build_world()
            store_leads(world, data.draw(leads_strategy, label="leads"))
            facts = load_facts()
            for _ in range(3):
                tree = data.draw(trees(world), label="tree")
                validate_tree(tree)  # the strategy makes only trees the builder accepts
                with CaptureQueriesContext(connection) as queries:
                    got = set(matching_leads(tree, now=NOW).values_list("pk", flat=True))
                # One query, however deep; a segment reference costs one lookup of its tree.
                refs = str(tree).count("'segment'")
                assert len(queries) <= 1 + refs
                expected = expected_members(tree, facts, now=NOW)
                assert got == expected, tree
                assert count_matching(tree=tree, now=NOW) == len(got)
                # The form one lead's re-evaluation uses (a probe per lead) agrees too.
                per_lead = Lead.objects.filter(members_q(tree, now=NOW), pk__in=world.leads)
                assert set(per_lead.values_list("pk", flat=True)) == expected, tree
            raise _Rollback
    except _Rollback:
        pass
