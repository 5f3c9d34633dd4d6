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

TEXT_OPS = [["is", "is"], ["is_not", "is not"], ["contains", "contains"],
            ["in", "is one of (comma-separated)"], ["is_set", "is set"],
            ["is_empty", "is empty"]]  # fmt: skip
CHOICE_OPS = [["is", "is"], ["is_not", "is not"], ["in", "is one of"]]
NUMBER_OPS = [["at_least", "at least"], ["at_most", "at most"], ["is", "is"],
              ["is_not", "is not"]]  # fmt: skip
ID_OPS = [["is", "is"], ["is_not", "is not"]]
DATE_OPS = [["in_last_days", "in the last … days"], ["not_in_last_days", "more than … days ago"],
            ["on_or_after", "on or after"], ["before", "before"]]  # fmt: skip
COUNT_OPS = [["at_least", "at least"], ["at_most", "at most"], ["exactly", "exactly"]]
YES_NO = [["true", "yes"], ["false", "no"]]
DAYS_ONLY = ["in_last_days", "not_in_last_days"]
DATE_ONLY = ["on_or_after", "before"]
WITHIN = {"name": "within_days", "label": "in the last … days (empty: ever)", "type": "number",
          "optional": True}  # fmt: skip


def _pairs(choices: Any) -> list[list[str]]:
    return [[str(value), str(label)] for value, label in choices]


def _text(field: str, label: str) -> dict[str, Any]:
    return {"field": field, "label": label, "group": "Lead", "ops": TEXT_OPS,
            "inputs": [{"name": "value", "label": "value", "type": "text"}]}  # fmt: skip


def _choice(
    field: str, label: str, choices: list[list[str]], group: str = "Lead"
) -> dict[str, Any]:
    value = {"name": "value", "label": "value", "type": "select", "choices": choices}
    return {"field": field, "label": label, "group": group, "ops": CHOICE_OPS, "inputs": [value]}


