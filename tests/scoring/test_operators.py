"""Every operator, judged the same way by score_lead (Python) and by SQL (match counts)."""

from typing import Any

import pytest

from capture.models import Activity
from scoring.models import ScoringRule
from scoring.selectors import rule_match_counts
from scoring.services import score_lead
from tests.factories import ActivityFactory, EngagementRuleFactory, FitRuleFactory, LeadFactory

pytestmark = pytest.mark.django_db
F, Op = ScoringRule.Field, ScoringRule.Operator

FIT_CASES = [
    # field, operator, value, lead fields, matches
    (F.JOB_TITLE, Op.EQUALS, "cto", {"job_title": "CTO"}, True),
    (F.JOB_TITLE, Op.EQUALS, "cto", {"job_title": "CTO Europe"}, False),
    (F.INDUSTRY, Op.ONE_OF, "saas, fintech", {"industry": "FinTech"}, True),
    (F.INDUSTRY, Op.ONE_OF, "saas, fintech", {"industry": "Retail"}, False),
    (F.JOB_TITLE, Op.CONTAINS, "director, head", {"job_title": "Head of Growth"}, True),
    (F.JOB_TITLE, Op.CONTAINS, "director, head", {"job_title": "Marketing Manager"}, False),
    (F.COMPANY, Op.STARTS_WITH, "acme", {"company": "ACME Corp"}, True),
    (F.COMPANY, Op.STARTS_WITH, "acme", {"company": "The Acme"}, False),
    (F.EMAIL_DOMAIN, Op.ENDS_WITH, ".edu, .ac.uk", {"email": "li@cs.ox.ac.uk"}, True),
    (F.EMAIL_DOMAIN, Op.ENDS_WITH, ".edu", {"email": "li@edu.example"}, False),
    (F.SOURCE, Op.GREATER_THAN, "10", {"source": " 12.5 "}, True),
    (F.SOURCE, Op.GREATER_THAN, "10", {"source": "9"}, False),
    (F.SOURCE, Op.GREATER_THAN, "10", {"source": "twelve"}, False),
    (F.SOURCE, Op.LESS_THAN, "0", {"source": "-3"}, True),
    (F.COMPANY_SIZE, Op.GREATER_THAN, "10-49", {"company_size": "50-249"}, True),
    (F.COMPANY_SIZE, Op.GREATER_THAN, "10-49", {"company_size": "10-49"}, False),
    (F.COMPANY_SIZE, Op.GREATER_THAN, "10-49", {"company_size": ""}, False),
    (F.COMPANY_SIZE, Op.LESS_THAN, "50-249", {"company_size": "1-9"}, True),
    (F.COMPANY_SIZE, Op.LESS_THAN, "50-249", {"company_size": "1000+"}, False),
    (F.COMPANY_SIZE, Op.ONE_OF, "250-999,1000+", {"company_size": "1000+"}, True),
    (F.COMPANY, Op.IS_SET, "", {"company": "Acme"}, True),
    (F.COMPANY, Op.IS_SET, "", {"company": "  "}, False),
    (F.EMAIL_DOMAIN, Op.FREE_MAIL, "", {"email": "ada@gmail.com"}, True),
    (F.EMAIL_DOMAIN, Op.FREE_MAIL, "", {"email": "ada@gmx.de"}, True),
    (F.EMAIL_DOMAIN, Op.FREE_MAIL, "", {"email": "ada@yahoo.co.uk"}, True),
    (F.EMAIL_DOMAIN, Op.FREE_MAIL, "", {"email": "ada@gmx-consulting.com"}, False),
    (F.EMAIL_DOMAIN, Op.CORPORATE_EMAIL, "", {"email": "ada@analytical.example"}, True),
    (F.EMAIL_DOMAIN, Op.CORPORATE_EMAIL, "", {"email": "ada@outlook.com"}, False),
    # A typo of a free-mail provider is that provider, not a company's domain.
    (F.EMAIL_DOMAIN, Op.CORPORATE_EMAIL, "", {"email": "ada@gmial.com"}, False),
    (F.EMAIL_DOMAIN, Op.CORPORATE_EMAIL, "", {"email": "ada@hotmial.com"}, False),
    (F.EMAIL_DOMAIN, Op.FREE_MAIL, "", {"email": "ada@yaho.com"}, True),
    (F.EMAIL_DOMAIN, Op.FREE_MAIL, "", {"email": "ada@outlok.com"}, True),
    (F.EMAIL_DOMAIN, Op.CORPORATE_EMAIL, "", {"email": "ada@gmail.con"}, False),
    (F.EMAIL_DOMAIN, Op.CORPORATE_EMAIL, "", {"email": "ada@aon.com"}, True),
    (F.COUNTRY, Op.COUNTRY_IN, "gb, DE", {"country": "DE"}, True),
    (F.COUNTRY, Op.COUNTRY_IN, "GB, DE", {"country": "FR"}, False),
    (F.COUNTRY, Op.EQUALS, "gb", {"country": "GB"}, True),
    (F.TIME_ZONE, Op.STARTS_WITH, "europe/", {"time_zone": "Europe/Berlin"}, True),
    (F.ANSWER, Op.CONTAINS, "within a month",
     {"answers": {"When would you like to start?": "Ready to start within a month"}}, True),
    (F.ANSWER, Op.IS_SET, "", {"answers": {}}, False),
]  # fmt: skip


