"""Marketers manage endpoints and read and replay the delivery log in the admin."""

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.test import Client

from leadfunnel.groups import MARKETERS, SALES_REPS
from tests.webhooks.factories import EndpointFactory, staff_user
from tests.webhooks.ipv6 import IPV6_CARRYING_PRIVATE_IPV4
from tests.webhooks.receiver import Receiver, verify_signature
from webhooks import services
from webhooks.models import Endpoint, EventType, WebhookDelivery

pytestmark = pytest.mark.django_db
DELIVERIES = "/admin/webhooks/webhookdelivery/"
ENDPOINTS = "/admin/webhooks/endpoint/"
Status = WebhookDelivery.Status


@pytest.fixture
def as_marketer(client: Client) -> Client:
    client.force_login(staff_user(MARKETERS))
    return client


def _delivered(receiver: Receiver, callbacks: Any) -> WebhookDelivery:
    with callbacks(execute=True):
        services.publish_event(type=EventType.LEAD_HOT, payload={"lead": {"id": 3}})
    return WebhookDelivery.objects.get()


def test_a_marketer_registers_an_endpoint_with_ticked_events(as_marketer: Client) -> None:
    form = {
        "name": "CRM",
        "url": "http://127.0.0.1:9000/hooks",
        "is_active": "on",
        "events": ["lead.hot", "booking.created"],
        "secret": "a-pasted-secret-of-enough-length-123",
    }
    page = as_marketer.get(ENDPOINTS + "add/").content.decode()
    assert 'type="checkbox" name="events" value="lead.unsubscribed"' in page
    response = as_marketer.post(ENDPOINTS + "add/", form)
    assert response.status_code == 302, response.content.decode()
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["lead.hot", "booking.created"]
    assert endpoint.secret == "a-pasted-secret-of-enough-length-123"


