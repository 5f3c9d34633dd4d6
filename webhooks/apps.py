from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Outbound webhooks"

    def ready(self) -> None:
        from capture.signals import lead_captured
        from nurture.signals import (
            journey_converted,
            journey_entered,
            journeys_entered,
            lead_unsubscribed,
        )
        from sales.signals import booking_created, lead_created, stage_changed, task_created
        from scoring.signals import temperature_changed
        from webhooks import receivers

        lead_captured.connect(receivers.lead_captured, dispatch_uid="webhooks.lead_created")
        lead_created.connect(receivers.lead_created, dispatch_uid="webhooks.lead_created_by_hand")
        temperature_changed.connect(receivers.temperature_changed, dispatch_uid="webhooks.hot")
        stage_changed.connect(receivers.stage_changed, dispatch_uid="webhooks.stage_changed")
        booking_created.connect(receivers.booking_created, dispatch_uid="webhooks.booking")
        task_created.connect(receivers.task_created, dispatch_uid="webhooks.task_created")
        lead_unsubscribed.connect(receivers.lead_unsubscribed, dispatch_uid="webhooks.unsubscribed")
        journey_entered.connect(receivers.journey_entered, dispatch_uid="webhooks.journey_entered")
        journeys_entered.connect(
            receivers.journeys_entered, dispatch_uid="webhooks.journeys_entered"
        )
        journey_converted.connect(
            receivers.journey_converted, dispatch_uid="webhooks.journey_converted"
        )
