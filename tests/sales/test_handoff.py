"""A lead turning hot is handed to one rep, who is told once per hot episode."""

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from capture.models import Lead
from sales.models import Handoff, LeadChange, RepProfile, SalesSettings
from sales.selectors import rep_speed_to_contact
from sales.services import handoff as handoff_service
from sales.services.handoff import open_handoff
from scoring.models import ScoreChange
from scoring.services import score_lead
from scoring.signals import temperature_changed
from tests.factories import FitRuleFactory, LeadFactory, UserFactory, marketer
from tests.sales.support import make_rep
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    """The Slack-style webhook: a real HTTP server on 127.0.0.1, allowed as in development."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


def _texts(receiver: Receiver) -> list[str]:
    return [request.json["text"] for request in receiver.received]


def _hot(**fields: Any) -> Lead:
    return LeadFactory(temperature="hot", score=75, **fields)


def _turn(lead: Lead, *, old: str, new: str, callbacks: Any) -> None:
    """What scoring announces on commit, with our on-commit work run too."""
    Lead.objects.filter(pk=lead.pk).update(temperature=new)
    with callbacks(execute=True):
        temperature_changed.send(sender=ScoreChange, lead_id=lead.pk, old=old, new=new)


def test_hot_leads_go_round_robin_to_the_least_recently_assigned_rep(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ann, bob, cat = make_rep("ann"), make_rep("bob"), make_rep("cat")
    make_rep("dan", takes_leads=False)
    gone = make_rep("eve")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    not_a_rep = marketer()
    RepProfile.objects.create(user=not_a_rep)
    leads = [_hot() for _ in range(4)]
    picked = []
    for minute, lead in enumerate(leads):
        with django_capture_on_commit_callbacks(execute=True):
            handoff = open_handoff(lead_id=lead.pk, now=NOW + timedelta(minutes=minute))
        assert handoff is not None
        picked.append(handoff.rep)
    assert picked == [ann, bob, cat, ann]
    assert [Lead.objects.get(pk=lead.pk).owner for lead in leads] == picked
    change = LeadChange.objects.get(lead=leads[0], field="owner")
    assert (change.old_value, change.new_value, change.actor) == ("", "ann", None)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        f"{rep.username}@leadfunnel.example" for rep in picked
    )


def test_the_current_owner_keeps_a_lead_that_turns_hot(
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_rep("ann")
    bob = make_rep("bob")
    lead = _hot(owner=bob)
    with django_capture_on_commit_callbacks(execute=True):
        handoff = open_handoff(lead_id=lead.pk)
    assert handoff is not None and handoff.rep == bob
    assert not LeadChange.objects.filter(lead=lead).exists()
    assert [m.to for m in mail.outbox] == [[bob.email]]
    assert RepProfile.objects.get(user=bob).last_assigned_at is not None


def test_one_notification_per_hot_episode(
    django_capture_on_commit_callbacks: Any, receiver: Receiver
) -> None:
    SalesSettings.objects.create(webhook_url=receiver.url)
    ann = make_rep("ann")
    lead = _hot(first_name="Maria", last_name="Gonzalez", company="Northwind")
    for _ in range(3):  # a storm of rescorings announcing the same change
        _turn(lead, old="warm", new="hot", callbacks=django_capture_on_commit_callbacks)
    assert Handoff.objects.filter(lead=lead).count() == 1
    assert len(mail.outbox) == 1
    [text] = _texts(receiver)
    lead_url = reverse("sales:lead", args=[lead.pk])
    assert lead_url in text
    assert "Maria Gonzalez (Northwind)" in text
    [request] = receiver.received
    assert request.path == "/hooks" and request.headers["content-type"] == "application/json"

    message = mail.outbox[0]
    assert message.to == [ann.email]
    assert "Maria Gonzalez" in message.subject and "score 75" in message.subject
    assert lead_url in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and lead_url in html
    assert Handoff.objects.get(lead=lead).notified_at is not None

    _turn(lead, old="hot", new="warm", callbacks=django_capture_on_commit_callbacks)
    assert Handoff.objects.get(lead=lead).ended_at is not None
    _turn(lead, old="warm", new="hot", callbacks=django_capture_on_commit_callbacks)
    assert Handoff.objects.filter(lead=lead).count() == 2, "a new episode"
    assert len(mail.outbox) == 2 and len(receiver.received) == 2


def test_the_webhook_text_escapes_what_the_prospect_typed(
    django_capture_on_commit_callbacks: Any, receiver: Receiver
) -> None:
    SalesSettings.objects.create(webhook_url=receiver.url)
    make_rep("ann")
    lead = _hot(
        first_name="<!channel>",
        last_name="Tom & Jerry",
        company="<https://evil.example|Open lead>",
    )

    _turn(lead, old="warm", new="hot", callbacks=django_capture_on_commit_callbacks)

    [text] = _texts(receiver)
    assert text.startswith(
        "Hot lead: &lt;!channel&gt; Tom &amp; Jerry (&lt;https://evil.example|Open lead&gt;), "
        "score 75. Assigned to ann."
    )
    assert "<" not in text and ">" not in text
    assert text.endswith(reverse("sales:lead", args=[lead.pk]))


def test_a_stale_announcement_changes_nothing(django_capture_on_commit_callbacks: Any) -> None:
    make_rep("ann")
    lead = LeadFactory(temperature="warm")
    with django_capture_on_commit_callbacks(execute=True):
        temperature_changed.send(sender=ScoreChange, lead_id=lead.pk, old="warm", new="hot")
    assert not Handoff.objects.exists() and not mail.outbox


def test_a_failing_webhook_is_logged_and_the_email_still_goes(
    django_capture_on_commit_callbacks: Any, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.statuses = [503]
    SalesSettings.objects.create(webhook_url=receiver.url)
    make_rep("ann")
    lead = _hot()
    with caplog.at_level(logging.ERROR, logger="sales.services.handoff"):
        _turn(lead, old="warm", new="hot", callbacks=django_capture_on_commit_callbacks)
    assert "webhook POST failed: The receiver answered 503." in caplog.text
    assert len(receiver.received) == 1 and len(mail.outbox) == 1
    assert Handoff.objects.get(lead=lead).notified_at is not None


@pytest.mark.parametrize(
    ("origin", "refusal"),
    [
        ("http://127.0.0.1", "127.0.0.1 points to 127.0.0.1, a private or reserved address"),
        ("https://[::ffff:127.0.0.1]", "(it carries the IPv4 address 127.0.0.1)"),
        ("https://[::7f00:1]", "(it carries the IPv4 address 127.0.0.1)"),
    ],
)
def test_the_webhook_is_not_posted_to_a_private_address(
    django_capture_on_commit_callbacks: Any,
    receiver: Receiver,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    origin: str,
    refusal: str,
) -> None:
    """SSRF: the hand-off's webhook goes through the guard outbound webhooks go through."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False  # production
    # Saved without the admin's validation, as rows from before the guard were.
    SalesSettings.objects.create(webhook_url=f"{origin}:{receiver.port}/hooks")
    ann = make_rep("ann")
    lead = _hot()
    with caplog.at_level(logging.ERROR, logger="sales.services.handoff"):
        _turn(lead, old="warm", new="hot", callbacks=django_capture_on_commit_callbacks)
    assert receiver.received == [], "nothing reached the private address"
    [record] = [r for r in caplog.records if "webhook POST failed" in r.getMessage()]
    assert "Refused: " in record.getMessage() and refusal in record.getMessage()
    assert [m.to for m in mail.outbox] == [[ann.email]], "the rep is still told by email"


