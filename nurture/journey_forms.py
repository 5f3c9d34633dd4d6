"""The journey map's forms: one per node kind, and the trigger form.

Each node form turns its fields into the node's `config` (what nurture/services/nodes/
reads) with `to_config()`, and an email node's content into `email()`. Validation that the
engine owns (conditions, merge fields, button links) is the engine's own function, called
here, not a copy of it.
"""

import contextlib
from typing import Any, ClassVar, cast

from django import forms
from django.core.exceptions import ValidationError

from capture.models import LandingPage, Lead
from nurture.models import Node, Trigger
from nurture.rendering import MERGE_FIELDS
from nurture.services import conditions, goals, splits, timing
from nurture.services.sms_segments import count_segments
from nurture.validators import email_content_errors

UNIT_CHOICES = [
    (timing.HOURS, "hours"),
    (timing.DAYS, "days"),
    (timing.BUSINESS_DAYS, "business days"),
]
EVENT_CHOICES = [
    ("clicked", "clicked an email"),
    ("opened", "opened an email"),
    ("visited", "visited a page"),
    ("booked", "booked a consultation"),
    ("replied", "replied to an email"),
]
CONDITION_FIELDS = [
    ("temperature", "Temperature"),
    ("score", "Score"),
    ("stage", "Stage"),
    ("owner_set", "Has an owner (value yes/no)"),
    ("answer", "Answer to a question"),
    ("opened", "Opened an email"),
    ("clicked", "Clicked an email"),
    ("not_opened", "Did not open an email"),
    ("not_clicked", "Did not click an email"),
    ("visited", "Visited a page"),
    ("source", "Source"),
    ("campaign", "Campaign id"),
    ("company", "Company"),
    ("company_size", "Company size"),
    ("industry", "Industry"),
    ("job_title", "Job title"),
    ("country", "Country"),
    ("segment", "Is in a segment (comparison is / is not)"),
]
OP_CHOICES = [
    ("is", "is"),
    ("is_not", "is not"),
    ("contains", "contains"),
    ("at_least", "at least"),
    ("at_most", "at most"),
]
CONFIDENCE_CHOICES = [("0.9", "90%"), ("0.95", "95%"), ("0.99", "99%")]
SIGNIFICANCE_TEXT = (
    "Two-proportion z-test on click rates of the two best variants; the winner is picked "
    "when p < {p} (confidence {confidence}) and every variant has the minimum sends."
)


def choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    """A form's choice field, typed as one, for setting its choices when the form is built."""
    return cast(forms.ChoiceField, form.fields[name])


class NodeForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Shown on the map and in leads' paths.")
    kind: ClassVar[str] = ""

    def __init__(self, *args: Any, node: Node, **kwargs: Any) -> None:
        self.node = node
        if not args and "data" not in kwargs:
            kwargs.setdefault("initial", {"name": node.name, **self.initial_from(node)})
        super().__init__(*args, **kwargs)

    def initial_from(self, node: Node) -> dict[str, Any]:
        return dict(node.config or {})

    def to_config(self) -> dict[str, Any]:
        return {}

    def email(self) -> dict[str, Any] | None:
        return None

    def port_origins(self) -> list[int | None] | None:
        return None


class EmailNodeForm(NodeForm):
    subject = forms.CharField(max_length=200)
    preheader = forms.CharField(max_length=200, required=False)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown. Merge fields: "
        + ", ".join(f"{{{{ {name} }}}}" for name in MERGE_FIELDS),
    )
    cta_label = forms.CharField(label="Button label", max_length=60, required=False)
    cta_url = forms.CharField(
        label="Button link",
        max_length=500,
        required=False,
        help_text="A full https:// link or a merge field link.",
    )
    transactional = forms.BooleanField(
        required=False, help_text="The answer to the lead's request: exempt from the cap."
    )
    same_day_ok = forms.BooleanField(
        label="May go the same day as another email of this journey", required=False
    )

    def initial_from(self, node: Node) -> dict[str, Any]:
        step = node.step
        fields = ("subject", "preheader", "body", "cta_label", "cta_url", "transactional")
        initial = {name: getattr(step, name) for name in fields} if step else {}
        return {**initial, "same_day_ok": bool(node.config.get("same_day_ok"))}

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        errors = email_content_errors(cleaned.get)
        if errors:
            self.add_error(None, errors)
        return cleaned

    def to_config(self) -> dict[str, Any]:
        return {"same_day_ok": self.cleaned_data["same_day_ok"]}

    def email(self) -> dict[str, Any]:
        fields = ("subject", "preheader", "body", "cta_label", "cta_url", "transactional")
        return {name: self.cleaned_data[name] for name in fields}


