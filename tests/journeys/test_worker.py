"""Journeys on the real stack: gunicorn takes the form, a Celery worker on Redis advances and
sends through an SMTP server, beat ticks. And a worker killed mid-tick loses and doubles
nothing."""

from collections import Counter
from email import message_from_bytes, policy

import pytest
from django.db.models import Count
from django.utils import timezone

from capture.models import LandingPage, Lead
from nurture.models import Delivery, Enrollment, Node, PathStep, Sequence, Trigger
from nurture.services import journeys
from scoring.models import ScoringRule
from tests.journeys.builders import email, node, wait
from tests.processes import (
    PrivateRedis,
    SmtpSink,
    Stack,
    app_env,
    form_session,
    free_port,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp() -> SmtpSink:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def redis() -> PrivateRedis:
    with PrivateRedis() as server:
        yield server


def _stack(redis: PrivateRedis, smtp: SmtpSink, **extra: str) -> Stack:
    return Stack(
        app_env(
            broker_url=redis.url,
            cache_url=redis.url,
            smtp_port=smtp.port,
            NURTURE_LEASE_SECONDS="5",
            CAPTURE_RATE_LIMIT="100000/m",
            **extra,
        )
    )


def _subjects(smtp: SmtpSink) -> dict[str, list[str]]:
    by_recipient: dict[str, list[str]] = {}
    with smtp.lock:
        for message in smtp.messages:
            subject = message_from_bytes(message.content, policy=policy.default)["Subject"]
            for rcpt in message.rcpt_tos:
                by_recipient.setdefault(rcpt, []).append(str(subject))
    return by_recipient


def test_two_prospects_take_different_branches_with_a_real_worker(
    redis: PrivateRedis, smtp: SmtpSink
) -> None:
    page: LandingPage = LandingPage.objects.create(
        slug="journey",
        title="Talk to us",
        headline="Grow",
        body="Pitch.",
        published=True,
        fields_shown=["first_name", "company"],
        fields_required=[],
        qualifying_question="",
        consent_text="",
    )
    ScoringRule.objects.create(
        name="Enterprise",
        kind=ScoringRule.Kind.FIT,
        points=80,
        field="company",
        operator="equals",
        value="Bigcorp",
    )
    journeys.build(
        name="Temperature journey",
        hand_hot_leads_to_sales=False,  # the hot branch mails the hot lead: that is the test
        nodes={
            "confirm": email("Thanks for asking", transactional=True),
            "hot?": node(
                Node.Kind.BRANCH,
                "Hot?",
                conditions=[
                    {"when": {"field": "temperature", "op": "is", "value": "hot"}, "label": "hot"}
                ],
            ),
            "hot": email("A call this week?", same_day_ok=True),
            "other": email("Three ways to grow", same_day_ok=True),
        },
        edges=[("confirm", "next", "hot?"), ("hot?", "c0", "hot"), ("hot?", "else", "other")],
        start="confirm",
        triggers=[(Trigger.Kind.FORM, {"page": page.pk})],
        window_start_hour=0,
        window_end_hour=24,
        weekdays=list(range(7)),
    )
    port = free_port()
    stack = _stack(redis, smtp, NURTURE_TICK_SECONDS="1")
    try:
        stack.web(port)
        stack.worker(concurrency=2)
        stack.beat()
        client, hidden = form_session(f"http://127.0.0.1:{port}", page.slug)
        for address, company in [
            ("cto@bigcorp.example", "Bigcorp"),
            ("student@school.example", "Night school"),
        ]:
            response = client.post(
                f"/l/{page.slug}/",
                data={**hidden, "email": address, "first_name": "Pat", "company": company},
            )
            assert response.status_code == 302, response.text[:500]
        arrived = wait_until(lambda: len(smtp.messages) >= 4, timeout=90)
        assert arrived, f"{_subjects(smtp)}\n{stack.tail()}"
        wait_until(lambda: False, timeout=3)  # room for a duplicate to show up
    finally:
        stack.stop_all()
    assert _subjects(smtp) == {
        "cto@bigcorp.example": ["Thanks for asking", "A call this week?"],
        "student@school.example": ["Thanks for asking", "Three ways to grow"],
    }
    hot = Lead.objects.get(email="cto@bigcorp.example")
    assert hot.temperature == Lead.Temperature.HOT
    vias = list(PathStep.objects.filter(enrollment__lead=hot).values_list("via", flat=True))
    assert vias[-1] == "branch: hot → yes"
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 4
    assert set(Enrollment.objects.values_list("state", flat=True)) == {"completed"}


WAITING = 3000


def test_a_worker_killed_while_advancing_neither_doubles_nor_drops_a_node(
    redis: PrivateRedis, smtp: SmtpSink
) -> None:
    today = timezone.now().weekday()
    journey: Sequence = journeys.build(
        name="Kill me",
        hand_hot_leads_to_sales=False,  # both branches mail, whatever the temperature
        nodes={
            "wait": wait(0, "hours"),
            "hot?": node(
                Node.Kind.BRANCH,
                "Hot?",
                conditions=[{"when": {"field": "temperature", "op": "is", "value": "hot"}}],
            ),
            "hot": email("Hot"),
            "other": email("Other"),
        },
        edges=[("wait", "next", "hot?"), ("hot?", "c0", "hot"), ("hot?", "else", "other")],
        start="wait",
        triggers=[(Trigger.Kind.MANUAL, {})],
        # Not today: the emails are scheduled, and the test is about the tick alone.
        window_start_hour=0,
        window_end_hour=24,
        weekdays=[(today + 2) % 7],
    )
    now = timezone.now()
    leads = Lead.objects.bulk_create(
        Lead(
            email=f"k{i}@example.com",
            first_name="Kim",
            temperature=Lead.Temperature.HOT if i % 3 == 0 else Lead.Temperature.COLD,
        )
        for i in range(WAITING)
    )
    Enrollment.objects.bulk_create(
        Enrollment(
            lead=lead,
            sequence=journey,
            started_at=now,
            current_node=journey.start_node,
            next_at=now,
        )
        for lead in leads
    )
    stack = _stack(redis, smtp, NURTURE_TICK_SECONDS="0.5", JOURNEY_TICK_BATCH="100")
    try:
        stack.beat()
        doomed = stack.worker(concurrency=2, name="doomed")
        started = wait_until(lambda: PathStep.objects.count() >= 600, timeout=90, interval=0.05)
        assert started, stack.tail()
        stack.kill(doomed)
        at_kill = Enrollment.objects.exclude(current_node=journey.start_node).count()
        assert 0 < at_kill < WAITING, "the kill came mid-tick"
        stack.worker(concurrency=2, name="fresh")
        done = wait_until(
            lambda: Delivery.objects.filter(enrollment__sequence=journey).count() >= WAITING,
            timeout=120,
        )
        assert done, stack.tail()
        wait_until(lambda: False, timeout=2)
    finally:
        stack.stop_all()
    # Each lead went through wait, branch and one email exactly once.
    per_lead = Counter(
        PathStep.objects.filter(enrollment__sequence=journey).values_list("enrollment", flat=True)
    )
    assert len(per_lead) == WAITING
    assert set(per_lead.values()) == {3}
    assert not (
        PathStep.objects.values("enrollment", "node").annotate(n=Count("pk")).filter(n__gt=1)
    )
    deliveries = Counter(
        Delivery.objects.filter(enrollment__sequence=journey).values_list("node__name", flat=True)
    )
    assert deliveries == {"Hot": WAITING // 3, "Other": WAITING - WAITING // 3}
    assert Delivery.objects.filter(status=Delivery.Status.SCHEDULED).count() == WAITING
    emails = {n.pk for n in Node.objects.filter(sequence=journey, kind=Node.Kind.EMAIL)}
    assert (
        set(Enrollment.objects.filter(sequence=journey).values_list("current_node", flat=True))
        <= emails
    )
    assert smtp.messages == []
