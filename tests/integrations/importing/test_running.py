"""CSV import, the run: consent, dedupe, enrollment, chunks, progress (importing.running)."""

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from capture.models import Activity, Lead
from capture.signals import activities_recorded, activity_recorded
from integrations.models import LeadImport
from integrations.services import importing
from integrations.services.importing import running
from nurture.models import Delivery, Enrollment, SubscriptionTopic, Suppression, Trigger
from nurture.services import scheduling
from scoring.models import ScoreChange
from segments.models import Segment
from tests.factories import (
    CampaignFactory,
    EngagementRuleFactory,
    FitRuleFactory,
    LeadFactory,
    StepFactory,
    playbook_sequence,
)
from tests.integrations.importing.support import CONSENT, Runner, WorkerLost, mapped, upload
from tests.journeys.triggering import waiting

pytestmark = pytest.mark.django_db


def test_the_import_creates_leads_with_consent_and_skips_bad_rows(user: User, run: Runner) -> None:
    campaign = CampaignFactory(utm_campaign="expo-2026")
    FitRuleFactory(value="director", points=40)
    body = (
        " Ada@Example.com ,Ada,Lovelace,Analytical,Director of Engineering,Europe/London,GB,"
        "expo-2026\n"
        "bad-address,Bad,,,,,,\n"
    )
    lead_import = run(mapped(upload(user, body)))

    assert lead_import.status == LeadImport.Status.DONE
    assert (lead_import.created_count, lead_import.error_count) == (1, 1)
    assert lead_import.csv_text == ""  # the leads hold the data now
    lead = Lead.objects.get()
    assert lead.email == "ada@example.com"
    assert (lead.first_name, lead.company, lead.country.code) == ("Ada", "Analytical", "GB")
    assert (lead.time_zone, lead.campaign, lead.stage) == ("Europe/London", campaign, "new")
    assert lead.consent_given_at is not None
    assert lead.consent_text == CONSENT
    imported = Activity.objects.get(lead=lead)
    assert imported.kind == Activity.Kind.CUSTOM
    assert imported.metadata == {"name": "lead_imported", "import_id": lead_import.pk}
    assert lead.score == 40  # scored set-based when its chunk committed


@pytest.mark.parametrize(
    ("dedupe", "expected_company", "expected_title", "counts"),
    [
        (LeadImport.Dedupe.SKIP, "", "Engineer", (0, 0, 1)),
        (LeadImport.Dedupe.FILL_EMPTY, "New Co", "Engineer", (0, 1, 0)),
        (LeadImport.Dedupe.OVERWRITE, "New Co", "CTO", (0, 1, 0)),
    ],
)
def test_existing_leads_follow_the_dedupe_policy(
    user: User,
    run: Runner,
    dedupe: str,
    expected_company: str,
    expected_title: str,
    counts: tuple[int, ...],
) -> None:
    first_touch = CampaignFactory(utm_campaign="first")
    CampaignFactory(utm_campaign="expo")
    existing = LeadFactory(
        email="ada@example.com",
        first_name="Ada",
        company="",
        job_title="Engineer",
        campaign=first_touch,
    )

    lead_import = run(
        mapped(upload(user, "ADA@example.com,,Lovelace,New Co,CTO,,,expo\n"), dedupe=dedupe)
    )

    existing.refresh_from_db()
    assert (existing.company, existing.job_title) == (expected_company, expected_title)
    assert existing.first_name == "Ada"  # an empty cell never blanks a stored value
    assert existing.campaign == first_touch  # attribution stays first touch
    assert Lead.objects.count() == 1
    got = (lead_import.created_count, lead_import.updated_count, lead_import.skipped_count)
    assert got == counts
    assert (existing.consent_text == CONSENT) is (dedupe != LeadImport.Dedupe.SKIP)


def test_the_import_enrolls_leads_and_leaves_day_one_to_the_dispatcher(
    user: User, run: Runner
) -> None:
    sequence = playbook_sequence()
    already = LeadFactory(email="known@example.com")
    Suppression.objects.create(email="gone@example.com", reason=Suppression.Reason.UNSUBSCRIBED)
    body = "new@example.com,,,,,,,\nknown@example.com,,,,,,,\ngone@example.com,,,,,,,\n"

    run(mapped(upload(user, body), sequence=sequence))

    enrolled = set(Enrollment.objects.values_list("lead__email", flat=True))
    assert enrolled == {"new@example.com", "known@example.com"}  # never a suppressed address
    assert Delivery.objects.filter(enrollment__lead=already).count() == 5
    assert set(Delivery.objects.values_list("status", flat=True)) == {"scheduled"}
    assert Lead.objects.get(email="new@example.com").stage == Lead.Stage.NURTURING