class WaitForm(NodeForm):
    amount = forms.IntegerField(min_value=1, max_value=365)
    unit = forms.ChoiceField(choices=UNIT_CHOICES)

    def __init__(self, *args: Any, node: Node, **kwargs: Any) -> None:
        super().__init__(*args, node=node, **kwargs)
        if node.config.get("unit") == timing.JOURNEY_DAY:
            # A migrated day list: "day N" counts from enrollment, as it always did.
            choice_field(self, "unit").choices = [
                *UNIT_CHOICES,
                (timing.JOURNEY_DAY, "day of the journey"),
            ]

    def to_config(self) -> dict[str, Any]:
        return {"amount": self.cleaned_data["amount"], "unit": self.cleaned_data["unit"]}


def _email_nodes(node: Node) -> list[tuple[str, str]]:
    emails = Node.objects.filter(sequence_id=node.sequence_id, kind=Node.Kind.EMAIL)
    return [("", "any email of this journey")] + [(str(n.pk), str(n)) for n in emails]


class WaitUntilForm(NodeForm):
    event = forms.ChoiceField(choices=EVENT_CHOICES)
    email_node = forms.ChoiceField(
        label="Which email", required=False, help_text="For “clicked” or “opened an email”."
    )
    url = forms.CharField(
        label="Page",
        max_length=300,
        required=False,
        help_text="For “visited a page”: a URL or a pattern such as */pricing*.",
    )
    timeout_amount = forms.IntegerField(label="Time out after", min_value=1, max_value=365)
    timeout_unit = forms.ChoiceField(label="Unit", choices=UNIT_CHOICES)

    def __init__(self, *args: Any, node: Node, **kwargs: Any) -> None:
        super().__init__(*args, node=node, **kwargs)
        choice_field(self, "email_node").choices = _email_nodes(node)

    def initial_from(self, node: Node) -> dict[str, Any]:
        event = node.config.get("event") or {"field": "clicked"}
        timeout = node.config.get("timeout") or {"amount": 3, "unit": timing.DAYS}
        return {
            "event": event.get("field", "clicked"),
            "email_node": str(event.get("node", "")),
            "url": event.get("url", ""),
            "timeout_amount": timeout.get("amount", 3),
            "timeout_unit": timeout.get("unit", timing.DAYS),
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("event") == "visited" and not (cleaned.get("url") or "").strip():
            self.add_error("url", "Give the page (a URL or a pattern such as */pricing*).")
        return cleaned

    def to_config(self) -> dict[str, Any]:
        data = self.cleaned_data
        event: dict[str, Any] = {"field": data["event"]}
        if data["event"] in ("clicked", "opened") and data.get("email_node"):
            event["node"] = int(data["email_node"])
        if data["event"] == "visited":
            event["url"] = data["url"].strip()
        return {
            "event": event,
            "timeout": {"amount": data["timeout_amount"], "unit": data["timeout_unit"]},
        }


class ConditionForm(forms.Form):
    origin = forms.IntegerField(widget=forms.HiddenInput, required=False)
    field = forms.ChoiceField(choices=[("", "—"), *CONDITION_FIELDS], required=False)
    op = forms.ChoiceField(label="Comparison", choices=OP_CHOICES, required=False)
    value = forms.CharField(max_length=200, required=False)
    key = forms.CharField(
        label="Question",
        max_length=100,
        required=False,
        help_text="For an answer: the question's key.",
    )
    email_node = forms.ChoiceField(label="Which email", required=False)
    url = forms.CharField(label="Page", max_length=300, required=False)
    within_days = forms.IntegerField(label="Within days", min_value=1, required=False)
    segment = forms.ChoiceField(label="Segment", required=False)
    label = forms.CharField(label="Arrow label", max_length=60, required=False)

    def __init__(self, *args: Any, emails: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "email_node").choices = emails
        choice_field(self, "segment").choices = [("", "—"), *segment_choices()]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not cleaned.get("field"):
            return cleaned
        try:
            conditions.validate(self.condition())
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned

    def condition(self) -> dict[str, Any]:
        data = self.cleaned_data
        condition: dict[str, Any] = {"field": data["field"], "op": data.get("op") or "is"}
        for name in ("value", "key", "url"):
            if data.get(name):
                condition[name] = data[name].strip()
        if data.get("within_days"):
            condition["within_days"] = data["within_days"]
        if data.get("email_node") and data["field"] in EMAIL_EVENTS:
            condition["node"] = int(data["email_node"])
        if data["field"] == "segment":
            condition["value"] = data.get("segment") or ""
        if data["field"] in conditions.NUMBERS and "value" in condition:
            # Not a number: validate() says what is wrong.
            with contextlib.suppress(ValueError):
                condition["value"] = int(condition["value"])
        return condition


EMAIL_EVENTS = {"opened", "clicked", "not_opened", "not_clicked"}
ConditionFormSet = forms.formset_factory(ConditionForm, extra=1, max_num=9, can_delete=True)


class BranchForm(NodeForm):
    """A branch's name; its ordered conditions come in a formset (`conditions`)."""

    def __init__(self, *args: Any, node: Node, **kwargs: Any) -> None:
        super().__init__(*args, node=node, **kwargs)
        data = args[0] if args else kwargs.get("data")
        initial = []
        for index, rule in enumerate(node.config.get("conditions") or []):
            condition = rule.get("when", rule)
            initial.append(
                {
                    "origin": index,
                    "label": rule.get("label", ""),
                    **{k: v for k, v in condition.items() if k != "node"},
                    "email_node": str(condition.get("node", "")),
                    "segment": str(condition.get("value", "")),
                }
            )
        self.conditions = ConditionFormSet(
            data,
            initial=None if data else initial,
            prefix="conditions",
            form_kwargs={"emails": _email_nodes(node)},
        )

    def is_valid(self) -> bool:
        return super().is_valid() & self.conditions.is_valid()

    def _kept(self) -> list[ConditionForm]:
        return [
            form
            for form in self.conditions.forms
            if form.cleaned_data.get("field") and not form.cleaned_data.get("DELETE")
        ]

    def to_config(self) -> dict[str, Any]:
        rules = []
        for form in self._kept():
            rule: dict[str, Any] = {"when": form.condition()}
            if form.cleaned_data.get("label"):
                rule["label"] = form.cleaned_data["label"]
            rules.append(rule)
        return {"conditions": rules}

    def port_origins(self) -> list[int | None]:
        return [form.cleaned_data.get("origin") for form in self._kept()]


class VariantForm(forms.Form):
    origin = forms.IntegerField(widget=forms.HiddenInput, required=False)
    label = forms.CharField(max_length=30, required=False)
    weight = forms.IntegerField(label="Percent", min_value=1, max_value=100, required=False)


VariantFormSet = forms.formset_factory(VariantForm, extra=0, min_num=4, max_num=4)


class SplitForm(NodeForm):
    auto_winner = forms.BooleanField(
        label="Pick a winner automatically (by click rate)", required=False
    )
    min_sends = forms.IntegerField(label="Minimum sends per variant", min_value=10)
    confidence = forms.ChoiceField(choices=CONFIDENCE_CHOICES)

    def __init__(self, *args: Any, node: Node, **kwargs: Any) -> None:
        super().__init__(*args, node=node, **kwargs)
        data = args[0] if args else kwargs.get("data")
        initial = [
            {
                "origin": index,
                "label": v.get("label") or chr(ord("A") + index),
                "weight": v.get("weight"),
            }
            for index, v in enumerate(splits.variants(node))
        ]
        self.variants = VariantFormSet(data, initial=None if data else initial, prefix="variants")
        confidence = self["confidence"].value()
        p = 1 - float(confidence or splits.DEFAULT_CONFIDENCE)
        self.significance = SIGNIFICANCE_TEXT.format(p=f"{p:.2f}", confidence=f"{1 - p:.0%}")

    def initial_from(self, node: Node) -> dict[str, Any]:
        return {
            "auto_winner": bool(node.config.get("auto_winner")),
            "min_sends": node.config.get("min_sends") or splits.DEFAULT_MIN_SENDS,
            "confidence": str(node.config.get("confidence") or splits.DEFAULT_CONFIDENCE),
        }

    def is_valid(self) -> bool:
        valid = super().is_valid() & self.variants.is_valid()
        if valid:
            kept = self._kept()
            if not 2 <= len(kept) <= splits.MAX_VARIANTS:
                self.add_error(None, "A split test has 2 to 4 variants (give each a percent).")
                return False
            total = sum(form.cleaned_data["weight"] for form in kept)
            if total != 100:
                self.add_error(None, f"The variants' percentages add up to {total}, not 100.")
                return False
        return valid

    def _kept(self) -> list[VariantForm]:
        return [form for form in self.variants.forms if form.cleaned_data.get("weight")]

    def to_config(self) -> dict[str, Any]:
        variants = [
            {
                "label": form.cleaned_data.get("label") or chr(ord("A") + index),
                "weight": form.cleaned_data["weight"],
            }
            for index, form in enumerate(self._kept())
        ]
        return {
            "variants": variants,
            "auto_winner": self.cleaned_data["auto_winner"],
            "min_sends": self.cleaned_data["min_sends"],
            "confidence": float(self.cleaned_data["confidence"]),
        }

    def port_origins(self) -> list[int | None]:
        return [form.cleaned_data.get("origin") for form in self._kept()]


# The longest text Twilio sends (it splits it into segments up to this).
SMS_MAX_LENGTH = 1600


class SmsForm(NodeForm):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=SMS_MAX_LENGTH)

    def segments(self) -> str:
        return segments_text(str(self["body"].value() or ""))

    def to_config(self) -> dict[str, Any]:
        return {"body": self.cleaned_data["body"]}