def test_the_add_form_offers_a_generated_secret(as_marketer: Client) -> None:
    page = as_marketer.get(ENDPOINTS + "add/").content.decode()
    assert 'name="secret"' in page and 'maxlength="100"' in page
    assert len(Endpoint._meta.get_field("secret").get_default()) >= 40


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://93.184.215.14/hooks", "Use https://"),
        ("https://169.254.169.254/latest/meta-data/", "private or reserved"),
        *[(f"https://[{address}]/hooks", why) for address, why in IPV6_CARRYING_PRIVATE_IPV4],
    ],
)
def test_the_form_refuses_unsafe_urls_and_no_events(
    as_marketer: Client, settings: Any, url: str, message: str
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    form = {"name": "Bad", "url": url, "events": [], "secret": "x" * 30}
    html = as_marketer.post(ENDPOINTS + "add/", form).content.decode()
    assert message in html and "Tick at least one event." in html
    assert not Endpoint.objects.exists()


def test_the_secret_is_shown_but_not_editable_after_creation(as_marketer: Client) -> None:
    endpoint = EndpointFactory()
    page = as_marketer.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert endpoint.secret in page and 'name="secret"' not in page
    form = {
        "name": "Renamed",
        "url": endpoint.url,
        "events": ["lead.hot"],
        "is_active": "on",
        "secret": "attacker-chosen-secret-0000000000",
    }
    assert as_marketer.post(f"{ENDPOINTS}{endpoint.pk}/change/", form).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.name == "Renamed" and endpoint.secret != "attacker-chosen-secret-0000000000"


def test_rotating_the_secret_signs_the_next_delivery_with_the_new_one(
    as_marketer: Client,
    receiver: Receiver,
    endpoint: Endpoint,
    django_capture_on_commit_callbacks: Any,
) -> None:
    old = endpoint.secret
    response = as_marketer.post(
        ENDPOINTS, {"action": "rotate_secret", ACTION_CHECKBOX_NAME: [endpoint.pk]}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret != old and len(endpoint.secret) >= 40
    receiver.secret = endpoint.secret
    _delivered(receiver, django_capture_on_commit_callbacks)
    [got] = receiver.received
    assert got.signature_valid
    assert not verify_signature(
        secret=old, header=got.headers["x-leadfunnel-signature"], body=got.body
    )


def test_send_test_event_reaches_the_endpoint_signed(
    as_marketer: Client,
    receiver: Receiver,
    endpoint: Endpoint,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Endpoint.objects.filter(pk=endpoint.pk).update(events=["lead.hot"])
    with django_capture_on_commit_callbacks(execute=True):
        response = as_marketer.post(
            ENDPOINTS, {"action": "send_test_event", ACTION_CHECKBOX_NAME: [endpoint.pk]}
        )
    assert response.status_code == 302
    [got] = receiver.received
    assert got.json["type"] == "webhook.test" and got.signature_valid


def test_the_delivery_log_lists_status_code_and_response_time(
    as_marketer: Client,
    receiver: Receiver,
    endpoint: Endpoint,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    delivery = _delivered(receiver, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(12):
        html = as_marketer.get(DELIVERIES).content.decode()
    assert "lead.hot" in html and "Succeeded" in html and f"{delivery.last_response_ms} ms" in html
    assert f"{DELIVERIES}{delivery.pk}/replay/" in html
    detail = as_marketer.get(f"{DELIVERIES}{delivery.pk}/change/").content.decode()
    assert str(delivery.event_id) in detail and "&quot;id&quot;: 3" in detail
    assert 'name="status"' not in detail, "read-only"
    assert as_marketer.get(DELIVERIES + "add/").status_code == 403


def test_a_marketer_replays_deliveries_with_the_same_event_id(
    as_marketer: Client,
    receiver: Receiver,
    endpoint: Endpoint,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _delivered(receiver, django_capture_on_commit_callbacks)
    assert delivery.status == Status.SUCCEEDED
    with django_capture_on_commit_callbacks(execute=True):
        response = as_marketer.post(
            DELIVERIES, {"action": "replay", ACTION_CHECKBOX_NAME: [delivery.pk]}
        )
    assert response.status_code == 302
    first, again = receiver.received
    assert again.json == first.json and again.json["id"] == str(delivery.event_id)
    assert again.signature_valid
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 1)


def test_a_failed_delivery_is_replayed_from_its_own_page(
    as_marketer: Client,
    receiver: Receiver,
    endpoint: Endpoint,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.WEBHOOKS_MAX_ATTEMPTS = 1
    receiver.statuses = [500]
    delivery = _delivered(receiver, django_capture_on_commit_callbacks)
    assert delivery.status == Status.FAILED
    url = f"{DELIVERIES}{delivery.pk}/replay/"
    page = as_marketer.get(url).content.decode()
    assert "Replay now" in page and str(delivery.event_id) in page
    assert receiver.received[1:] == [], "a GET only asks"
    with django_capture_on_commit_callbacks(execute=True):
        response = as_marketer.post(url)
    assert response["Location"] == f"{DELIVERIES}{delivery.pk}/change/"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.SUCCEEDED,
        1,
        200,
    )
    assert len({r.json["id"] for r in receiver.received}) == 1 and len(receiver.received) == 2


def test_without_the_replay_permission_nothing_is_replayed(
    client: Client,
    receiver: Receiver,
    endpoint: Endpoint,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _delivered(receiver, django_capture_on_commit_callbacks)
    viewer = staff_user(MARKETERS)
    group = Group.objects.create(name="Log readers")
    group.permissions.set(
        Group.objects.get(name=MARKETERS).permissions.exclude(codename="replay_webhookdelivery")
    )
    viewer.groups.set([group])
    client.force_login(viewer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(DELIVERIES, {"action": "replay", ACTION_CHECKBOX_NAME: [delivery.pk]})
        assert client.post(f"{DELIVERIES}{delivery.pk}/replay/").status_code == 403
    assert len(receiver.received) == 1


def test_sales_reps_get_nothing_here(client: Client) -> None:
    perms = Group.objects.get(name=SALES_REPS).permissions
    assert not perms.filter(content_type__app_label="webhooks").exists()
    client.force_login(staff_user(SALES_REPS, is_staff=False))
    assert client.get(DELIVERIES).status_code == 302  # to the admin's login
