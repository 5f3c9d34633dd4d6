"""Journeys use segments through nurture's own hooks: a branch "is in segment S" (the
condition segments registers) and a "joined segment S" trigger on the journey map."""

import pytest
from django.utils import timezone

from nurture.journey_forms import ConditionForm, TriggerForm
from nurture.models import Trigger
from nurture.services import conditions
from segments.models import Segment
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
HOT = {"match": "all", "conditions": [{"field": "temperature", "op": "is", "value": "hot"}]}


def test_a_branch_asks_whether_the_lead_is_in_the_segment_now() -> None:
    segment = Segment.objects.create(name="Hot leads", conditions=HOT)
    hot, cold = LeadFactory(temperature="hot"), LeadFactory(temperature="cold")
    erased = LeadFactory(temperature="hot", email="erased-2@erased.invalid")
    ids = [hot.pk, cold.pk, erased.pk]
    inside = {"field": "segment", "op": "is", "value": segment.pk}
    assert conditions.matching(lead_ids=ids, condition=inside, now=timezone.now()) == {hot.pk}
    outside = {**inside, "op": "is_not"}
    assert conditions.matching(lead_ids=ids, condition=outside, now=timezone.now()) == {
        cold.pk,
        erased.pk,
    }
    assert conditions.describe(inside) == "in segment “Hot leads”"
    gone = {"field": "segment", "value": segment.pk + 1}
    assert conditions.matching(lead_ids=ids, condition=gone, now=timezone.now()) == set()


def test_the_branch_form_offers_segments_and_validates_the_choice() -> None:
    segment = Segment.objects.create(name="Hot leads", conditions=HOT)
    form = ConditionForm(
        data={"field": "segment", "op": "is", "segment": str(segment.pk)}, emails=[("", "—")]
    )
    assert (str(segment.pk), "Hot leads") in form.fields["segment"].choices
    assert form.is_valid(), form.errors
    assert form.condition() == {"field": "segment", "op": "is", "value": str(segment.pk)}
    empty = ConditionForm(data={"field": "segment", "op": "is"}, emails=[("", "—")])
    assert not empty.is_valid() and "Choose the segment." in str(empty.errors)


def test_the_trigger_form_saves_a_joined_segment_trigger() -> None:
    segment = Segment.objects.create(name="Hot leads", conditions=HOT)
    form = TriggerForm(data={"kind": Trigger.Kind.SEGMENT, "segment": str(segment.pk)})
    assert form.is_valid(), form.errors
    assert form.to_config() == {"segment": segment.pk}
    missing = TriggerForm(data={"kind": Trigger.Kind.SEGMENT})
    assert not missing.is_valid() and missing.errors["segment"] == ["Choose the segment."]
