from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from nurture.signals import journey_action
        from sales import receivers, signals
        from scoring.signals import temperature_changed

        temperature_changed.connect(receivers.hand_off_hot_lead, dispatch_uid="sales.handoff")
        signals.stage_changed.connect(
            receivers.journeys_on_stage_change, dispatch_uid="sales.journeys.stage"
        )
        journey_action.connect(receivers.run_journey_action, dispatch_uid="sales.journey_action")
