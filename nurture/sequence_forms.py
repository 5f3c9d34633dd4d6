"""The form for a day list's and a journey's settings (send window, weekdays, zone), shared by
both admins, so the two check a time zone and the weekdays the same way."""

from typing import Any, cast

from django import forms

from leadfunnel.zones import validate_time_zone
from nurture.models import DEFAULT_TOPIC_NAME, Sequence, SubscriptionTopic, default_topic_id

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


# Generic in its model: a day list's Sequence, or the Journey proxy (the journey admin's form).
class SequenceForm[M: Sequence](forms.ModelForm[M]):
    # A field declared on the form does not take the model field's default, as a generated
    # one would: without `initial` a new sequence showed every day unticked (and required).
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        initial=Sequence._meta.get_field("weekdays").get_default,
        help_text="Days emails may go out, in the lead's time zone.",
    )

    class Meta:
        model = Sequence
        fields = (
            "name",
            "status",
            "topic",
            "entry_pages",
            "window_start_hour",
            "window_end_hour",
            "weekdays",
            "fallback_time_zone",
            "hand_hot_leads_to_sales",
            "track_engagement",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "topic" in self.fields:
            # Left empty (or not sent, by a script), a sequence belongs to the default topic.
            topic = cast(forms.ModelChoiceField[SubscriptionTopic], self.fields["topic"])
            topic.required = False
            topic.empty_label = f"{DEFAULT_TOPIC_NAME} (the default)"

    def clean_topic(self) -> SubscriptionTopic:
        return self.cleaned_data.get("topic") or SubscriptionTopic.objects.get(
            pk=default_topic_id()
        )

    def clean_fallback_time_zone(self) -> str:
        return validate_time_zone(self.cleaned_data["fallback_time_zone"])