def test_each_lead_is_due_per_its_own_zone(user: User, run: Runner) -> None:
    sequence = playbook_sequence(fallback_time_zone="America/New_York")
    body = "tokyo@example.com,,,,,Asia/Tokyo,,\nunknown@example.com,,,,,,,\n"

    run(mapped(upload(user, body), sequence=sequence))

    zones = (("tokyo@example.com", "Asia/Tokyo"), ("unknown@example.com", "America/New_York"))
    for email, zone in zones:
        enrollment = Enrollment.objects.get(lead__email=email)
        due = {
            delivery.step.day: delivery.due_at
            for delivery in Delivery.objects.filter(enrollment=enrollment).select_related("step")
        }
        assert due == {
            day: scheduling.compute_due_at(
                enrolled_at=enrollment.started_at, day=day, zone=ZoneInfo(zone), sequence=sequence
            )
            for day in (1, 2, 3, 5, 7)
        }, email


def test_a_lead_sales_has_gets_only_the_confirmation_of_a_hand_off_sequence(
    user: User, run: Runner
) -> None:
    sequence = playbook_sequence(hand_hot_leads_to_sales=True)
    LeadFactory(email="called@example.com", stage=Lead.Stage.CONTACTED)
    body = "new@example.com,,,,,,,\ncalled@example.com,,,,,,,\n"

    run(mapped(upload(user, body), sequence=sequence))

    called = Enrollment.objects.get(lead__email="called@example.com")
    assert (called.state, called.exit_reason) == ("exited", "handed_to_sales")
    assert list(called.deliveries.values_list("step__day", "status")) == [(1, "scheduled")]
    new = Enrollment.objects.get(lead__email="new@example.com")
    assert (new.state, new.deliveries.count()) == ("active", 5)


def test_a_lead_outside_the_sequences_topic_gets_day_one_only(user: User, run: Runner) -> None:
    newsletter = SubscriptionTopic.objects.create(
        name="Newsletter", slug="newsletter", requires_opt_in=True
    )
    sequence = playbook_sequence(topic=newsletter)

    run(mapped(upload(user, "new@example.com,,,,,,,\n"), sequence=sequence))

    enrollment = Enrollment.objects.get(lead__email="new@example.com")
    assert enrollment.state == "active"
    assert list(enrollment.deliveries.values_list("step__day", flat=True)) == [1]


