"""Mistyped email domains: suggested on the form, and scored as the provider they mistype."""

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from capture.emailtypos import suggest_email
from capture.models import LandingPage, Lead
from scoring.models import ScoringRule
from tests.factories import FitRuleFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("ana@gmial.com", "ana@gmail.com"),
        ("ana@gamil.com", "ana@gmail.com"),
        ("ana@hotmial.com", "ana@hotmail.com"),
        ("ana@yaho.com", "ana@yahoo.com"),
        ("ana@outlok.com", "ana@outlook.com"),
        ("ana@gmail.con", "ana@gmail.com"),
        ("ana@yahoo.cmo", "ana@yahoo.com"),
        ("Ana@GMAIL.CON", "Ana@gmail.com"),
        ("ana@gmail.com", ""),
        ("ana@mail.com", ""),
        ("ana@aon.com", ""),
        ("ana@ms.com", ""),
        ("ana@acme.co", ""),
        ("ana@example.com", ""),
    ],
)
def test_it_suggests_the_common_domain_a_typo_means(typed: str, meant: str) -> None:
    assert suggest_email(typed) == meant


def test_it_asks_once_without_javascript_then_keeps_the_address(
    client: Client, page: LandingPage, submit: Any
) -> None:
    asked = submit(page, email="ada@gmial.com")
    assert asked.status_code == 400
    html = asked.content.decode()
    assert "Did you mean ada@gmail.com? If ada@gmial.com is right, send the form again." in html
    assert not Lead.objects.exists()
    checked = re.search(r'name="email_checked" value="([^"]*)"', html).group(1)
    assert checked == "ada@gmial.com"
    # Corrected: captured as corrected, no second question.
    assert submit(page, email="ada@gmail.com").status_code == 302
    # Sent again unchanged after the question: kept as typed.
    assert submit(page, email="bob@gmial.com", email_checked="bob@gmial.com").status_code == 302
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "ada@gmail.com",
        "bob@gmial.com",
    ]
    # A different typo than the one asked about is asked about again.
    again = submit(page, email="cy@hotmial.com", email_checked="bob@gmial.com")
    assert again.status_code == 400 and "Did you mean cy@hotmail.com?" in again.content.decode()


def test_the_form_hands_the_rules_to_the_browser_script(client: Client, page: LandingPage) -> None:
    html = client.get(reverse("capture:landing_page", kwargs={"slug": page.slug})).content.decode()
    assert '<script src="/static/leadfunnel/emailcheck.js" defer></script>' in html
    rules = json.loads(
        re.search(r'data-typo-rules="([^"]+)"', html).group(1).replace("&quot;", '"')
    )
    assert rules["domains"][0] == "gmail.com" and rules["tlds"]["con"] == "com"
    assert rules["min"] == 5 and "mail.com" in rules["real"]


def test_a_mistyped_free_mail_address_scores_as_free_mail_not_corporate(
    page: LandingPage, submit: Any, django_capture_on_commit_callbacks: Any
) -> None:
    FitRuleFactory(
        field=ScoringRule.Field.EMAIL_DOMAIN,
        operator=ScoringRule.Operator.CORPORATE_EMAIL,
        value="",
        points=20,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert submit(page, email="ada@gmial.com", email_checked="ada@gmial.com").status_code == 302
        assert submit(page, email="bob@acme.example").status_code == 302
    scores = dict(Lead.objects.values_list("email", "score"))
    assert scores == {"ada@gmial.com": 0, "bob@acme.example": 20}
