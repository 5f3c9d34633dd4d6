"""Funnel figures per campaign and per source for leads captured in a date range.

Each lead counts once, in the cohort of the day it was captured: a lead captured in March
and won in May counts as won in March's figures. Counts are SQL aggregates over the
leads (EXISTS per fact); medians are PostgreSQL's percentile_cont, or Python's on SQLite.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Least, TruncDate

from capture.models import Campaign, Lead, Submission
from capture.selectors import neutralise_csv_cell
from nurture.models import Delivery, Enrollment
from sales.models import Booking, LeadChange, Note
from sales.selectors.stats import Median, database_has_median, python_median
from scoring.models import ScoreChange

HOT, WARM = Lead.Temperature.HOT, Lead.Temperature.WARM
DAILY_SOURCES = 6  # the busiest sources get a line each; the rest share “other”


@dataclass
class FunnelRow:
    label: str
    leads: int = 0
    nurtured: int = 0
    quality: int = 0
    hot: int = 0
    booked: int = 0
    won: int = 0
    spend: Decimal | None = None  # campaigns only
    currency: str = ""
    speed_to_lead: timedelta | None = None
    speed_to_contact: timedelta | None = None

    @property
    def cost_per_lead(self) -> Decimal | None:
        return _ratio(self.spend, self.leads)

    @property
    def cost_per_client(self) -> Decimal | None:
        return _ratio(self.spend, self.won)

    @property
    def quality_rate(self) -> float | None:
        return 100 * self.quality / self.leads if self.leads else None

    @property
    def conversion_rate(self) -> float | None:
        return 100 * self.won / self.leads if self.leads else None


@dataclass
class Metrics:
    start: datetime
    end: datetime
    total: FunnelRow
    campaigns: list[FunnelRow] = field(default_factory=list)
    sources: list[FunnelRow] = field(default_factory=list)
    daily: dict[str, Any] = field(default_factory=dict)

    @property
    def funnel(self) -> list[tuple[str, int]]:
        t = self.total
        return [
            ("Captured", t.leads),
            ("Nurtured", t.nurtured),
            ("Hot", t.hot),
            ("Booked", t.booked),
            ("Won", t.won),
        ]


def cohort(*, start: datetime, end: datetime) -> QuerySet[Lead]:
    """Leads captured in [start, end)."""
    return Lead.objects.filter(created_at__gte=start, created_at__lt=end)


def _facts() -> dict[str, Any]:
    """Per-lead facts as expressions on the outer lead, for aggregates to count."""
    lead = OuterRef("pk")
    first_call = Note.objects.filter(lead=lead, kind=Note.Kind.CALL).order_by("created_at")
    first_contacted = LeadChange.objects.filter(
        lead=lead, field=LeadChange.Field.STAGE, new_value=Lead.Stage.CONTACTED
    ).order_by("at")
    call_at = Subquery(first_call.values("created_at")[:1])
    contacted_at = Subquery(first_contacted.values("at")[:1])
    return {
        "reached_warm": Exists(
            ScoreChange.objects.filter(lead=lead, new_temperature__in=[WARM, HOT])
        ),
        "reached_hot": Exists(ScoreChange.objects.filter(lead=lead, new_temperature=HOT)),
        "nurtured": Exists(Enrollment.objects.filter(lead=lead)),
        "booked": Exists(Booking.objects.filter(lead=lead, status=Booking.Status.BOOKED)),
        "first_email_at": Subquery(
            Delivery.objects.filter(enrollment__lead=lead, step__day=1, sent_at__isnull=False)
            .order_by("sent_at")
            .values("sent_at")[:1]
        ),
        # LEAST ignores NULLs on PostgreSQL but not on SQLite: coalesce each side first.
        "first_contact_at": Least(Coalesce(call_at, contacted_at), Coalesce(contacted_at, call_at)),
    }


def _figures() -> dict[str, Any]:
    # The facts are written into each aggregate rather than annotated once: Django cannot
    # aggregate over a queryset's own annotations without wrapping it in a subquery.
    facts = _facts()
    figures: dict[str, Any] = {
        "leads": Count("pk"),
        "nurtured": Count("pk", filter=Q(facts["nurtured"])),
        "quality": Count("pk", filter=Q(facts["reached_warm"]) | Q(temperature__in=[WARM, HOT])),
        "hot": Count("pk", filter=Q(facts["reached_hot"]) | Q(temperature=HOT)),
        "booked": Count("pk", filter=Q(facts["booked"])),
        "won": Count("pk", filter=Q(stage=Lead.Stage.WON)),
    }
    if database_has_median():
        figures["speed_to_lead"] = Median(facts["first_email_at"] - F("created_at"))
        figures["speed_to_contact"] = Median(facts["first_contact_at"] - F("created_at"))
    return figures


def _python_medians(leads: QuerySet[Lead], *keys: str) -> dict[Any, dict[str, Any]]:
    """SQLite: the medians computed from one row per lead."""
    to_lead: dict[Any, list[timedelta]] = defaultdict(list)
    to_contact: dict[Any, list[timedelta]] = defaultdict(list)
    facts = _facts()
    rows = leads.annotate(
        first_email_at=facts["first_email_at"], first_contact_at=facts["first_contact_at"]
    ).values_list(*keys, "created_at", "first_email_at", "first_contact_at")
    for *group, created_at, first_email_at, first_contact_at in rows.iterator(2000):
        group_key = tuple(group)
        if first_email_at is not None:
            to_lead[group_key].append(first_email_at - created_at)
        if first_contact_at is not None:
            to_contact[group_key].append(first_contact_at - created_at)
    return {
        group_key: {
            "speed_to_lead": python_median(to_lead.get(group_key, [])),
            "speed_to_contact": python_median(to_contact.get(group_key, [])),
        }
        for group_key in set(to_lead) | set(to_contact)
    }


def _grouped(leads: QuerySet[Lead], *keys: str) -> list[dict[str, Any]]:
    rows = list(leads.values(*keys).annotate(**_figures()).order_by())
    if not database_has_median():
        medians = _python_medians(leads, *keys)
        for row in rows:
            row.update(medians.get(tuple(row[k] for k in keys), {}))
    return rows


def _row(label: str, values: dict[str, Any], **extra: Any) -> FunnelRow:
    names = (
        "leads",
        "nurtured",
        "quality",
        "hot",
        "booked",
        "won",
        "speed_to_lead",
        "speed_to_contact",
    )
    return FunnelRow(
        label=label, **{n: values.get(n) or (None if "speed" in n else 0) for n in names}, **extra
    )


@contextmanager
def _without_jit() -> Iterator[None]:
    """PostgreSQL's just-in-time compilation of these many-subplan aggregates costs more than
    it saves: a month of 82,000 leads (of a million) took 9.4 s with it, 6.0 s without."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def funnel_metrics(*, start: datetime, end: datetime, zone: ZoneInfo) -> Metrics:
    with _without_jit():
        return _funnel_metrics(start=start, end=end, zone=zone)