def test_a_scoring_rule_on_the_import_scores_each_chunk_as_it_commits(
    user: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(running, "CHUNK_ROWS", 2)
    EngagementRuleFactory(
        name="Imported", activity_kind=Activity.Kind.CUSTOM, pattern="lead_imported", points=10
    )
    FitRuleFactory(name="Director", value="director", points=40)
    elsewhere = LeadFactory(email="elsewhere@example.com", job_title="Director")  # score 0
    body = "".join(f"lead{n}@example.com,,,,Director,,,\n" for n in range(3))
    lead_import = mapped(upload(user, body))
    importing.start_run(import_id=lead_import.pk, dry_run=False)  # its task not run yet

    with django_capture_on_commit_callbacks(execute=True):
        assert importing.run_import(import_id=lead_import.pk, budget_seconds=0) is False

    scores = dict(Lead.objects.values_list("email", "score"))
    assert scores == {"lead0@example.com": 50, "lead1@example.com": 50, "elsewhere@example.com": 0}
    change = ScoreChange.objects.get(lead__email="lead0@example.com")
    assert change.cause == ScoreChange.Cause.ACTIVITY
    assert [reason["text"] for reason in change.reasons] == [
        "Director +40",
        "1 custom event matching lead_imported +10",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert importing.run_import(import_id=lead_import.pk, budget_seconds=None) is True
    assert Lead.objects.get(email="lead2@example.com").score == 50
    elsewhere.refresh_from_db()
    assert elsewhere.score == 0, "an import rescores its own leads, not every lead"


def test_imported_leads_join_their_segments_and_its_journey_as_each_chunk_commits(
    user: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(running, "CHUNK_ROWS", 2)
    directors = Segment.objects.create(
        name="Directors",
        conditions={
            "match": "all",
            "conditions": [{"field": "job_title", "op": "contains", "value": "director"}],
        },
    )
    journey = waiting(Trigger.Kind.SEGMENT, {"segment": directors.pk}, name="Director welcome")
    # Matches too, but is not in this import: the full refresh's business, not the import's.
    elsewhere = LeadFactory(email="elsewhere@example.com", job_title="Director")
    body = "lead0@example.com,,,,Director,,,\nlead1@example.com,,,,Engineer,,,\n"
    body += "lead2@example.com,,,,Sales Director,,,\n"
    lead_import = mapped(upload(user, body))
    importing.start_run(import_id=lead_import.pk, dry_run=False)  # its task not run yet

    with django_capture_on_commit_callbacks(execute=True):
        assert importing.run_import(import_id=lead_import.pk, budget_seconds=0) is False
    members = set(directors.members.values_list("lead__email", flat=True))
    assert members == {"lead0@example.com"}  # the first chunk, as it committed
    with django_capture_on_commit_callbacks(execute=True):
        assert importing.run_import(import_id=lead_import.pk, budget_seconds=None) is True
    members = set(directors.members.values_list("lead__email", flat=True))
    assert members == {"lead0@example.com", "lead2@example.com"}
    entered = Enrollment.objects.filter(sequence=journey).values_list("lead__email", flat=True)
    assert set(entered) == members
    assert not directors.members.filter(lead=elsewhere).exists()


def test_a_day_list_step_without_a_day_is_left_out_of_the_enrollment(
    user: User, run: Runner
) -> None:
    # The day-list admin saves a step with its day left blank (the field is optional for
    # journeys' emails); it has no place in the list, as nurture's to_journey also treats it.
    sequence = playbook_sequence()
    StepFactory(sequence=sequence, day=None)

    lead_import = run(mapped(upload(user, "new@example.com,,,,,,,\n"), sequence=sequence))

    assert lead_import.status == LeadImport.Status.DONE
    days = Delivery.objects.filter(enrollment__lead__email="new@example.com")
    assert sorted(days.values_list("step__day", flat=True)) == [1, 2, 3, 5, 7]


def test_the_task_works_in_chunks_with_progress_and_resumes_after_a_crash(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(running, "CHUNK_ROWS", 2)
    body = "".join(f"lead{n}@example.com,Lead,{n},,,,,\n" for n in range(5))
    lead_import = mapped(upload(user, body))
    seen: list[int] = []
    real_process = running._process_chunk

    def crash_on_third_chunk(**kwargs: Any) -> bool:
        seen.append(LeadImport.objects.get(pk=lead_import.pk).processed_rows)
        if len(seen) == 3:
            raise WorkerLost
        return real_process(**kwargs)

    importing.start_run(import_id=lead_import.pk, dry_run=False)
    monkeypatch.setattr(running, "_process_chunk", crash_on_third_chunk)
    with pytest.raises(WorkerLost):
        importing.run_import(import_id=lead_import.pk, budget_seconds=None)

    lead_import.refresh_from_db()
    assert seen == [0, 2, 4]
    assert lead_import.processed_rows == 4  # two committed chunks
    assert Lead.objects.count() == 4

    # A second delivery of the task carries on after the last committed chunk.
    monkeypatch.setattr(running, "_process_chunk", real_process)
    assert importing.run_import(import_id=lead_import.pk, budget_seconds=None) is True
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.DONE
    assert (lead_import.processed_rows, lead_import.created_count) == (5, 5)
    assert Lead.objects.count() == 5


def test_a_spent_time_budget_hands_the_rest_to_a_new_task(
    user: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(running, "CHUNK_ROWS", 2)
    body = "".join(f"lead{n}@example.com,,,,,,,\n" for n in range(5))
    lead_import = mapped(upload(user, body))
    importing.start_run(import_id=lead_import.pk, dry_run=False)  # its task not run yet

    assert importing.run_import(import_id=lead_import.pk, budget_seconds=0) is False
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.processed_rows) == ("running", 2)
    assert lead_import.percent == 40

    from integrations.tasks import run_import

    with django_capture_on_commit_callbacks(execute=True):
        run_import.delay(lead_import.pk)  # the task re-queues itself until the file ends
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.processed_rows) == ("done", 5)


def test_a_failing_chunk_marks_the_import_failed_and_keeps_earlier_chunks(
    user: User, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(running, "CHUNK_ROWS", 1)
    lead_import = mapped(upload(user, "a@example.com,,,,,,,\nb@example.com,,,,,,,\n"))
    real_write = running._write_chunk
    calls = []

    def fails_the_second_time(**kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("database hiccup")
        real_write(**kwargs)

    monkeypatch.setattr(running, "_write_chunk", fails_the_second_time)
    lead_import = run(lead_import)

    assert lead_import.status == LeadImport.Status.FAILED
    assert "database hiccup" in lead_import.failure
    assert lead_import.processed_rows == 1
    assert list(Lead.objects.values_list("email", flat=True)) == ["a@example.com"]


def test_leads_and_their_activity_are_written_through_captures_import_leads(
    user: User, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from capture import services as capture_services

    LeadFactory(email="known@example.com", company="")
    LeadFactory(email="same@example.com", company="Kept")
    batches: list[int] = []

    def counted(**kwargs: Any) -> capture_services.ImportedLeads:
        batches.append(len(kwargs["rows"]))
        return capture_services.import_leads(**kwargs)

    monkeypatch.setattr(running, "import_leads", counted)
    body = (
        "new@example.com,New,,,,,,\nknown@example.com,,,Filled Ltd,,,,\nsame@example.com,,,,,,,\n"
    )
    lead_import = run(mapped(upload(user, body), dedupe=LeadImport.Dedupe.SKIP))

    assert batches == [3], "one set-based call per chunk"
    assert (lead_import.created_count, lead_import.skipped_count) == (1, 2)
    touched = Activity.objects.filter(metadata__name="lead_imported")
    assert list(touched.values_list("lead__email", flat=True)) == ["new@example.com"], (
        "an activity for each lead created or changed, none for the skipped"
    )


def test_import_leads_merges_existing_leads_through_the_callers_policy(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.utils import timezone

    from capture.services import import_leads

    known = LeadFactory(email="known@example.com", company="")
    untouched = LeadFactory(email="same@example.com", company="Kept")
    seen: list[str] = []

    def fill_company(lead: Lead, values: Any) -> bool:
        seen.append(lead.email)
        if lead.company or not values.get("company"):
            return False
        lead.company = values["company"]
        return True

    heard: list[dict[str, Any]] = []
    activities_recorded.connect(
        lambda **facts: heard.append(facts), dispatch_uid="tests.batch", weak=False
    )
    activity_recorded.connect(
        lambda **facts: heard.append(facts), dispatch_uid="tests.one", weak=False
    )
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        result = import_leads(
            rows={
                "new@example.com": {"email": "new@example.com", "first_name": "New"},
                "known@example.com": {"email": "known@example.com", "company": "Filled Ltd"},
                "same@example.com": {"email": "same@example.com", "company": "Other"},
            },
            merge=fill_company,
            columns=["company"],
            consent_text=CONSENT,
            activity={"name": "lead_imported", "import_id": 7},
            now=now,
        )
    activities_recorded.disconnect(dispatch_uid="tests.batch")
    activity_recorded.disconnect(dispatch_uid="tests.one")
    [fact] = heard  # one announcement for the batch, none per lead
    assert (fact["signal"], fact["kind"]) == (activities_recorded, Activity.Kind.CUSTOM)
    assert fact["metadata"] == {"name": "lead_imported", "import_id": 7}
    assert sorted(fact["lead_ids"]) == sorted(result.touched_ids)
    assert sorted(seen) == ["known@example.com", "same@example.com"]
    assert [email for _id, email, _zone in result.created] == ["new@example.com"]
    assert [lead.pk for lead in result.changed] == [known.pk]
    created = Lead.objects.get(email="new@example.com")
    assert (created.first_name, created.consent_text, created.stage) == ("New", CONSENT, "new")
    known.refresh_from_db()
    untouched.refresh_from_db()
    assert (known.company, untouched.company) == ("Filled Ltd", "Kept")
    assert sorted(result.touched_ids) == sorted([created.pk, known.pk])
    assert Activity.objects.filter(metadata={"name": "lead_imported", "import_id": 7}).count() == 2
