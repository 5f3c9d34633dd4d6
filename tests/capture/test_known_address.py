"""A known lead's address typed by someone else: the submission fills only the lead's blank
fields, and the lead's own links (its booking calendar, its tracking token and cookie) go
to the lead's inbox, never to the browser that typed the address. The lead itself (it
created the lead, or its signed cookie names it) still gets them at once, latest wins."""

import re
from typing import Any
from unittest import mock

import pytest
from django.core import mail, signing
from django.test import Client

from capture import services
from capture.booking_links import SUBJECT
from capture.models import LandingPage, Lead, Submission
from capture.services import Tracking, capture_submission
from capture.tracking import COOKIE_NAME, lead_uid_for_tracking_token, tracking_token
from nurture.models import Suppression
from nurture.tokens import BOOKING_SALT
from tests.capture.ingest.support import api_capture_data, post_json
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory, LeadFactory

pytestmark = pytest.mark.django_db
VICTIM = "victim@example.com"
EMAILED = "Your booking link is on its way"


def _consultation(**overrides: Any) -> LandingPage:
    return LandingPageFactory(
        kind=LandingPage.Kind.CONSULTATION,
        fields_shown=["first_name", "company", "job_title"],
        fields_required=["first_name"],
        consent_text="",
        **overrides,
    )


def _victim() -> Lead:
    return LeadFactory(
        email=VICTIM, first_name="Vera", company="Victim Co", job_title="", time_zone="Asia/Tokyo"
    )


def _stranger_posts(client: Client, page: LandingPage, *, embed: bool = False) -> Any:
    url = f"/l/{page.slug}/embed/" if embed else f"/l/{page.slug}/"
    data = valid_form_data(
        email=VICTIM.upper(), first_name="Attacker", company="Nope", job_title="Intruder"
    )
    return client.post(url, data)


def _booking_path(text: str) -> str:
    found = re.search(r"/book/[^/\s\"]+/", text)
    assert found, text
    return found.group(0)