def _funnel_metrics(*, start: datetime, end: datetime, zone: ZoneInfo) -> Metrics:
    leads = cohort(start=start, end=end)
    total_values = leads.aggregate(**_figures())
    if not database_has_median():
        total_values.update(_python_medians(leads).get((), {}))

    campaign_rows = _grouped(leads, "campaign_id")
    campaigns = Campaign.objects.in_bulk(
        [r["campaign_id"] for r in campaign_rows if r["campaign_id"]]
    )
    by_campaign = []
    for values in campaign_rows:
        campaign = campaigns.get(values["campaign_id"])
        if campaign is None:
            by_campaign.append(_row("No campaign", values))
        else:
            by_campaign.append(
                _row(campaign.name, values, spend=campaign.spend, currency=campaign.currency)
            )
    by_campaign.sort(key=lambda row: (-row.leads, row.label))

    first_medium = Submission.objects.filter(lead=OuterRef("pk")).order_by("created_at", "pk")
    with_medium = leads.annotate(medium=Subquery(first_medium.values("utm_medium")[:1]))
    by_source = [
        _row(f"{values['source'] or '(direct)'} / {values['medium'] or '(none)'}", values)
        for values in _grouped(with_medium, "source", "medium")
    ]
    by_source.sort(key=lambda row: (-row.leads, row.label))

    spends = [row.spend for row in by_campaign if row.spend is not None]
    currencies = {row.currency for row in by_campaign if row.spend is not None}
    total = _row(
        "All leads",
        total_values,
        spend=sum(spends, Decimal(0)) if spends else None,
        currency=currencies.pop() if len(currencies) == 1 else "",
    )
    return Metrics(
        start=start,
        end=end,
        total=total,
        campaigns=by_campaign,
        sources=by_source,
        daily=_daily(leads, start=start, end=end, zone=zone),
    )


def _daily(leads: QuerySet[Lead], *, start: datetime, end: datetime, zone: ZoneInfo) -> dict:
    """Leads per local day and source, for a stacked chart."""
    counts = (
        leads.annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "source")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "source", "n")
    )
    per_source: Counter[str] = Counter()
    cells: dict[tuple[date, str], int] = Counter()
    for day, source, n in counts:
        name = source or "(direct)"
        per_source[name] += n
        cells[(day, name)] += n
    busiest = [name for name, _ in per_source.most_common(DAILY_SOURCES)]
    days = []
    day, last = (
        start.astimezone(zone).date(),
        (end - timedelta(microseconds=1)).astimezone(zone).date(),
    )
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    series: dict[str, list[int]] = {
        name: [cells.get((d, name), 0) for d in days] for name in busiest
    }
    others = [name for name in per_source if name not in busiest]
    if others:
        series["other"] = [sum(cells.get((d, name), 0) for name in others) for d in days]
    return {
        "days": [d.isoformat() for d in days],
        "series": [{"label": name, "data": data} for name, data in series.items()],
    }


CSV_COLUMNS = (
    "group",
    "name",
    "leads",
    "spend",
    "currency",
    "cost per lead",
    "quality rate %",
    "hot",
    "bookings",
    "won",
    "conversion %",
    "cost per client",
    "median speed to lead (s)",
    "median to first sales contact (s)",
)


def metrics_csv_rows(*, metrics: Metrics) -> Iterator[list[str]]:
    yield list(CSV_COLUMNS)
    groups = [
        ("total", [metrics.total]),
        ("campaign", metrics.campaigns),
        ("source", metrics.sources),
    ]
    for group, rows in groups:
        for row in rows:
            cells = [
                group,
                row.label,
                row.leads,
                row.spend,
                row.currency,
                _round(row.cost_per_lead),
                _round(row.quality_rate, 1),
                row.hot,
                row.booked,
                row.won,
                _round(row.conversion_rate, 1),
                _round(row.cost_per_client),
                _seconds(row.speed_to_lead),
                _seconds(row.speed_to_contact),
            ]
            yield [neutralise_csv_cell("" if cell is None else cell) for cell in cells]


def _ratio(amount: Decimal | None, count: int) -> Decimal | None:
    if amount is None or not count:
        return None
    return (Decimal(amount) / count).quantize(Decimal("0.01"))


def _round(value: Decimal | float | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def _seconds(value: timedelta | None) -> str:
    return "" if value is None else str(round(value.total_seconds()))
