"""The Jinja2 filters of the dashboard's rows say what Django's `timesince` and `date` say."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.utils import dateformat, timezone
from django.utils.timesince import timesince

from leadfunnel.jinja2 import ago, local

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "before",
    [
        timedelta(seconds=20),
        timedelta(minutes=1),
        timedelta(minutes=12),
        timedelta(hours=3),
        timedelta(hours=3, minutes=5),
        timedelta(days=1, hours=1),
        timedelta(days=2, minutes=30),  # Django drops a unit that is not adjacent
        timedelta(days=9),
        timedelta(days=16, hours=5),
    ],
)
def test_ago_says_what_timesince_says(before: timedelta) -> None:
    assert ago(NOW - before, NOW) == timesince(NOW - before, NOW)


def test_ago_counts_months_as_30_days() -> None:
    assert ago(NOW - timedelta(days=65), NOW) == "2\xa0months"
    assert ago(NOW - timedelta(days=400), NOW) == "1\xa0year, 1\xa0month"
    assert ago(None) == ""


def test_local_formats_in_the_viewers_zone_as_the_date_filter_does() -> None:
    moment = datetime(2026, 3, 2, 23, 30, 15, 123456, tzinfo=UTC)
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        tokyo = timezone.localtime(moment)
        assert local(moment) == dateformat.format(tokyo, "c")
        assert local(moment, "short") == dateformat.format(tokyo, "D j M H:i") == "Tue 3 Mar 08:30"
        assert local(moment, "long") == dateformat.format(tokyo, "D j M Y H:i")


def test_the_rows_template_escapes_what_leads_typed() -> None:
    class Lead:
        full_name, email, company, job_title = (
            '"><img src=x onerror=alert(1)>',
            "a@x.example",
            "",
            "",
        )
        score, temperature, owner, campaign, source = 10, "cold", None, None, "<b>"

        def get_temperature_display(self) -> str:
            return "Cold"

        def get_stage_display(self) -> str:
            return "New"

    class Row:
        lead, url, score_percent, hot_since = Lead(), "/sales/leads/1/", 10, None
        last_activity, last_activity_at = "<script>x</script>", NOW

    html = render_to_string(
        "sales/_rows.html",
        {"rows": [Row()], "can_change": True, "here": "/", "csrf": "t"},
        using="jinja2",
    )
    assert "<img" not in html and "&#34;&gt;&lt;img" in html
    assert "<script>" not in html and "&lt;b&gt;" in html