def catalog() -> list[dict[str, Any]]:
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    owners = [[str(pk), name] for pk, name in users.values_list("pk", "username")[:500]]
    journeys = _pairs(Sequence.objects.filter(kind=Sequence.Kind.JOURNEY).values_list("pk", "name"))
    emails = [[str(pk), f"{journey} › {name or 'Email'}"] for pk, name, journey in
              Node.objects.filter(kind=Node.Kind.EMAIL).order_by("sequence__name", "pk")
              .values_list("pk", "name", "sequence__name")]  # fmt: skip
    pages = _pairs(LandingPage.objects.values_list("pk", "title"))
    campaigns = _pairs(Campaign.objects.values_list("pk", "name"))
    segments = _pairs(Segment.objects.values_list("pk", "name"))
    any_of = [["", "any"]]
    return [
        _choice("temperature", "Temperature", _pairs(Lead.Temperature.choices)),
        {"field": "score", "label": "Score", "group": "Lead", "ops": NUMBER_OPS,
         "inputs": [{"name": "value", "label": "score", "type": "number"}]},
        _choice("stage", "Stage", _pairs(Lead.Stage.choices)),
        {"field": "owner", "label": "Owner", "group": "Lead", "ops": ID_OPS,
         "inputs": [{"name": "value", "label": "owner", "type": "select",
                     "choices": [["", "nobody"], *owners], "number": True}]},
        {"field": "owner_set", "label": "Has an owner", "group": "Lead", "ops": [],
         "inputs": [{"name": "value", "label": "has an owner", "type": "bool"}]},
        _text("company", "Company"), _text("job_title", "Job title"),
        _choice("company_size", "Company size", _pairs(Lead.CompanySize.choices)),
        _text("industry", "Industry"), _text("country", "Country (code, e.g. DE)"),
        _text("email", "Email"), _text("first_name", "First name"),
        _text("last_name", "Last name"), _text("phone", "Phone"),
        {"field": "answer", "label": "Answer to a question", "group": "Lead", "ops": TEXT_OPS,
         "inputs": [{"name": "key", "label": "question key", "type": "text"},
                    {"name": "value", "label": "answer", "type": "text"}]},
        {"field": "consent", "label": "Email consent given", "group": "Consent", "ops": [],
         "inputs": [{"name": "value", "label": "given", "type": "bool"}]},
        {"field": "sms_consent", "label": "SMS consent given", "group": "Consent", "ops": [],
         "inputs": [{"name": "value", "label": "given", "type": "bool"}]},
        {**_text("source", "Source (first-touch utm_source)"), "group": "Source"},
        {"field": "campaign", "label": "Campaign (first touch)", "group": "Source", "ops": ID_OPS,
         "inputs": [{"name": "value", "label": "campaign", "type": "select",
                     "choices": [["", "none"], *campaigns], "number": True}]},
        {"field": "utm", "label": "A submission's UTM field", "group": "Source", "ops": TEXT_OPS,
         "inputs": [{"name": "key", "label": "UTM field", "type": "select",
                     "choices": [[key, key] for key in UTM_KEYS]},
                    {"name": "value", "label": "value", "type": "text"}]},
        {"field": "form", "label": "Submitted a form", "group": "Source", "ops": [],
         "inputs": [{"name": "page", "label": "landing page", "type": "select",
                     "choices": [["", "any page"], *pages], "number": True, "optional": True},
                    WITHIN]},
        {"field": "created_at", "label": "Created", "group": "Dates", "ops": DATE_OPS,
         "inputs": [{"name": "value", "label": "days", "type": "number", "when": DAYS_ONLY},
                    {"name": "value", "label": "date", "type": "date", "when": DATE_ONLY}]},
        {"field": "last_activity_at", "label": "Last activity", "group": "Dates", "ops": DATE_OPS,
         "inputs": [{"name": "value", "label": "days", "type": "number", "when": DAYS_ONLY},
                    {"name": "value", "label": "date", "type": "date", "when": DATE_ONLY}]},
        {"field": "activity", "label": "Did something (times, window)", "group": "Activity",
         "ops": COUNT_OPS,
         "inputs": [{"name": "kind", "label": "activity", "type": "select", "first": True,
                     "choices": _pairs(Activity.Kind.choices)},
                    {"name": "count", "label": "times", "type": "number", "default": 1},
                    {"name": "url", "label": "page or link (e.g. */pricing*)", "type": "text",
                     "optional": True},
                    {"name": "name", "label": "event name", "type": "text", "optional": True},
                    WITHIN]},
        {"field": "visited", "label": "Visited a page", "group": "Activity", "ops": [],
         "inputs": [{"name": "url", "label": "page (e.g. */pricing*)", "type": "text"}, WITHIN]},
        {"field": "booked", "label": "Booked a consultation", "group": "Activity", "ops": [],
         "inputs": [WITHIN]},
        *[{"field": field, "label": label, "group": "Email", "ops": [],
           "inputs": [{"name": "node", "label": "which email", "type": "select",
                       "choices": [["", "any email"], *emails], "number": True,
                       "optional": True}, WITHIN]}
          for field, label in (("opened", "Opened an email"), ("clicked", "Clicked an email"),
                               ("not_opened", "Opened no email"),
                               ("not_clicked", "Clicked no email"))],
        {"field": "journey", "label": "Journey", "group": "Journeys", "ops": [],
         "inputs": [{"name": "state", "label": "state", "type": "select", "first": True,
                     "choices": [["in", "is in"], ["completed", "completed"],
                                 ["converted", "converted in"], ["exited", "exited"],
                                 ["entered", "ever entered"],
                                 ["never_entered", "never entered"]]},
                    {"name": "journey", "label": "journey", "type": "select",
                     "choices": [["", "any journey"], *journeys], "number": True,
                     "optional": True},
                    {"name": "reason", "label": "because", "type": "select", "optional": True,
                     "choices": [*any_of, *_pairs(Enrollment.ExitReason.choices)],
                     "whenInput": {"state": ["exited"]}}]},
        {"field": "segment", "label": "In another segment", "group": "Segments", "ops": ID_OPS,
         "inputs": [{"name": "value", "label": "segment", "type": "select",
                     "choices": segments, "number": True}]},
    ]  # fmt: skip
