"""The demo's nurture: the playbook day list, and two journeys that show what journeys add.

`seed_default_sequence` is the first version's day list (the demo page's drip; the
end-to-end tests follow its emails). `seed_demo_journeys` adds the "Consultation journey"
(a business-day wait, a branch on temperature, a subject split test, a wait until clicked,
a goal) on a copy of the demo page, and "Pricing interest", which starts from behaviour
(two pricing-page views in a week) and texts the lead.
"""

from typing import Any

from django.db import transaction

from capture.models import LandingPage
from nurture.models import Node, Sequence, Step, SubscriptionTopic, Trigger
from nurture.services import journeys

DEFAULT_SEQUENCE = "Free consultation follow-up"
PLAYBOOK = [
    {
        "day": 1,
        "subject": "We have your request, {{ first_name }}",
        "preheader": "What happens next, and what to have ready for our call.",
        "body": """Hi {{ first_name }},

Thank you for asking about a free consultation. A real person on our team has your request
and will be in touch within one business day.

Here is what to expect:

1. **A short call, 30 minutes.** We look at how {{ company }} turns visitors into customers
   today, from the first visit to the signed deal.
2. **Three changes you can make this quarter**, whether or not you work with us.
3. **No pressure.** If we are not the right fit, we will tell you, and point you to someone
   who is.

To make the most of it, have a rough idea of last month's visitors, sign-ups and sales
handy. Estimates are fine.

Talk soon,
The leadfunnel team""",
        "cta_label": "",
        "cta_url": "",
    },
    {
        "day": 2,
        "subject": "Where most funnels leak (and how to find yours)",
        "preheader": "A ten-minute exercise that shows where leads go missing.",
        "body": """Hi {{ first_name }},

Most teams we talk to spend on getting more visitors when the bigger win is keeping the ones
they already have. Before our call, try this ten-minute exercise:

- Write down last month's numbers: visitors, form submissions, replies, meetings, deals.
- Divide each by the one before it.
- Circle the smallest ratio. That is where your funnel leaks the most.

For most B2B teams it is the step from *form submitted* to *first real conversation*.
Leads that hear back within five minutes are many times more likely to become a meeting than
those who wait a day.

Tomorrow: how to follow up without becoming the email everyone ignores.

The leadfunnel team""",
        "cta_label": "",
        "cta_url": "",
    },
    {
        "day": 3,
        "subject": "Follow-ups people actually read",
        "preheader": "Useful beats persistent: the three-email rule.",
        "body": """Hi {{ first_name }},

Yesterday we found where your funnel leaks. Today, how to plug the most common hole:
follow-up.

A good follow-up sequence does three things:

1. **Answers the question the lead asked**, first, before anything else.
2. **Teaches something useful** in every email, so opening the next one is worth it.
3. **Asks for one small next step**, never five.

Notice that this is exactly what we are doing with you. If it is working, you already know
it works.

The leadfunnel team""",
        "cta_label": "",
        "cta_url": "",
    },
    {
        "day": 5,
        "subject": "How Fieldstone doubled their demo requests",
        "preheader": "Same traffic, twice the conversations, in eight weeks.",
        "body": """Hi {{ first_name }},

Fieldstone sells field-service software to mid-sized contractors. When they came to us, they
had plenty of visitors and a sales team that spent its mornings chasing cold leads.

What we changed, in eight weeks:

- **One landing page per campaign**, each with one clear offer instead of a menu.
- **A confirmation email within seconds** and a five-email follow-up like the one you are
  reading.
- **Scoring**, so sales called the leads who had looked at pricing first.

The result: demo requests doubled on the same traffic, and the sales team's first call of the
day went to someone who was ready to talk.

"Our sales team finally knows who to call first." — Dana Ruiz, Head of Growth

The leadfunnel team""",
        "cta_label": "",
        "cta_url": "",
    },
    {
        "day": 7,
        "subject": "{{ first_name }}, shall we find 30 minutes?",
        "preheader": "Pick a time that suits you; it takes a few seconds.",
        "body": """Hi {{ first_name }},

Over the past week we have shared where funnels leak, how to follow up well, and what
changed for Fieldstone. The fastest way to apply it to {{ company }} is a conversation.

Pick a time that suits you for a free, 30-minute consultation. You will leave with three
changes you can make this quarter, whatever you decide afterwards.

If now is not the right time, no problem: just reply and tell us when would be better.

The leadfunnel team""",
        "cta_label": "Book my consultation",
        "cta_url": "{{ booking_url }}",
    },
]


