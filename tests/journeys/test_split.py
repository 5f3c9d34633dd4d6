"""Split tests: variants by weight, stable per lead, and a winner picked only when it is real."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from capture.models import Lead
from nurture.models import Delivery, Enrollment, Node, PathStep, Sequence, Trigger
from nurture.services import advancing, conditions, journeys, splits
from nurture.services.nodes import NodeNames

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 14, 10, 0, tzinfo=UTC)


def _split_journey(weights: list[int], **config: object) -> Sequence:
    variants = [
        {"weight": weight, "label": f"Subject {chr(65 + i)}"} for i, weight in enumerate(weights)
    ]
    nodes: dict[str, dict] = {
        "split": {
            "kind": Node.Kind.SPLIT,
            "name": "Subject test",
            "config": {"variants": variants, **config},
        },
    }
    edges = []
    for index in range(len(weights)):
        nodes[f"v{index}"] = {
            "kind": Node.Kind.EMAIL,
            "name": f"Variant {index}",
            "email": {"subject": f"Subject {chr(65 + index)}", "body": "Hi."},
        }
        edges.append(("split", f"v{index}", f"v{index}"))
    return journeys.build(
        name="Split",
        nodes=nodes,
        edges=edges,
        start="split",
        triggers=[(Trigger.Kind.MANUAL, {})],
        window_start_hour=0,
        window_end_hour=24,
        weekdays=list(range(7)),
    )


def _enroll(journey: Sequence, count: int, *, prefix: str = "lead") -> list[Enrollment]:
    """`count` leads waiting at the journey's first node, written in bulk."""
    leads = Lead.objects.bulk_create(
        Lead(email=f"{prefix}{i}@example.com", first_name="Sam", time_zone="UTC")
        for i in range(count)
    )
    return Enrollment.objects.bulk_create(
        Enrollment(
            lead=lead,
            sequence=journey,
            started_at=NOW,
            current_node=journey.start_node,
            next_at=NOW,
        )
        for lead in leads
    )


def _tick(now: datetime = NOW) -> None:
    with time_machine.travel(now, tick=False):
        advancing.advance_all_due(now=now)


def _variant_counts(journey: Sequence) -> Counter:
    return Counter(
        Delivery.objects.filter(enrollment__sequence=journey).values_list("node__name", flat=True)
    )


def test_it_spreads_leads_by_the_weights(settings) -> None:
    settings.NURTURE_CAP_PER_DAY = 0
    journey = _split_journey([60, 30, 10])
    _enroll(journey, 2000)
    _tick()
    counts = _variant_counts(journey)
    assert sum(counts.values()) == 2000
    # 2,000 draws: a standard deviation of ~1.1 points at 60%; 3.5 points is > 3 sigma.
    assert abs(counts["Variant 0"] / 2000 - 0.60) < 0.035
    assert abs(counts["Variant 1"] / 2000 - 0.30) < 0.035
    assert abs(counts["Variant 2"] / 2000 - 0.10) < 0.025
    # Each lead's path says which variant it got.
    emails = PathStep.objects.filter(node__kind=Node.Kind.EMAIL)
    vias = Counter(emails.values_list("via", flat=True))
    assert vias["split: variant Subject A"] == counts["Variant 0"]


def test_a_zero_weight_variant_gets_nobody() -> None:
    journey = _split_journey([50, 0, 50])
    node = journey.start_node
    picks = Counter(splits.pick(node=node, enrollment_id=i) for i in range(1, 3001))
    assert picks["v1"] == 0
    assert abs(picks["v0"] - picks["v2"]) < 3000 * 0.06


def test_a_leads_variant_is_stable() -> None:
    journey = _split_journey([50, 50])
    node = journey.start_node
    first = [splits.pick(node=node, enrollment_id=i) for i in range(1, 500)]
    # The same answer on every call and from a freshly loaded node (another worker).
    again = Node.objects.get(pk=node.pk)
    assert [splits.pick(node=again, enrollment_id=i) for i in range(1, 500)] == first
    assert set(first) == {"v0", "v1"}


def test_a_lead_advanced_twice_keeps_its_variant(settings) -> None:
    settings.NURTURE_CAP_PER_DAY = 0
    journey = _split_journey([50, 50])
    enrollments = _enroll(journey, 40)
    _tick()
    chosen = dict(
        Delivery.objects.filter(enrollment__sequence=journey).values_list("enrollment", "node")
    )
    # A second tick (each lead is waiting at its email now) changes nobody's variant.
    Enrollment.objects.filter(sequence=journey).update(next_at=NOW)
    _tick(NOW + timedelta(minutes=5))
    assert (
        dict(
            Delivery.objects.filter(enrollment__sequence=journey).values_list("enrollment", "node")
        )
        == chosen
    )
    assert len(chosen) == len(enrollments)
    assert PathStep.objects.filter(node__kind=Node.Kind.SPLIT).count() == 40


def test_two_proportion_z_matches_the_hand_computed_value() -> None:
    # 30/200 = 0.15 against 15/200 = 0.075; pooled p = 45/400 = 0.1125;
    # SE = sqrt(0.1125 * 0.8875 * (1/200 + 1/200)) = 0.0315981;
    # z = 0.075 / 0.0315981 = 2.37356; two-sided p = erfc(2.37356 / sqrt 2) = 0.017617.
    z, p_value = splits.two_proportion_z(30, 200, 15, 200)
    assert z == pytest.approx(2.37356, abs=1e-4)
    assert p_value == pytest.approx(0.017617, abs=1e-5)
    # Symmetric, and undefined without sends or without any variation.
    assert splits.two_proportion_z(15, 200, 30, 200)[0] == pytest.approx(-2.37356, abs=1e-4)
    assert splits.two_proportion_z(3, 0, 1, 10) == (None, None)
    assert splits.two_proportion_z(0, 50, 0, 50) == (None, None)


