import threading

import pytest
from django.db import connection

from capture.models import Activity, Lead
from capture.services import record_activity
from scoring.models import ScoreChange
from tests.factories import EngagementRuleFactory, LeadFactory


@pytest.mark.django_db(transaction=True)
def test_simultaneous_activities_for_one_lead_all_count() -> None:
    EngagementRuleFactory(activity_kind=Activity.Kind.EMAIL_CLICKED, points=5, decays=False)
    lead = LeadFactory()
    workers = 8
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def click() -> None:
        try:
            barrier.wait()
            # Commits, so capture's on-commit announcement rescores the lead at once.
            record_activity(lead=lead, kind=Activity.Kind.EMAIL_CLICKED)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    lead.refresh_from_db()
    assert lead.score == 5 * workers, "the last rescoring saw every click"
    history = list(ScoreChange.objects.order_by("id").values_list("old_score", "new_score"))
    assert history[-1][1] == 5 * workers
    # Rescorings took turns on the row lock: each started from the score the last one left.
    assert all(
        old == previous for (old, _), (_, previous) in zip(history[1:], history, strict=False)
    )
    assert Lead.objects.get().temperature == "warm"
