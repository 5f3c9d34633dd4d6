"""Journey dates: delays after the previous node, one email a local day, windows, DST, caps.

Each test drives the real tick and sender through simulated time: it jumps from one moment
something is due to the next (an enrollment's `next_at`, a delivery's `due_at`), runs the
tick and the dispatcher there, and then checks the mail that went out in the lead's zone.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from nurture.models import Delivery, Enrollment, Node, Sequence, Trigger
from nurture.services import advancing, journeys, triggers
from nurture.services.dispatching import hand_out_due
from tests.factories import LeadFactory
from tests.journeys.builders import email, wait

pytestmark = pytest.mark.django_db

SENT = Delivery.Status.SENT
# Local entry times, one per weekday lead: the small hours, the window's edges, late night.
ENTRY_TIMES = [
    time(0, 30),
    time(8, 59),
    time(9, 0),
    time(13, 5),
    time(16, 59),
    time(21, 0),
    time(23, 45),
]


# -- driving simulated time ----------------------------------------------------------------
def _tick(now: datetime, capture: Callable) -> None:
    # Until nothing is due at `now`: a sent email wakes its enrollment, whose next email
    # may be due at once, and on-commit work runs when each round's capture closes.
    for _ in range(10):
        with time_machine.travel(now, tick=False), capture(execute=True):
            advancing.advance_all_due(now=now)
            hand_out_due(now=now)
        if not _due_now(now):
            return
    raise AssertionError(f"still due at {now}")


def _due_now(now: datetime) -> bool:
    return (
        advancing.claimable(now=now).exists()
        or Delivery.objects.filter(status=Delivery.Status.SCHEDULED, due_at__lte=now).exists()
    )


def _next_moment(after: datetime) -> datetime | None:
    waking = (
        Enrollment.objects.filter(state=Enrollment.State.ACTIVE, next_at__gt=after)
        .order_by("next_at")
        .values_list("next_at", flat=True)
        .first()
    )
    sending = (
        Delivery.objects.filter(
            status__in=[Delivery.Status.SCHEDULED, Delivery.Status.QUEUED], due_at__gt=after
        )
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    moments = [m for m in (waking, sending) if m is not None]
    return min(moments) if moments else None


def drive(*, entries: list[tuple[datetime, Any, Sequence]], until: datetime, capture) -> None:
    """Enter each (moment, lead, journey) at its moment, and run the clock to `until`."""
    pending = sorted(entries, key=lambda entry: entry[0])
    now = pending[0][0]
    for _ in range(5000):
        while pending and pending[0][0] <= now:
            at, lead, journey = pending.pop(0)
            with time_machine.travel(at, tick=False), capture(execute=True):
                triggers.enter_journey(lead=lead, journey=journey, now=at, trigger="test")
        _tick(now, capture)
        moments = [m for m in (_next_moment(now), pending[0][0] if pending else None) if m]
        if not moments or min(moments) > until:
            return
        now = min(moments)
    raise AssertionError("the journey never settled")


def sent_mail(lead: Any, journey: Sequence | None = None) -> list[Delivery]:
    rows = Delivery.objects.filter(enrollment__lead=lead, status=SENT).select_related(
        "node", "step"
    )
    if journey is not None:
        rows = rows.filter(enrollment__sequence=journey)
    return list(rows.order_by("sent_at", "pk"))


# -- the rules, written independently of the engine -----------------------------------------
def local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def add_business_days(day: date, amount: int) -> date:
    while amount > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            amount -= 1
    return day


def earliest_after(*, previous: datetime, delay: dict, zone: ZoneInfo) -> datetime:
    """The earliest instant the marketer's delay allows, as a local naive wall time for days
    (a later local wall time is later in every zone) or a UTC instant for hours."""
    amount, unit = delay["amount"], delay["unit"]
    if unit == "hours":
        return previous + timedelta(hours=amount)
    wall = local(previous, zone)
    if unit == "days":
        return wall + timedelta(days=amount)
    return datetime.combine(add_business_days(wall.date(), amount), wall.time())


def assert_delay_kept(*, previous: datetime, following: datetime, delay: dict, zone) -> None:
    floor = earliest_after(previous=previous, delay=delay, zone=zone)
    if delay["unit"] == "hours":
        assert (following - previous).total_seconds() >= delay["amount"] * 3600, delay
    else:
        assert local(following, zone) >= floor, (delay, local(previous, zone), following)
    assert following >= previous


def assert_in_window(moment: datetime, journey: Sequence, zone: ZoneInfo) -> None:
    wall = local(moment, zone)
    assert wall.weekday() in journey.weekdays, wall
    assert journey.window_start_hour <= wall.hour < journey.window_end_hour, wall


# -- the journey every weekday lead takes ------------------------------------------------------
DELAYS = [
    ("A", {"amount": 0, "unit": "hours"}),
    ("B", {"amount": 1, "unit": "days"}),
    ("C", {"amount": 2, "unit": "business_days"}),
    ("D", {"amount": 3, "unit": "hours"}),
    ("E", {"amount": 0, "unit": "days"}),
    ("F", {"amount": 20, "unit": "hours"}),
    ("G", {"amount": 2, "unit": "days"}),
]


def ladder(*, window: tuple[int, int, list[int]], fallback: str = "UTC") -> Sequence:
    """confirm → wait → A → wait → B ... each email after the delay in DELAYS."""
    nodes: dict[str, dict] = {"confirm": email("Confirm", transactional=True)}
    edges = []
    previous = "confirm"
    for label, delay in DELAYS:
        nodes[f"wait{label}"] = wait(delay["amount"], delay["unit"])
        nodes[label] = email(f"Email {label}")
        edges += [(previous, "next", f"wait{label}"), (f"wait{label}", "next", label)]
        previous = label
    start, end, weekdays = window
    return journeys.build(
        name="Ladder",
        nodes=nodes,
        edges=edges,
        start="confirm",
        triggers=[(Trigger.Kind.MANUAL, {})],
        window_start_hour=start,
        window_end_hour=end,
        weekdays=weekdays,
        fallback_time_zone=fallback,
    )


# (the lead's zone, "" for none: the journey's fallback; a day the clocks change, or any day)
ZONES = {
    "new-york-spring": ("America/New_York", date(2026, 3, 8)),
    "new-york-fall": ("America/New_York", date(2026, 11, 1)),
    "berlin-spring": ("Europe/Berlin", date(2026, 3, 29)),
    "berlin-fall": ("Europe/Berlin", date(2026, 10, 25)),
    "sydney-fall": ("Australia/Sydney", date(2026, 4, 5)),
    "kolkata": ("Asia/Kolkata", date(2026, 6, 10)),
    "no-zone-fallback": ("", date(2026, 10, 25)),
}
WINDOWS = {
    "office-hours": (9, 17, [0, 1, 2, 3, 4]),
    "always": (0, 24, list(range(7))),
}
FALLBACK = "Europe/Berlin"


# Office hours in every zone; the open window (where "1 day" must be exact) across the
# changes that move the clock each way, to keep the file quick.
CASES = [
    pytest.param(*ZONES[zone], WINDOWS[window], id=f"{zone}-{window}")
    for zone, window in [(zone, "office-hours") for zone in ZONES]
    + [("new-york-spring", "always"), ("berlin-fall", "always"), ("sydney-fall", "always")]
]


@pytest.mark.parametrize("zone_name,change,window", CASES)
def test_it_keeps_every_delay_one_email_a_day_and_the_window_on_each_weekday(
    zone_name: str, change: date, window: tuple, settings, django_capture_on_commit_callbacks
) -> None:
    settings.NURTURE_CAP_PER_DAY = 0  # the journey's own rule, not the cap (tested below)
    settings.NURTURE_CAP_PER_WEEK = 0
    journey = ladder(window=window, fallback=FALLBACK)
    zone = ZoneInfo(zone_name or FALLBACK)
    entries = []
    # Seven leads, one entering on each weekday of the week before the change (their
    # journeys all run across it), at a different local time each.
    for offset in range(7):
        day = change - timedelta(days=6 - offset)
        entered = datetime.combine(day, ENTRY_TIMES[offset], tzinfo=zone).astimezone(UTC)
        entries.append((entered, LeadFactory(time_zone=zone_name), journey))
    assert {entered.astimezone(zone).weekday() for entered, _, _ in entries} == set(range(7))
    drive(
        entries=entries,
        until=entries[-1][0] + timedelta(days=40),
        capture=django_capture_on_commit_callbacks,
    )

    for entered, lead, _ in entries:
        emails = sent_mail(lead)
        assert [d.step.subject for d in emails] == ["Confirm"] + [
            f"Email {label}" for label, _ in DELAYS
        ]
        # The confirmation answers the prospect at once, whatever the hour.
        assert emails[0].sent_at == entered
        days = [local(d.sent_at, zone).date() for d in emails]
        assert len(set(days)) == len(days), days
        for previous, following, (_, delay) in zip(emails[:-1], emails[1:], DELAYS, strict=True):
            assert_delay_kept(
                previous=previous.sent_at, following=following.sent_at, delay=delay, zone=zone
            )
            assert_in_window(following.sent_at, journey, zone)
        if window == WINDOWS["always"]:
            # Nothing else in the way: "1 day" is the same local time the next day, exactly,
            # across the DST change too.
            a, b = local(emails[1].sent_at, zone), local(emails[2].sent_at, zone)
            assert b == a + timedelta(days=1)


def _day_list(**fields: Any) -> Sequence:
    """The first version's Day 1/2/3/5/7 list, as delays after the previous email."""
    return journeys.build(
        name="Day list",
        nodes={
            "day1": email("Day 1", transactional=True),
            "w2": wait(1),
            "day2": email("Day 2"),
            "w3": wait(1),
            "day3": email("Day 3"),
            "w5": wait(2),
            "day5": email("Day 5"),
            "w7": wait(2),
            "day7": email("Day 7"),
        },
        edges=[
            ("day1", "next", "w2"),
            ("w2", "next", "day2"),
            ("day2", "next", "w3"),
            ("w3", "next", "day3"),
            ("day3", "next", "w5"),
            ("w5", "next", "day5"),
            ("day5", "next", "w7"),
            ("w7", "next", "day7"),
        ],
        start="day1",
        triggers=[(Trigger.Kind.MANUAL, {})],
        window_start_hour=9,
        window_end_hour=17,
        weekdays=[0, 1, 2, 3, 4],
        **fields,
    )


