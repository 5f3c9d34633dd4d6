"""The landing page rendered once per page version and process, filled in per visitor: each
visit still gets its own CSRF token, start time and tracking values, escaped."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.test.signals import template_rendered
from django.urls import reverse

from capture import page_cache
from capture.models import LandingPage, Lead
from capture.tracking import COOKIE_NAME, tracking_token
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory, LeadFactory, marketer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    page_cache.forget()
    yield
    page_cache.forget()


@pytest.fixture
def renders() -> Iterator[list[str]]:
    """The landing-page templates rendered during the test."""
    seen: list[str] = []

    def note(sender: Any, template: Any, **kwargs: Any) -> None:
        if template.name in ("capture/landing_page.html", "capture/embed.html"):
            seen.append(template.name)

    template_rendered.connect(note)
    yield seen
    template_rendered.disconnect(note)


def _value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1)


def _url(page: LandingPage) -> str:
    return reverse("capture:landing_page", kwargs={"slug": page.slug})


def test_new_visitors_share_one_render_and_each_gets_its_own_tokens(renders: list[str]) -> None:
    page = LandingPageFactory()
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    one = first.get(_url(page)).content.decode()
    two = second.get(_url(page) + "?utm_source=google&utm_campaign=spring").content.decode()
    assert renders == ["capture/landing_page.html"], "rendered once, for both"
    assert _value(one, "csrfmiddlewaretoken") != _value(two, "csrfmiddlewaretoken")
    assert page_cache.marker("csrf") not in two and "lfmark" not in two
    assert (_value(two, "utm_source"), _value(two, "utm_campaign")) == ("google", "spring")
    assert _value(one, "utm_source") == ""
    assert page.headline in two
    # The filled-in tokens are real: the second visitor's form goes through CSRF.
    data = valid_form_data(
        csrfmiddlewaretoken=_value(two, "csrfmiddlewaretoken"), utm_source="google"
    )
    response = second.post(_url(page), data)
    assert response.status_code == 302, response.content.decode()[:300]
    assert Lead.objects.get().source == "google"


def test_a_visitors_values_are_escaped_into_the_page(renders: list[str]) -> None:
    page = LandingPageFactory()
    Client().get(_url(page))
    html = Client().get(_url(page), {"utm_source": '"><script>alert(1)</script>'}).content.decode()
    assert "<script>alert(1)" not in html
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert len(renders) == 1


def test_an_edited_page_is_rendered_afresh(renders: list[str]) -> None:
    page = LandingPageFactory(headline="Old headline")
    assert "Old headline" in Client().get(_url(page)).content.decode()
    page.headline = "New headline"
    page.save()
    assert "New headline" in Client().get(_url(page)).content.decode()
    assert len(renders) == 2


def test_returning_leads_staff_and_previews_get_their_own_render(renders: list[str]) -> None:
    page = LandingPageFactory()
    Client().get(_url(page))
    returning = Client()
    returning.cookies[COOKIE_NAME] = tracking_token(LeadFactory(first_name="Ada").uid)
    returning.get(_url(page))
    staff = Client()
    staff.force_login(marketer())
    staff.get(_url(page))
    draft = LandingPageFactory(published=False)
    staff.get(_url(draft))
    assert len(renders) == 4, "only the anonymous new visitor's page is shared"


def test_views_are_still_counted_from_the_cache(renders: list[str]) -> None:
    page = LandingPageFactory()
    for _ in range(3):
        Client().get(_url(page))
    page.refresh_from_db()
    assert (page.view_count, len(renders)) == (3, 1)


def test_within_the_window_a_new_visitor_costs_no_query(
    renders: list[str], settings: Any, django_assert_num_queries: Any
) -> None:
    settings.CAPTURE_VIEW_COUNT_FLUSH_SECONDS = 60  # views added up in memory
    page = LandingPageFactory()
    Client().get(_url(page))
    with django_assert_num_queries(0):
        html = Client().get(_url(page), {"utm_medium": "cpc"}).content.decode()
    assert _value(html, "utm_medium") == "cpc" and page.headline in html
    assert len(renders) == 1


def test_unpublishing_drops_the_copy_at_once(renders: list[str]) -> None:
    page = LandingPageFactory()
    assert Client().get(_url(page)).status_code == 200
    page.published = False
    page.save()
    assert Client().get(_url(page)).status_code == 404


def _tables_read(queries: list[dict[str, Any]]) -> list[str]:
    return [
        table
        for query in queries
        if query["sql"].startswith("SELECT")
        for table in re.findall(r'FROM "(\w+)"', query["sql"])[:1]
    ]


def test_a_post_takes_the_page_and_its_topic_fields_as_this_process_read_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from capture import queueing
    from nurture.models import SubscriptionTopic

    # Only the request's own queries: the worker's part (inline in tests) is not counted.
    monkeypatch.setattr(queueing, "process_soon", lambda submission_id: True)
    page = LandingPageFactory()
    topic = SubscriptionTopic.objects.create(name="Events", slug="events", consent_text="Yes")
    topic.landing_pages.add(page)
    url = reverse("capture:landing_page", args=[page.slug])
    with CaptureQueriesContext(connection) as first:
        assert Client().post(url, valid_form_data(email="a@example.com")).status_code == 302
    with CaptureQueriesContext(connection) as second:
        response = Client().post(
            url, valid_form_data(email="b@example.com", **{"topic_events": "on"})
        )
        assert response.status_code == 302
    assert "capture_landingpage" in _tables_read(first.captured_queries)
    assert "nurture_subscriptiontopic" in _tables_read(first.captured_queries)
    read = _tables_read(second.captured_queries)
    assert "capture_landingpage" not in read and "nurture_subscriptiontopic" not in read
    # The kept topic field is on the form: the ticked box is in the submission.
    assert Lead.objects.get(email="b@example.com").submissions.get().data["topic_events"] is True
    page.headline = "Saved"
    page.save()  # drops this process's copy
    with CaptureQueriesContext(connection) as third:
        assert Client().post(url, valid_form_data(email="c@example.com")).status_code == 302
    assert "capture_landingpage" in _tables_read(third.captured_queries)
