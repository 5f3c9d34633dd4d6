"""API test helpers: a client per role, authenticated with the role's own token."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leadfunnel.groups import MARKETERS, SALES_REPS

# API callers authenticate with tokens: an unusable password skips the slow hashing.
NO_PASSWORD = "!"


def token_client(user: User | None) -> APIClient:
    """A client sending `Authorization: Token …` for `user` (none: anonymous)."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _user(*, group: str = "", **fields: Any) -> User:
    user = User.objects.create(
        username=f"api-{User.objects.count()}-{uuid.uuid4().hex[:6]}",
        password=NO_PASSWORD,
        **fields,
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def sales_rep() -> User:
    return _user(group=SALES_REPS)


def marketer() -> User:
    return _user(group=MARKETERS, is_staff=True)


def superuser() -> User:
    return _user(is_staff=True, is_superuser=True)


def error(response: Any) -> dict[str, Any]:
    """The JSON error body, checked for its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


@pytest.fixture
def rep(db: None) -> User:
    return sales_rep()


@pytest.fixture
def marketer_user(db: None) -> User:
    return marketer()


@pytest.fixture
def rep_api(rep: User) -> APIClient:
    return token_client(rep)


@pytest.fixture
def marketer_api(marketer_user: User) -> APIClient:
    return token_client(marketer_user)


@pytest.fixture
def admin_api(db: None) -> APIClient:
    return token_client(superuser())


@pytest.fixture
def make_client() -> Callable[[User | None], APIClient]:
    return token_client
