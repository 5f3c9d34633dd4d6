import html
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.test import Client

from sales.models import RepProfile
from sales.services.booking import available_slots
from tests.factories import marketer, sales_rep

pytestmark = pytest.mark.django_db


@time_machine.travel(datetime(2026, 3, 2, 6, 0, tzinfo=UTC), tick=False)
def test_a_rep_sets_hours_and_days_off_that_booking_offers(client: Client) -> None:
    rep = sales_rep()
    client.force_login(rep)
    # Two ranges on Wednesday, sent out of order, and an empty row the page left behind.
    hours = {
        "day0_start": ["10:00", ""],
        "day0_end": ["11:00", ""],
        "day2_start": ["16:00", "14:00"],
        "day2_end": ["16:30", "15:00"],
    }
    response = client.post(
        "/sales/availability/",
        {
            **hours,
            "action": "hours",
            "time_zone": "Europe/Paris",
            "slot_minutes": "30",
        },
    )
    assert response.status_code == 302
    profile = RepProfile.objects.get(user=rep)
    assert profile.weekly_hours == {
        "0": [["10:00", "11:00"]],
        "2": [["14:00", "15:00"], ["16:00", "16:30"]],
    }
    client.post("/sales/availability/", {"action": "block", "date": "2026-03-04"})
    starts = [s.starts_at.isoformat() for s in available_slots(days=3)]
    assert starts == ["2026-03-02T09:00:00+00:00", "2026-03-02T09:30:00+00:00"], "Wed is off"
    blocked = profile.blocked_dates.get()
    assert blocked.date == date(2026, 3, 4)
    client.post("/sales/availability/", {"action": "unblock", "blocked": blocked.pk})
    assert not profile.blocked_dates.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"day0_start": "9 am", "day0_end": "12:00"},
            "Monday: “9 am–12:00” is not a time range like 09:00–12:00.",
        ),
        (
            {"day1_start": "12:00", "day1_end": "09:00"},
            "Tuesday: 12:00–09:00 must end after it starts",
        ),
        (
            {"day4_start": ["09:00", "11:00"], "day4_end": ["12:00", "13:00"]},
            "Friday: 09:00–12:00 and 11:00–13:00 overlap.",
        ),
        ({"day6_start": "25:00", "day6_end": "26:00"}, "Sunday: “25:00–26:00” is not a time range"),
        (
            {"day0_start": "09:00", "day0_end": ""},
            "Monday: give each range a start and an end time.",
        ),
        ({"time_zone": "Mars/Base"}, "Use a time zone name"),
        ({"slot_minutes": "7"}, "Meetings last"),
    ],
)
def test_bad_hours_get_a_clear_message_and_change_nothing(
    client: Client, overrides: dict[str, str], message: str
) -> None:
    rep = sales_rep()
    client.force_login(rep)
    before = RepProfile.objects.get_or_create(user=rep)[0].weekly_hours
    data = {"action": "hours", "time_zone": "UTC", "slot_minutes": "30", **overrides}
    response = client.post("/sales/availability/", data)
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert RepProfile.objects.get(user=rep).weekly_hours == before


def test_only_reps_have_availability(client: Client) -> None:
    assert client.get("/sales/availability/").status_code == 302
    client.force_login(marketer())
    assert client.get("/sales/availability/").status_code == 403