def _subjects_by_local_time(lead: Any, zone: ZoneInfo) -> dict[str, datetime]:
    return {d.step.subject: d.sent_at.astimezone(zone) for d in sent_mail(lead)}


def test_it_no_longer_sends_a_tuesday_sign_ups_day_5_and_day_7_on_the_same_monday(
    django_capture_on_commit_callbacks,
) -> None:
    zone = ZoneInfo("America/New_York")
    journey = _day_list()
    lead = LeadFactory(time_zone="America/New_York")
    tuesday = datetime(2026, 3, 3, 10, 0, tzinfo=zone).astimezone(UTC)
    drive(
        entries=[(tuesday, lead, journey)],
        until=tuesday + timedelta(days=30),
        capture=django_capture_on_commit_callbacks,
    )
    sent = _subjects_by_local_time(lead, zone)
    assert sent["Day 2"] == datetime(2026, 3, 4, 10, 0, tzinfo=zone)  # Wednesday
    assert sent["Day 3"] == datetime(2026, 3, 5, 10, 0, tzinfo=zone)  # Thursday
    # Saturday is outside the window: Monday morning; Day 7 keeps its two days after it.
    assert sent["Day 5"] == datetime(2026, 3, 9, 9, 0, tzinfo=zone)
    assert sent["Day 7"] == datetime(2026, 3, 11, 9, 0, tzinfo=zone)
    assert sent["Day 5"].date() != sent["Day 7"].date()


