"""What the admin's condition builder offers: every field with its comparisons and inputs,
and the choices read from the database (journeys, emails, pages, campaigns, owners,
segments). The builder (static/segments/builder.js) only draws this; validating a tree is
segments.trees' job on the server, the same for the builder, the admin's save and the API.
"""

from typing import Any

from django.contrib.auth import get_user_model

from capture.models import Activity, Campaign, LandingPage, Lead
from nurture.models import Enrollment, Node, Sequence
from nurture.services.conditions import UTM_KEYS
from segments.models import Segment

TEXT_OPS = [
    ["is", "is"],
    ["is_not", "is not"],
    ["contains", "contains"],
    ["in", "is one of (comma-separated)"],
    ["is_set", "is set"],
    ["is_empty", "is empty"],
]
CHOICE_OPS = [["is", "is"], ["is_not", "is not"], ["in", "is one of"]]
NUMBER_OPS = [["at_least", "at least"], ["at_most", "at most"], ["is", "is"], ["is_not", "is not"]]
ID_OPS = [["is", "is"], ["is_not", "is not"]]
DATE_OPS = [
    ["in_last_days", "in the last … days"],
    ["not_in_last_days", "more than … days ago"],
    ["on_or_after", "on or after"],
    ["before", "before"],
]
COUNT_OPS = [["at_least", "at least"], ["at_most", "at most"], ["exactly", "exactly"]]
YES_NO = [["true", "yes"], ["false", "no"]]
DAYS_ONLY = ["in_last_days", "not_in_last_days"]
DATE_ONLY = ["on_or_after", "before"]
WITHIN = {
    "name": "within_days",
    "label": "in the last … days (empty: ever)",
    "type": "number",
    "optional": True,
}


def _pairs(choices: Any) -> list[list[str]]:
    return [[str(value), str(label)] for value, label in choices]


def _field(
    field: str, label: str, group: str, ops: list[list[str]], *inputs: dict[str, Any]
) -> dict[str, Any]:
    return {"field": field, "label": label, "group": group, "ops": ops, "inputs": list(inputs)}


def _input(name: str, label: str, kind: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "label": label, "type": kind, **more}


def _text(field: str, label: str) -> dict[str, Any]:
    return _field(field, label, "Lead", TEXT_OPS, _input("value", "value", "text"))


def _choice(
    field: str, label: str, choices: list[list[str]], group: str = "Lead"
) -> dict[str, Any]:
    return _field(
        field, label, group, CHOICE_OPS, _input("value", "value", "select", choices=choices)
    )


