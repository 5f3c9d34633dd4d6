"""A marketer's first sequence in the admin: the add page's own initial form saves."""

from html.parser import HTMLParser

import pytest
from django.test import Client

from nurture.models import Sequence
from tests.factories import marketer

pytestmark = pytest.mark.django_db

ADD = "/admin/nurture/sequence/add/"


class _FormFields(HTMLParser):
    """What a browser would send for the page's form: (name, value) pairs, untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        name = attr.get("name", "")
        if "__prefix__" in name:  # the inline's template row, not a form
            return
        if tag == "input" and name:
            kind = attr.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attr:
                    self.fields.append((name, attr.get("value", "on")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.fields.append((name, attr.get("value", "")))
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._options.append((attr.get("value", ""), "selected" in attr))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            if not chosen and self._options:  # a single select sends its first option
                chosen = [self._options[0][0]]
            self.fields += [(self._select, value) for value in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def _initial_form(html: str) -> dict[str, list[str]]:
    parser = _FormFields()
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


def test_a_new_sequence_starts_with_monday_to_friday_ticked(client: Client) -> None:
    client.force_login(marketer())

    form = _initial_form(client.get(ADD).content.decode())

    assert form["weekdays"] == ["0", "1", "2", "3", "4"]


def test_the_add_pages_initial_form_saves_with_only_a_name_typed(client: Client) -> None:
    client.force_login(marketer())
    form = _initial_form(client.get(ADD).content.decode())
    form["name"] = ["Webinar follow-up"]

    response = client.post(ADD, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    sequence = Sequence.objects.get()
    assert sequence.name == "Webinar follow-up"
    assert sequence.weekdays == [0, 1, 2, 3, 4]
    assert (sequence.window_start_hour, sequence.window_end_hour) == (9, 17)
    assert not sequence.steps.exists(), "the blank step rows are not saved"
