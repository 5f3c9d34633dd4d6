"""Users for this area's tests, made without hashing a password (force_login needs none):
tests.factories' users hash theirs with the production hasher, seconds per user."""

from itertools import count

from django.contrib.auth.models import Group, User

from leadfunnel.groups import MARKETERS, SALES_REPS

_numbers = count()


def _user(group: str, *, is_staff: bool) -> User:
    user = User.objects.create(username=f"integrations-{next(_numbers)}", is_staff=is_staff)
    user.groups.add(Group.objects.get(name=group))
    return user


def marketer() -> User:
    return _user(MARKETERS, is_staff=True)


def sales_rep() -> User:
    return _user(SALES_REPS, is_staff=False)
