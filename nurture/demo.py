"""The default nurture sequence from our playbook, for `seed_demo`."""

from capture.models import LandingPage
from nurture.models import Sequence, Step

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
        defaults={"window_start_hour": 9, "window_end_hour": 17, "fallback_time_zone": "UTC",
                  "hand_hot_leads_to_sales": True},
    )  # fmt: skip
    if created:
        Step.objects.bulk_create(Step(sequence=sequence, **step) for step in PLAYBOOK)
    sequence.entry_pages.add(page)
    return sequence