def seed_default_sequence(*, page: LandingPage) -> Sequence:
    """Create the playbook sequence on `page` once; later runs leave edits alone."""
    sequence, created = Sequence.objects.get_or_create(
        name=DEFAULT_SEQUENCE,
        defaults={
            "window_start_hour": 9,
            "window_end_hour": 17,
            "fallback_time_zone": "UTC",
            "hand_hot_leads_to_sales": True,
        },
    )
    if created:
        Step.objects.bulk_create(Step(sequence=sequence, **step) for step in PLAYBOOK)
    sequence.entry_pages.add(page)
    seed_demo_topics(page=page)
    return sequence


# Besides the seeded "Consultation follow-up" (every sequence's default topic): two topics
# a prospect opts in to with a box on the demo page's form.
DEMO_TOPICS = [
    {
        "slug": "newsletter",
        "name": "Newsletter",
        "position": 1,
        "description": "One email a month: what we learned about lead funnels, no sales pitch.",
        "consent_text": "Send me the monthly newsletter (unsubscribe any time).",
    },
    {
        "slug": "events",
        "name": "Events",
        "position": 2,
        "description": "Invitations to our webinars and workshops, a few times a year.",
        "consent_text": "Invite me to webinars and events.",
    },
]


def seed_demo_topics(*, page: LandingPage) -> list[SubscriptionTopic]:
    """The demo's opt-in topics, asked for on `page`; later runs leave edits alone."""
    made = []
    for values in DEMO_TOPICS:
        topic, _ = SubscriptionTopic.objects.get_or_create(
            slug=values["slug"], defaults={**values, "requires_opt_in": True}
        )
        topic.landing_pages.add(page)
        made.append(topic)
    return made


CONSULTATION_JOURNEY = "Consultation journey"
PRICING_JOURNEY = "Pricing interest"
JOURNEY_PAGE_SUFFIX = "-journey"
_DAY2_BODY = str(PLAYBOOK[1]["body"]).replace(
    "\nTomorrow: how to follow up without becoming the email everyone ignores.\n", ""
)


def _email(name: str, *, transactional: bool = False, **content: str) -> dict[str, Any]:
    return {
        "kind": Node.Kind.EMAIL,
        "name": name,
        "email": {"transactional": transactional, **content},
    }


def _playbook_email(name: str, day: int, **overrides: Any) -> dict[str, Any]:
    (step,) = [step for step in PLAYBOOK if step["day"] == day]
    content = {key: value for key, value in step.items() if key != "day"}
    return _email(name, **{**content, **overrides})


def seed_demo_journeys(*, page: LandingPage) -> list[Sequence]:
    """Create the two demo journeys once (later runs leave a marketer's edits alone).

    The consultation journey enters leads from a copy of `page` ("<slug>-journey"), so a
    prospect on the demo page is not mailed by the day list and the journey at once.
    """
    with transaction.atomic():
        journey_page = _journey_page(page)
        made = []
        for name, build in ((CONSULTATION_JOURNEY, _consultation), (PRICING_JOURNEY, _pricing)):
            existing = Sequence.objects.filter(name=name, kind=Sequence.Kind.JOURNEY).first()
            made.append(existing or build(page=journey_page))
    return made


def _journey_page(page: LandingPage) -> LandingPage:
    slug = f"{page.slug[: 80 - len(JOURNEY_PAGE_SUFFIX)]}{JOURNEY_PAGE_SUFFIX}"
    existing = LandingPage.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    copy = LandingPage.objects.get(pk=page.pk)
    copy.pk = None
    copy._state.adding = True
    copy.slug = slug
    copy.title = f"{page.title} (journey)"[:200]
    copy.save()
    return copy


