"""The dashboard: order, filters, search, keyset pages, the live count and query counts."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from capture.models import Activity, Lead
from nurture.models import Delivery
from nurture.services.scheduling import enroll_lead
from sales.models import Handoff, RepProfile
from sales.selectors import Cursor, DashboardFilters, dashboard_page
from scoring.models import ScoreChange
from tests.factories import CampaignFactory, UserFactory, playbook_sequence, sales_rep
from tests.sales.support import make_activity, make_lead, make_rep

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _emails(response: Any) -> list[str]:
    table = response.content.decode().split('id="leads"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'text-break">([^<]+@[^<]+)</div>', table)


def _get(client: Client, **query: Any) -> Any:
    return client.get(reverse("sales:dashboard"), query)


def test_hot_first_then_score_then_latest_activity(client: Client) -> None:
    cold = make_lead(email="cold@x.example", temperature="cold", score=5)
    warm = make_lead(email="warm@x.example", temperature="warm", score=50)
    hot_low = make_lead(email="hot-low@x.example", temperature="hot", score=61)
    quiet = make_lead(email="hot-quiet@x.example", temperature="hot", score=80)
    busy = make_lead(email="hot-busy@x.example", temperature="hot", score=80)
    make_activity(quiet, "page_viewed", NOW - timedelta(days=3), url="https://x.example/a")
    make_activity(busy, "page_viewed", NOW - timedelta(minutes=5), url="https://x.example/b")
    make_activity(cold, "page_viewed", NOW, url="https://x.example/c")  # recent, but cold
    client.force_login(sales_rep())
    order = _emails(_get(client))
    assert order == [busy.email, quiet.email, hot_low.email, warm.email, cold.email]


def test_each_filter_and_the_search(client: Client) -> None:
    rep = make_rep("ann")
    other = make_rep("bob")
    spring = CampaignFactory(name="Spring")
    leads = {
        "mine": make_lead(email="mine@x.example", owner=rep, temperature="hot", stage="contacted"),
        "bobs": make_lead(email="bobs@x.example", owner=other, temperature="warm"),
        "free": make_lead(email="free@x.example", campaign=spring, source="google"),
        "old": make_lead(
            email="old@x.example",
            created_at=NOW - timedelta(days=40),
            company="Northwind Traders",
            source="linkedin",
        ),
        "named": make_lead(email="someone@y.example", first_name="Grace", last_name="Hopper"),
    }
    client.force_login(rep)

    def shown(**query: Any) -> set[str]:
        response = _get(client, **query)
        assert response.status_code == 200
        return {e.split("@")[0] for e in _emails(response)}

    assert shown() == {"mine", "bobs", "free", "old", "someone"}
    assert shown(temperature="hot") == {"mine"}
    assert shown(temperature="warm") == {"bobs"}
    assert shown(stage="contacted") == {"mine"}
    assert shown(owner="mine") == {"mine"}
    assert shown(owner="unassigned") == {"free", "old", "someone"}
    assert shown(campaign=spring.pk) == {"free"}
    assert shown(source="linkedin") == {"old"}
    today = NOW.date().isoformat()
    assert shown(created_from=today) == {"mine", "bobs", "free", "someone"}
    assert shown(created_to=(NOW - timedelta(days=30)).date().isoformat()) == {"old"}
    assert shown(q="northwind") == {"old"}
    assert shown(q="grace hopper") == {"someone"}
    assert shown(q="BOBS@") == {"bobs"}
    assert shown(q="nobody-like-this") == set()
    assert len(leads) == 5


def test_won_and_lost_leads_leave_the_work_list_but_a_filter_shows_them(client: Client) -> None:
    make_lead(email="won@x.example", temperature="hot", score=99, stage="won")
    make_lead(email="lost@x.example", temperature="hot", score=98, stage="lost")
    make_lead(email="open@x.example", temperature="hot", score=70, stage="contacted")
    make_lead(email="new@x.example", temperature="warm", score=40)
    client.force_login(sales_rep())

    def shown(**query: Any) -> list[str]:
        response = _get(client, **query)
        assert response.status_code == 200
        return [e.split("@")[0] for e in _emails(response)]

    assert shown() == ["open", "new"]
    assert shown(temperature="hot") == ["open"]
    assert shown(stage="closed") == ["won", "lost"]
    assert shown(stage="won") == ["won"]
    assert shown(stage="all") == ["won", "lost", "open", "new"]
    # A broken filter falls back to the default list, not to every lead.
    response = _get(client, temperature="boiling")
    assert response.status_code == 400
    assert [e.split("@")[0] for e in _emails(response)] == ["open", "new"]


def test_bad_filters_answer_400_with_the_reason(client: Client) -> None:
    client.force_login(sales_rep())
    response = _get(client, created_from="2026-03-05", created_to="2026-03-01")
    assert response.status_code == 400
    assert "must not be after" in response.content.decode()
    assert _get(client, temperature="boiling").status_code == 400
    response = _get(client, after="not-a-cursor")
    assert response.status_code == 400 and "page link is broken" in response.content.decode()


def test_keyset_pages_walk_every_lead_once_across_temperatures(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = []
    for index in range(7):
        made.append(
            make_lead(
                email=f"l{index}@x.example",
                temperature=["hot", "warm", "cold"][index % 3],
                score=50 + index % 2,
            )
        )
    monkeypatch.setattr("sales.selectors.dashboard.PAGE_SIZE", 3)
    client.force_login(sales_rep())
    seen: list[str] = []
    query: dict[str, str] = {}
    for _ in range(5):
        response = _get(client, **query)
        seen += _emails(response)
        found = re.search(r'href="\?([^"]*after=[^"]+)" rel="next"', response.content.decode())
        if not found:
            break
        query = {"after": re.search(r"after=([^&]+)", found.group(1)).group(1)}  # type: ignore[union-attr]
    assert len(seen) == 7 and set(seen) == {lead.email for lead in made}
    full = [
        row.lead.email
        for row in dashboard_page(filters=DashboardFilters(), user=UserFactory(), size=50).rows
    ]
    assert seen == full, "pages follow the dashboard order"


def test_the_cursor_round_trips_to_the_microsecond() -> None:
    cursor = Cursor("warm", 42, datetime(2026, 3, 2, 12, 0, 0, 123457, tzinfo=UTC), 99)
    assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(ValueError):
        Cursor.decode("boiling.1.2.3")


def test_rows_say_what_the_lead_did_last_and_since_when_it_is_hot(client: Client) -> None:
    lead = make_lead(first_name="Maria", temperature="hot", score=70)
    sequence = playbook_sequence()
    enroll_lead(lead=lead, sequence=sequence, now=NOW - timedelta(days=6))
    day5 = Delivery.objects.get(enrollment__lead=lead, step__day=5)
    day5.step.subject = "How Fieldstone doubled demos, {{ first_name }}"
    day5.step.save()
    make_activity(
        lead,
        Activity.Kind.EMAIL_CLICKED,
        NOW - timedelta(minutes=12),
        delivery_id=day5.pk,
        link="https://x.example/story",
    )
    Handoff.objects.create(lead=lead, turned_hot_at=NOW - timedelta(hours=3))
    client.force_login(sales_rep())
    html = _get(client).content.decode()
    assert "clicked Day 5 “How Fieldstone doubled demos, Maria”, " in html
    assert "12\xa0minutes ago" in html
    assert "3\xa0hours" in html


def test_rows_say_why_a_lead_scores_what_it_does(client: Client) -> None:
    lead = make_lead(first_name="Maria", temperature="hot", score=75)
    reason = {"rule_id": None, "label": ""}
    ScoreChange.objects.create(
        lead=lead,
        old_score=0,
        new_score=40,
        old_temperature="cold",
        new_temperature="warm",
        cause="capture",
        reasons=[{**reason, "points": 40, "text": "Old reason (+40)"}],
        at=NOW - timedelta(days=2),
    )
    ScoreChange.objects.create(
        lead=lead,
        old_score=40,
        new_score=75,
        old_temperature="warm",
        new_temperature="hot",
        cause="activity",
        reasons=[
            {**reason, "points": 10, "text": "Pricing page view (+10)"},
            {**reason, "points": -5, "text": "Student (−5)"},
            {**reason, "points": 25, "text": "Director title (+25)"},
            {**reason, "points": 5, "text": "Opened an email (+5)"},
        ],
        at=NOW - timedelta(hours=1),
    )
    make_lead(first_name="Nil", score=0)
    client.force_login(sales_rep())

    html = _get(client).content.decode()

    # The latest change's two biggest reasons; none for a lead with no points.
    assert "Why: Director title (+25) · Pricing page view (+10)</div>" in html
    assert html.count('class="small lf-why"') == 1


def test_the_dashboard_shows_times_in_the_reps_zone(client: Client) -> None:
    rep = make_rep("ann", time_zone="America/New_York")
    lead = make_lead(temperature="hot")
    make_activity(lead, "page_viewed", NOW - timedelta(hours=1), url="https://x.example/p")
    client.force_login(rep)
    html = _get(client).content.decode()
    assert 'title="Mon 2 Mar 06:00"' in html, "11:00 UTC is 06:00 in New York"
    assert RepProfile.objects.get(user=rep).time_zone == "America/New_York"


def _dashboard_queries(client: Client, django_assert_max_num_queries: Any, limit: int) -> None:
    with django_assert_max_num_queries(limit):
        assert _get(client).status_code == 200


@pytest.mark.parametrize("leads", [3, 60])
def test_the_query_count_does_not_grow_with_leads_or_activities(
    client: Client, django_assert_max_num_queries: Any, leads: int
) -> None:
    sequence = playbook_sequence()
    for index in range(leads):
        lead = make_lead(
            temperature=["hot", "warm", "cold"][index % 3],
            score=index,
            owner=make_rep(f"rep{index}") if index % 10 == 0 else None,
        )
        enroll_lead(lead=lead, sequence=sequence, now=NOW - timedelta(days=2))
        delivery = Delivery.objects.filter(enrollment__lead=lead).first()
        for minute in range(3):
            make_activity(
                lead,
                "email_opened",
                NOW - timedelta(minutes=minute),
                delivery_id=delivery.pk if delivery else None,
            )
        Handoff.objects.create(lead=lead, turned_hot_at=NOW - timedelta(hours=1))
    client.force_login(sales_rep())
    # session, user, permissions (2), rep zone, campaigns, 3 temperatures, activities,
    # deliveries, hand-offs, score changes, score reasons, speed medians (2), saved views
    _dashboard_queries(client, django_assert_max_num_queries, 18)


def test_new_hot_leads_since_you_looked(client: Client) -> None:
    client.force_login(sales_rep())
    since = NOW - timedelta(minutes=5)
    url = reverse("sales:live") + f"?since={since.timestamp()}"
    assert "new hot lead" not in client.get(url).content.decode()
    ann = make_rep("ann")
    for minutes, name in ((2, "Maria"), (1, "Sam")):
        lead = make_lead(first_name=name, temperature="hot", score=80)
        Handoff.objects.create(lead=lead, rep=ann, turned_hot_at=NOW - timedelta(minutes=minutes))
    before = make_lead(first_name="Early", temperature="hot")
    Handoff.objects.create(lead=before, turned_hot_at=NOW - timedelta(minutes=30))
    response = client.get(url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "2 new hot leads since you looked" in html
    assert html.index("Sam") < html.index("Maria"), "newest first"
    assert "Early" not in html
    assert 'hx-trigger="every 10s"' in html, "the fragment keeps polling"
    assert client.get(reverse("sales:live") + "?since=nan").status_code == 400


def test_the_page_polls_and_loads_vendored_htmx(client: Client) -> None:
    client.force_login(sales_rep())
    html = _get(client).content.decode()
    assert 'hx-get="/sales/live/?since=' in html
    assert "/static/vendor/htmx-2.0.11/htmx.min.js" in html
    assert "https://" not in re.sub(r'href="https?://[^"]*"', "", html).split("<main", 1)[1], (
        "no CDN"
    )


def test_claiming_from_the_dashboard_with_htmx_swaps_the_owner_cell(client: Client) -> None:
    rep = sales_rep()
    lead = make_lead(temperature="hot")
    client.force_login(rep)
    claim_url = reverse("sales:take", args=[lead.pk])
    assert f'hx-post="{claim_url}" hx-target="closest td"' in _get(client).content.decode()
    response = client.post(reverse("sales:take", args=[lead.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.content.decode().strip() == f'<td class="lf-owner">{rep.username}</td>'
    assert Lead.objects.get(pk=lead.pk).owner == rep
    taken = client.post(reverse("sales:take", args=[lead.pk]), headers={"HX-Request": "true"})
    assert taken.status_code == 200, "claiming your own lead again is a no-op"
    client.force_login(sales_rep())
    refused = client.post(reverse("sales:take", args=[lead.pk]), headers={"HX-Request": "true"})
    assert refused.status_code == 409
    assert (
        refused.content.decode() == f"{rep.username} already owns this lead; reassign it instead."
    )


def test_keyset_pages_walk_leads_tied_on_score_and_activity_time_once() -> None:
    from datetime import timedelta as _delta

    from capture.models import Lead as _Lead
    from sales.selectors.dashboard import Cursor as _Cursor

    at = NOW - _delta(hours=1)
    leads = [make_lead(email=f"tie{i}@x.example", temperature="hot", score=70) for i in range(8)]
    # Half share one activity time exactly (the id breaks the tie), half are a minute apart.
    for index, lead in enumerate(leads):
        when = at if index % 2 else at - _delta(minutes=index)
        _Lead.objects.filter(pk=lead.pk).update(last_activity_at=when)
    user, seen, after = UserFactory(), [], None
    for _ in range(6):
        page = dashboard_page(filters=DashboardFilters(), user=user, after=after, size=3)
        seen += [row.lead.pk for row in page.rows]
        if page.next_cursor is None:
            break
        after = _Cursor.decode(page.next_cursor.encode())
    expected = list(
        _Lead.objects.filter(pk__in=[lead.pk for lead in leads])
        .order_by("-score", "-last_activity_at", "-id")
        .values_list("pk", flat=True)
    )
    assert seen == expected
