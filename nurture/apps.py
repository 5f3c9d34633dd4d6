from django.apps import AppConfig


class NurtureConfig(AppConfig):
    name = "nurture"
    verbose_name = "Nurture"

    def ready(self) -> None:
        from anymail.signals import tracking

        from capture.signals import lead_captured
        from nurture import checks, receivers  # noqa: F401 - checks registers on import

        lead_captured.connect(receivers.enroll_captured_lead, dispatch_uid="nurture.enroll")
        tracking.connect(receivers.esp_tracking_event, dispatch_uid="nurture.esp_tracking")
        try:
            from scoring.signals import temperature_changed
        except ImportError:  # scoring not built yet
            return
        temperature_changed.connect(
            receivers.hand_hot_lead_to_sales, dispatch_uid="nurture.hand_hot_lead"
        )