def _consultation(*, page: LandingPage) -> Sequence:
    """submission → Day-1 confirm → 1 business day → hot? (task for the owner, stop) →
    Day 2 with a subject split test → wait until clicked (3 days) → clicked: case study /
    timed out: a short reminder → Day-7 booking prompt → goal: booked."""
    hot = {"field": "temperature", "op": "is", "value": "hot"}
    return journeys.build(
        name=CONSULTATION_JOURNEY,
        nodes={
            "confirm": _playbook_email("Day 1: confirmation", 1, transactional=True),
            "wait": {
                "kind": Node.Kind.WAIT,
                "name": "1 business day",
                "config": {"amount": 1, "unit": "business_days"},
            },
            "hot": {
                "kind": Node.Kind.BRANCH,
                "name": "Hot lead?",
                "config": {"conditions": [{"when": hot, "label": "hot"}]},
            },
            "task": {
                "kind": Node.Kind.TASK,
                "name": "Call the hot lead",
                "config": {
                    "title": "Call {{ first_name }} at {{ company }}: hot lead",
                    "note": "Turned hot during the consultation journey.",
                    "owner": "owner",
                    "due_hours": 4,
                },
            },
            "split": {
                "kind": Node.Kind.SPLIT,
                "name": "Day 2 subject test",
                "config": {
                    "variants": [
                        {"weight": 50, "label": "A: the leak"},
                        {"weight": 50, "label": "B: a question"},
                    ],
                    "auto_winner": True,
                    "min_sends": 50,
                    "confidence": 0.95,
                },
            },
            "day2a": _playbook_email("Day 2 (A)", 2, body=_DAY2_BODY),
            "day2b": _playbook_email(
                "Day 2 (B)",
                2,
                body=_DAY2_BODY,
                subject="{{ first_name }}, where does your funnel leak?",
            ),
            "clicked": {
                "kind": Node.Kind.WAIT_UNTIL,
                "name": "Clicked Day 2?",
                "config": {"event": {"field": "clicked"}, "timeout": {"amount": 3, "unit": "days"}},
            },
            "story": _playbook_email("Case study", 5),
            "reminder": _email(
                "Reminder",
                subject="In case you missed it, {{ first_name }}",
                preheader="The ten-minute funnel exercise, once more.",
                body="Hi {{ first_name }},\n\nA quick nudge in case our last email got buried: "
                "ten minutes with last month's numbers shows where {{ company }} loses the "
                "most leads. Reply with what you find and we will tell you what we would "
                "fix first.\n\nThe leadfunnel team",
            ),
            "pause": {
                "kind": Node.Kind.WAIT,
                "name": "2 days",
                "config": {"amount": 2, "unit": "days"},
            },
            "booking": _playbook_email("Day 7: booking prompt", 7),
            "goal": {"kind": Node.Kind.GOAL, "name": "Booked", "config": {"event": "booked"}},
        },
        edges=[
            ("confirm", "next", "wait"),
            ("wait", "next", "hot"),
            ("hot", "c0", "task"),
            ("hot", "else", "split"),
            ("split", "v0", "day2a"),
            ("split", "v1", "day2b"),
            ("day2a", "next", "clicked"),
            ("day2b", "next", "clicked"),
            ("clicked", "yes", "story"),
            ("clicked", "timeout", "reminder"),
            ("story", "next", "pause"),
            ("reminder", "next", "pause"),
            ("pause", "next", "booking"),
            ("booking", "next", "goal"),
        ],
        start="confirm",
        triggers=[(Trigger.Kind.FORM, {"page": page.pk})],
        window_start_hour=9,
        window_end_hour=17,
        fallback_time_zone="UTC",
        hand_hot_leads_to_sales=True,
    )


def _pricing(*, page: LandingPage) -> Sequence:
    """Two pricing-page views in a week → an email → a text → a task for sales."""
    return journeys.build(
        name=PRICING_JOURNEY,
        nodes={
            "email": _email(
                "Pricing questions?",
                subject="Questions about pricing, {{ first_name }}?",
                preheader="What most teams like {{ company }} pick, and why.",
                body="Hi {{ first_name }},\n\nYou have been looking at our pricing. Most teams "
                "of your size start on the middle plan and move up once their funnel "
                "pays for it.\n\nIf you would like a quote for {{ company }}, book a "
                "free consultation and we will work it out together.\n\nThe leadfunnel "
                "team",
                cta_label="Book a free consultation",
                cta_url="{{ booking_url }}",
            ),
            "sms": {
                "kind": Node.Kind.SMS,
                "name": "Text about pricing",
                "config": {
                    "body": "Hi {{ first_name }}, it's leadfunnel: happy to walk "
                    "you through pricing for {{ company }}. Reply STOP to "
                    "opt out."
                },
            },
            "task": {
                "kind": Node.Kind.TASK,
                "name": "Call about pricing",
                "config": {
                    "title": "Pricing interest: call {{ first_name }}",
                    "note": "Viewed the pricing page twice this week.",
                    "owner": "owner",
                    "due_hours": 24,
                },
            },
        },
        edges=[("email", "next", "sms"), ("sms", "next", "task")],
        start="email",
        triggers=[(Trigger.Kind.PAGE_VIEW, {"url": "*/pricing*", "count": 2, "within_days": 7})],
        window_start_hour=9,
        window_end_hour=17,
        fallback_time_zone="UTC",
        reentry=Sequence.Reentry.EVERY_N_DAYS,
        reentry_days=30,
        hand_hot_leads_to_sales=True,  # a lead sales has gets the rep's call, not this email
    )
