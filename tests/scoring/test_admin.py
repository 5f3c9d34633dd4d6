import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from capture.models import Activity, Lead
from scoring.models import ScoreChange, ScoringConfig, ScoringRule
from scoring.services import score_lead
from tests.factories import (
    ActivityFactory,
    EngagementRuleFactory,
    FitRuleFactory,
    LeadFactory,
    marketer,
    sales_rep,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer_client(client: Client) -> Client:
    client.force_login(marketer())
    return client


def rule_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Director title",
        "kind": "fit",
        "points": "15",
        "active": "on",
        "field": "job_title",
        "question": "",
        "operator": "contains",
        "value": "director",
        "activity_kind": "",
        "pattern": "",
        "max_occurrences": "",
        "decays": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def scored_leads() -> dict[str, Lead]:
    """Two directors (one with a booking), a student; scored under the rules of the test."""
    leads = {
        "director": LeadFactory(job_title="Marketing Director"),
        "booked director": LeadFactory(job_title="Director"),
        "student": LeadFactory(job_title="Student"),
    }
    ActivityFactory(lead=leads["booked director"], kind=Activity.Kind.BOOKING_MADE)
    for lead in leads.values():
        score_lead(lead_id=lead.pk)
    return leads


def test_the_rule_list_shows_how_many_leads_each_rule_matches(marketer_client: Client) -> None:
    FitRuleFactory(name="Director title", value="director")
    EngagementRuleFactory(name="Booked", activity_kind=Activity.Kind.BOOKING_MADE, points=40)
    FitRuleFactory(name="Students", value="student", points=-20)
    scored_leads()
    html = marketer_client.get(reverse("admin:scoring_scoringrule_changelist")).content.decode()
    counts = dict(re.findall(r'>([^<>]+)</a></th>.*?<td class="field-matching">([^<]+)<', html))
    assert counts == {"Director title": "2", "Booked": "1", "Students": "1"}
    assert "Job title contains director" in html
    assert "Rescore every lead now" in html


def test_the_simulation_counts_the_moves_a_change_would_cause(marketer_client: Client) -> None:
    rule = FitRuleFactory(name="Director title", value="director", points=30)
    EngagementRuleFactory(activity_kind=Activity.Kind.BOOKING_MADE, points=40)
    leads = scored_leads()
    assert {name: lead.temperature for name, lead in _reload(leads).items()} == {
        "director": "warm",
        "booked director": "hot",
        "student": "cold",
    }

    url = reverse("admin:scoring_scoringrule_simulate_change", args=[rule.pk])
    response = marketer_client.post(url, rule_form(points="5"))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "leads": 3,
        "moved": 2,
        "moves": [
            {"from": "hot", "to": "warm", "leads": 1},
            {"from": "warm", "to": "cold", "leads": 1},
        ],
        "before": {"hot": 1, "warm": 1, "cold": 1},
        "after": {"hot": 0, "warm": 1, "cold": 2},
    }
    rule.refresh_from_db()
    assert rule.points == 30, "nothing is saved"
    assert {lead.temperature for lead in _reload(leads).values()} == {"hot", "warm", "cold"}


def test_simulating_a_new_rule(marketer_client: Client) -> None:
    scored_leads()
    url = reverse("admin:scoring_scoringrule_simulate")
    response = marketer_client.post(url, rule_form(value="director", points="60"))
    assert response.json()["moves"] == [{"from": "cold", "to": "hot", "leads": 2}]
    assert not ScoringRule.objects.exists()


def test_the_simulation_explains_an_invalid_form(marketer_client: Client) -> None:
    url = reverse("admin:scoring_scoringrule_simulate")
    response = marketer_client.post(url, rule_form(operator="greater_than", value="many"))
    assert response.status_code == 400
    assert response.json()["errors"]["value"][0]["message"] == "Give a number, such as 100 or 2.5."


def test_a_sales_rep_cannot_simulate_or_edit_rules(client: Client) -> None:
    client.force_login(sales_rep())
    for url in (
        reverse("admin:scoring_scoringrule_simulate"),
        reverse("admin:scoring_scoringrule_changelist"),
    ):
        response = client.post(url, rule_form())
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]