def test_no_webhook_is_called_unless_one_is_set(
    django_capture_on_commit_callbacks: Any, receiver: Receiver
) -> None:
    make_rep("ann")
    _turn(_hot(), old="cold", new="hot", callbacks=django_capture_on_commit_callbacks)
    assert receiver.received == [] and len(mail.outbox) == 1


def test_with_round_robin_off_an_unowned_hot_lead_waits_unassigned(
    django_capture_on_commit_callbacks: Any, receiver: Receiver
) -> None:
    SalesSettings.objects.create(round_robin=False, webhook_url=receiver.url)
    make_rep("ann")
    lead = _hot()
    _turn(lead, old="warm", new="hot", callbacks=django_capture_on_commit_callbacks)
    handoff = Handoff.objects.get(lead=lead)
    assert handoff.rep is None and Lead.objects.get(pk=lead.pk).owner is None
    assert not mail.outbox
    [text] = _texts(receiver)
    assert "Assigned to nobody yet" in text


def test_scoring_a_lead_hot_hands_it_off(django_capture_on_commit_callbacks: Any) -> None:
    FitRuleFactory(points=70)  # “job title contains director”: hot at 60
    ann = make_rep("ann")
    lead = LeadFactory(job_title="Director of Sales")
    with django_capture_on_commit_callbacks(execute=True):
        score_lead(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.temperature == "hot" and lead.owner == ann
    assert Handoff.objects.get(lead=lead).rep == ann
    assert len(mail.outbox) == 1


def test_a_failing_hand_off_never_breaks_the_announcer(
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(handoff_service, "open_handoff", broken)
    lead = _hot()
    with caplog.at_level(logging.ERROR):
        _turn(lead, old="warm", new="hot", callbacks=django_capture_on_commit_callbacks)
    assert "Hand-off of lead" in caplog.text


def test_the_first_call_is_the_first_contact_and_reps_see_their_median_speed(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, bob = make_rep("ann"), make_rep("bob")
    now = datetime.now(tz=UTC)
    for rep, minutes in ((ann, 10), (ann, 20), (ann, 60), (bob, 5), (bob, 15)):
        hot_at = now - timedelta(days=1)
        Handoff.objects.create(
            lead=LeadFactory(),
            rep=rep,
            turned_hot_at=hot_at,
            ended_at=now,
            first_contact_at=hot_at + timedelta(minutes=minutes),
        )
    Handoff.objects.create(lead=LeadFactory(), rep=bob, turned_hot_at=now - timedelta(hours=2))
    # Too old to count: the figure covers the last 30 days.
    Handoff.objects.create(
        lead=LeadFactory(),
        rep=ann,
        turned_hot_at=now - timedelta(days=90),
        first_contact_at=now - timedelta(days=80),
    )
    speeds = {s.rep: (s.median, s.episodes) for s in rep_speed_to_contact(now=now)}
    assert speeds == {"ann": (timedelta(minutes=20), 3), "bob": (timedelta(minutes=10), 3)}
    monkeypatch.setattr("sales.selectors.stats.database_has_median", lambda: False)
    python = {s.rep: (s.median, s.episodes) for s in rep_speed_to_contact(now=now)}
    assert python == speeds, "SQLite's Python medians agree with percentile_cont"

    client.force_login(ann)
    html = client.get(reverse("sales:dashboard")).content.decode()
    speed_table = html[html.index('id="speed"') :]
    assert '<td>ann</td><td class="text-end">20 min</td><td class="text-end">3</td>' in speed_table
    assert '<td>bob</td><td class="text-end">10 min</td><td class="text-end">3</td>' in speed_table


@pytest.mark.django_db(transaction=True)
def test_two_leads_turning_hot_at_once_go_to_two_reps() -> None:
    ann, bob = make_rep("ann"), make_rep("bob")
    SalesSettings.load()  # already there: its row lock, not its creation, must serialise
    leads = [_hot(), _hot()]
    barrier = threading.Barrier(len(leads))
    errors: list[BaseException] = []

    def hand_off(lead: Lead) -> None:
        try:
            barrier.wait(timeout=10)
            open_handoff(lead_id=lead.pk)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=hand_off, args=(lead,)) for lead in leads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(Handoff.objects.values_list("rep__username", flat=True)) == ["ann", "bob"]
    assert {Lead.objects.get(pk=lead.pk).owner for lead in leads} == {ann, bob}


def test_an_inactive_owner_does_not_keep_the_lead(django_capture_on_commit_callbacks: Any) -> None:
    ann = make_rep("ann")
    former = UserFactory(is_active=False)
    lead = _hot(owner=former)
    with django_capture_on_commit_callbacks(execute=True):
        handoff = open_handoff(lead_id=lead.pk)
    assert handoff is not None and handoff.rep == ann
    change = LeadChange.objects.get(lead=lead, field="owner")
    assert (change.old_value, change.new_value) == (former.username, "ann")


def test_the_dashboard_computes_rep_speeds_at_most_once_a_minute(settings: Any) -> None:
    from django.core.cache import cache

    from sales.selectors import recent_rep_speeds
    from sales.selectors.dashboard import SPEED_CACHE_KEY

    ann = make_rep("ann")
    now = datetime.now(tz=UTC)

    def episode(minutes: int) -> None:
        hot_at = now - timedelta(hours=1)
        Handoff.objects.create(
            lead=LeadFactory(),
            rep=ann,
            turned_hot_at=hot_at,
            ended_at=now,
            first_contact_at=hot_at + timedelta(minutes=minutes),
        )

    episode(10)
    assert [s.episodes for s in recent_rep_speeds(now=now)] == [1]
    episode(30)
    assert [s.episodes for s in recent_rep_speeds(now=now)] == [1], "the cached figure"
    cache.delete(SPEED_CACHE_KEY)  # a minute later
    assert [s.episodes for s in recent_rep_speeds(now=now)] == [2]

    # With the cache down it is computed each time, never an error.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    episode(50)
    assert [s.episodes for s in recent_rep_speeds(now=now)] == [3]