def segments_text(body: str) -> str:
    count = count_segments(body)
    if not count.segments:
        return "Empty: 0 segments."
    plural = "segment" if count.segments == 1 else "segments"
    text = (
        f"{count.units} characters ({count.encoding}): {count.segments} {plural} "
        f"of up to {count.per_segment}."
    )
    over = len(body) - SMS_MAX_LENGTH
    if over > 0:
        text += f" Over the {SMS_MAX_LENGTH:,}-character limit by {over:,}: shorten it to save."
    return text


# Merge fields of a task, note or notification (sales/services/journey_actions.py and
# nurture/services/actions.py replace them as plain text).
ACTION_MERGE_HELP = (
    "The email merge fields are replaced ({{ first_name }}, {{ company }}, {{ email }}…), and "
    "{{ name }} by the full name."
)
# Lead fields a journey may set (what sales' journey_actions accepts), or a question's answer.
SETTABLE_FIELDS = [
    ("company", "company"),
    ("job_title", "job title"),
    ("industry", "industry"),
    ("company_size", "company size"),
    ("answer", "answer to a question"),
]


class TaskForm(NodeForm):
    title = forms.CharField(
        max_length=200, help_text=f"What the rep is asked to do. {ACTION_MERGE_HELP}"
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    owner = forms.ChoiceField(
        label="For",
        choices=[("owner", "The lead's owner"), ("round_robin", "The round-robin pick")],
    )
    due_hours = forms.IntegerField(label="Due within (hours)", min_value=0, max_value=24 * 90)

    def initial_from(self, node: Node) -> dict[str, Any]:
        return {"owner": "owner", **(node.config or {})}

    def to_config(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ("title", "note", "owner", "due_hours")}


class NotifyForm(NodeForm):
    to = forms.ChoiceField(
        choices=[
            ("owner", "The lead's owner (else the team address)"),
            ("team", "A team address"),
            ("webhook", "A Slack-style webhook"),
        ]
    )
    address = forms.EmailField(label="Team address", required=False)
    url = forms.URLField(label="Webhook URL", required=False)
    subject = forms.CharField(max_length=200, required=False)
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text=ACTION_MERGE_HELP
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("to") == "team" and not cleaned.get("address"):
            self.add_error("address", "Give the team's address.")
        if cleaned.get("to") == "webhook" and not cleaned.get("url"):
            self.add_error("url", "Give the webhook's URL.")
        return cleaned

    def to_config(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name] for name in ("to", "address", "url", "subject", "message")
        }


