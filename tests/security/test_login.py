"""Login brute force is throttled (django-axes), and signed-in sessions expire."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from tests.factories import UserFactory, sales_rep

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"  # UserFactory's
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


def _login(client: Client, url: str, user: User, password: str) -> int:
    response = client.post(url, {"username": user.username, "password": password})
    return response.status_code


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def staff() -> User:
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_the_sixth_login_is_refused_even_with_the_right_password(
    client: Client, staff: User, url: str
) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    codes = [_login(client, url, staff, "wrong") for _ in range(5)]
    assert codes[:4] == [200] * 4, "the form says the password is wrong"
    assert codes[4] == 429, "the fifth failure locks the pair out"
    response = client.post(url, {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert not _signed_in(client)


def test_the_lockout_is_per_username_and_address(client: Client, staff: User) -> None:
    for _ in range(5):
        _login(client, "/accounts/login/", staff, "wrong")
    other_address = Client(REMOTE_ADDR="192.0.2.7")
    assert _login(other_address, "/accounts/login/", staff, PASSWORD) == 302
    other_user = sales_rep()
    assert _login(client, "/accounts/login/", other_user, PASSWORD) == 302


def test_the_lockout_ends_after_the_cool_off(client: Client, staff: User) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        for _ in range(5):
            _login(client, "/admin/login/", staff, "wrong")
        clock.shift(timedelta(minutes=14))
        assert _login(client, "/admin/login/", staff, PASSWORD) == 429
        clock.shift(timedelta(minutes=16))
        assert _login(client, "/admin/login/", staff, PASSWORD) == 302
        assert _signed_in(client)


def test_a_success_resets_the_count(client: Client, staff: User) -> None:
    for _ in range(4):
        _login(client, "/accounts/login/", staff, "wrong")
    assert _login(client, "/accounts/login/", staff, PASSWORD) == 302
    client.logout()
    for _ in range(4):
        assert _login(client, "/accounts/login/", staff, "wrong") == 200


def test_a_session_expires_after_eight_hours(client: Client) -> None:
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    rep = sales_rep()
    with time_machine.travel(NOW, tick=False) as clock:
        assert _login(client, "/accounts/login/", rep, PASSWORD) == 302
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        assert cookie["httponly"]
        assert not cookie["max-age"] and not cookie["expires"], "ends with the browser"
        clock.shift(timedelta(hours=7, minutes=59))
        assert client.get("/sales/").status_code == 200
        # The session is not renewed on each request: the eight hours run from sign-in.
        clock.shift(timedelta(minutes=2))
        response = client.get("/sales/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_the_admin_session_expires_too(client: Client, staff: User) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        assert _login(client, "/admin/login/", staff, PASSWORD) == 302
        assert client.get("/admin/").status_code == 200
        clock.shift(timedelta(hours=8, minutes=1))
        assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_the_limits_come_from_the_environment() -> None:
    probe = (
        "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'leadfunnel.settings';"
        "django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(),"
        " s.SESSION_COOKIE_AGE, s.SESSION_EXPIRE_AT_BROWSER_CLOSE]))"
    )
    env = {
        **os.environ,
        "DEBUG": "1",
        "AXES_FAILURE_LIMIT": "3",
        "AXES_COOLOFF_MINUTES": "60",
        "SESSION_COOKIE_AGE": "3600",
    }
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [3, 3600.0, 3600, True]
