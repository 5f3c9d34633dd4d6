from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from capture.signals import activities_recorded, activity_recorded, lead_captured
        from scoring import receivers
        from scoring.models import ScoringConfig, ScoringRule

        lead_captured.connect(receivers.rescore_captured_lead, dispatch_uid="scoring.captured")
        activity_recorded.connect(receivers.rescore_after_activity, dispatch_uid="scoring.activity")
        activities_recorded.connect(
            receivers.rescore_after_activities, dispatch_uid="scoring.activities"
        )
        # Cache invalidation only (no business flow): every save path must reset the rules.
        for model in (ScoringRule, ScoringConfig):
            for signal in (post_save, post_delete):
                signal.connect(
                    receivers.forget_cached_rules,
                    sender=model,
                    dispatch_uid=f"scoring.forget.{signal is post_save}.{model.__name__}",
                )
