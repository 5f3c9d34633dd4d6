import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from capture.models import Activity, Campaign, LandingPage, Lead
from leadfunnel.groups import MARKETERS, SALES_REPS
from nurture.models import Sequence, Step
from scoring.models import ScoringRule


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = Campaign.Channel.PAID_SEARCH
    utm_campaign = factory.Sequence(lambda n: f"campaign-{n}")


class LandingPageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LandingPage

    slug = factory.Sequence(lambda n: f"page-{n}")
    title = "Free consultation"
    headline = "Grow your pipeline"
    body = "A **short** pitch."
    fields_shown = [
        "first_name",
        "last_name",
        "phone",
        "company",
        "job_title",
        "company_size",
        "country",
    ]
    fields_required = ["first_name", "company"]
    qualifying_question = "When would you like to start?"
    qualifying_choices = "Within a month\nIn 1–3 months\nJust researching"
    consent_text = "I agree to receive emails about my inquiry."
    published = True


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def group(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


def marketer() -> User:
    return UserFactory(is_staff=True, group=MARKETERS)


def sales_rep() -> User:
    return UserFactory(group=SALES_REPS)


class SequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sequence

    name = factory.Sequence(lambda n: f"Sequence {n}")
    window_start_hour = 9
    window_end_hour = 17
    weekdays = [0, 1, 2, 3, 4]
    fallback_time_zone = "UTC"
    # The model's default is on; the tests of the hand-off rule turn it on themselves.
    hand_hot_leads_to_sales = False


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Step

    sequence = factory.SubFactory(SequenceFactory)
    day = factory.Sequence(lambda n: n + 1)
    subject = factory.LazyAttribute(lambda step: f"Day {step.day} for {{{{ first_name }}}}")
    body = "Hello {{ first_name }} from [our site](https://example.com/guide?a=1&b=2)."


def playbook_sequence(*, page: LandingPage | None = None, **kwargs: object) -> Sequence:
    """A sequence with the five days of the playbook (1, 2, 3, 5, 7)."""
    sequence = SequenceFactory(**kwargs)
    for day in (1, 2, 3, 5, 7):
        StepFactory(sequence=sequence, day=day)
    if page is not None:
        sequence.entry_pages.add(page)
    return sequence


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    lead = factory.SubFactory(LeadFactory)
    kind = Activity.Kind.PAGE_VIEWED
    occurred_at = factory.LazyFunction(timezone.now)
    metadata = factory.LazyFunction(dict)


class FitRuleFactory(factory.django.DjangoModelFactory):
    """A scoring rule on who the lead is: by default “job title contains director”, +15."""

    class Meta:
        model = ScoringRule

    name = factory.Sequence(lambda n: f"Fit rule {n}")
    kind = ScoringRule.Kind.FIT
    field = ScoringRule.Field.JOB_TITLE
    operator = ScoringRule.Operator.CONTAINS
    value = "director"
    points = 15


class EngagementRuleFactory(factory.django.DjangoModelFactory):
    """A scoring rule on what the lead does: by default +5 per email click."""

    class Meta:
        model = ScoringRule

    name = factory.Sequence(lambda n: f"Engagement rule {n}")
    kind = ScoringRule.Kind.ENGAGEMENT
    activity_kind = Activity.Kind.EMAIL_CLICKED
    points = 5
