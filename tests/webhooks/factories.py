import factory
from django.contrib.auth.models import Group, User

from webhooks.models import SUBSCRIBABLE, Endpoint

ALL_EVENTS = [value for value, _ in SUBSCRIBABLE]


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Endpoint

    name = factory.Sequence(lambda n: f"Endpoint {n}")
    url = "https://crm.example.com/hooks"
    events = factory.LazyFunction(lambda: list(ALL_EVENTS))


def staff_user(group: str, *, is_staff: bool = True) -> User:
    """A member of `group`, signed in with force_login: no password, so no slow hashing."""
    user = User.objects.create_user(
        f"{group.split()[0].lower()}-{User.objects.count()}", is_staff=is_staff
    )
    user.groups.add(Group.objects.get(name=group))
    return user
