"""A body in a charset the site cannot read as ASCII-compatible text: a 400, never a 500.

`Content-Type: application/x-www-form-urlencoded; charset=utf-16` used to crash every
CSRF-protected POST (CsrfViewMiddleware reads request.POST, which decoded the body as
UTF-16), anonymous ones included. The CSRF check is enforced here, as in production.
"""

import io
import sys
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from capture.models import Activity, Lead, Submission
from leadfunnel.wsgi import application
from nurture.tokens import booking_token
from sales.models import Note
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory, LeadFactory, sales_rep

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
# Not ASCII-compatible (utf-16/32, utf-7's "+" and "~"), not text at all (bz2), or unknown.
UNREADABLE_CHARSETS = ["utf-16", "UTF-16LE", "utf-32", "utf-7", "bz2_codec", "no-such-charset"]


def _client() -> Client:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    # With a CSRF cookie, the check goes on to read the token from the body (request.POST).
    client.cookies["csrftoken"] = "a" * 32
    return client


def _post(client: Client, url: str, charset: str, content_type: str = FORM) -> Any:
    body = "email=ada%40example.com&first_name=Ada&body=Hello&csrfmiddlewaretoken=x"
    try:
        raw = body.encode(charset)
    except LookupError:
        raw = body.encode()  # bz2 or an unknown name: the header lies about plain bytes
    return client.generic("POST", url, raw, content_type=f"{content_type}; charset={charset}")


def _counts() -> tuple[int, int, int, int]:
    return (
        Lead.objects.count(),
        Submission.objects.count(),
        Activity.objects.count(),
        Note.objects.count(),
    )


def _assert_plain_400(response: Any, charset: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert f'charset "{charset}"' in text and "UTF-8" in text, text


def _csrf_protected_posts() -> list[tuple[Client, str]]:
    """One of each kind: anonymous (sign-in, admin sign-in, landing page, booking), a rep's."""
    page = LandingPageFactory(slug="charset")
    lead = LeadFactory()
    rep_client = _client()
    rep_client.force_login(sales_rep())
    anonymous = _client()
    return [
        (anonymous, "/accounts/login/"),
        (anonymous, "/admin/login/"),
        (anonymous, f"/l/{page.slug}/"),
        (anonymous, f"/book/{booking_token(lead_uid=str(lead.uid))}/"),
        (rep_client, f"/sales/leads/{lead.pk}/notes/"),
    ]


# Django reads forms as UTF-8 only (and raised BadRequest again on every read of POST).
@pytest.mark.parametrize("charset", [*UNREADABLE_CHARSETS, "iso-8859-1", "windows-1252"])
def test_a_form_in_another_charset_than_utf8_is_a_400_on_every_csrf_protected_post(
    charset: str,
) -> None:
    posts = _csrf_protected_posts()
    before = _counts()
    for client, url in posts:
        _assert_plain_400(_post(client, url, charset), charset)
    assert _counts() == before


@pytest.mark.parametrize("charset", UNREADABLE_CHARSETS)
def test_a_multipart_form_in_an_unreadable_charset_is_a_400(charset: str) -> None:
    posts = _csrf_protected_posts()
    before = _counts()
    for client, url in posts:
        response = _post(client, url, charset, content_type="multipart/form-data; boundary=xyz")
        _assert_plain_400(response, charset)
    assert _counts() == before


# bz2_codec is left out: with a query string the test client's own request class fails on
# it; the last test sends it to the WSGI application gunicorn runs.
@pytest.mark.parametrize("charset", ["utf-16", "utf-32", "utf-7", "no-such-charset"])
def test_a_query_string_in_an_unreadable_charset_is_a_400(charset: str) -> None:
    """request.GET is decoded with the charset of the request's Content-Type too."""
    for client, url in _csrf_protected_posts():
        response = client.get(url + "?utm_source=x", CONTENT_TYPE=f"text/plain; charset={charset}")
        _assert_plain_400(response, charset)


@pytest.mark.parametrize("charset", ["utf-16", "utf-7", "no-such-charset"])
def test_an_api_body_in_an_unreadable_charset_is_a_json_400(charset: str) -> None:
    page = LandingPageFactory(slug="charset-api")
    before = _counts()
    for content_type in ["application/json", FORM]:
        response = _post(_client(), f"/api/v1/capture/{page.slug}/", charset, content_type)
        assert response.status_code == 400, response.content[:300]
        error = response.json()["error"]
        assert error["code"] == "unsupported_charset"
        assert f'charset "{charset}"' in error["message"] and "UTF-8" in error["message"]
    assert _counts() == before


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8", "UTF_8"])
def test_a_form_in_utf8_by_any_spelling_is_read(charset: str) -> None:
    page = LandingPageFactory(slug="utf8")
    body = urlencode(valid_form_data(first_name="Zoë"))
    response = _client().generic(
        "POST", f"/l/{page.slug}/", body, content_type=f"{FORM}; charset={charset}"
    )
    assert response.status_code == 403, "read as UTF-8 up to the CSRF check (no valid token)"
    response = Client().generic(
        "POST", f"/l/{page.slug}/", body, content_type=f"{FORM}; charset={charset}"
    )
    assert response.status_code == 302, response.content[:500]
    assert Lead.objects.get().first_name == "Zoë"


def test_a_non_text_charset_with_a_query_string_is_a_400_at_the_wsgi_entry_point(
    settings: Any,
) -> None:
    """What gunicorn calls: Django's own request class fails on `bz2_codec` plus a query
    string before any middleware (and the test client builds its own, so it cannot show it)."""
    settings.ALLOWED_HOSTS = ["localhost"]
    statuses: list[str] = []
    for path in ("/accounts/login/", "/api/v1/track/"):
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": "utm_source=x",
            "CONTENT_TYPE": f"{FORM}; charset=bz2_codec",
            "CONTENT_LENGTH": "3",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "HTTP_HOST": "localhost",
            "wsgi.input": io.BytesIO(b"a=b"),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        body = b"".join(application(environ, lambda status, headers: statuses.append(status)))
        assert statuses[-1].startswith("400"), (path, body[:300])
        assert b"bz2_codec" in body and b"UTF-8" in body
