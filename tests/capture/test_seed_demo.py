from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client

from capture.models import Campaign, LandingPage, Lead, Submission

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (LandingPage, Campaign, Lead, Submission))


def test_seed_demo_is_idempotent(monkeypatch: Any, tmp_path: Any, settings: Any) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    _seed()
    first = _counts()
    _seed()
    assert _counts() == first
    assert first == (2, 1, 3, 3)  # the demo page and its copy for the consultation journey


def test_seed_demo_publishes_the_free_consultation_page(monkeypatch: Any) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    _seed()
    page = LandingPage.objects.get(slug="free-consultation")
    assert page.published and page.qualifying_question and len(page.choices) == 3
    assert Client().get("/l/free-consultation/").status_code == 200


def test_seed_demo_logins_use_demo_password(monkeypatch: Any) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    out = _seed()
    assert "marketer / demo-pass-123" in out and "sales / demo-pass-123" in out
    marketer = authenticate(username="marketer", password="demo-pass-123")
    sales = authenticate(username="sales", password="demo-pass-123")
    assert marketer is not None and marketer.is_staff
    assert sales is not None and not sales.is_staff
    assert marketer.has_perm("capture.add_landingpage")
    assert not sales.has_perm("capture.add_landingpage") and sales.has_perm("capture.view_lead")


def test_seed_demo_generates_a_password_once_and_prints_it(
    monkeypatch: Any, tmp_path: Any, settings: Any
) -> None:
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    settings.VAR_DIR = tmp_path
    first = _seed()
    password = (tmp_path / "demo-password").read_text().strip()
    assert len(password) >= 12
    assert f"marketer / {password}" in first
    assert f"marketer / {password}" in _seed(), "a rerun prints the same password"
    assert authenticate(username="marketer", password=password) is not None