def test_a_stranger_typing_a_known_address_gets_no_calendar_and_the_lead_gets_it_by_email(
    client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SITE_URL = "http://testserver"
    page = _consultation(title="Free consultation")
    victim = _victim()

    with django_capture_on_commit_callbacks(execute=True):
        response = _stranger_posts(client, page)

    assert response.status_code == 302
    assert response["Location"] == f"/l/{page.slug}/thanks/", "no token of the victim's"
    assert COOKIE_NAME not in response.cookies, "the stranger's browser is not the victim"
    html = client.get(response["Location"]).content.decode()
    assert "/book/" not in html and "Vera" not in html and "Victim Co" not in html
    assert EMAILED in html
    # The victim's details stand; only what was blank is filled.
    victim.refresh_from_db()
    assert (victim.first_name, victim.company, victim.job_title, victim.time_zone) == (
        "Vera",
        "Victim Co",
        "Intruder",
        "Asia/Tokyo",
    )
    # The submission still records what was typed.
    typed = Submission.objects.get(lead=victim).data
    assert (typed["first_name"], typed["company"]) == ("Attacker", "Nope")
    # The victim, at its own address, gets its own booking link, and nothing typed.
    [email] = mail.outbox
    assert email.to == [VICTIM] and email.subject == SUBJECT
    assert "Free consultation" in email.body
    assert "Attacker" not in email.body and "Nope" not in email.body
    path = _booking_path(email.body)
    assert email.body.count(f"http://testserver{path}") == 1
    assert signing.loads(path.split("/")[2], salt=BOOKING_SALT) == str(victim.uid)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("reason", ["bounced", "complained", "unsubscribed"])
def test_a_suppressed_address_gets_no_booking_link(
    client: Client, django_capture_on_commit_callbacks: Any, reason: str
) -> None:
    page = _consultation()
    _victim()
    Suppression.objects.create(email=VICTIM, reason=reason)

    with django_capture_on_commit_callbacks(execute=True):
        response = _stranger_posts(client, page)

    assert response.status_code == 302
    assert mail.outbox == []
    # The page says what it says to everyone: it does not tell whose address is suppressed.
    assert EMAILED in client.get(response["Location"]).content.decode()


def test_the_form_mails_a_known_lead_at_most_once_in_ten_minutes(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    page = _consultation()
    _victim()

    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert _stranger_posts(client, page).status_code == 302

    assert [email.to for email in mail.outbox] == [[VICTIM]]
    assert Submission.objects.filter(lead__email=VICTIM).count() == 3


def test_the_embedded_form_gives_a_known_address_no_calendar_either(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    page = _consultation()
    _victim()

    with django_capture_on_commit_callbacks(execute=True):
        response = _stranger_posts(client, page, embed=True)

    assert response["Location"] == f"/l/{page.slug}/embed/thanks/"
    html = client.get(response["Location"]).content.decode()
    assert "/book/" not in html and EMAILED in html
    assert [email.to for email in mail.outbox] == [[VICTIM]]


def test_the_lead_itself_in_the_same_browser_gets_its_calendar_and_latest_wins(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    page = _consultation()
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/l/{page.slug}/", valid_form_data(email="quinn@example.com"))
    assert "?t=" in first["Location"], "a new lead is its own"
    assert COOKIE_NAME in first.cookies

    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(
            f"/l/{page.slug}/",
            valid_form_data(email="quinn@example.com", first_name="Quinn", company="Fieldstone"),
        )

    assert "?t=" in again["Location"]
    assert "/book/" in client.get(again["Location"]).content.decode()
    lead = Lead.objects.get(email="quinn@example.com")
    assert (lead.first_name, lead.company) == ("Quinn", "Fieldstone")
    assert mail.outbox == [], "the calendar was on the page: no email needed"


def test_a_signed_email_link_proves_the_lead_as_its_cookie_does(client: Client) -> None:
    page = _consultation()
    victim = _victim()
    client.get(f"/l/{page.slug}/?lf={tracking_token(victim.uid)}")  # sets the cookie

    response = client.post(f"/l/{page.slug}/", valid_form_data(email=VICTIM, first_name="Veronica"))

    assert "?t=" in response["Location"]
    victim.refresh_from_db()
    assert victim.first_name == "Veronica"


def test_another_leads_cookie_does_not_prove_this_one(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    page = _consultation()
    victim = _victim()
    other = LeadFactory(email="other@example.com")
    client.cookies[COOKIE_NAME] = tracking_token(other.uid)

    with django_capture_on_commit_callbacks(execute=True):
        response = _stranger_posts(client, page)

    assert "?t=" not in response["Location"]
    victim.refresh_from_db()
    assert (victim.first_name, victim.company) == ("Vera", "Victim Co")
    assert lead_uid_for_tracking_token(response.cookies.get(COOKIE_NAME, "")) is None
    assert [email.to for email in mail.outbox] == [[VICTIM]]


def test_the_capture_api_gives_a_tracking_token_only_for_a_lead_it_created(
    client: Client,
) -> None:
    page = LandingPageFactory()
    victim = _victim()

    known = post_json(
        client,
        f"/api/v1/capture/{page.slug}/",
        api_capture_data(email=VICTIM, first_name="Attacker", company="Nope"),
    )
    new = post_json(client, f"/api/v1/capture/{page.slug}/", api_capture_data())

    assert known.status_code == 201
    assert known.json() == {"status": "received", "tracking_token": None}
    victim.refresh_from_db()
    assert (victim.first_name, victim.company) == ("Vera", "Victim Co")
    assert new.status_code == 201
    created = Lead.objects.get(email="ada@example.com")
    assert lead_uid_for_tracking_token(new.json()["tracking_token"]) == created.uid


@pytest.mark.parametrize("portable", [False, True], ids=["statement", "orm"])
def test_both_store_paths_fill_only_blanks_unless_the_lead_is_proven(portable: bool) -> None:
    page = LandingPageFactory()
    victim = _victim()
    store = services._store_capture_portably if portable else services._store_capture

    def capture(**kwargs: Any) -> Any:
        with mock.patch.object(services, "_store_capture", store):
            return capture_submission(
                page=page,
                data={"email": VICTIM, "first_name": "Attacker", "company": "Nope"},
                tracking=Tracking(),
                **kwargs,
            )

    stranger = capture()
    victim.refresh_from_db()
    assert (victim.first_name, victim.company) == ("Vera", "Victim Co")
    assert (stranger.created, stranger.proven) == (False, False)

    proven = capture(returning=victim)
    victim.refresh_from_db()
    assert (victim.first_name, victim.company) == ("Attacker", "Nope")
    assert (proven.created, proven.proven) == (False, True)
