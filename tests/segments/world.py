"""Random leads with everything a segment can look at, random condition trees over them,
and a brute-force Python evaluation of a tree (what the SQL must agree with)."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from hypothesis import strategies as st

from capture.models import Activity, Campaign, LandingPage, Lead, Submission
from nurture.models import Delivery, Enrollment, Node, Sequence, Step
from nurture.services.conditions import parse_when, url_regex
from segments.models import Segment

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TEXTS = ["", "acme", "ACME Corp", "Director", "head of growth", "Zürich", "a_b%c", "x"]
WORDS = ["acme", "corp", "dir", "a_b%c", "%", "zü", "x", ""]
URLS = ["/pricing", "https://x.example/PRICING?a=1", "/blog/pricing-guide", "/about", ""]
PATTERNS = ["*/pricing*", "pricing", "/blog/*", "*", "about"]
NAMES = ["webinar", "Demo", "trial"]
UTMS = ["", "cpc", "CPC", "google", "newsletter"]
ANSWERS = ["Within a month", "Just researching", ""]
KINDS = ["page_viewed", "email_opened", "email_clicked", "custom", "booking_made", "form_submitted"]
TEXT_FIELDS = [
    "company",
    "job_title",
    "industry",
    "source",
    "first_name",
    "email",
    "country",
    "phone",
    "time_zone",
]


@dataclass
class World:
    """What a test example created: the ids a tree may name."""

    campaigns: list[int]
    owners: list[int]
    pages: list[int]
    journeys: list[int]
    nodes: list[int]
    segment: int
    leads: list[int] = field(default_factory=list)


def build_world() -> World:
    campaigns = [Campaign.objects.create(name=f"C{i}", utm_campaign=f"c-{i}").pk for i in (1, 2)]
    owners = [User.objects.create(username=f"owner{i}").pk for i in (1, 2)]
    pages = [LandingPage.objects.create(slug=f"p{i}", title="T", headline="H").pk for i in (1, 2)]
    journeys, nodes = [], []
    for index in (1, 2):
        journey = Sequence.objects.create(name=f"J{index}", kind=Sequence.Kind.JOURNEY)
        journeys.append(journey.pk)
        for day in (1, 2):
            step = Step.objects.create(sequence=journey, subject="S", body="B")
            nodes.append(
                Node.objects.create(
                    sequence=journey, kind=Node.Kind.EMAIL, step=step, name=f"Day {day}"
                ).pk
            )
    segment = Segment.objects.create(
        name="Hot or high",
        conditions={
            "match": "any",
            "conditions": [
                {"field": "temperature", "op": "is", "value": "hot"},
                {"field": "score", "op": "at_least", "value": 30},
            ],
        },
    )
    return World(campaigns, owners, pages, journeys, nodes, segment.pk)


# -- random data ----------------------------------------------------------------------------

ages = st.integers(0, 40 * 24).map(lambda hours: NOW - timedelta(hours=hours))
maybe_time = st.none() | ages

lead_values = st.fixed_dictionaries(
    {
        "company": st.sampled_from(TEXTS),
        "job_title": st.sampled_from(TEXTS),
        "industry": st.sampled_from(TEXTS),
        "source": st.sampled_from(UTMS),
        "first_name": st.sampled_from(["", "Ada", "ada"]),
        "country": st.sampled_from(["", "GB", "DE"]),
        "phone": st.sampled_from(["", "+442079460000"]),
        "time_zone": st.sampled_from(["", "UTC"]),
        "company_size": st.sampled_from(["", *Lead.CompanySize.values]),
        "temperature": st.sampled_from(Lead.Temperature.values),
        "stage": st.sampled_from(Lead.Stage.values),
        "score": st.integers(-5, 60),
        "owner": st.integers(0, 2),
        "campaign": st.integers(0, 2),
        "answers": st.dictionaries(
            st.sampled_from(["start", "team"]), st.sampled_from(ANSWERS), max_size=2
        ),
        "consent": st.booleans(),
        "sms_consent": st.booleans(),
        "created_at": ages,
        "last_activity_at": ages,
        "erased": st.integers(0, 9).map(lambda n: n == 0),
    }
)
activity_values = st.tuples(
    st.sampled_from(KINDS),
    ages,
    st.sampled_from(URLS),
    st.sampled_from(NAMES),
    st.sampled_from(["name", "event"]),
)
submission_values = st.tuples(st.integers(0, 1), ages, *[st.sampled_from(UTMS) for _ in range(5)])
enrollment_values = st.tuples(
    st.integers(0, 1),
    st.sampled_from(Enrollment.State.values),
    st.sampled_from(["", "booked", "unsubscribed", "handed_to_sales"]),
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 1), maybe_time, maybe_time), max_size=2),
)
one_lead = st.tuples(
    lead_values,
    st.lists(activity_values, max_size=5),
    st.lists(submission_values, max_size=2),
    st.lists(enrollment_values, max_size=2),
)
leads_strategy = st.lists(one_lead, min_size=1, max_size=6)


def store_leads(world: World, drawn: list[Any]) -> None:
    for index, (values, activities, submissions, enrollments) in enumerate(drawn):
        values = dict(values)
        created_at, last_at = values.pop("created_at"), values.pop("last_activity_at")
        owner, campaign = values.pop("owner"), values.pop("campaign")
        consent, sms_consent = values.pop("consent"), values.pop("sms_consent")
        erased = values.pop("erased")
        email = f"erased-{index}@erased.invalid" if erased else f"lead{index}@Example.com".lower()
        lead = Lead.objects.create(
            email=email,
            **values,
            owner_id=world.owners[owner - 1] if owner else None,
            campaign_id=world.campaigns[campaign - 1] if campaign else None,
            consent_given_at=NOW if consent else None,
            sms_consent_given_at=NOW if sms_consent else None,
        )
        Lead.objects.filter(pk=lead.pk).update(created_at=created_at, last_activity_at=last_at)
        world.leads.append(lead.pk)
        Activity.objects.bulk_create(
            Activity(
                lead=lead, kind=kind, occurred_at=when, metadata=_metadata(kind, url, name, key)
            )
            for kind, when, url, name, key in activities
        )
        for page, when, *utms in submissions:
            made = Submission.objects.create(
                lead=lead,
                landing_page_id=world.pages[page],
                **dict(
                    zip(
                        ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"),
                        utms,
                        strict=True,
                    )
                ),
            )
            Submission.objects.filter(pk=made.pk).update(created_at=when)
        live_used: set[int] = set()
        for round_, (journey, state, reason, converted, emails) in enumerate(enrollments, 1):
            if state in ("active", "paused"):
                if journey in live_used:
                    state = "completed"
                live_used.add(journey)
            enrollment = Enrollment.objects.create(
                lead=lead,
                sequence_id=world.journeys[journey],
                state=state,
                round=round_,
                exit_reason=reason if state == "exited" else "",
                started_at=NOW,
                converted_at=NOW if converted else None,
            )
            used: set[int] = set()
            for which, opened, clicked in emails:
                node = Node.objects.get(pk=world.nodes[journey * 2 + which])
                if node.step_id in used:
                    continue
                used.add(node.step_id)
                Delivery.objects.create(
                    enrollment=enrollment,
                    step_id=node.step_id,
                    node=node,
                    due_at=NOW,
                    opened_at=opened,
                    clicked_at=clicked,
                )


def _metadata(kind: str, url: str, name: str, key: str) -> dict[str, Any]:
    if kind == "page_viewed":
        return {"url": url} if url else {}
    if kind == "email_clicked":
        return {"link": url}
    if kind == "custom":
        return {key: name}
    return {}


# -- random trees ---------------------------------------------------------------------------


def leaves(world: World) -> st.SearchStrategy[dict[str, Any]]:
    text_ops = st.sampled_from(["is", "is_not", "contains", "is_set", "is_empty"])

    def text_leaf(name: str) -> st.SearchStrategy[dict[str, Any]]:
        return st.builds(
            lambda op, value, many: (
                {"field": name, "op": "in", "value": many}
                if op == "in"
                else {"field": name, "op": op, "value": value}
            ),
            st.sampled_from(["is", "is_not", "contains", "in", "is_set", "is_empty"]),
            st.sampled_from([*TEXTS, *WORDS]),
            st.lists(st.sampled_from(TEXTS), min_size=1, max_size=2),
        )

    def choice_leaf(name: str, values: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        return st.one_of(
            st.builds(
                lambda op, v: {"field": name, "op": op, "value": v},
                st.sampled_from(["is", "is_not"]),
                st.sampled_from(values),
            ),
            st.builds(
                lambda vs: {"field": name, "op": "in", "value": vs},
                st.lists(st.sampled_from(values), min_size=1, max_size=2),
            ),
        )

    window = st.none() | st.integers(1, 30)

    def with_window(leaf: dict[str, Any], days: int | None) -> dict[str, Any]:
        return {**leaf, "within_days": days} if days else leaf

    return st.one_of(
        st.sampled_from(TEXT_FIELDS).flatmap(text_leaf),
        choice_leaf("temperature", Lead.Temperature.values),
        choice_leaf("stage", Lead.Stage.values),
        choice_leaf("company_size", Lead.CompanySize.values),
        st.builds(
            lambda op, v: {"field": "score", "op": op, "value": v},
            st.sampled_from(["is", "is_not", "at_least", "at_most"]),
            st.integers(-5, 60),
        ),
        st.builds(
            lambda f, op, v: {"field": f, "op": op, "value": v},
            st.sampled_from(["owner", "campaign"]),
            st.sampled_from(["is", "is_not"]),
            st.sampled_from(["", *world.owners, *world.campaigns]),
        ),
        st.builds(lambda v: {"field": "owner_set", "value": v}, st.booleans()),
        st.builds(
            lambda k, op, v: {"field": "answer", "key": k, "op": op, "value": v},
            st.sampled_from(["start", "team"]),
            text_ops,
            st.sampled_from([*ANSWERS, "month"]),
        ),
        st.builds(
            lambda k, op, v: {"field": "utm", "key": k, "op": op, "value": v},
            st.sampled_from(["utm_source", "utm_medium", "utm_term"]),
            text_ops,
            st.sampled_from(UTMS),
        ),
        st.builds(
            lambda page, days: with_window({"field": "form", "page": page}, days),
            st.sampled_from(["", *world.pages]),
            window,
        ),
        st.builds(
            lambda f, op, days, date: {
                "field": f,
                "op": op,
                "value": days if "days" in op else date,
            },
            st.sampled_from(["created_at", "last_activity_at"]),
            st.sampled_from(["on_or_after", "before", "in_last_days", "not_in_last_days"]),
            st.integers(1, 30),
            st.sampled_from(["2026-06-01", "2026-05-20T08:00:00+02:00"]),
        ),
        st.builds(
            lambda f, v: {"field": f, "value": v},
            st.sampled_from(["consent", "sms_consent"]),
            st.booleans(),
        ),
        st.builds(
            lambda kind, url, name, op, count, days: with_window(
                {
                    "field": "activity",
                    "kind": kind,
                    "op": op,
                    "count": count,
                    **({"url": url} if url and kind in ("page_viewed", "email_clicked") else {}),
                    **({"name": name} if name and kind == "custom" else {}),
                },
                days,
            ),
            st.sampled_from(KINDS),
            st.sampled_from(["", *PATTERNS]),
            st.sampled_from(["", *NAMES, "DEMO"]),
            st.sampled_from(["at_least", "at_most", "exactly"]),
            st.integers(1, 3) | st.just(0),
            window,
        ).filter(lambda c: c["op"] != "at_least" or c["count"] >= 1),
        st.builds(
            lambda f, node, days: with_window(
                {"field": f, **({"node": node} if node else {})}, days
            ),
            st.sampled_from(["opened", "clicked", "not_opened", "not_clicked"]),
            st.sampled_from([None, *world.nodes]),
            window,
        ),
        st.builds(
            lambda url, days: with_window({"field": "visited", "url": url}, days),
            st.sampled_from(PATTERNS),
            window,
        ),
        st.builds(lambda days: with_window({"field": "booked"}, days), window),
        st.builds(
            lambda journey, state, reason: {
                "field": "journey",
                "journey": journey,
                "state": state,
                "reason": reason,
            },
            st.sampled_from(["", *world.journeys]),
            st.sampled_from(["in", "completed", "converted", "exited", "entered", "never_entered"]),
            st.sampled_from(["", "booked", "unsubscribed"]),
        ),
        st.builds(
            lambda op: {"field": "segment", "op": op, "value": world.segment},
            st.sampled_from(["is", "is_not"]),
        ),
    )


def trees(world: World) -> st.SearchStrategy[dict[str, Any]]:
    nested = st.recursive(
        leaves(world),
        lambda children: st.builds(
            lambda match, items: {"match": match, "conditions": items},
            st.sampled_from(["all", "any", "none"]),
            st.lists(children, min_size=1, max_size=3),
        ),
        max_leaves=8,
    )
    return st.builds(
        lambda match, items: {"match": match, "conditions": items},
        st.sampled_from(["all", "any", "none"]),
        st.lists(nested, max_size=3),
    )


# -- the brute force ------------------------------------------------------------------------


@dataclass
class Facts:
    lead: Lead
    activities: list[Activity]
    submissions: list[Submission]
    enrollments: list[Enrollment]
    deliveries: list[Delivery]


def load_facts() -> dict[int, Facts]:
    facts = {lead.pk: Facts(lead, [], [], [], []) for lead in Lead.objects.all()}
    for activity in Activity.objects.all():
        facts[activity.lead_id].activities.append(activity)
    for submission in Submission.objects.all():
        facts[submission.lead_id].submissions.append(submission)
    for enrollment in Enrollment.objects.all():
        facts[enrollment.lead_id].enrollments.append(enrollment)
    for delivery in Delivery.objects.select_related("enrollment"):
        facts[delivery.enrollment.lead_id].deliveries.append(delivery)
    return facts


def expected_members(tree: dict[str, Any], facts: dict[int, Facts], *, now: datetime) -> set[int]:
    return {
        pk
        for pk, fact in facts.items()
        if not fact.lead.is_erased and evaluate(tree, fact, now=now)
    }


def evaluate(node: dict[str, Any], facts: Facts, *, now: datetime) -> bool:
    if "match" in node:
        results = [evaluate(child, facts, now=now) for child in node["conditions"]]
        return {"all": all, "any": any, "none": lambda r: not any(r)}[node["match"]](results)
    return _leaf(node, facts, now=now)


def _text(op: str, actual: str, value: Any) -> bool:
    if op == "is":
        return actual == value
    if op == "is_not":
        return actual != value
    if op == "contains":
        return str(value).upper() in actual.upper()
    if op == "in":
        return actual in value
    return (actual != "") == (op == "is_set")


def _number(op: str, actual: int | None, value: Any) -> bool:
    if value == "":
        return (actual is None) == (op == "is")
    return {
        "is": actual == value,
        "is_not": actual != value,
        "at_least": actual is not None and actual >= value,
        "at_most": actual is not None and actual <= value,
    }[op]


def _since(condition: dict[str, Any], now: datetime) -> datetime | None:
    days = condition.get("within_days")
    return now - timedelta(days=days) if days else None


def _matches(pattern: str, text: Any) -> bool:
    return isinstance(text, str) and re.search(url_regex(pattern), text, re.IGNORECASE) is not None


def _leaf(c: dict[str, Any], f: Facts, *, now: datetime) -> bool:
    lead, field_name, op, value = f.lead, c["field"], c.get("op", "is"), c.get("value")
    since = _since(c, now)
    if field_name in TEXT_FIELDS or field_name in ("temperature", "stage", "company_size"):
        return _text(op, str(getattr(lead, field_name)), value)
    if field_name == "score":
        return _number(op, lead.score, value)
    if field_name in ("owner", "campaign"):
        return _number(op, getattr(lead, f"{field_name}_id"), value)
    if field_name == "owner_set":
        return (lead.owner_id is not None) == bool(value)
    if field_name == "answer":
        has = c["key"] in lead.answers
        answer = lead.answers.get(c["key"])
        if op in ("is_set", "is_empty"):
            return (has and answer != "") == (op == "is_set")
        if op == "is_not":
            return not (has and answer == value)
        return has and _text(op, answer, value)
    if field_name == "utm":
        values = [getattr(s, c["key"]) for s in f.submissions]
        if op == "is_not":
            return value not in values
        if op in ("is_set", "is_empty"):
            return any(v != "" for v in values) == (op == "is_set")
        return any(_text(op, v, value) for v in values)
    if field_name == "form":
        return any(
            (not c["page"] or s.landing_page_id == c["page"])
            and (since is None or s.created_at >= since)
            for s in f.submissions
        )
    if field_name in ("created_at", "last_activity_at"):
        actual = getattr(lead, field_name)
        if op in ("in_last_days", "not_in_last_days"):
            return (actual >= now - timedelta(days=value)) == (op == "in_last_days")
        return (actual >= parse_when(value)) == (op == "on_or_after")
    if field_name == "consent":
        return (lead.consent_given_at is not None) == value
    if field_name == "sms_consent":
        return (lead.sms_consent_given_at is not None) == value
    if field_name == "activity":
        count = sum(1 for a in f.activities if _counted(c, a, since))
        wanted = c["count"]
        return {
            "at_least": count >= wanted,
            "at_most": count <= wanted,
            "exactly": count == wanted,
        }[op]
    if field_name in ("opened", "clicked", "not_opened", "not_clicked"):
        column = "opened_at" if "opened" in field_name else "clicked_at"
        found = any(
            getattr(d, column) is not None
            and (not c.get("node") or d.node_id == c["node"])
            and (since is None or getattr(d, column) >= since)
            for d in f.deliveries
        )
        return not found if field_name.startswith("not_") else found
    if field_name == "visited":
        return any(
            a.kind == "page_viewed"
            and _matches(c["url"], a.metadata.get("url"))
            and (since is None or a.occurred_at >= since)
            for a in f.activities
        )
    if field_name == "booked":
        return any(
            a.kind == "booking_made" and (since is None or a.occurred_at >= since)
            for a in f.activities
        )
    if field_name == "journey":
        chosen = [e for e in f.enrollments if not c["journey"] or e.sequence_id == c["journey"]]
        state = c["state"]
        test = {
            "in": lambda e: e.state in ("active", "paused"),
            "completed": lambda e: e.state == "completed",
            "converted": lambda e: e.converted_at is not None,
            "exited": lambda e: (
                e.state == "exited" and (not c["reason"] or e.exit_reason == c["reason"])
            ),
            "entered": lambda e: True,
            "never_entered": lambda e: True,
        }[state]
        found = any(test(e) for e in chosen)
        return not found if state == "never_entered" else found
    if field_name == "segment":
        inside = evaluate(Segment.objects.get(pk=value).conditions, f, now=now)
        return not inside if op == "is_not" else inside
    raise AssertionError(f"no brute force for {field_name}")


def _counted(c: dict[str, Any], a: Activity, since: datetime | None) -> bool:
    if a.kind != c["kind"] or (since is not None and a.occurred_at < since):
        return False
    if c.get("url"):
        key = "link" if c["kind"] == "email_clicked" else "url"
        if not _matches(c["url"], a.metadata.get(key)):
            return False
    if c.get("name"):
        names = {str(a.metadata.get("name", "")).upper(), str(a.metadata.get("event", "")).upper()}
        if c["name"].strip().upper() not in names:
            return False
    return True
