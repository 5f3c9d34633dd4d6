"""The default scoring model a new install and the demo start from."""

import pytest

from scoring.demo import seed_default_scoring
from scoring.services import score_lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("job_title", "fit"),
    [
        ("CEO", 15),
        ("Co-Founder", 15),
        ("Chief Marketing Officer", 15),
        ("President", 15),
        ("Head of Marketing", 15),
        ("Marketing Director", 15),
        ("Student", 0),
        ("Marketing assistant", 0),
    ],
)
def test_a_senior_title_is_a_fit_whatever_its_name(job_title: str, fit: int) -> None:
    seed_default_scoring()
    # A free-mail address and no company size: the title is the only fit rule in play.
    lead = LeadFactory(email="someone@gmail.com", job_title=job_title, company_size="")
    result = score_lead(lead_id=lead.pk)
    assert result.fit_points == fit
    if fit:
        assert "Senior title +15" in [reason["text"] for reason in result.reasons]
