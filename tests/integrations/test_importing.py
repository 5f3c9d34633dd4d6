"""CSV import: validation, dry run, dedupe policies, consent, enrollment, chunks and progress."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from capture.models import Activity, Lead
from integrations.models import LeadImport
from integrations.services import importing
from nurture.models import Delivery, Enrollment, Suppression
from tests.factories import (
    CampaignFactory,
    FitRuleFactory,
    LeadFactory,
    playbook_sequence,
)
from tests.integrations.factories import marketer

pytestmark = pytest.mark.django_db

HEADER = "Email,First Name,Last Name,Company,Job Title,Time zone,Country,Campaign\n"
CONSENT = "Met us at the 2026 expo and asked to hear from us."


@pytest.fixture
def user() -> User:
    return marketer()


def upload(user: User, body: str, *, header: str = HEADER, name: str = "leads.csv") -> LeadImport:
    return importing.create_import(file_name=name, raw=(header + body).encode(), user=user)


def mapped(lead_import: LeadImport, **options: Any) -> LeadImport:
    return importing.save_mapping(
        lead_import=lead_import,
        mapping=lead_import.mapping,
        dedupe=options.get("dedupe", LeadImport.Dedupe.FILL_EMPTY),
        sequence=options.get("sequence"),
        consent_text=CONSENT,
    )


@pytest.fixture
def run(django_capture_on_commit_callbacks: Any) -> Callable[[LeadImport], LeadImport]:
    """Start the import and run what it queues on commit (Celery is eager in tests)."""

    def start(lead_import: LeadImport) -> LeadImport:
        with django_capture_on_commit_callbacks(execute=True):
            importing.start_run(import_id=lead_import.pk, dry_run=False)
        lead_import.refresh_from_db()
        return lead_import

    return start


Runner = Callable[[LeadImport], LeadImport]


class WorkerLost(BaseException):
    """A killed worker: nothing in the process gets to handle it."""


def test_it_guesses_the_mapping_from_the_headers(user: User) -> None:
    lead_import = upload(user, "ada@example.com,Ada,Lovelace,AE,CEO,Europe/London,GB,\n")

    assert lead_import.mapping == {
        "Email": "email", "First Name": "first_name", "Last Name": "last_name",
        "Company": "company", "Job Title": "job_title", "Time zone": "time_zone",
        "Country": "country", "Campaign": "campaign",
    }  # fmt: skip
    assert lead_import.total_rows == 1
    assert lead_import.status == LeadImport.Status.UPLOADED


def test_it_reads_excel_utf8_with_a_bom_and_semicolons(user: User) -> None:
    raw = "\ufeffE-mail;Vorname\r\njürgen@example.de;Jürgen\r\n\r\nzoë@example.com;Zoë\r\n"

    lead_import = importing.create_import(file_name="x.csv", raw=raw.encode(), user=user)

    assert lead_import.delimiter == ";"
    assert lead_import.headers == ["E-mail", "Vorname"]
    assert lead_import.mapping == {"E-mail": "email"}
    assert lead_import.total_rows == 2  # the blank line is not a row


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("email\n".encode("utf-16"), "not UTF-8"),
        (b"", "empty"),
        (b"email\n", "no leads"),
        (b"email\n" + b"a@example.com\n" * 10, "larger than"),
    ],
)
def test_it_refuses_a_file_it_cannot_import(
    user: User, raw: bytes, message: str, settings: Any
) -> None:
    settings.INTEGRATIONS_IMPORT_MAX_BYTES = 100

    with pytest.raises(importing.ImportFileError, match=message):
        importing.create_import(file_name="x.csv", raw=raw, user=user)

    assert not LeadImport.objects.exists()


def test_the_dry_run_reports_row_errors_and_counts_and_writes_nothing(user: User) -> None:
    LeadFactory(email="known@example.com", company="")
    campaign = CampaignFactory(utm_campaign="expo-2026")
    body = (
        "new@example.com,New,Lead,Acme,CTO,Europe/Paris,FR,expo-2026\n"  # row 2: fine
        "not-an-email,Bad,Email,,,,,\n"  # row 3
        f"long@example.com,{'x' * 101},,,,,,\n"  # row 4: first name too long
        "NEW@example.com ,Again,,,,,,\n"  # row 5: duplicate of row 2 once normalised
        "tz@example.com,,,,,Mars/Olympus,,\n"  # row 6: bad time zone
        "known@example.com,,,Filled Ltd,,,,\n"  # row 7: existing lead, empty company filled
        "country@example.com,,,,,,Atlantis,nope\n"  # row 8: bad country, unknown campaign
    )
    lead_import = mapped(upload(user, body))
    leads_before = list(Lead.objects.values_list("pk", "email", "company", "updated_at"))

    result = importing.dry_run_now(import_id=lead_import.pk)

    assert result.status == LeadImport.Status.DRY_RUN
    assert result.is_dry_run
    assert (result.total_rows, result.processed_rows) == (7, 7)
    assert (result.created_count, result.updated_count, result.skipped_count) == (1, 1, 0)
    assert result.error_count == 5
    problems = {(error["row"], error["field"]) for error in result.row_errors}
    assert problems == {
        (3, "email"), (4, "first_name"), (5, "email"), (6, "time_zone"),
        (8, "country"), (8, "campaign"),
    }  # fmt: skip
    duplicate = next(error for error in result.row_errors if error["row"] == 5)
    assert duplicate["message"] == "Duplicate of row 2 in this file."
    assert list(Lead.objects.values_list("pk", "email", "company", "updated_at")) == leads_before
    assert not Activity.objects.exists()
    assert campaign.leads.count() == 0


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
    assert lead.score == 40  # scored by the set-based pass queued at the end


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
    existing = LeadFactory(email="ada@example.com", first_name="Ada", company="",
                           job_title="Engineer", campaign=first_touch)  # fmt: skip

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


def test_the_task_works_in_chunks_with_progress_and_resumes_after_a_crash(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    body = "".join(f"lead{n}@example.com,Lead,{n},,,,,\n" for n in range(5))
    lead_import = mapped(upload(user, body))
    seen: list[int] = []
    real_process = importing._process_chunk

    def crash_on_third_chunk(**kwargs: Any) -> bool:
        seen.append(LeadImport.objects.get(pk=lead_import.pk).processed_rows)
        if len(seen) == 3:
            raise WorkerLost
        return real_process(**kwargs)

    importing.start_run(import_id=lead_import.pk, dry_run=False)
    monkeypatch.setattr(importing, "_process_chunk", crash_on_third_chunk)
    with pytest.raises(WorkerLost):
        importing.run_import(import_id=lead_import.pk, budget_seconds=None)

    lead_import.refresh_from_db()
    assert seen == [0, 2, 4]
    assert lead_import.processed_rows == 4  # two committed chunks
    assert Lead.objects.count() == 4

    # A second delivery of the task carries on after the last committed chunk.
    monkeypatch.setattr(importing, "_process_chunk", real_process)
    assert importing.run_import(import_id=lead_import.pk, budget_seconds=None) is True
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.DONE
    assert (lead_import.processed_rows, lead_import.created_count) == (5, 5)
    assert Lead.objects.count() == 5


def test_a_spent_time_budget_hands_the_rest_to_a_new_task(
    user: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
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
    monkeypatch.setattr(importing, "CHUNK_ROWS", 1)
    lead_import = mapped(upload(user, "a@example.com,,,,,,,\nb@example.com,,,,,,,\n"))
    real_write = importing._write_chunk
    calls = []

    def fails_the_second_time(**kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("database hiccup")
        real_write(**kwargs)

    monkeypatch.setattr(importing, "_write_chunk", fails_the_second_time)
    lead_import = run(lead_import)

    assert lead_import.status == LeadImport.Status.FAILED
    assert "database hiccup" in lead_import.failure
    assert lead_import.processed_rows == 1
    assert list(Lead.objects.values_list("email", flat=True)) == ["a@example.com"]
