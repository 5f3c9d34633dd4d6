"""Email figures in the admin as rates with small bars and sparklines: sequences and their
steps (nurture.admin), journeys (nurture.admin_journeys). Counts go in, escaped HTML comes out."""

from typing import Any

from django.db.models import Count, Q
from django.utils.html import format_html

from nurture.models import Delivery, Enrollment

# Conversion: the lead reached the goal (booked, won, the journey's goal) after the email.
GOAL_REASONS = (
    Enrollment.ExitReason.BOOKED,
    Enrollment.ExitReason.WON,
    Enrollment.ExitReason.CONVERTED,
)


def rate_bar(part: int, whole: int, *, label: str, text: str = "") -> str:
    """`part` of `whole` as a percentage (or `text`) with a small bar, its counts in the
    tooltip and for screen readers; "—" when nothing was sent yet."""
    if not whole:
        return format_html(
            '<span class="lf-rate lf-rate-none" title="{}">—</span>', "none sent yet"
        )
    share = 100 * part / whole
    return format_html(
        '<span class="lf-rate" title="{label}: {part} of {whole}">'
        '<span class="lf-rate-bar" aria-hidden="true"><span style="width: {width}%"></span></span>'
        '<span class="lf-rate-figure">{share}</span>'
        '<span class="visually-hidden"> {label}, {part} of {whole}</span></span>',
        label=label,
        part=part,
        whole=whole,
        width=f"{min(share, 100):.0f}",
        share=text or (f"{share:.0f}%" if share >= 1 or not part else f"{share:.1f}%"),
    )


def sparkline(values: list[int], *, label: str) -> str:
    """A small inline SVG line of daily counts (no script: it renders in the changelist)."""
    if not values or not any(values):
        return format_html('<span class="lf-spark-none" title="{}">—</span>', label)
    width, height, top = 56, 18, max(values)
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return format_html(
        '<svg class="lf-spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{label}: {values}"><title>{label}</title>'
        '<polyline points="{points}" fill="none" stroke="currentColor" stroke-width="1.5"/></svg>',
        w=width,
        h=height,
        label=label,
        values=", ".join(map(str, values)),
        points=points,
    )


def email_rates(figures: dict[str, int]) -> str:
    """Sent, open rate, click rate and conversion of one step (or sequence) in a row."""
    sent = figures.get("sent", 0)
    return format_html(
        '<span class="lf-figures"><span class="lf-figure"><span class="lf-figure-name">Sent</span> '
        "{}</span>"
        '<span class="lf-figure"><span class="lf-figure-name">Open rate</span> {}</span>'
        '<span class="lf-figure"><span class="lf-figure-name">Click rate</span> {}</span>'
        '<span class="lf-figure"><span class="lf-figure-name">Conversion</span> {}</span></span>',
        sent,
        rate_bar(figures.get("opened", 0), sent, label="opened"),
        rate_bar(figures.get("clicked", 0), sent, label="clicked"),
        rate_bar(figures.get("converted", 0), sent, label="reached the goal"),
    )


def email_counts() -> dict[str, Any]:
    """Counts for `Delivery.objects.values(...).annotate(**email_counts())`."""
    return {
        "sent": Count("pk", filter=Q(status=Delivery.Status.SENT)),
        "opened": Count("pk", filter=Q(opened_at__isnull=False)),
        "clicked": Count("pk", filter=Q(clicked_at__isnull=False)),
        "converted": Count(
            "pk",
            filter=Q(status=Delivery.Status.SENT)
            & (
                Q(enrollment__exit_reason__in=GOAL_REASONS)
                | Q(enrollment__converted_at__isnull=False)
            ),
        ),
    }


class AdminFiguresMedia:
    css = {"all": ("leadfunnel/admin-figures.css",)}
