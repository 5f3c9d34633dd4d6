"""Who may enter: re-entry rules tested with two firings, refusals (erased leads, paused
journeys, journeys without a start node), manual enrollment's errors, and CSV import's
set-based entry into a journey."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail

from capture.models import Activity, Lead
from capture.services import record_activity
from integrations.models import LeadImport
from integrations.services import importing
from integrations.services.privacy import erase_lead
from nurture.models import Enrollment, Sequence, Suppression, Trigger
from nurture.services import advancing, triggers
from nurture.services.dispatching import hand_out_due
from tests.capture.ingest.support import post_json, token_client
from tests.factories import LeadFactory, marketer, playbook_sequence
from tests.journeys.triggering import entered, journey, waiting

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WEBINAR = {"name": "webinar_registered"}


def _fire(lead: Lead, at: datetime) -> None:
    """The lead registers for the webinar (a custom event through the API) at `at`, and the
    tick runs right after, so a one-email journey is done by the next firing."""
    with time_machine.travel(at, tick=False):
        body = {"kind": "custom", "lead": lead.pk, **WEBINAR}
        response = post_json(token_client(marketer()), "/api/v1/activities/", body)
        assert response.status_code == 201, response.content
    _tick(at + timedelta(minutes=1))


def _tick(at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        for _ in range(2):
            advancing.advance_all_due(now=at)
            hand_out_due(now=at)


def _states(lead: Lead, journey: Sequence) -> list[tuple[int, str]]:
    rows = Enrollment.objects.filter(lead=lead, sequence=journey).order_by("round")
    return list(rows.values_list("round", "state"))


def test_once_ever_lets_a_lead_in_one_time() -> None:
    webinar = journey(Trigger.Kind.CUSTOM_EVENT, WEBINAR, reentry=Sequence.Reentry.ONCE)
    lead = LeadFactory()
    _fire(lead, NOW)
    _fire(lead, NOW + timedelta(days=60))
    assert _states(lead, webinar) == [(1, "completed")]
    assert [m.subject for m in mail.outbox] == [f"Hello from {webinar.name}"]


def test_again_after_n_days_waits_that_long_from_the_last_entry() -> None:
    webinar = journey(
        Trigger.Kind.CUSTOM_EVENT, WEBINAR, reentry=Sequence.Reentry.EVERY_N_DAYS, reentry_days=7
    )
    lead = LeadFactory()
    _fire(lead, NOW)
    _fire(lead, NOW + timedelta(days=6, hours=23))
    assert _states(lead, webinar) == [(1, "completed")], "not yet 7 days"
    _fire(lead, NOW + timedelta(days=7, minutes=1))
    assert _states(lead, webinar) == [(1, "completed"), (2, "completed")]
    assert len(mail.outbox) == 2


def test_every_time_enters_on_each_firing_but_never_twice_at_once() -> None:
    webinar = journey(Trigger.Kind.CUSTOM_EVENT, WEBINAR, reentry=Sequence.Reentry.ALWAYS)
    lead = LeadFactory()
    _fire(lead, NOW)
    _fire(lead, NOW + timedelta(days=1))
    assert _states(lead, webinar) == [(1, "completed"), (2, "completed")]
    # While the lead is in the journey (waiting), a firing does not start a second copy.
    waits = waiting(
        Trigger.Kind.CUSTOM_EVENT, WEBINAR, name="Waits", reentry=Sequence.Reentry.ALWAYS
    )
    _fire(lead, NOW + timedelta(days=1, hours=2))
    _fire(lead, NOW + timedelta(days=1, hours=3))
    assert _states(lead, waits) == [(1, "active")]


def test_no_trigger_enters_an_erased_lead_a_paused_journey_or_one_without_a_start() -> None:
    webinar = journey(Trigger.Kind.CUSTOM_EVENT, WEBINAR, name="Live")
    paused = journey(
        Trigger.Kind.CUSTOM_EVENT, WEBINAR, name="Paused", status=Sequence.Status.PAUSED
    )
    unstarted = journey(Trigger.Kind.CUSTOM_EVENT, WEBINAR, name="No start")
    Sequence.objects.filter(pk=unstarted.pk).update(start_node=None)
    lead, erased = LeadFactory(), LeadFactory()
    erase_lead(lead_id=erased.pk, actor=None, reason="Asked to be forgotten")
    _fire(lead, NOW)
    with time_machine.travel(NOW, tick=False):
        record_activity(
            lead=Lead.objects.get(pk=erased.pk), kind=Activity.Kind.CUSTOM, metadata=WEBINAR
        )
    assert entered(lead) == {"Live": "Custom event: webinar_registered"}
    assert not Enrollment.objects.filter(lead=erased).exists()
    assert not paused.enrollments.exists() and not unstarted.enrollments.exists()
    assert webinar.enrollments.count() == 1


def test_manual_enrollment_enters_a_live_journey_and_explains_each_refusal() -> None:
    live = journey(Trigger.Kind.MANUAL, name="Hand-picked")
    paused = journey(Trigger.Kind.MANUAL, name="On hold", status=Sequence.Status.PAUSED)
    unstarted = journey(Trigger.Kind.MANUAL, name="Draft")
    Sequence.objects.filter(pk=unstarted.pk).update(start_node=None)
    lead, erased = LeadFactory(), LeadFactory()
    erase_lead(lead_id=erased.pk, actor=None, reason="Asked to be forgotten")

    with time_machine.travel(NOW, tick=False):
        enrollment = triggers.enroll_manually(lead_id=lead.pk, journey_id=live.pk, by="ann")
    assert (enrollment.trigger, enrollment.round) == ("Manual or API enrollment: ann", 1)
    assert [m.subject for m in mail.outbox] == ["Hello from Hand-picked"]

    def refusal(**kwargs: Any) -> str:
        with pytest.raises(triggers.JourneyRefused) as refused:
            triggers.enroll_manually(**{"lead_id": lead.pk, "journey_id": live.pk, **kwargs})
        return str(refused.value)

    assert refusal() == "The lead is in this journey now."
    assert refusal(journey_id=paused.pk) == "The journey “On hold” is paused: publish it first."
    assert refusal(journey_id=unstarted.pk) == "The journey “Draft” has no start node yet."
    assert refusal(lead_id=erased.pk) == "This lead was erased."
    assert refusal(journey_id=playbook_sequence().pk) == "No journey with this id."
    assert refusal(lead_id=0) == "No lead with this id."
    assert Enrollment.objects.filter(sequence__kind="journey").count() == 1, "nothing half-made"


HEADER = "Email,First Name,Last Name,Company,Job Title,Time zone,Country,Campaign\n"


def _import(body: str, *, sequence: Sequence | None, django_capture_on_commit_callbacks: Any):
    lead_import = importing.create_import(
        file_name="expo.csv", raw=(HEADER + body).encode(), user=marketer()
    )
    lead_import = importing.save_mapping(
        lead_import=lead_import,
        mapping=lead_import.mapping,
        dedupe=LeadImport.Dedupe.FILL_EMPTY,
        sequence=sequence,
        consent_text="Met us at the expo.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        importing.start_run(import_id=lead_import.pk, dry_run=False)


def test_a_csv_import_enters_the_chosen_journey_set_based_by_its_reentry_rule(
    django_capture_on_commit_callbacks: Any,
) -> None:
    expo = journey(Trigger.Kind.IMPORT, name="Expo follow-up", reentry=Sequence.Reentry.ONCE)
    before, inside = LeadFactory(email="before@example.com"), LeadFactory(email="in@example.com")
    with time_machine.travel(NOW - timedelta(days=30), tick=False):
        triggers.enroll_manually(lead_id=before.pk, journey_id=expo.pk)
    _tick(NOW - timedelta(days=30) + timedelta(minutes=1))
    picked_journey = waiting(Trigger.Kind.MANUAL, name="Picked", reentry=Sequence.Reentry.ALWAYS)
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        triggers.enroll_manually(lead_id=inside.pk, journey_id=picked_journey.pk)
    Suppression.objects.create(email="gone@example.com", reason=Suppression.Reason.BOUNCED)
    mail.outbox.clear()
    rows = "".join(f"new{n}@example.com,,,,,,,\n" for n in range(40))
    body = rows + "before@example.com,,,,,,,\nin@example.com,,,,,,,\ngone@example.com,,,,,,,\n"

    with time_machine.travel(NOW, tick=False):
        _import(
            body,
            sequence=picked_journey,
            django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
        )

    # The picked journey: everyone but the suppressed address and the lead already in it.
    picked = Enrollment.objects.filter(sequence=picked_journey, started_at=NOW)
    assert picked.count() == 41
    assert not picked.filter(lead=inside).exists()
    assert _states(inside, picked_journey) == [(1, "active")]
    # The journey with an import trigger: every lead but the one that went through it once.
    assert expo.enrollments.filter(started_at=NOW).count() == 41
    assert _states(before, expo) == [(1, "completed")], "once ever"
    assert set(expo.enrollments.filter(started_at=NOW).values_list("trigger", flat=True)) == {
        "CSV import: expo.csv"
    }
    new = Enrollment.objects.get(sequence=expo, lead__email="new7@example.com")
    assert (new.current_node_id, new.next_at, new.round) == (expo.start_node_id, NOW, 1)
    assert Lead.objects.get(email="new7@example.com").stage == Lead.Stage.NURTURING
    assert not mail.outbox, "nothing is sent in the import itself: the tick sends"
    _tick(NOW + timedelta(minutes=1))
    assert sum(m.subject == "Hello from Expo follow-up" for m in mail.outbox) == 41
    assert not any(m.to == ["gone@example.com"] for m in mail.outbox)


def test_bulk_entry_is_a_few_statements_whatever_the_number_of_leads(
    django_assert_max_num_queries: Any,
) -> None:
    expo = journey(Trigger.Kind.IMPORT, name="Expo")
    leads = LeadFactory.create_batch(300)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(8):
        made = triggers.enter_journey_in_bulk(
            journey=expo, lead_ids=[lead.pk for lead in leads], trigger="CSV import: big.csv"
        )
    assert len(made) == 300
    again = triggers.enter_journey_in_bulk(journey=expo, lead_ids=[leads[0].pk], trigger="x")
    assert again == [], "a lead in the journey is not entered twice"
    Sequence.objects.filter(pk=expo.pk).update(status=Sequence.Status.PAUSED)
    with pytest.raises(triggers.JourneyRefused, match="paused"):
        triggers.enter_journey_in_bulk(journey=expo, lead_ids=[leads[0].pk], trigger="x")


def test_an_import_into_a_paused_journey_imports_the_leads_and_enters_none(
    django_capture_on_commit_callbacks: Any,
) -> None:
    paused = journey(Trigger.Kind.IMPORT, name="Paused", status=Sequence.Status.PAUSED)
    with time_machine.travel(NOW, tick=False):
        _import(
            "ada@example.com,,,,,,,\n",
            sequence=paused,
            django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
        )
    assert Lead.objects.filter(email="ada@example.com").exists()
    assert not Enrollment.objects.exists()
