"""The signed-in user of a request, as the type checker and the services see it."""

from typing import cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied


def signed_in(user: AbstractBaseUser | AnonymousUser) -> User:
    """`request.user` behind `login_required` or DRF's permission checks: a real user.

    Those checks run first, so an anonymous user here means a view lost its check; it is
    refused (403) rather than passed on to a service as the actor.
    """
    if not user.is_authenticated:
        raise PermissionDenied
    return cast(User, user)
