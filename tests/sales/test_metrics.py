"""Funnel metrics against figures worked out by hand, and a formula-safe CSV."""

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from capture.models import Lead, Submission
from nurture.models import Delivery
from nurture.services.scheduling import enroll_lead
from sales.models import Booking, LeadChange, Note, RepProfile
from sales.selectors import funnel_metrics
from sales.selectors.metrics import FunnelRow
from scoring.models import ScoreChange
from tests.factories import CampaignFactory, LandingPageFactory, marketer, playbook_sequence
from tests.sales.support import make_lead, make_rep

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
FORMULA_SOURCE = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _day(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def _submitted(lead: Lead, medium: str, at: datetime) -> None:
    submission = Submission.objects.create(
        lead=lead, landing_page=LandingPageFactory(), utm_source=lead.source, utm_medium=medium
    )
    Submission.objects.filter(pk=submission.pk).update(created_at=at)


def _nurtured(lead: Lead, *, first_email_after: timedelta) -> None:
    enroll_lead(lead=lead, sequence=playbook_sequence(), now=lead.created_at)
    Delivery.objects.filter(enrollment__lead=lead, step__day=1).update(
        status="sent", sent_at=lead.created_at + first_email_after
    )


def _scored(lead: Lead, old: str, new: str) -> None:
    ScoreChange.objects.create(
        lead=lead,
        old_score=0,
        new_score=1,
        old_temperature=old,
        new_temperature=new,
        cause="activity",
        at=lead.created_at + timedelta(hours=1),
    )


@pytest.fixture
def funnel() -> dict[str, Any]:
    """Six leads in March (and two outside it), with every fact the figures count."""
    spring = CampaignFactory(name="Spring", spend=Decimal("1000.00"), currency="USD")
    sneaky = CampaignFactory(name="=cmd|' /C calc'!A0", spend=Decimal("300.00"), currency="USD")
    rep = make_rep("ann")
    profile = RepProfile.objects.get(user=rep)

    a1 = make_lead(campaign=spring, source="google", stage="won", created_at=_day(2))
    _submitted(a1, "cpc", _day(2))
    _nurtured(a1, first_email_after=timedelta(seconds=60))
    _scored(a1, "cold", "warm")
    _scored(a1, "warm", "hot")
    Booking.objects.create(lead=a1, rep=profile, starts_at=_day(20), ends_at=_day(20, 11))
    call = Note.objects.create(lead=a1, author=rep, kind="call", body="Called")
    Note.objects.filter(pk=call.pk).update(created_at=_day(2) + timedelta(minutes=30))
    later_call = Note.objects.create(lead=a1, author=rep, kind="call", body="Again")
    Note.objects.filter(pk=later_call.pk).update(created_at=_day(9))

    a2 = make_lead(campaign=spring, source="google", temperature="warm", created_at=_day(3))
    _submitted(a2, "cpc", _day(3))
    _nurtured(a2, first_email_after=timedelta(seconds=120))
    contacted = LeadChange.objects.create(
        lead=a2, actor=rep, field="stage", old_value="nurturing", new_value="contacted"
    )
    LeadChange.objects.filter(pk=contacted.pk).update(at=_day(3) + timedelta(minutes=90))

    a3 = make_lead(campaign=spring, source="facebook", created_at=_day(5))
    _submitted(a3, "paid_social", _day(5))

    a4 = make_lead(
        campaign=spring, source="google", temperature="hot", stage="lost", created_at=_day(6)
    )
    _submitted(a4, "email", _day(6))
    _submitted(a4, "cpc", _day(7))  # a later touch does not change attribution
    _nurtured(a4, first_email_after=timedelta(seconds=600))
    Booking.objects.create(
        lead=a4, rep=profile, starts_at=_day(21), ends_at=_day(21, 11), status="cancelled"
    )

    b1 = make_lead(
        campaign=sneaky, source=FORMULA_SOURCE, temperature="warm", stage="won", created_at=_day(10)
    )
    _scored(b1, "warm", "hot")
    make_lead(source="", created_at=_day(11))

    make_lead(
        campaign=spring, source="google", stage="won", created_at=datetime(2026, 2, 27, tzinfo=UTC)
    )
    make_lead(campaign=spring, source="google", stage="won", created_at=END)
    return {"spring": spring, "sneaky": sneaky}


def _figures(row: FunnelRow) -> tuple[Any, ...]:
    return (
        row.leads,
        row.nurtured,
        row.quality,
        row.hot,
        row.booked,
        row.won,
        row.spend,
        row.cost_per_lead,
        row.cost_per_client,
        row.speed_to_lead,
        row.speed_to_contact,
    )


SECONDS, MINUTES = timedelta(seconds=1), timedelta(minutes=1)


@pytest.mark.parametrize("sql_medians", [True, False])
def test_figures_match_the_hand_count(
    funnel: dict[str, Any], sql_medians: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not sql_medians:  # what SQLite (make run) computes
        monkeypatch.setattr("sales.selectors.metrics.database_has_median", lambda: False)
    metrics = funnel_metrics(start=START, end=END, zone=UTC)  # type: ignore[arg-type]

    total = metrics.total
    assert _figures(total) == (
        6,
        3,
        4,
        3,
        1,
        2,
        Decimal(1300),
        Decimal("216.67"),
        Decimal("650.00"),
        120 * SECONDS,
        60 * MINUTES,
    )
    assert round(total.quality_rate or 0, 1) == 66.7
    assert round(total.conversion_rate or 0, 1) == 33.3
    assert metrics.funnel == [
        ("Captured", 6),
        ("Nurtured", 3),
        ("Hot", 3),
        ("Booked", 1),
        ("Won", 2),
    ]

    campaigns = {row.label: row for row in metrics.campaigns}
    assert list(campaigns) == ["Spring", "=cmd|' /C calc'!A0", "No campaign"]
    assert _figures(campaigns["Spring"]) == (
        4,
        3,
        3,
        2,
        1,
        1,
        Decimal(1000),
        Decimal("250.00"),
        Decimal("1000.00"),
        120 * SECONDS,
        60 * MINUTES,
    )
    assert (campaigns["Spring"].quality_rate, campaigns["Spring"].conversion_rate) == (75, 25)
    assert _figures(campaigns["=cmd|' /C calc'!A0"]) == (
        1,
        0,
        1,
        1,
        0,
        1,
        Decimal(300),
        Decimal("300.00"),
        Decimal("300.00"),
        None,
        None,
    )
    assert _figures(campaigns["No campaign"])[:6] == (1, 0, 0, 0, 0, 0)
    assert campaigns["No campaign"].cost_per_lead is None

    sources = {row.label: row for row in metrics.sources}
    assert set(sources) == {
        "google / cpc",
        "google / email",
        "facebook / paid_social",
        f"{FORMULA_SOURCE} / (no form)",
        "(direct) / (no form)",
    }
    google = sources["google / cpc"]
    assert _figures(google) == (2, 2, 2, 1, 1, 1, None, None, None, 90 * SECONDS, 60 * MINUTES)
    assert sources["google / email"].speed_to_lead == 600 * SECONDS

    daily = metrics.daily
    assert len(daily["days"]) == 31 and daily["days"][0] == "2026-03-01"
    series = {s["label"]: s["data"] for s in daily["series"]}
    assert sum(series["google"]) == 3 and series["google"][1] == 1  # 2 March
    assert sum(sum(data) for data in series.values()) == 6


def test_spend_in_two_currencies_has_no_total_and_no_medium_is_not_an_empty_one() -> None:
    dollars = CampaignFactory(name="US", spend=Decimal("1500.00"), currency="USD")
    euros = CampaignFactory(name="EU", spend=Decimal("500.00"), currency="EUR")
    make_lead(campaign=dollars, source="google", created_at=_day(2))
    make_lead(campaign=euros, source="google", created_at=_day(3))
    direct = make_lead(source="", created_at=_day(4))
    _submitted(direct, "", _day(4))  # a form sent without a utm_medium
    make_lead(source="", created_at=_day(5))  # never sent a form (an import)

    metrics = funnel_metrics(start=START, end=END, zone=UTC)

    campaigns = {row.label: row for row in metrics.campaigns}
    assert (campaigns["US"].spend, campaigns["US"].currency) == (Decimal("1500.00"), "USD")
    assert (campaigns["EU"].spend, campaigns["EU"].currency) == (Decimal("500.00"), "EUR")
    assert (metrics.total.spend, metrics.total.cost_per_lead, metrics.total.currency) == (
        None,
        None,
        "",
    )
    sources = {row.label: row.leads for row in metrics.sources}
    assert sources == {"google / (no form)": 2, "(direct) / (none)": 1, "(direct) / (no form)": 1}


def test_the_page_charts_and_tables(client: Client, funnel: dict[str, Any]) -> None:
    client.force_login(marketer())
    response = client.get(
        reverse("sales:metrics"), {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    data = json.loads(
        re.search(r'id="metrics-data" type="application/json">(.*?)</script>', html).group(1)
    )  # type: ignore[union-attr]
    assert data["funnel"] == {
        "labels": ["Captured", "Nurtured", "Hot", "Booked", "Won"],
        "data": [6, 3, 3, 1, 2],
    }
    assert "250.00 USD" in html and "75 %" in html and "2 min" in html and "1 h" in html
    assert "/static/vendor/chartjs-4.6.1/chart.umd.js" in html


def test_the_default_range_is_the_last_30_days(client: Client, funnel: dict[str, Any]) -> None:
    client.force_login(marketer())
    html = client.get(reverse("sales:metrics")).content.decode()
    assert 'value="2026-03-02"' in html and 'value="2026-03-31"' in html


def test_a_bad_range_is_400(client: Client) -> None:
    client.force_login(marketer())
    for query in (
        {"date_from": "2026-03-05", "date_to": "2026-03-01"},
        {"date_from": "yesterday"},
        {"date_from": "2020-01-01", "date_to": "2026-01-01"},
    ):
        assert client.get(reverse("sales:metrics"), query).status_code == 400


def test_the_csv_export_is_formula_safe(client: Client, funnel: dict[str, Any]) -> None:
    client.force_login(marketer())
    response = client.get(
        reverse("sales:metrics"),
        {"date_from": "2026-03-01", "date_to": "2026-03-31", "format": "csv"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "funnel-2026-03-01-to-2026-03-31.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["group", "name", "leads", "spend"]
    assert rows[1][:3] == ["total", "All leads", "6"]
    names = [row[1] for row in rows[1:]]
    assert "'=cmd|' /C calc'!A0" in names
    assert f"'{FORMULA_SOURCE} / (no form)" in names
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    spring = next(row for row in rows if row[1] == "Spring")
    assert spring[2:] == [
        "4",
        "1000.00",
        "USD",
        "250.00",
        "75.0",
        "2",
        "1",
        "1",
        "25.0",
        "1000.00",
        "120",
        "3600",
    ]


@pytest.mark.django_db(transaction=True)
def test_the_figures_are_read_without_jit_compilation(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connection

    from sales.selectors import metrics

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        before = cursor.fetchone()[0]
    seen: list[str] = []
    cohort = metrics.cohort

    def watching(**kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            seen.append(cursor.fetchone()[0])
        return cohort(**kwargs)

    monkeypatch.setattr(metrics, "cohort", watching)
    funnel_metrics(start=START, end=END, zone=UTC)  # type: ignore[arg-type]
    assert seen == ["off"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == before, "only for this read: SET LOCAL"
