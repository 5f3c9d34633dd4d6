from django.apps import AppConfig


class CaptureConfig(AppConfig):
    name = "capture"
    verbose_name = "Lead capture"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled
        from django.db.models.signals import post_delete, post_save

        from capture import page_cache
        from capture.ingest.cors import allow_listed_origins
        from capture.models import Brand, LandingPage

        # Per landing page CORS for the public capture and tracking endpoints.
        check_request_enabled.connect(allow_listed_origins, dispatch_uid="capture.cors")

        # A saved page (or brand) is never served from this process's old copy.
        def forget_page(instance: LandingPage, **kwargs: object) -> None:
            page_cache.forget(instance.slug)

        def forget_all(**kwargs: object) -> None:
            page_cache.forget()

        for signal in (post_save, post_delete):
            signal.connect(forget_page, sender=LandingPage, weak=False)
            signal.connect(forget_all, sender=Brand, weak=False)