def catalog() -> list[dict[str, Any]]:
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    owners = [[str(pk), name] for pk, name in users.values_list("pk", "username")[:500]]
    journeys = _pairs(Sequence.objects.filter(kind=Sequence.Kind.JOURNEY).values_list("pk", "name"))
    email_nodes = Node.objects.filter(kind=Node.Kind.EMAIL).order_by("sequence__name", "pk")
    emails = [
        [str(pk), f"{journey} › {name or 'Email'}"]
        for pk, name, journey in email_nodes.values_list("pk", "name", "sequence__name")
    ]
    pages = _pairs(LandingPage.objects.values_list("pk", "title"))
    campaigns = _pairs(Campaign.objects.values_list("pk", "name"))
    segments = _pairs(Segment.objects.values_list("pk", "name"))
    any_of = [["", "any"]]
    # The inputs of the fields below, named so that each field is one line.
    pick_owner = _input("value", "owner", "select", choices=[["", "nobody"], *owners], number=True)
    given = _input("value", "given", "bool")
    pick_campaign = _input(
        "value", "campaign", "select", choices=[["", "none"], *campaigns], number=True
    )
    question = [_input("key", "question key", "text"), _input("value", "answer", "text")]
    utm = [
        _input("key", "UTM field", "select", choices=[[key, key] for key in UTM_KEYS]),
        _input("value", "value", "text"),
    ]
    pick_page = _input(
        "page",
        "landing page",
        "select",
        choices=[["", "any page"], *pages],
        number=True,
        optional=True,
    )
    days_or_date = [
        _input("value", "days", "number", when=DAYS_ONLY),
        _input("value", "date", "date", when=DATE_ONLY),
    ]
    visited = [_input("url", "page (e.g. */pricing*)", "text"), WITHIN]
    did = [
        _input("kind", "activity", "select", first=True, choices=_pairs(Activity.Kind.choices)),
        _input("count", "times", "number", default=1),
        _input("url", "page or link (e.g. */pricing*)", "text", optional=True),
        _input("name", "event name", "text", optional=True),
        WITHIN,
    ]
    pick_email = _input(
        "node",
        "which email",
        "select",
        choices=[["", "any email"], *emails],
        number=True,
        optional=True,
    )
    states = [
        ["in", "is in"],
        ["completed", "completed"],
        ["converted", "converted in"],
        ["exited", "exited"],
        ["entered", "ever entered"],
        ["never_entered", "never entered"],
    ]
    journey_state = [
        _input("state", "state", "select", first=True, choices=states),
        _input(
            "journey",
            "journey",
            "select",
            choices=[["", "any journey"], *journeys],
            number=True,
            optional=True,
        ),
        _input(
            "reason",
            "because",
            "select",
            optional=True,
            choices=[*any_of, *_pairs(Enrollment.ExitReason.choices)],
            whenInput={"state": ["exited"]},
        ),
    ]
    pick_segment = _input("value", "segment", "select", choices=segments, number=True)
    return [
        _choice("temperature", "Temperature", _pairs(Lead.Temperature.choices)),
        _field("score", "Score", "Lead", NUMBER_OPS, _input("value", "score", "number")),
        _choice("stage", "Stage", _pairs(Lead.Stage.choices)),
        _field("owner", "Owner", "Lead", ID_OPS, pick_owner),
        _field("owner_set", "Has an owner", "Lead", [], _input("value", "has an owner", "bool")),
        _text("company", "Company"),
        _text("job_title", "Job title"),
        _choice("company_size", "Company size", _pairs(Lead.CompanySize.choices)),
        _text("industry", "Industry"),
        _text("country", "Country (code, e.g. DE)"),
        _text("email", "Email"),
        _text("first_name", "First name"),
        _text("last_name", "Last name"),
        _text("phone", "Phone"),
        _field("answer", "Answer to a question", "Lead", TEXT_OPS, *question),
        _field("consent", "Email consent given", "Consent", [], given),
        _field("sms_consent", "SMS consent given", "Consent", [], given),
        {**_text("source", "Source (first-touch utm_source)"), "group": "Source"},
        _field("campaign", "Campaign (first touch)", "Source", ID_OPS, pick_campaign),
        _field("utm", "A submission's UTM field", "Source", TEXT_OPS, *utm),
        _field("form", "Submitted a form", "Source", [], pick_page, WITHIN),
        _field("created_at", "Created", "Dates", DATE_OPS, *days_or_date),
        _field("last_activity_at", "Last activity", "Dates", DATE_OPS, *days_or_date),
        _field("activity", "Did something (times, window)", "Activity", COUNT_OPS, *did),
        _field("visited", "Visited a page", "Activity", [], *visited),
        _field("booked", "Booked a consultation", "Activity", [], WITHIN),
        _field("opened", "Opened an email", "Email", [], pick_email, WITHIN),
        _field("clicked", "Clicked an email", "Email", [], pick_email, WITHIN),
        _field("not_opened", "Opened no email", "Email", [], pick_email, WITHIN),
        _field("not_clicked", "Clicked no email", "Email", [], pick_email, WITHIN),
        _field("journey", "Journey", "Journeys", [], *journey_state),
        _field("segment", "In another segment", "Segments", ID_OPS, pick_segment),
    ]
