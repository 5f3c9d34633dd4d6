"""What an event says about a lead or a booking: a fixed, plain JSON shape.

The `data` of every event is built here and stored on the Event when it is published, so a
replay sends the same facts as the first attempt, even after the lead changed.
"""

from datetime import datetime
from typing import Any

from capture.models import Lead
from nurture.models import Enrollment
from sales.models import Booking, Task


def lead_data(lead: Lead) -> dict[str, Any]:
    campaign = lead.campaign
    owner = lead.owner
    return {
        "id": lead.pk,
        "uid": str(lead.uid),
        "email": lead.email,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "name": lead.full_name,
        "company": lead.company,
        "job_title": lead.job_title,
        "stage": lead.stage,
        "score": lead.score,
        "temperature": lead.temperature,
        "owner_email": owner.email if owner is not None else None,
        "source": lead.source,
        "campaign": (
            {"id": campaign.pk, "name": campaign.name, "utm_campaign": campaign.utm_campaign}
            if campaign is not None
            else None
        ),
        "created_at": _iso(lead.created_at),
    }


def booking_data(booking: Booking) -> dict[str, Any]:
    rep = booking.rep.user
    return {
        "id": booking.pk,
        "starts_at": _iso(booking.starts_at),
        "ends_at": _iso(booking.ends_at),
        "rep": {"name": rep.get_full_name() or rep.get_username(), "email": rep.email},
    }


def task_data(task: Task) -> dict[str, Any]:
    owner = task.owner
    return {
        "id": task.pk,
        "title": task.title,
        "note": task.note,
        "due_at": _iso(task.due_at),
        "source": task.source,
        "source_ref": task.source_ref,
        "owner": {"name": owner.get_full_name() or owner.get_username(), "email": owner.email},
        "created_at": _iso(task.created_at),
    }


def journey_data(enrollment: Enrollment) -> dict[str, Any]:
    """The journey and the lead's enrollment in it (its round: the n-th time through)."""
    journey = enrollment.sequence
    return {
        "journey": {"id": journey.pk, "name": journey.name},
        "enrollment": {
            "id": enrollment.pk,
            "round": enrollment.round,
            "trigger": enrollment.trigger,
            "state": enrollment.state,
            "started_at": _iso(enrollment.started_at),
            "converted_at": _iso(enrollment.converted_at),
        },
    }


def load_lead(lead_id: int) -> Lead:
    return Lead.objects.select_related("owner", "campaign").get(pk=lead_id)


def load_booking(booking_id: int) -> Booking:
    return Booking.objects.select_related("rep__user").get(pk=booking_id)


def load_enrollment(enrollment_id: int) -> Enrollment:
    return Enrollment.objects.select_related("sequence").get(pk=enrollment_id)


def load_task(task_id: int) -> Task:
    return Task.objects.select_related("owner").get(pk=task_id)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None
