from django.db.models import Case, IntegerField, QuerySet, Value, When

from capture.models import Lead

_TEMPERATURE_RANK = Case(
    When(temperature=Lead.Temperature.HOT, then=Value(0)),
    When(temperature=Lead.Temperature.WARM, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def leads_for_dashboard() -> QuerySet[Lead]:
    """Hot leads first, then by score, then newest."""
    return (
        Lead.objects.select_related("owner", "campaign")
        .annotate(temperature_rank=_TEMPERATURE_RANK)
        .order_by("temperature_rank", "-score", "-created_at")
    )