@pytest.mark.parametrize(("field", "operator", "value", "lead_fields", "matches"), FIT_CASES)
def test_every_fit_operator_agrees_in_python_and_sql(
    field: str, operator: str, value: str, lead_fields: dict[str, Any], matches: bool
) -> None:
    rule = FitRuleFactory(field=field, operator=operator, value=value, points=7)
    rule.full_clean()
    lead = LeadFactory(**lead_fields)
    assert score_lead(lead_id=lead.pk).fit_points == (7 if matches else 0)
    assert rule_match_counts(rules=[rule]) == {rule.pk: int(matches)}


@pytest.mark.parametrize(
    ("question", "answers", "matches"),
    [
        ("When would you like to start?", {"When would you like to start?": "Now"}, True),
        ("When would you like to start?", {"Budget?": "Now"}, False),
        ("", {"Budget?": "Later", "When?": "now"}, True),
        ("", {"Budget?": "Later"}, False),
    ],
)
def test_an_answer_rule_reads_one_question_or_any(
    question: str, answers: dict[str, str], matches: bool
) -> None:
    rule = FitRuleFactory(field=F.ANSWER, question=question, operator=Op.EQUALS, value="now")
    lead = LeadFactory(answers=answers)
    assert bool(score_lead(lead_id=lead.pk).fit_points) == matches
    assert rule_match_counts(rules=[rule]) == {rule.pk: int(matches)}


@pytest.mark.parametrize(
    ("kind", "pattern", "metadata", "matches"),
    [
        ("page_viewed", "/pricing", {"url": "https://x.example/Pricing?plan=pro"}, True),
        ("page_viewed", "/pricing", {"url": "/blog"}, False),
        ("page_viewed", "/pricing", {}, False),
        ("page_viewed", "*/pricing", {"url": "https://x.example/pricing"}, True),
        ("page_viewed", "*/pricing", {"url": "https://x.example/pricing/faq"}, False),
        ("page_viewed", "100%_off", {"url": "/100%_off"}, True),
        ("page_viewed", "100%_off", {"url": "/100xxoff"}, False),
        ("page_viewed", "*_*", {"url": "/ab"}, False),
        ("email_clicked", "book", {"link": "https://x.example/book"}, True),
        ("email_clicked", "book", {"url": "https://x.example/book"}, True),
        ("form_submitted", "free-consultation", {"landing_page": "free-consultation"}, True),
        ("custom", "webinar*", {"name": "Webinar attended"}, True),
        ("email_opened", "", {}, True),
    ],
)
def test_engagement_patterns_agree_in_python_and_sql(
    kind: str, pattern: str, metadata: dict[str, str], matches: bool
) -> None:
    rule = EngagementRuleFactory(activity_kind=kind, pattern=pattern, points=5, decays=False)
    rule.full_clean()
    lead = LeadFactory()
    ActivityFactory(lead=lead, kind=kind, metadata=metadata)
    ActivityFactory(
        lead=lead, kind=Activity.Kind.BOOKING_MADE if kind != "booking_made" else "custom"
    )
    assert score_lead(lead_id=lead.pk).engagement_points == (5 if matches else 0)
    assert rule_match_counts(rules=[rule]) == {rule.pk: int(matches)}
