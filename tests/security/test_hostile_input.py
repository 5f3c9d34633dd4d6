"""Whatever is posted to a capture form: never a 500, and a refusal writes nothing."""

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.models import Activity, LandingPage, Lead, Submission
from tests.conftest import valid_form_data
from tests.factories import LandingPageFactory

pytestmark = pytest.mark.django_db

FIELDS = [
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "company_size",
    "country",
    "phone",
    "answer",
    "consent",
    "started",
    "website",
    "time_zone",
    "industry",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
]

hostile_text = st.one_of(
    st.text(max_size=300),  # any unicode: surrogates are left out by hypothesis, NUL is not
    st.text(
        alphabet=st.sampled_from(["\x00", "\r", "\n", "\u202e", "\ufeff", "'", '"', "<"]),
        max_size=50,
    ),
    st.builds(
        lambda ch, n: ch * n,
        st.sampled_from(["a", "é", "𝔘", "\x00", "@"]),
        st.integers(min_value=1_000, max_value=200_000),
    ),
    st.integers().map(str),
    st.floats(allow_nan=True).map(str),
    st.sampled_from(["", "None", "null", "[]", "{}", "true", "on", "-1", "1e309"]),
    st.emails().map(lambda email: email + "\x00"),
)
# One value, or several under the same key (a QueryDict with duplicate keys).
hostile_value = st.one_of(hostile_text, st.lists(hostile_text, min_size=2, max_size=4))
hostile_form = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(min_size=1, max_size=20)),
    hostile_value,
    max_size=8,
)


def _counts() -> tuple[int, int, int]:
    return Lead.objects.count(), Submission.objects.count(), Activity.objects.count()


def _assert_safe(response: Any, before: tuple[int, int, int]) -> None:
    assert response.status_code in (302, 400, 429), response.status_code
    leads, submissions, activities = (
        after - was for after, was in zip(_counts(), before, strict=True)
    )
    if response.status_code != 302:
        assert (leads, submissions, activities) == (0, 0, 0), "a refusal wrote something"
    else:
        # Either nothing (a bot answered like a human) or one whole submission.
        assert submissions in (0, 1) and leads <= submissions
        assert activities >= submissions


@pytest.fixture
def hostile_page(db: None) -> LandingPage:
    return LandingPageFactory(slug="hostile", embed_origins="https://www.example.com")


@pytest.mark.parametrize("embed", [False, True], ids=["landing page", "embed"])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(overrides=hostile_form, keep_token=st.booleans())
def test_a_hostile_form_is_refused_or_stored_whole(
    hostile_page: LandingPage,
    settings: Any,
    embed: bool,
    overrides: dict[str, Any],
    keep_token: bool,
) -> None:
    settings.CAPTURE_RATE_LIMIT = "0"
    url = f"/l/{hostile_page.slug}/{'embed/' if embed else ''}"
    # Mostly a real form with hostile fields, so validation runs instead of the bot check.
    data = valid_form_data() if keep_token else {}
    data.update(overrides)
    before = _counts()
    response = Client(raise_request_exception=False).post(url, data)
    _assert_safe(response, before)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=2000),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "application/json",
            "text/plain; charset=utf-16",
            "application/x-www-form-urlencoded; charset=no-such-charset",
        ]
    ),
)
def test_a_malformed_body_is_never_a_server_error(
    hostile_page: LandingPage, settings: Any, body: bytes, content_type: str
) -> None:
    settings.CAPTURE_RATE_LIMIT = "0"
    before = _counts()
    # generic(): the bytes go out as they are (post() would re-encode them to the charset).
    response = Client(raise_request_exception=False).generic(
        "POST", f"/l/{hostile_page.slug}/", body, content_type=content_type
    )
    _assert_safe(response, before)


@pytest.mark.parametrize(
    "overrides",
    [
        {"email": "ada@example.com\x00"},
        {"first_name": "Ada\x00Lovelace"},
        {"company": "x" * 100_000},
        {"email": ["ada@example.com", "eve@example.com"]},
        {"consent": ["on", "off"], "country": ["GB", "XX"]},
        {"time_zone": "../../etc/passwd"},
        {"referrer": "\x00" * 3000},
        {"utm_source": '=HYPERLINK("http://x")' * 20},
    ],
    ids=[
        "nul email",
        "nul name",
        "huge company",
        "two emails",
        "duplicate choices",
        "path time zone",
        "nul referrer",
        "long utm",
    ],
)
def test_known_nasties_are_refused_or_stored_whole(
    client: Client, hostile_page: LandingPage, settings: Any, overrides: dict[str, Any]
) -> None:
    settings.CAPTURE_RATE_LIMIT = "0"
    client.raise_request_exception = False
    before = _counts()
    response = client.post(f"/l/{hostile_page.slug}/", valid_form_data(**overrides))
    _assert_safe(response, before)
    if "\x00" in str(overrides):
        assert response.status_code == 400, "PostgreSQL cannot store NUL: the form must refuse"