def test_it_no_longer_sends_a_friday_sign_ups_day_2_and_day_3_in_the_same_minute(
    django_capture_on_commit_callbacks,
) -> None:
    zone = ZoneInfo("Europe/Berlin")
    journey = _day_list()
    lead = LeadFactory(time_zone="Europe/Berlin")
    # The Friday before Berlin's spring change: the weekend also moves the clocks.
    friday = datetime(2026, 3, 27, 15, 30, tzinfo=zone).astimezone(UTC)
    drive(
        entries=[(friday, lead, journey)],
        until=friday + timedelta(days=30),
        capture=django_capture_on_commit_callbacks,
    )
    sent = _subjects_by_local_time(lead, zone)
    assert sent["Day 2"] == datetime(2026, 3, 30, 9, 0, tzinfo=zone)  # Monday, now on summer time
    assert sent["Day 3"] == datetime(2026, 3, 31, 9, 0, tzinfo=zone)
    assert sent["Day 3"] - sent["Day 2"] >= timedelta(days=1)
    day2, day3 = (d.sent_at for d in sent_mail(lead)[1:3])
    assert (day3 - day2) == timedelta(days=1)


def test_it_sends_two_emails_the_same_day_only_where_the_node_allows_it(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.NURTURE_CAP_PER_DAY = 0
    settings.NURTURE_CAP_PER_WEEK = 0
    journey = journeys.build(
        name="Same day",
        nodes={
            "confirm": email("Confirm", transactional=True),
            "w1": wait(0, "hours"),
            "guide": email("Your guide", same_day_ok=True),
            "w2": wait(2, "hours"),
            "tips": email("Tips"),
            "w3": wait(1, "hours"),
            "more": email("More", same_day_ok=True),
        },
        edges=[
            ("confirm", "next", "w1"),
            ("w1", "next", "guide"),
            ("guide", "next", "w2"),
            ("w2", "next", "tips"),
            ("tips", "next", "w3"),
            ("w3", "next", "more"),
        ],
        start="confirm",
        triggers=[(Trigger.Kind.MANUAL, {})],
        window_start_hour=8,
        window_end_hour=20,
        weekdays=list(range(7)),
    )
    zone = ZoneInfo("Asia/Kolkata")
    lead = LeadFactory(time_zone="Asia/Kolkata")
    entered = datetime(2026, 5, 6, 10, 0, tzinfo=zone).astimezone(UTC)
    drive(
        entries=[(entered, lead, journey)],
        until=entered + timedelta(days=10),
        capture=django_capture_on_commit_callbacks,
    )
    sent = _subjects_by_local_time(lead, zone)
    assert sent["Confirm"] == sent["Your guide"] == datetime(2026, 5, 6, 10, 0, tzinfo=zone)
    # Two hours later is still the same day: without same_day_ok, the next window opening.
    assert sent["Tips"] == datetime(2026, 5, 7, 8, 0, tzinfo=zone)
    assert sent["More"] == datetime(2026, 5, 7, 9, 0, tzinfo=zone)


def _drip(name: str, count: int) -> Sequence:
    nodes: dict[str, dict] = {"confirm": email(f"{name} confirm", transactional=True)}
    edges = []
    previous = "confirm"
    for index in range(count):
        nodes[f"w{index}"] = wait(0 if index == 0 else 1)
        nodes[f"e{index}"] = email(f"{name} {index + 1}")
        edges += [(previous, "next", f"w{index}"), (f"w{index}", "next", f"e{index}")]
        previous = f"e{index}"
    return journeys.build(
        name=name,
        nodes=nodes,
        edges=edges,
        start="confirm",
        triggers=[(Trigger.Kind.MANUAL, {})],
        window_start_hour=9,
        window_end_hour=18,
        weekdays=list(range(7)),
    )


@pytest.mark.parametrize("per_day,per_week", [(1, 4), (2, 3)])
def test_it_caps_marketing_email_across_journeys_but_not_transactional_mail(
    per_day: int, per_week: int, settings, django_capture_on_commit_callbacks
) -> None:
    settings.NURTURE_CAP_PER_DAY = per_day
    settings.NURTURE_CAP_PER_WEEK = per_week
    first, second = _drip("Alpha", 5), _drip("Beta", 5)
    zone = ZoneInfo("America/New_York")
    lead = LeadFactory(time_zone="America/New_York")
    # Both journeys at the same moment, in the week of New York's fall change.
    entered = datetime(2026, 10, 29, 11, 0, tzinfo=zone).astimezone(UTC)
    drive(
        entries=[(entered, lead, first), (entered, lead, second)],
        until=entered + timedelta(days=60),
        capture=django_capture_on_commit_callbacks,
    )
    emails = sent_mail(lead)
    assert len(emails) == 12, [d.step.subject for d in emails]
    transactional = [d for d in emails if d.step.transactional]
    marketing = [d for d in emails if not d.step.transactional]
    # Both confirmations at once, the same day as the first marketing email.
    assert [d.sent_at for d in transactional] == [entered, entered]
    per_local_day: dict[date, int] = defaultdict(int)
    for delivery in marketing:
        per_local_day[local(delivery.sent_at, zone).date()] += 1
        assert_in_window(delivery.sent_at, first, zone)
    assert max(per_local_day.values()) == per_day
    days = sorted(per_local_day)
    for start in days:
        week = sum(n for day, n in per_local_day.items() if 0 <= (day - start).days < 7)
        assert week <= per_week, per_local_day
    # Each journey still keeps its own rule: one of its emails a local day at most.
    for journey in (first, second):
        own = [local(d.sent_at, zone).date() for d in sent_mail(lead, journey)]
        assert len(set(own)) == len(own)
    assert len(mail.outbox) == 12
    assert all(lead.email in message.to[0] for message in mail.outbox)


def test_it_never_counts_a_zero_length_wait_as_permission_to_send_twice(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.NURTURE_CAP_PER_DAY = 0
    settings.NURTURE_CAP_PER_WEEK = 0
    journey = journeys.build(
        name="Zero",
        nodes={
            "a": email("One"),
            "w": wait(0, "days"),
            "b": email("Two"),
            "w2": wait(0, "business_days"),
            "c": email("Three"),
        },
        edges=[("a", "next", "w"), ("w", "next", "b"), ("b", "next", "w2"), ("w2", "next", "c")],
        start="a",
        triggers=[(Trigger.Kind.MANUAL, {})],
        window_start_hour=9,
        window_end_hour=17,
        weekdays=[0, 1, 2, 3, 4],
    )
    zone = ZoneInfo("Australia/Sydney")
    lead = LeadFactory(time_zone="Australia/Sydney")
    # A Friday evening in Sydney, the weekend the clocks go forward (4 October 2026).
    entered = datetime(2026, 10, 2, 19, 0, tzinfo=zone).astimezone(UTC)
    drive(
        entries=[(entered, lead, journey)],
        until=entered + timedelta(days=20),
        capture=django_capture_on_commit_callbacks,
    )
    sent = _subjects_by_local_time(lead, zone)
    assert sent == {
        "One": datetime(2026, 10, 5, 9, 0, tzinfo=zone),
        "Two": datetime(2026, 10, 6, 9, 0, tzinfo=zone),
        "Three": datetime(2026, 10, 7, 9, 0, tzinfo=zone),
    }
    assert Node.objects.filter(sequence=journey, kind=Node.Kind.EMAIL).count() == 3
