import re
from typing import Any

import pytest

from capture.models import Activity, LandingPage, Lead, Submission

pytestmark = pytest.mark.django_db

BAD_INPUT = [
    ("email", "", "This field is required."),
    ("email", None, "This field is required."),
    ("email", "not-an-email", "Enter a valid email address."),
    ("email", "a@b", "Enter a valid email address."),
    ("email", "x" * 250 + "@example.com", "at most 254 characters"),
    ("email", "someone@mailinator.com", "Please use a permanent email address."),
    ("first_name", "", "This field is required."),
    ("first_name", "A" * 101, "at most 100 characters"),
    ("first_name", "Ada\x00", "Null characters are not allowed."),
    ("last_name", "L" * 101, "at most 100 characters"),
    ("company", "   ", "This field is required."),
    ("company", "C" * 201, "at most 200 characters"),
    ("job_title", "T" * 201, "at most 200 characters"),
    ("phone", "call me maybe", "Enter a valid phone number, with its country code"),
    ("phone", "555 123", "Enter a valid phone number, with its country code"),
    ("phone", "1" * 41, "at most 40 characters"),
    ("company_size", "a zillion", "Select a valid choice."),
    ("country", "XX", "Select a valid choice."),
    ("answer", "Yesterday", "Select a valid choice."),
    ("answer", None, "This field is required."),
    ("consent", None, "Please tick this box so we may contact you."),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_input_gets_the_form_back_with_a_message_by_the_field(
    submit: Any, page: LandingPage, field: str, value: str | None, message: str
) -> None:
    response = submit(page, **{field: value})

    assert response.status_code == 400
    html = response.content.decode()
    # crispy-forms ties each error to its field: <div id="error_1_id_<field>">
    error = re.search(rf'id="error_1_id_{field}"[^>]*>(.*?)</', html, re.S)
    assert error, f"an error message is shown by {field}"
    assert message in error.group(1).replace("&#x27;", "'")
    assert re.search(rf'class="[^"]*is-invalid[^"]*"[^>]*id="id_{field}', html) or field in (
        "answer",
        "consent",
    )
    assert "Please correct the 1 highlighted field below." in html
    assert not Lead.objects.exists()
    assert not Submission.objects.exists()
    assert not Activity.objects.exists()


def test_the_form_keeps_what_was_typed(submit: Any, page: LandingPage) -> None:
    html = submit(page, email="broken", company="Kept Co").content.decode()
    assert 'value="Kept Co"' in html


def test_a_non_required_field_may_be_left_blank(submit: Any, page: LandingPage) -> None:
    response = submit(page, phone="", job_title="", company_size="", country="", last_name="")
    assert response.status_code == 302
    assert Lead.objects.get().phone == ""


def test_fields_a_page_does_not_show_are_ignored(submit: Any) -> None:
    from tests.factories import LandingPageFactory

    page = LandingPageFactory(
        fields_shown=["first_name"], fields_required=[], qualifying_question="", consent_text=""
    )
    response = submit(page, company="Sneaky Co", job_title="CEO", answer=None, consent=None)
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert (lead.company, lead.job_title, lead.consent_given_at) == ("", "", None)
