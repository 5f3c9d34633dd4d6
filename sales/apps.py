from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from sales import receivers
        from scoring.signals import temperature_changed

        temperature_changed.connect(receivers.hand_off_hot_lead, dispatch_uid="sales.handoff")
