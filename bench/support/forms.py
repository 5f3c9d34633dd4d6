"""The demo landing page's form, as a browser would send it before the visitor types."""

from dataclasses import dataclass
from html.parser import HTMLParser

import httpx

from .output import BenchFailure
from .stack import LANDING_PATH


class _FormInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.checkboxes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        name = attributes.get("name")
        if not name or tag not in ("input", "select", "textarea"):
            return
        kind = attributes.get("type", "text") if tag == "input" else tag
        if kind == "radio":
            self.radios.setdefault(name, []).append(attributes.get("value", ""))
        elif kind == "checkbox":
            self.checkboxes.add(name)
        else:
            self.values[name] = attributes.get("value", "")


@dataclass(frozen=True)
class LandingForm:
    fields: dict[str, str]  # every field's initial value, the consent box ticked
    answers: list[str]  # the choices of the page's question, if it has one


def read_form(page_html: str) -> LandingForm:
    """The form in `page_html`, which must carry its CSRF token and signed start time."""
    form = _FormInputs()
    form.feed(page_html)
    fields = form.values
    missing = [name for name in ("csrfmiddlewaretoken", "started") if not fields.get(name)]
    if missing:
        raise BenchFailure(f"the landing page form lacks {', '.join(missing)}")
    if "consent" in form.checkboxes:
        fields["consent"] = "on"
    return LandingForm(fields=fields, answers=form.radios.get("answer", []))


@dataclass(frozen=True)
class Visitor:
    """One visitor who loaded the page: the form and the headers to send it back with."""

    form: LandingForm
    headers: dict[str, str]


def visit(client: httpx.Client, path: str = LANDING_PATH, **typed: str) -> Visitor:
    """GET the page once: its form with `typed` filled in, the CSRF cookie as a header.

    The cookie goes in the headers, not the client's jar, so that one page load can be
    replayed by many connections (wrk's, or an httpx client's).
    """
    page = client.get(path)
    token = page.cookies.get("csrftoken")
    client.cookies.clear()
    if page.status_code != 200 or not token:
        raise BenchFailure(f"GET {path}: HTTP {page.status_code}, csrftoken cookie {token!r}")
    form = read_form(page.text)
    form.fields.update(typed, time_zone="Europe/Berlin")  # what capture.js fills in
    headers = {
        "Cookie": f"csrftoken={token}",
        "Origin": str(client.base_url).rstrip("/"),
        "Referer": str(page.url),
    }
    return Visitor(form=form, headers=headers)
