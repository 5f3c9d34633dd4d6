"""capture.tracking: tokens that name one lead, signed for this purpose only."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing

from capture.models import Lead
from capture.tracking import lead_for_tracking_token, lead_uid_for_tracking_token, tracking_token
from nurture.tokens import booking_token
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_a_token_names_its_lead_and_no_other() -> None:
    ada, eve = LeadFactory(), LeadFactory()
    assert lead_for_tracking_token(tracking_token(ada.uid)) == ada
    assert lead_for_tracking_token(tracking_token(str(eve.uid))) == eve
    assert str(ada.pk) not in tracking_token(ada.uid).split(":")[0], "the uid, not the id"


def test_tokens_of_other_purposes_are_refused() -> None:
    lead: Lead = LeadFactory()
    assert lead_for_tracking_token(booking_token(lead_uid=str(lead.uid))) is None
    assert lead_uid_for_tracking_token(signing.dumps(str(lead.uid))) is None


@pytest.mark.parametrize("token", ["", "x" * 600, "a:b:c", "\ud800:x", "é:ü"])
def test_junk_is_none_not_an_error(token: str) -> None:
    assert lead_uid_for_tracking_token(token) is None


def test_a_token_lasts_two_years() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        token = tracking_token("6f1c2a8e-0000-4000-8000-000000000001")
    with time_machine.travel(start + timedelta(days=729), tick=False):
        assert lead_uid_for_tracking_token(token) is not None
    with time_machine.travel(start + timedelta(days=731), tick=False):
        assert lead_uid_for_tracking_token(token) is None
