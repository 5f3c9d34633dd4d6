from django.apps import AppConfig


class CaptureConfig(AppConfig):
    name = "capture"
    verbose_name = "Lead capture"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from capture.ingest.cors import allow_listed_origins

        # Per landing page CORS for the public capture and tracking endpoints.
        check_request_enabled.connect(allow_listed_origins, dispatch_uid="capture.cors")
