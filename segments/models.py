from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from capture.models import Lead
from segments.trees import EMPTY_TREE, referenced_segments, validate_tree


def _empty_tree() -> dict[str, Any]:
    return {**EMPTY_TREE, "conditions": []}


class Segment(models.Model):
    """A saved set of leads: a tree of conditions (AND / OR / NONE groups, any depth)."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    # {"match": "all" | "any" | "none", "conditions": [condition or group, ...]}; a
    # condition is nurture.services.conditions' vocabulary (what branches use too).
    conditions = models.JSONField(default=_empty_tree, validators=[validate_tree])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The last full refresh (segments.services.refresh_segment): time windows move on.
    refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # References to other segments need the database: they exist, and form no cycle.
        wanted = referenced_segments(self.conditions)
        if not wanted:
            return
        trees = dict(Segment.objects.values_list("pk", "conditions"))
        missing = sorted(wanted - set(trees))
        if missing:
            raise ValidationError(
                {"conditions": f"No segment with id {', '.join(map(str, missing))}."}
            )
        if self.pk is not None:
            trees[self.pk] = self.conditions
        # Depth-first from this segment through the references, as they would be saved.
        seen: set[int] = set()
        stack = list(wanted)
        while stack:
            current = stack.pop()
            if current == self.pk:
                raise ValidationError(
                    {
                        "conditions": "A segment cannot include itself, directly or through "
                        "other segments."
                    }
                )
            if current not in seen:
                seen.add(current)
                stack.extend(referenced_segments(trees.get(current) or {}))


class SegmentMember(models.Model):
    """A lead in a segment now, since when. Kept by segments.services: incrementally when
    a lead changes, and by the periodic full refresh (time windows)."""

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="members", db_index=False
    )
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="segment_memberships")
    joined_at = models.DateTimeField()

    class Meta:
        ordering = ["segment", "-id"]
        constraints = [
            # Also the index the members list and the refresh's anti-join read.
            models.UniqueConstraint(fields=["segment", "lead"], name="segment_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.segment_id}"