def _record_sends(journey: Sequence, index: int, *, sent: int, clicked: int) -> None:
    """`sent` sent emails of variant `index`, `clicked` of them clicked."""
    node = Node.objects.get(sequence=journey, name=f"Variant {index}")
    enrollments = _enroll(journey, sent, prefix=f"v{index}-{sent}-{clicked}-")
    Enrollment.objects.filter(pk__in=[e.pk for e in enrollments]).update(
        current_node=node, next_at=None, node_entered_at=NOW
    )
    Delivery.objects.bulk_create(
        Delivery(
            enrollment=enrollment,
            step=node.step,
            node=node,
            due_at=NOW,
            status=Delivery.Status.SENT,
            sent_at=NOW,
            clicked_at=NOW + timedelta(hours=1) if i < clicked else None,
        )
        for i, enrollment in enumerate(enrollments)
    )


def test_stats_counts_sends_and_clicks_per_variant() -> None:
    journey = _split_journey([50, 50], min_sends=100)
    _record_sends(journey, 0, sent=80, clicked=12)
    _record_sends(journey, 1, sent=120, clicked=6)
    result = splits.stats(journey.start_node)
    a, b = result.variants
    assert (a.label, a.sent, a.clicked, a.click_rate) == ("Subject A", 80, 12, 0.15)
    assert (b.label, b.sent, b.clicked, b.click_rate) == ("Subject B", 120, 6, 0.05)
    expected_z, expected_p = splits.two_proportion_z(12, 80, 6, 120)
    assert result.z == pytest.approx(expected_z)
    assert result.p_value == pytest.approx(expected_p)
    # A is ahead, but has not reached 100 sends yet.
    assert result.winner is None
    assert result.waiting_for == "100 sends per variant (Subject A not there yet)"


def test_no_winner_before_min_sends_even_when_one_variant_leads(settings) -> None:
    settings.NURTURE_CAP_PER_DAY = 0
    journey = _split_journey([50, 50], auto_winner=True, min_sends=60)
    _record_sends(journey, 0, sent=59, clicked=30)
    _record_sends(journey, 1, sent=60, clicked=1)
    _enroll(journey, 200, prefix="new")
    _tick()
    node = Node.objects.get(pk=journey.start_node_id)
    assert "winner" not in node.config
    counts = _variant_counts(journey)
    assert counts["Variant 0"] > 59 + 60 and counts["Variant 1"] > 60 + 60


def test_no_winner_when_the_difference_is_not_significant(settings) -> None:
    settings.NURTURE_CAP_PER_DAY = 0
    journey = _split_journey([50, 50], auto_winner=True, min_sends=60)
    _record_sends(journey, 0, sent=100, clicked=12)
    _record_sends(journey, 1, sent=100, clicked=9)
    result = splits.stats(journey.start_node)
    assert result.p_value > 0.05
    assert result.winner is None
    assert result.waiting_for.startswith("a difference significant at 95% (p = 0.")
    _enroll(journey, 100, prefix="new")
    _tick()
    assert "winner" not in Node.objects.get(pk=journey.start_node_id).config


def test_a_significant_winner_is_recorded_and_then_everyone_gets_it(settings) -> None:
    settings.NURTURE_CAP_PER_DAY = 0
    journey = _split_journey([50, 50], auto_winner=True, min_sends=60)
    _record_sends(journey, 0, sent=60, clicked=4)
    _record_sends(journey, 1, sent=60, clicked=18)
    before = _variant_counts(journey)
    _enroll(journey, 150, prefix="after")
    _tick()
    node = Node.objects.get(pk=journey.start_node_id)
    assert node.config["winner"] == "v1"
    z, p_value = splits.two_proportion_z(18, 60, 4, 60)
    assert node.config["decided_p"] == pytest.approx(p_value)
    assert p_value < 0.05 and z > 0
    after = _variant_counts(journey)
    assert after["Variant 0"] == before["Variant 0"]
    assert after["Variant 1"] == before["Variant 1"] + 150
    notes = set(
        PathStep.objects.filter(node__name="Variant 1", entered_at=NOW).values_list(
            "via", flat=True
        )
    )
    assert notes == {"split: winner Subject B"}


def test_without_auto_winner_the_test_runs_on() -> None:
    journey = _split_journey([50, 50], min_sends=60)
    _record_sends(journey, 0, sent=60, clicked=4)
    _record_sends(journey, 1, sent=60, clicked=18)
    assert splits.decide(journey.start_node) is None
    # The admin still shows who would win.
    assert splits.stats(journey.start_node).winner == "v1"


def test_a_condition_on_an_email_names_it_from_the_tick_s_nodes() -> None:
    """The tick describes "clicked <email>" through a lookup that lists nothing: it must
    still find the name (a dry run once said "an email" for every wait-until)."""

    class Names:
        now = dry_run = None

        def node_name(self, node_id: int) -> str:
            return {7: "Variant B"}.get(node_id, "")

    names = NodeNames(Names())  # type: ignore[arg-type]
    described = conditions.describe({"field": "clicked", "node": 7}, node_names=names)
    assert "Variant B" in described