def test_saving_a_rule_rescores_every_lead(
    marketer_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    leads = scored_leads()
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(
            reverse("admin:scoring_scoringrule_add"), rule_form(points="60")
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert {name: lead.temperature for name, lead in _reload(leads).items()} == {
        "director": "hot",
        "booked director": "hot",
        "student": "cold",
    }
    assert set(ScoreChange.objects.filter(cause="rules").values_list("lead_id", flat=True)) == {
        leads["director"].pk,
        leads["booked director"].pk,
    }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"operator": "country_in", "value": "GB"}, "operator", "does not apply to job title"),
        (
            {"field": "company_size", "operator": "greater_than", "value": "50"},
            "value",
            "Company sizes are the form's buckets: 1-9, 10-49, 50-249, 250-999, 1000+",
        ),
        (
            {"field": "country", "operator": "country_in", "value": "GB, XX"},
            "value",
            "Not a country code: XX.",
        ),
        ({"value": ""}, "value", "Give a value to compare with"),
        ({"operator": "is_set", "value": "x"}, "value", "takes no value"),
        ({"points": "0"}, "points", "Give the rule some points"),
        ({"field": ""}, "field", "Choose the lead field"),
        (
            {"kind": "engagement", "activity_kind": "email_opened", "pattern": "/x"},
            "pattern",
            "A pattern applies only to page views",
        ),
        ({"kind": "engagement", "activity_kind": ""}, "activity_kind", "Choose the activity"),
    ],
)
def test_the_rule_form_explains_what_is_wrong(
    marketer_client: Client, overrides: dict[str, str], field: str, message: str
) -> None:
    response = marketer_client.post(
        reverse("admin:scoring_scoringrule_add"), rule_form(**overrides)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors.get(field, [])), errors
    assert not ScoringRule.objects.exists()


def test_switching_a_rule_to_engagement_drops_its_fit_fields(marketer_client: Client) -> None:
    response = marketer_client.post(
        reverse("admin:scoring_scoringrule_add"),
        rule_form(kind="engagement", activity_kind="email_clicked", points="5"),
    )
    assert response.status_code == 302
    rule = ScoringRule.objects.get()
    assert (rule.field, rule.operator, rule.value) == ("", "", "")


def test_the_settings_are_one_row_edited_in_place(marketer_client: Client) -> None:
    response = marketer_client.get(reverse("admin:scoring_scoringconfig_changelist"))
    assert response["Location"] == reverse("admin:scoring_scoringconfig_change", args=[1])
    data = {
        "hot_threshold": "50",
        "warm_threshold": "50",
        "half_life_days": "7",
        "min_fit_for_hot": "20",
        "min_engagement_for_hot": "10",
    }
    url = reverse("admin:scoring_scoringconfig_change", args=[1])
    response = marketer_client.post(url, data)
    assert "Warm must start below hot." in response.content.decode()
    response = marketer_client.post(url, {**data, "warm_threshold": "25"})
    assert response.status_code == 302
    assert ScoringConfig.objects.get().hot_threshold == 50
    assert marketer_client.get(reverse("admin:scoring_scoringconfig_add")).status_code == 403


def test_a_leads_score_history_is_listed_read_only(marketer_client: Client) -> None:
    FitRuleFactory(name="Director title", value="director", points=30)
    leads = scored_leads()
    url = reverse("admin:scoring_scorechange_changelist")
    html = marketer_client.get(url, {"lead__id__exact": leads["director"].pk}).content.decode()
    assert "Director title +30" in html
    assert "0 → 30" in html
    assert leads["booked director"].email not in html
    change = ScoreChange.objects.first()
    assert change is not None
    detail = reverse("admin:scoring_scorechange_change", args=[change.pk])
    assert marketer_client.get(detail).status_code == 200
    assert marketer_client.post(detail, {}).status_code == 403


def test_rescore_now_queues_a_full_rescoring(
    marketer_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    leads = scored_leads()
    FitRuleFactory(value="student", points=35)  # saved around the admin: not applied yet
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(reverse("admin:scoring_scoringrule_rescore"))
    assert response.status_code == 302
    assert _reload(leads)["student"].temperature == "warm"
    assert ScoreChange.objects.filter(cause="manual").count() == 1


def _reload(leads: dict[str, Lead]) -> dict[str, Lead]:
    fresh = Lead.objects.in_bulk([lead.pk for lead in leads.values()])
    return {name: fresh[lead.pk] for name, lead in leads.items()}


def test_the_rule_form_offers_a_preview_of_the_unsaved_edit(marketer_client: Client) -> None:
    rule = FitRuleFactory()
    html = marketer_client.get(
        reverse("admin:scoring_scoringrule_change", args=[rule.pk])
    ).content.decode()
    simulate = reverse("admin:scoring_scoringrule_simulate_change", args=[rule.pk])
    assert 'id="rule-preview-button"' in html
    assert f'data-url="{simulate}"' in html
    assert "scoring/rule_form.js" in html
    assert "rule-fit" in html and "rule-engagement" in html
