from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Segments"

    def ready(self) -> None:
        from capture.signals import activities_recorded, activity_recorded, lead_captured
        from nurture.services import conditions
        from nurture.signals import journey_converted, journey_entered
        from sales import lead_sets
        from sales.signals import lead_created, stage_changed
        from scoring.signals import score_changed, temperature_changed
        from segments import compiling, receivers, selectors
        from segments.signals import segment_joined

        # "Is in segment S" for journey branches, without nurture importing segments.
        conditions.register(
            "segment",
            conditions.ExtraField(
                label="is in segment",
                as_q=compiling.in_segment_q,
                validate=compiling.validate_in_segment,
                describe=compiling.describe_in_segment,
                choices=compiling.segment_choices,
            ),
        )
        # The sales dashboard's "Segment" filter (and so the reps' saved views).
        lead_sets.register(
            lead_sets.LeadSets(
                label="Segment",
                any_label="Any segment",
                choices=selectors.segment_filter_choices,
                lead_ids=selectors.member_lead_ids,
            )
        )
        # Every fact that can change what a lead matches re-evaluates that lead only.
        lead_captured.connect(receivers.refresh_captured_lead, dispatch_uid="segments.captured")
        for signal, name in (
            (activity_recorded, "activity"),
            (score_changed, "score"),
            (temperature_changed, "temperature"),
            (stage_changed, "stage"),
            (lead_created, "created"),
            (journey_entered, "journey_entered"),
            (journey_converted, "journey_converted"),
        ):
            signal.connect(receivers.refresh_changed_lead, dispatch_uid=f"segments.{name}")
        # An import's chunk: its leads together, two statements a segment.
        activities_recorded.connect(
            receivers.refresh_imported_leads, dispatch_uid="segments.activities"
        )
        segment_joined.connect(receivers.enter_journeys_on_join, dispatch_uid="segments.journeys")
