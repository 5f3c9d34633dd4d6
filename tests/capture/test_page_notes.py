"""The small print under the form and on the thank-you page is the page's own text."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import LandingPageFactory

pytestmark = pytest.mark.django_db
REPLY = "We reply within one business day"
CONFIRMATION = "A confirmation is on its way"


def _pages(client: Client, slug: str) -> tuple[str, str]:
    form = client.get(reverse("capture:landing_page", kwargs={"slug": slug}))
    thanks = client.get(reverse("capture:thanks", kwargs={"slug": slug}))
    assert form.status_code == thanks.status_code == 200
    return form.content.decode(), thanks.content.decode()


def test_a_new_page_starts_with_the_usual_notes(client: Client) -> None:
    form, thanks = _pages(client, LandingPageFactory().slug)
    assert f"{REPLY}. No spam, unsubscribe in one click." in form
    assert f"{CONFIRMATION} to your inbox." in thanks


def test_each_page_prints_its_own_notes_or_none(client: Client) -> None:
    own = LandingPageFactory(
        form_note="Your guide downloads at once.", thank_you_note="Check your downloads folder."
    )
    form, thanks = _pages(client, own.slug)
    assert "Your guide downloads at once." in form and REPLY not in form
    assert "Check your downloads folder." in thanks and CONFIRMATION not in thanks
    silent = LandingPageFactory(form_note="", thank_you_note="")
    form, thanks = _pages(client, silent.slug)
    assert REPLY not in form and CONFIRMATION not in thanks
    assert '<p class="text-body-secondary"></p>' not in thanks
