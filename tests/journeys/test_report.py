"""The per-journey report: entered, converted, rate, median time to convert, node funnel."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from capture.models import Lead
from nurture import journey_selectors
from nurture.services import advancing, triggers
from nurture.services.dispatching import hand_out_due
from tests.factories import LandingPageFactory, LeadFactory
from tests.journeys.builders import playbook

pytestmark = pytest.mark.django_db(transaction=True)

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _tick(now: datetime) -> None:
    with time_machine.travel(now, tick=False):
        advancing.advance_all_due(now=now)
        hand_out_due(now=now)
        advancing.advance_all_due(now=now)


def _book(lead: Lead, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        Lead.objects.filter(pk=lead.pk).update(stage=Lead.Stage.BOOKED)
        triggers.on_stage_changed(lead_id=lead.pk, new=Lead.Stage.BOOKED)


@pytest.fixture
def journey_with_history() -> Any:
    page = LandingPageFactory()
    journey = playbook(page=page)
    leads = [LeadFactory(time_zone="UTC") for _ in range(3)]
    with time_machine.travel(MONDAY, tick=False):
        for lead in leads:
            triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)
    _tick(MONDAY + timedelta(minutes=1))
    _book(leads[0], MONDAY + timedelta(days=1))
    _tick(MONDAY + timedelta(days=1, minutes=1))
    _tick(MONDAY + timedelta(days=1, minutes=2))
    _book(leads[1], MONDAY + timedelta(days=3))
    return journey


def test_it_counts_entered_converted_rate_and_median(journey_with_history: Any) -> None:
    report = journey_selectors.journey_report(journey_with_history)
    assert (report.entered, report.converted, report.active) == (3, 2, 1)
    assert report.conversion_rate == pytest.approx(2 / 3)
    # Converted after one day and after three: the median is two.
    assert report.median_to_convert == timedelta(days=2)
    names = [row.name for row in report.funnel]
    assert names[:4] == ["Thanks, we got your request", "Wait", "Hot?", "Call the lead"]
    by_name = {row.name: row.figures for row in report.funnel}
    assert by_name["Thanks, we got your request"].entered == 3
    assert by_name["Thanks, we got your request"].sent == 3
    # Only the two leads still in the journey after day one reached Day 2.
    assert by_name["Three ways to grow"].entered == 2
    assert by_name["Three ways to grow"].sent == 2
    assert by_name["Clicked?"].waiting == 1
    assert by_name["Booked"].entered == 0


def test_the_report_page_shows_the_figures_as_chart_data_and_a_table(
    admin_client: Any, journey_with_history: Any
) -> None:
    response = admin_client.get(f"/admin/nurture/journey/{journey_with_history.pk}/report/")
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r"<dt>Entered</dt><dd>3</dd>", page)
    assert re.search(r"<dt>Converted \(goal reached\)</dt><dd>2</dd>", page)
    assert re.search(r"<dt>Conversion rate</dt><dd>67 %</dd>", page)
    assert re.search(r"<dt>Median time to convert</dt><dd>2 days</dd>", page)
    assert "vendor/chartjs-4.6.1/chart.umd.js" in page
    assert "cdn" not in page.lower()
    data = json.loads(
        re.search(
            r'<script id="journey-report-data" type="application/json">(.*?)</script>', page, re.S
        ).group(1)
    )
    assert data["labels"][0] == "Thanks, we got your request"
    entered = next(s for s in data["series"] if s["label"] == "Entered")
    assert entered["data"][0] == 3
    # The funnel columns of the table below, each a series of the chart.
    assert [s["label"] for s in data["series"]] == [
        "Entered",
        "Sent",
        "Opened",
        "Clicked",
        "Converted after",
    ]
    # The same figures as an accessible table.
    assert '<th scope="row">Three ways to grow</th><td>Email</td>' in page
    assert re.search(
        r'<th scope="row">Three ways to grow</th><td>Email</td>\s*<td>2</td><td>0</td><td>2</td>',
        page,
    )


def test_an_empty_journey_reports_zeros(admin_client: Any) -> None:
    journey = playbook()
    report = journey_selectors.journey_report(journey)
    assert (report.entered, report.converted, report.conversion_rate) == (0, 0, None)
    assert report.median_to_convert is None
    page = admin_client.get(f"/admin/nurture/journey/{journey.pk}/report/").content.decode()
    assert "<dt>Conversion rate</dt><dd>—</dd>" in page
