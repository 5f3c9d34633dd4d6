"""Rows of the authorization table (test_authorization.py) for this area's routes.

ROUTES maps a URL pattern to (the URL requested, formatted with `objects()` and the table's
own objects; the expected outcome per role). ADMIN_MODELS maps "app.model" to
((changelist, add) as a marketer, (changelist, add) as a superuser).
"""

from tests.security.roles import FORBIDDEN, OK, admin_page
from webhooks.models import Endpoint, Event, EventType, WebhookDelivery

ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    # The replay confirmation (GET); marketers hold webhooks.replay_webhookdelivery.
    "admin/webhooks/webhookdelivery/<int:delivery_id>/replay/": (
        "/admin/webhooks/webhookdelivery/{webhook_delivery}/replay/",
        admin_page(),
    ),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    # Marketers manage endpoints; the delivery log is read-only (nothing to add) for all.
    "webhooks.endpoint": ((OK, OK), (OK, OK)),
    "webhooks.webhookdelivery": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
}


def objects() -> dict[str, object]:
    """Objects this area's URLs need (made in the test's database), by format key."""
    endpoint = Endpoint.objects.create(
        name="CRM", url="https://crm.example.com/hooks", events=[EventType.LEAD_HOT]
    )
    event = Event.objects.create(type=EventType.LEAD_HOT, payload={"lead": {"id": 1}})
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event)
    return {"webhook_delivery": delivery.pk}
