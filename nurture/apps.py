from django.apps import AppConfig


class NurtureConfig(AppConfig):
    name = "nurture"
    verbose_name = "Nurture"

    def ready(self) -> None:
        from anymail.signals import tracking

        from capture import booking_links, page_checks
        from capture.forms import EXTRA_FIELDS
        from capture.signals import activity_recorded, lead_captured
        from nurture import checks, receivers  # noqa: F401 - checks registers on import
        from nurture.selectors import double_opt_in_unsent, is_suppressed
        from nurture.services import topics
        from scoring.signals import score_changed, temperature_changed

        # The page's topic opt-ins on its form (unticked); ticked ones are recorded with
        # their consent text by record_form_topic_opt_ins, before enrollment.
        EXTRA_FIELDS.append(lambda page: topics.topic_form_fields(landing_page_id=page.pk))
        lead_captured.connect(
            receivers.record_form_topic_opt_ins, dispatch_uid="nurture.topic_opt_ins"
        )
        # A bounced, complained or unsubscribed address gets no booking link either.
        booking_links.HOLDS.append(lambda lead: is_suppressed(email=lead.email))
        # A double opt-in page no journey starts from would confirm no one: said on save.
        page_checks.CHECKS.append(double_opt_in_unsent)
        lead_captured.connect(receivers.enroll_captured_lead, dispatch_uid="nurture.enroll")
        lead_captured.connect(
            receivers.enter_journeys_on_capture, dispatch_uid="nurture.journeys.capture"
        )
        activity_recorded.connect(
            receivers.enter_journeys_on_activity, dispatch_uid="nurture.journeys.activity"
        )
        tracking.connect(receivers.esp_tracking_event, dispatch_uid="nurture.esp_tracking")
        temperature_changed.connect(
            receivers.hand_hot_lead_to_sales, dispatch_uid="nurture.hand_hot_lead"
        )
        temperature_changed.connect(
            receivers.enter_journeys_on_temperature, dispatch_uid="nurture.journeys.temperature"
        )
        score_changed.connect(
            receivers.enter_journeys_on_score, dispatch_uid="nurture.journeys.score"
        )
