"""An email's content is checked by one rule (nurture.validators) wherever it is written:
the sequence admin's step form, the journey map's email node form and the API."""

from typing import Any

import pytest

from nurture.admin import StepForm
from nurture.api_journeys import EmailContentSerializer
from nurture.journey_forms import EmailNodeForm
from nurture.models import Node
from nurture.rendering import BUTTON_LINK_HELP

pytestmark = pytest.mark.django_db

GOOD = {
    "subject": "Hi {{ first_name }}",
    "preheader": "",
    "body": "Hello",
    "cta_label": "",
    "cta_url": "",
}
BAD = [
    {"subject": "Hi {{ first_nmae }}"},
    {"body": "{% load evil %}Hello"},
    {"cta_label": "Book"},
    {"cta_url": "https://example.com/"},
    {"cta_label": "Book", "cta_url": "{{ first_name }}.example.com"},
    # An unknown field in the button's link: the link's own rule still applies (the admin
    # once said "needs both a label and a link" here instead, unlike the API).
    {"cta_label": "Book", "cta_url": "{{ bookng_url }}"},
]


def _admin_errors(content: dict[str, str]) -> dict[str, list[str]]:
    form = StepForm(data={"day": 1, "is_active": "on", **content})
    form.is_valid()
    return {name: list(errors) for name, errors in form.errors.items()}


def _journey_errors(content: dict[str, str]) -> dict[str, list[str]]:
    form = EmailNodeForm(data={"name": "Welcome", **content}, node=Node(kind=Node.Kind.EMAIL))
    form.is_valid()
    return {name: list(errors) for name, errors in form.errors.items()}


def _api_errors(content: dict[str, str]) -> dict[str, Any]:
    serializer = EmailContentSerializer(data=content)
    serializer.is_valid()
    return {name: [str(e) for e in errors] for name, errors in serializer.errors.items()}


@pytest.mark.parametrize("change", BAD, ids=lambda change: ",".join(change))
def test_it_refuses_the_same_content_with_the_same_words_everywhere(change: dict) -> None:
    content = {**GOOD, **change}
    expected = _api_errors(content)
    assert expected, content
    assert _admin_errors(content) == expected
    assert _journey_errors(content) == expected


def test_it_accepts_good_content_everywhere() -> None:
    content = {**GOOD, "cta_label": "Book", "cta_url": "{{ booking_url }}"}
    assert _admin_errors(content) == _journey_errors(content) == _api_errors(content) == {}


def test_an_unknown_field_in_a_button_link_names_the_link_rule() -> None:
    errors = _admin_errors({**GOOD, "cta_label": "Book", "cta_url": "{{ bookng_url }}"})
    assert errors["cta_url"][1:] == [BUTTON_LINK_HELP]


def test_a_day_list_step_needs_its_day() -> None:
    """A day list schedules a step by its day: left blank, it is refused, not saved to crash
    the scheduler later (only a journey's email step has no day)."""
    form = StepForm(data={"is_active": "on", **GOOD})
    assert not form.is_valid()
    assert form.errors["day"] == ["This field is required."]
    assert StepForm(data={"day": 3, "is_active": "on", **GOOD}).is_valid()
