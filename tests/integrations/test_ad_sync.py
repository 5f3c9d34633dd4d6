"""Segments synced to Meta Custom Audiences and Google Ads Customer Match: the real client
code against local fakes of both APIs that check request shapes, tokens and hashing."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from capture.models import Lead
from integrations.models import AudienceMember, AudienceSync, AudienceSyncRun
from integrations.services import ad_sync
from integrations.services.ad_platforms import google_hashes, meta_hashes
from integrations.services.privacy import ERASED_DOMAIN, erase_lead
from nurture.models import Suppression
from segments.models import Segment, SegmentMember
from segments.services import refresh_segment
from tests.factories import LeadFactory
from tests.integrations.factories import marketer, sales_rep
from tests.integrations.fake_ads import META_TOKEN, GoogleHandler, MetaHandler, serve, sha

pytestmark = pytest.mark.django_db
HOT = {"match": "all", "conditions": [{"field": "temperature", "op": "is", "value": "hot"}]}


@pytest.fixture(autouse=True)
def _local_fakes_allowed(settings: Any) -> None:
    # The fakes listen on 127.0.0.1: the outbound client's SSRF guard would refuse them.
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def meta(settings: Any) -> Iterator[Any]:
    with serve(MetaHandler) as (url, state):
        settings.ADS_META_API_URL = f"{url}/v25.0"
        settings.ADS_META_ACCESS_TOKEN = META_TOKEN
        settings.ADS_META_AD_ACCOUNT_ID = "act_1234567"
        yield state


@pytest.fixture
def google(settings: Any) -> Iterator[Any]:
    with serve(GoogleHandler) as (url, state):
        settings.ADS_GOOGLE_API_URL = f"{url}/v22"
        settings.ADS_GOOGLE_TOKEN_URL = f"{url}/token"
        settings.ADS_GOOGLE_DEVELOPER_TOKEN = "dev-token"
        settings.ADS_GOOGLE_CUSTOMER_ID = "123-456-7890"
        settings.ADS_GOOGLE_LOGIN_CUSTOMER_ID = "111-222-3333"
        settings.ADS_GOOGLE_CLIENT_ID = "client"
        settings.ADS_GOOGLE_CLIENT_SECRET = "secret"
        settings.ADS_GOOGLE_REFRESH_TOKEN = "rt-1"
        yield state


@pytest.fixture
def hot_segment() -> Segment:
    return Segment.objects.create(name="Hot leads", conditions=HOT)


def _lead(email: str, *, hot: bool = True, phone: str = "", consent: bool = True) -> Lead:
    return LeadFactory(
        email=email,
        phone=phone,
        temperature="hot" if hot else "cold",
        consent_given_at=timezone.now() if consent else None,
    )


def _refresh(segment: Segment) -> None:
    refresh_segment(segment_id=segment.pk)
    hot = set(
        Lead.objects.filter(temperature="hot")
        .exclude(email__endswith="@" + ERASED_DOMAIN)
        .values_list("pk", flat=True)
    )
    held = set(SegmentMember.objects.filter(segment=segment).values_list("lead_id", flat=True))
    assert held == hot, "the segment's own refresh keeps its members"


def test_hashing_follows_each_platforms_rules() -> None:
    assert meta_hashes(email="  Ada.L@Gmail.com ", phone="+44 20").email == sha("ada.l@gmail.com")
    assert meta_hashes(email="a@b.co", phone="+442079460000").phone == sha("442079460000")
    google = google_hashes(email=" Ada.L@Gmail.com", phone="+442079460000")
    assert google.email == sha("adal@gmail.com"), "Google drops gmail's dots"
    assert google.phone == sha("+442079460000"), "E.164 with its +"
    assert google_hashes(email="ada.l@example.com", phone="020 7946").email == sha(
        "ada.l@example.com"
    )
    assert google_hashes(email="a@b.co", phone="020 7946").phone == "", "not E.164: not sent"


def test_meta_first_sync_creates_the_audience_and_adds_the_members(
    meta: Any, hot_segment: Segment
) -> None:
    _lead("ada@example.com", phone="+442079460000")
    _lead("grace@example.com")
    _lead("cold@example.com", hot=False)
    _lead("noconsent@example.com", consent=False)
    _refresh(hot_segment)
    sync = AudienceSync.objects.create(segment=hot_segment, platform="meta")
    run = ad_sync.sync_audience(sync_id=sync.pk)
    assert (run.status, run.added, run.removed, run.error) == ("done", 2, 0, "")
    assert meta.errors == []
    sync.refresh_from_db()
    assert sync.audience_id in meta.audiences
    create = next(call for call in meta.calls if call[1].endswith("/customaudiences"))
    assert create[1] == "/v25.0/act_1234567/customaudiences"
    assert create[2]["name"] == "leadfunnel: Hot leads"
    assert meta.audiences[sync.audience_id] == {
        (sha("ada@example.com"), sha("442079460000")),
        (sha("grace@example.com"), ""),
    }
    # Nothing changed: the next run sends nothing at all.
    calls = len(meta.calls)
    assert ad_sync.sync_audience(sync_id=sync.pk).added == 0
    assert len(meta.calls) == calls


def test_leads_who_leave_change_or_are_suppressed_or_erased_are_removed(
    meta: Any, hot_segment: Segment
) -> None:
    ada = _lead("ada@example.com")
    grace = _lead("grace@example.com")
    _lead("linus@example.com")
    joan = _lead("joan@example.com")
    _refresh(hot_segment)
    sync = AudienceSync.objects.create(segment=hot_segment, platform="meta")
    ad_sync.sync_audience(sync_id=sync.pk)
    sync.refresh_from_db()
    Lead.objects.filter(pk=ada.pk).update(temperature="cold")  # leaves the segment
    Lead.objects.filter(pk=grace.pk).update(email="grace@hopper.example")  # a new address
    Suppression.objects.create(email="linus@example.com", reason="unsubscribed")
    erase_lead(lead_id=joan.pk, actor=None, reason="asked")
    _refresh(hot_segment)
    run = ad_sync.sync_audience(sync_id=sync.pk)
    assert (run.status, run.error) == ("done", "")
    assert meta.errors == []
    assert meta.audiences[sync.audience_id] == {(sha("grace@hopper.example"), "")}
    assert (run.added, run.removed) == (1, 4)
    deletes = [call for call in meta.calls if call[0] == "DELETE"]
    assert deletes and all(call[1] == f"/v25.0/{sync.audience_id}/users" for call in deletes)
    assert list(AudienceMember.objects.filter(sync=sync).values_list("lead_id", flat=True)) == [
        grace.pk
    ]


def test_a_failed_run_is_logged_and_the_next_sends_only_what_is_missing(
    meta: Any, hot_segment: Segment, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integrations.services import ad_platforms

    monkeypatch.setattr(ad_platforms.MetaAudiences, "batch", 2)
    for n in range(5):
        _lead(f"lead{n}@example.com")
    _refresh(hot_segment)
    sync = AudienceSync.objects.create(segment=hot_segment, platform="meta")
    ad_sync.sync_audience(sync_id=sync.pk)  # creates the audience, adds all five
    sync.refresh_from_db()
    for n in range(5, 10):
        _lead(f"lead{n}@example.com")
    _refresh(hot_segment)
    original = MetaHandler._handle
    seen = {"posts": 0}

    def flaky(self: Any, method: str) -> None:
        if method == "POST" and self.path.endswith("/users"):
            seen["posts"] += 1
            if seen["posts"] == 2:
                self.state.fail_next = 1
        original(self, method)

    monkeypatch.setattr(MetaHandler, "_handle", flaky)
    failed = ad_sync.sync_audience(sync_id=sync.pk)
    assert failed.status == "failed"
    assert "HTTP 500" in failed.error and "Service temporarily unavailable" in failed.error
    assert failed.added == 2, "the batch the platform took is recorded"
    monkeypatch.setattr(MetaHandler, "_handle", original)
    again = ad_sync.sync_audience(sync_id=sync.pk)
    assert (again.status, again.added) == ("done", 3)
    assert len(meta.audiences[sync.audience_id]) == 10
    assert AudienceMember.objects.filter(sync=sync).count() == 10


def test_a_bad_token_fails_with_the_platforms_message(
    meta: Any, hot_segment: Segment, settings: Any
) -> None:
    settings.ADS_META_ACCESS_TOKEN = "wrong"
    _lead("ada@example.com")
    _refresh(hot_segment)
    sync = AudienceSync.objects.create(segment=hot_segment, platform="meta")
    run = ad_sync.sync_audience(sync_id=sync.pk)
    assert run.status == "failed"
    assert "HTTP 401: Invalid OAuth access token." in run.error
    assert not AudienceMember.objects.exists()


def test_the_platform_calls_go_through_the_ssrf_guarded_client(
    meta: Any, hot_segment: Segment, settings: Any
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    _lead("ada@example.com")
    _refresh(hot_segment)
    sync = AudienceSync.objects.create(segment=hot_segment, platform="meta")
    run = ad_sync.sync_audience(sync_id=sync.pk)
    assert run.status == "failed"
    assert "Meta: create the audience: Refused: 127.0.0.1 points to 127.0.0.1" in run.error
    assert meta.calls == [], "nothing left the server"


def test_an_unreachable_platform_fails_the_run_with_the_reason(
    hot_segment: Segment, settings: Any
) -> None:
    with serve(MetaHandler) as (url, _state):
        pass  # closed again: nothing listens on that port now
    settings.ADS_META_API_URL = f"{url}/v25.0"
    settings.ADS_META_ACCESS_TOKEN = META_TOKEN
    settings.ADS_META_AD_ACCOUNT_ID = "act_1234567"
    _lead("ada@example.com")
    _refresh(hot_segment)
    sync = AudienceSync.objects.create(segment=hot_segment, platform="meta")
    run = ad_sync.sync_audience(sync_id=sync.pk)
    assert run.status == "failed"
    assert "Meta: create the audience: Could not connect" in run.error


def test_missing_credentials_fail_the_run_with_what_to_set(
    hot_segment: Segment, settings: Any
) -> None:
    settings.ADS_GOOGLE_REFRESH_TOKEN = ""
    sync = AudienceSync.objects.create(segment=hot_segment, platform="google")
    run = ad_sync.sync_audience(sync_id=sync.pk)
    assert run.status == "failed"
    assert "ADS_GOOGLE_REFRESH_TOKEN" in run.error


def test_google_creates_the_list_and_uploads_adds_and_removals_in_one_job(
    google: Any, hot_segment: Segment
) -> None:
    ada = _lead("Ada.Lovelace@gmail.com", phone="+442079460000")
    _lead("grace@example.com")
    _refresh(hot_segment)
    sync = AudienceSync.objects.create(segment=hot_segment, platform="google")
    run = ad_sync.sync_audience(sync_id=sync.pk)
    assert (run.status, run.error, run.added) == ("done", "", 2)
    assert google.errors == []
    sync.refresh_from_db()
    assert google.audiences[sync.audience_id] == {
        (sha("adalovelace@gmail.com"), sha("+442079460000")),
        (sha("grace@example.com"), ""),
    }
    (job,) = google.jobs.values()
    assert job["ran"] and job["consent"] == {
        "adUserData": "GRANTED",
        "adPersonalization": "GRANTED",
    }
    Lead.objects.filter(pk=ada.pk).update(temperature="cold")
    _lead("linus@example.com")
    _refresh(hot_segment)
    run = ad_sync.sync_audience(sync_id=sync.pk)
    assert (run.status, run.added, run.removed) == ("done", 1, 1)
    assert google.audiences[sync.audience_id] == {
        (sha("grace@example.com"), ""),
        (sha("linus@example.com"), ""),
    }
    assert len(google.jobs) == 2 and all(job["ran"] for job in google.jobs.values())
    tokens = [call for call in google.calls if call[1] == "/token"]
    assert len(tokens) == 2, "one sign-in per run"


def test_the_schedule_syncs_every_enabled_sync(meta: Any, hot_segment: Segment) -> None:
    _lead("ada@example.com")
    _refresh(hot_segment)
    on = AudienceSync.objects.create(segment=hot_segment, platform="meta")
    off = AudienceSync.objects.create(
        segment=Segment.objects.create(name="Other", conditions=HOT),
        platform="meta",
        enabled=False,
    )
    assert ad_sync.sync_due() == 1
    assert AudienceSyncRun.objects.filter(sync=on, status="done").count() == 1
    assert not AudienceSyncRun.objects.filter(sync=off).exists()


def test_a_marketer_syncs_now_from_the_admin_and_reads_the_log(
    meta: Any, hot_segment: Segment, client: Client
) -> None:
    # Tasks run inline in the test settings (CELERY_TASK_ALWAYS_EAGER): the action's task
    # has run when the response comes back.
    _lead("ada@example.com")
    _refresh(hot_segment)
    sync = AudienceSync.objects.create(segment=hot_segment, platform="meta")
    client.force_login(marketer())
    changelist = reverse("admin:integrations_audiencesync_changelist")
    response = client.post(
        changelist, {"action": "sync_now", "_selected_action": [sync.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Sync started: Hot leads → Meta Custom Audiences" in response.content.decode()
    run = AudienceSyncRun.objects.get(sync=sync)
    assert (run.trigger, run.status, run.added) == ("manual", "done", 1)
    page = client.get(reverse("admin:integrations_audiencesync_change", args=[sync.pk]))
    html = page.content.decode()
    assert "Save and sync now" in html
    assert "People on the platform" in html
    listing = client.get(changelist).content.decode()
    assert "Done: +1 / −0" in listing


def test_sales_reps_cannot_see_or_run_audience_syncs(hot_segment: Segment, client: Client) -> None:
    sync = AudienceSync.objects.create(segment=hot_segment, platform="meta")
    client.force_login(sales_rep())
    assert client.get(reverse("admin:integrations_audiencesync_changelist")).status_code in (
        302,
        403,
    )
    response = client.post(
        reverse("admin:integrations_audiencesync_changelist"),
        {"action": "sync_now", "_selected_action": [sync.pk]},
    )
    assert response.status_code in (302, 403)
    assert not AudienceSyncRun.objects.exists()