class UpdateForm(NodeForm):
    action = forms.ChoiceField(
        choices=[("stage", "Set the stage"), ("field", "Set a field"), ("note", "Add a note")]
    )
    stage = forms.ChoiceField(choices=[("", "—"), *Lead.Stage.choices], required=False)
    field = forms.ChoiceField(label="Field", required=False, choices=[("", "—"), *SETTABLE_FIELDS])
    key = forms.CharField(
        label="Question", max_length=200, required=False, help_text="For an answer: the question."
    )
    value = forms.CharField(max_length=200, required=False)
    text = forms.CharField(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=ACTION_MERGE_HELP,
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        action = cleaned.get("action")
        if action == "stage" and not cleaned.get("stage"):
            self.add_error("stage", "Choose the stage to set.")
        if action == "field" and not cleaned.get("field"):
            self.add_error("field", "Choose the field to set.")
        if action == "field" and cleaned.get("field") == "answer" and not cleaned.get("key"):
            self.add_error("key", "Say which question's answer to set.")
        if action == "note" and not (cleaned.get("text") or "").strip():
            self.add_error("text", "Write the note.")
        return cleaned

    def to_config(self) -> dict[str, Any]:
        data = self.cleaned_data
        keep = {"stage": ("stage",), "field": ("field", "key", "value"), "note": ("text",)}
        return {"action": data["action"], **{k: data[k] for k in keep[data["action"]]}}


class GoalForm(NodeForm):
    event = forms.ChoiceField(choices=list(goals.EVENTS.items()))
    stage = forms.ChoiceField(choices=[("", "—"), *Lead.Stage.choices], required=False)
    url = forms.CharField(
        label="Link",
        max_length=300,
        required=False,
        help_text="For “clicked a link”: a URL or pattern; empty: any.",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("event") == goals.STAGE and not cleaned.get("stage"):
            self.add_error("stage", "Choose the stage that counts as converted.")
        return cleaned

    def to_config(self) -> dict[str, Any]:
        data = self.cleaned_data
        config: dict[str, Any] = {"event": data["event"]}
        if data["event"] == goals.STAGE:
            config["stage"] = data["stage"]
        if data["event"] == goals.CLICKED and data.get("url"):
            config["url"] = data["url"].strip()
        return config


FORMS: dict[str, type[NodeForm]] = {
    Node.Kind.EMAIL: EmailNodeForm,
    Node.Kind.WAIT: WaitForm,
    Node.Kind.WAIT_UNTIL: WaitUntilForm,
    Node.Kind.BRANCH: BranchForm,
    Node.Kind.SPLIT: SplitForm,
    Node.Kind.SMS: SmsForm,
    Node.Kind.TASK: TaskForm,
    Node.Kind.NOTIFY: NotifyForm,
    Node.Kind.UPDATE: UpdateForm,
    Node.Kind.GOAL: GoalForm,
}


def node_form(node: Node, data: Any = None) -> NodeForm:
    form_class = FORMS[node.kind]
    return form_class(data, node=node) if data is not None else form_class(node=node)


class NewNodeForm(forms.Form):
    kind = forms.ChoiceField(label="Kind of node", choices=Node.Kind.choices)
    name = forms.CharField(max_length=100, required=False, help_text="Empty: the kind's name.")


class TriggerForm(forms.Form):
    kind = forms.ChoiceField(choices=Trigger.Kind.choices)
    page = forms.ModelChoiceField(
        queryset=LandingPage.objects.all(),
        required=False,
        help_text="For a submission; empty: any page.",
    )
    url = forms.CharField(
        label="URL or pattern",
        max_length=300,
        required=False,
        help_text="For a page view or a link click, e.g. */pricing*.",
    )
    count = forms.IntegerField(label="Times", min_value=1, required=False)
    within_days = forms.IntegerField(label="Within days", min_value=1, required=False)
    name = forms.CharField(label="Event name", max_length=100, required=False)
    at_least = forms.IntegerField(label="Score at least", required=False)
    temperature = forms.ChoiceField(choices=[("", "—"), *Lead.Temperature.choices], required=False)
    stage = forms.ChoiceField(choices=[("", "—"), *Lead.Stage.choices], required=False)
    segment = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "segment").choices = [("", "—"), *segment_choices()]

    REQUIRED: ClassVar[dict[str, tuple[str, str]]] = {
        Trigger.Kind.PAGE_VIEW: ("url", "Give the page's URL or a pattern such as */pricing*."),
        Trigger.Kind.LINK_CLICK: ("url", "Give the link's URL or a pattern."),
        Trigger.Kind.CUSTOM_EVENT: ("name", "Give the event's name."),
        Trigger.Kind.SCORE: ("at_least", "Give the score to reach."),
        Trigger.Kind.TEMPERATURE: ("temperature", "Choose the temperature."),
        Trigger.Kind.STAGE: ("stage", "Choose the stage."),
        Trigger.Kind.SEGMENT: ("segment", "Choose the segment."),
    }

    @classmethod
    def for_trigger(cls, trigger: Trigger, **kwargs: Any) -> "TriggerForm":
        initial = {"kind": trigger.kind, **(trigger.config or {})}
        return cls(initial=initial, prefix=f"trigger-{trigger.pk}", **kwargs)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        needed = self.REQUIRED.get(cleaned.get("kind", ""))
        if needed and cleaned.get(needed[0]) in (None, ""):
            self.add_error(needed[0], needed[1])
        return cleaned

    def to_config(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["kind"]
        if kind == Trigger.Kind.FORM:
            return {"page": data["page"].pk} if data.get("page") else {}
        if kind == Trigger.Kind.PAGE_VIEW:
            return {
                "url": data["url"].strip(),
                "count": data.get("count") or 1,
                "within_days": data.get("within_days") or 7,
            }
        if kind == Trigger.Kind.LINK_CLICK:
            return {"url": data["url"].strip()}
        if kind == Trigger.Kind.CUSTOM_EVENT:
            return {"name": data["name"].strip()}
        if kind == Trigger.Kind.SCORE:
            return {"at_least": data["at_least"]}
        if kind == Trigger.Kind.TEMPERATURE:
            return {"temperature": data["temperature"]}
        if kind == Trigger.Kind.STAGE:
            return {"stage": data["stage"]}
        if kind == Trigger.Kind.SEGMENT:
            return {"segment": data["segment"]}
        return {}


def segment_choices() -> list[tuple[str, str]]:
    """The segments app's, when installed (it registers the condition field; nurture does
    not import it)."""
    extra = conditions.EXTRA_FIELDS.get("segment")
    return extra.choices() if extra else []
