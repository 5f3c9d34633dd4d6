"""A hand-off to sales stops the drip, not the Day-1 confirmation the prospect asked for:
it still goes when the lead turns hot before it was sent, even through a broker outage."""

from typing import Any

import pytest

from capture.models import Lead
from nurture.models import Delivery, Enrollment, Sequence
from nurture.services.dispatching import hand_out_due
from nurture.services.exiting import hand_to_sales
from nurture.services.scheduling import enroll_lead
from nurture.services.sending import send_delivery
from tests.factories import LeadFactory, playbook_sequence

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrollment(django_capture_on_commit_callbacks: Any) -> Enrollment:
    """A cold lead just enrolled in a hand-off sequence: its Day-1 email queued, not sent."""
    sequence: Sequence = playbook_sequence(
        hand_hot_leads_to_sales=True,
        weekdays=list(range(7)),
        window_start_hour=0,
        window_end_hour=24,
    )
    lead = LeadFactory(email="sam@example.com", first_name="Sam")
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not run yet
        enrolled = enroll_lead(lead=lead, sequence=sequence)
    assert enrolled is not None
    # It turns hot, and scoring's announcement exits it, before the worker got to Day 1.
    Lead.objects.filter(pk=lead.pk).update(temperature="hot", stage="sales_ready")
    assert hand_to_sales(lead_id=lead.pk) == 1
    return enrolled


def _rows(enrollment: Enrollment) -> list[tuple[int, str]]:
    deliveries = enrollment.deliveries.order_by("step__day")
    return list(deliveries.values_list("step__day", "status"))


def test_the_queued_confirmation_still_goes(enrollment: Enrollment, mailoutbox: list) -> None:
    day_one = enrollment.deliveries.get(step__day=1)
    assert day_one.status == "queued"

    assert send_delivery(delivery_id=day_one.pk) == "sent"

    assert [message.subject for message in mailoutbox] == ["Day 1 for Sam"]
    assert _rows(enrollment) == [
        (1, "sent"),
        (2, "cancelled"),
        (3, "cancelled"),
        (5, "cancelled"),
        (7, "cancelled"),
    ]
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.exit_reason) == ("exited", "handed_to_sales")


def test_a_confirmation_put_back_by_a_broker_outage_goes_at_the_next_tick(
    enrollment: Enrollment, mailoutbox: list
) -> None:
    # What publish does when the broker is down: the row waits for the next tick.
    enrollment.deliveries.filter(step__day=1).update(status=Delivery.Status.SCHEDULED)

    result = hand_out_due()

    assert result.claimed == [enrollment.deliveries.get(step__day=1).pk]
    assert [message.subject for message in mailoutbox] == ["Day 1 for Sam"]
    assert _rows(enrollment)[0] == (1, "sent")
