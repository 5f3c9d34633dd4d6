import factory
from django.contrib.auth.models import Group, User

from capture.models import Campaign, LandingPage, Lead
from leadfunnel.groups import MARKETERS, SALES_REPS


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
    fields_shown = ["first_name", "last_name", "phone", "company", "job_title",
                    "company_size", "country"]  # fmt: skip
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
