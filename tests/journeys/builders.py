"""Journeys for tests, built through the same service the demo and the API use."""

from typing import Any

from nurture.models import Node, Sequence, Trigger
from nurture.services import journeys


def email(subject: str, *, name: str = "", transactional: bool = False, **config: Any) -> dict:
    return {
        "kind": Node.Kind.EMAIL,
        "name": name or subject,
        "config": config,
        "email": {
            "subject": subject,
            "body": f"Hello {{{{ first_name }}}}: {subject}.",
            "transactional": transactional,
        },
    }


def wait(amount: int, unit: str = "days") -> dict:
    return {"kind": Node.Kind.WAIT, "config": {"amount": amount, "unit": unit}}


def node(kind: str, name: str = "", **config: Any) -> dict:
    return {"kind": kind, "name": name, "config": config}


def playbook(*, page: Any = None, **fields: Any) -> Sequence:
    """confirm → wait 1 business day → branch hot? (task, stop) → Day 2 → wait until clicked
    (3 days) → clicked: case study / timed out: reminder → goal booked."""
    return journeys.build(
        name=fields.pop("name", "Consultation journey"),
        nodes={
            "confirm": email("Thanks, we got your request", transactional=True),
            "wait1": wait(1, "business_days"),
            "hot": node(
                Node.Kind.BRANCH,
                "Hot?",
                conditions=[
                    {"when": {"field": "temperature", "op": "is", "value": "hot"}, "label": "hot"}
                ],
            ),
            "task": node(Node.Kind.TASK, "Call the lead", title="Call this hot lead", due_hours=4),
            "day2": email("Three ways to grow"),
            "clicked": node(
                Node.Kind.WAIT_UNTIL,
                "Clicked?",
                event={"field": "clicked"},
                timeout={"amount": 3, "unit": "days"},
            ),
            "story": email("A client story"),
            "reminder": email("In case you missed it"),
            "goal": node(Node.Kind.GOAL, "Booked", event="booked"),
        },
        edges=[
            ("confirm", "next", "wait1"),
            ("wait1", "next", "hot"),
            ("hot", "c0", "task"),
            ("hot", "else", "day2"),
            ("day2", "next", "clicked"),
            ("clicked", "yes", "story"),
            ("clicked", "timeout", "reminder"),
            ("story", "next", "goal"),
            ("reminder", "next", "goal"),
        ],
        start="confirm",
        triggers=[(Trigger.Kind.FORM, {"page": page.pk} if page else {})],
        window_start_hour=fields.pop("window_start_hour", 0),
        window_end_hour=fields.pop("window_end_hour", 24),
        weekdays=fields.pop("weekdays", list(range(7))),
        **fields,
    )
