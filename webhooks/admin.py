import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.csrf import csrf_protect

from webhooks import services
from webhooks.models import SUBSCRIBABLE, Endpoint, WebhookDelivery
from webhooks.signing import SIGNATURE_HEADER

MIN_SECRET_LENGTH = 24


class EndpointForm(forms.ModelForm[Endpoint]):
    events = forms.MultipleChoiceField(
        choices=SUBSCRIBABLE,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this endpoint receives.",
        error_messages={"required": "Tick at least one event."},
    )

    class Meta:
        model = Endpoint
        fields = ("name", "url", "events", "is_active", "secret")

    def clean_secret(self) -> str:
        secret = str(self.cleaned_data["secret"]).strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise forms.ValidationError(
                f"Use at least {MIN_SECRET_LENGTH} characters, or keep the generated one."
            )
        return secret


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin[Endpoint]):
    form = EndpointForm
    list_display = ("name", "url", "event_list", "is_active", "delivery_log", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    actions = ("rotate_secret", "send_test_event")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The secret can be pasted when the endpoint is made; afterwards only rotated, so a
        # typo cannot silently break every signature.
        return ("secret", "verification", "created_at") if obj else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = ("name", "url", "events", "is_active", "secret")
        return (*fields, "verification", "created_at") if obj else fields

    @admin.display(description="Events")
    def event_list(self, endpoint: Endpoint) -> str:
        return ", ".join(endpoint.events or []) or "—"

    @admin.display(description="Deliveries")
    def delivery_log(self, endpoint: Endpoint) -> str:
        url = reverse("admin:webhooks_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">Log</a>', url, endpoint.pk)

    @admin.display(description="Checking signatures")
    def verification(self, endpoint: Endpoint) -> str:
        return format_html(
            "Each POST carries <code>{}: t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</code>. v1 is "
            "HMAC-SHA256 with the secret above of <code>&lt;t&gt;.&lt;raw body&gt;</code>: "
            "compare in constant time, refuse a t older than five minutes and drop event ids "
            "seen before.",
            SIGNATURE_HEADER,
        )

    @admin.action(description="Rotate the secret of the selected endpoints", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            services.rotate_secret(endpoint_id=endpoint.pk)
        messages.success(
            request,
            f"New secret for {queryset.count()} endpoint(s), used from the next delivery on. "
            "Give it to the receiver now.",
        )

    @admin.action(description="Send a test event to the selected endpoints", permissions=["change"])
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        event = services.send_test_event(endpoint_ids=ids)
        url = reverse("admin:webhooks_webhookdelivery_changelist")
        messages.success(
            request,
            format_html(
                'Test event {} sent to {} endpoint(s): see the <a href="{}">delivery log</a>.',
                event.pk,
                len(ids),
                url,
            ),
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    """The delivery log: read-only, with a replay (selected rows, or one row's button)."""

    list_display = (
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "response_time",
        "created_at",
        "next_attempt_at",
        "replay_link",
    )
    list_filter = ("status", "endpoint", "event__type")
    list_select_related = ("endpoint", "event")
    search_fields = ("endpoint__name",)
    date_hierarchy = "created_at"
    actions = ("replay",)
    fields = (
        "endpoint",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "response_time",
        "last_error",
        "last_response",
        "created_at",
        "delivered_at",
        "body",
        "replay_link",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.replay_webhookdelivery")

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        actions = super().get_actions(request, action_location=action_location)
        # The log is history: rows go only with their endpoint.
        actions.pop("delete_selected", None)
        return actions

    def get_urls(self) -> list[Any]:
        replay = self.admin_site.admin_view(self.replay_view)
        return [
            path("<int:delivery_id>/replay/", replay, name="webhooks_webhookdelivery_replay"),
            *super().get_urls(),
        ]

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.display(description="Response time", ordering="last_response_ms")
    def response_time(self, delivery: WebhookDelivery) -> str:
        return "—" if delivery.last_response_ms is None else f"{delivery.last_response_ms} ms"

    @admin.display(description="Body sent")
    def body(self, delivery: WebhookDelivery) -> str:
        pretty = json.dumps(json.loads(services.event_body(delivery.event)), indent=2)
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', pretty)

    @admin.display(description="Replay")
    def replay_link(self, delivery: WebhookDelivery) -> str:
        url = reverse("admin:webhooks_webhookdelivery_replay", args=[delivery.pk])
        return format_html('<a href="{}">Replay…</a>', url)

    @admin.action(description="Replay the selected deliveries", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = services.replay_deliveries(delivery_ids=list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} deliver{'y' if count == 1 else 'ies'} sent again.")

    @method_decorator(csrf_protect)  # admin's csrf_protect_m, which the stubs leave untyped
    def replay_view(self, request: HttpRequest, delivery_id: int) -> HttpResponse:
        if not self.has_replay_permission(request):
            raise PermissionDenied
        delivery = get_object_or_404(
            WebhookDelivery.objects.select_related("endpoint", "event"), pk=delivery_id
        )
        if request.method == "POST":
            services.replay_delivery(delivery_id=delivery.pk)
            messages.success(request, f"Delivery {delivery.pk} sent again.")
            return redirect("admin:webhooks_webhookdelivery_change", delivery.pk)
        context = {
            **self.admin_site.each_context(request),
            "delivery": delivery,
            "opts": WebhookDelivery._meta,
            "title": "Replay a webhook delivery",
        }
        return TemplateResponse(request, "admin/webhooks/replay_confirm.html", context)
