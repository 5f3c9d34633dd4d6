"""One address, one lead: an IDN domain typed in Unicode or in punycode is the same lead."""

from typing import Any

import pytest

from capture.models import Lead
from capture.services import normalise_email

pytestmark = pytest.mark.django_db


def test_it_makes_one_lead_of_a_unicode_and_a_punycode_domain(submit: Any, page: Any) -> None:
    assert submit(page, email="bob@bücher.example").status_code == 302
    assert submit(page, email="Bob@XN--BCHER-KVA.example", first_name="Robert").status_code == 302

    lead = Lead.objects.get()
    # Stored as people read it, not as the wire carries it.
    assert lead.email == "bob@bücher.example"
    assert lead.first_name == "Robert"
    assert lead.submissions.count() == 2


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("bob@bücher.example", "bob@bücher.example"),
        ("bob@xn--bcher-kva.example", "bob@bücher.example"),
        (" BOB@BÜCHER.Example ", "bob@bücher.example"),
        ("bob@bu\u0308cher.example", "bob@bücher.example"),  # "ü" as u + combining diaeresis
        ("ada@example.com", "ada@example.com"),
        # Not a domain the codec takes: left for the validators to refuse, never an error here.
        ("ada@xn--zz.example", "ada@xn--zz.example"),
        ("ada@" + "a" * 70 + ".example", "ada@" + "a" * 70 + ".example"),
        ("no-at-sign", "no-at-sign"),
    ],
)
def test_it_normalises_the_domain_to_one_form(typed: str, stored: str) -> None:
    assert normalise_email(typed) == stored
