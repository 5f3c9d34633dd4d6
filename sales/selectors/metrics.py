"""Funnel figures per campaign and per source for leads captured in a date range.

Each lead counts once, in the cohort of the day it was captured: a lead captured in March
and won in May counts as won in March's figures. The figures are read from the per-lead
facts (FunnelFact, recounted as leads move: `sales.services.funnel`) and, on PostgreSQL, the
counts from their hourly rollup (FunnelHour): a year of a million leads is a sum over some
thousands of rollup rows, not a million rows with six subqueries each. Medians are
PostgreSQL's percentile_cont over the facts that have the interval, or Python's on SQLite.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from capture.models import Campaign
from leadfunnel.csvcells import neutralise_csv_cell
from sales.models import FunnelFact, FunnelHour
from sales.selectors.stats import Median, database_has_median, python_median
from sales.services.funnel import recount_pending_logged, recount_window

DAILY_SOURCES = 6  # the busiest sources get a line each; the rest share “other”
COUNTS = ("leads", "nurtured", "quality", "hot", "booked", "won")
SPEEDS = {"speed_to_lead": "first_email_at", "speed_to_contact": "first_contact_at"}
TOTAL = ("total",)


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


class DailySeries(TypedDict):
    label: str  # a source, or "other"
    data: list[int]  # leads per day, in the order of DailyChart's days


class DailyChart(TypedDict):
    days: list[str]  # ISO dates
    series: list[DailySeries]


@dataclass
class Metrics:
    start: datetime
    end: datetime
    total: FunnelRow
    campaigns: list[FunnelRow] = field(default_factory=list)
    sources: list[FunnelRow] = field(default_factory=list)
    daily: DailyChart = field(default_factory=lambda: DailyChart(days=[], series=[]))

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


def cohort(*, start: datetime, end: datetime) -> QuerySet[FunnelFact]:
    """The facts of the leads captured in [start, end)."""
    return FunnelFact.objects.filter(created_at__gte=start, created_at__lt=end)


def _rollup_covers(*, start: datetime, end: datetime, zone: ZoneInfo) -> bool:
    """The hourly rollup answers for this window and zone: PostgreSQL (the triggers keep it),
    the window on whole UTC hours, and every local midnight in it on a whole UTC hour too,
    so each hour falls in one local day (not so in India or Nepal: those read the facts)."""
    if connection.vendor != "postgresql":
        return False
    if start.timestamp() % 3600 or end.timestamp() % 3600:
        return False
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    while day <= last:
        offset = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
        day += timedelta(days=1)
    return True


def _cells(
    facts: QuerySet[FunnelFact], *, start: datetime, end: datetime, zone: ZoneInfo
) -> QuerySet[FunnelHour | FunnelFact, dict[str, Any]]:
    """The counts per local day, campaign, source and medium: every count on the page is a
    sum of these."""
    keys = ("day", "campaign_id", "source", "medium")
    # Declared: the stubs cannot type rows of values(*keys) (the keys and COUNTS, here).
    cells: QuerySet[FunnelHour | FunnelFact, dict[str, Any]]
    if _rollup_covers(start=start, end=end, zone=zone):
        hours = FunnelHour.objects.filter(hour__gte=start, hour__lt=end)
        cells = (
            hours.annotate(day=TruncDate("hour", tzinfo=zone))
            .values(*keys)
            .annotate(**{name: Sum(name) for name in COUNTS})
            .order_by()
        )
    else:
        cells = (
            facts.annotate(day=TruncDate("created_at", tzinfo=zone))
            .values(*keys)
            .annotate(
                leads=Count("pk"),
                **{name: Count("pk", filter=Q(**{name: True})) for name in COUNTS[1:]},
            )
            .order_by()
        )
    return cells


def _medians(facts: QuerySet[FunnelFact]) -> dict[tuple[Any, ...], dict[str, timedelta]]:
    """Median speeds in total, per campaign and per (source, medium), over the facts that
    have the interval (partial indexes: the others are never read)."""
    found: dict[tuple[Any, ...], dict[str, timedelta]] = defaultdict(dict)
    for name, field_name in SPEEDS.items():
        having = facts.filter(**{f"{field_name}__isnull": False})
        if database_has_median():
            speed = Median(F(field_name) - F("created_at"))
            median = having.aggregate(median=speed)["median"]
            if median is not None:
                found[TOTAL][name] = median
            for campaign_id, median in (
                having.values("campaign_id")
                .annotate(median=speed)
                .order_by()
                .values_list("campaign_id", "median")
            ):
                found[("campaign", campaign_id)][name] = median
            for source, medium, median in (
                having.values("source", "medium")
                .annotate(median=speed)
                .order_by()
                .values_list("source", "medium", "median")
            ):
                found[("source", source, medium)][name] = median
            continue
        spans: dict[tuple[Any, ...], list[timedelta]] = defaultdict(list)
        rows = having.values_list("campaign_id", "source", "medium", "created_at", field_name)
        for campaign_id, source, medium, created_at, at in rows.iterator(2000):
            for key in (TOTAL, ("campaign", campaign_id), ("source", source, medium)):
                spans[key].append(at - created_at)
        for key, values in spans.items():
            median = python_median(values)
            if median is not None:
                found[key][name] = median
    return found


def _row(label: str, values: dict[str, Any], **extra: Any) -> FunnelRow:
    fields: dict[str, Any] = {name: values.get(name) or 0 for name in COUNTS}
    fields |= {name: values.get(name) for name in SPEEDS}
    return FunnelRow(label=label, **fields, **extra)


@contextmanager
def _without_jit() -> Iterator[None]:
    """PostgreSQL's just-in-time compilation of these aggregates costs more than it saves
    (a month of 82,000 leads took 9.4 s with it, 6.0 s without, when the figures were
    subqueries per lead; over the facts it only adds its compile time)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def funnel_metrics(*, start: datetime, end: datetime, zone: ZoneInfo) -> Metrics:
    """The figures as of now: the leads that moved since the last recount (the triggers
    noted them; usually a handful, the beat task takes the rest every minute) are recounted
    first. SQLite has no triggers and recounts the window's leads instead."""
    if connection.vendor == "postgresql":
        recount_pending_logged()
    else:
        recount_window(start=start, end=end)
    with _without_jit():
        return _funnel_metrics(start=start, end=end, zone=zone)


def _add(into: dict[str, Any], cell: dict[str, Any]) -> None:
    for name in COUNTS:
        into[name] = into.get(name, 0) + (cell[name] or 0)


def _source_label(source: str | None, medium: str | None) -> str:
    """A source/medium row's name. No medium at all (None) is a lead that never sent a
    form (an import, the API); an empty one, a form sent without a utm_medium."""
    if medium is None:
        return f"{source or '(direct)'} / (no form)"
    return f"{source or '(direct)'} / {medium or '(none)'}"


def _funnel_metrics(*, start: datetime, end: datetime, zone: ZoneInfo) -> Metrics:
    facts = cohort(start=start, end=end)
    total_values: dict[str, Any] = {}
    by_campaign_id: dict[int | None, dict[str, Any]] = defaultdict(dict)
    by_source_medium: dict[tuple[str, str | None], dict[str, Any]] = defaultdict(dict)
    per_day: Counter[tuple[date, str]] = Counter()
    for cell in _cells(facts, start=start, end=end, zone=zone):
        if not cell["leads"]:
            continue  # a rollup row whose leads all moved away
        _add(total_values, cell)
        _add(by_campaign_id[cell["campaign_id"]], cell)
        _add(by_source_medium[(cell["source"], cell["medium"])], cell)
        per_day[(cell["day"], cell["source"])] += cell["leads"]
    medians = _medians(facts)
    total_values.update(medians.get(TOTAL, {}))

    campaigns = Campaign.objects.in_bulk([pk for pk in by_campaign_id if pk is not None])
    by_campaign = []
    for campaign_id, values in by_campaign_id.items():
        if not values.get("leads"):
            continue
        values.update(medians.get(("campaign", campaign_id), {}))
        campaign = campaigns.get(campaign_id)
        if campaign is None:
            by_campaign.append(_row("No campaign", values))
        else:
            by_campaign.append(
                _row(campaign.name, values, spend=campaign.spend, currency=campaign.currency)
            )
    by_campaign.sort(key=lambda row: (-row.leads, row.label))

    by_source = []
    for (source, medium), values in by_source_medium.items():
        if not values.get("leads"):
            continue
        values.update(medians.get(("source", source, medium), {}))
        by_source.append(_row(_source_label(source, medium), values))
    by_source.sort(key=lambda row: (-row.leads, row.label))

    spends = [row.spend for row in by_campaign if row.spend is not None]
    currencies = {row.currency for row in by_campaign if row.spend is not None}
    # Spend in two currencies has no one total (no exchange rate here): none is shown, and
    # no cost per lead, rather than dollars and euros added up.
    one_currency = len(currencies) == 1
    total = _row(
        "All leads",
        total_values,
        spend=sum(spends, Decimal(0)) if spends and one_currency else None,
        currency=currencies.pop() if one_currency else "",
    )
    return Metrics(
        start=start,
        end=end,
        total=total,
        campaigns=by_campaign,
        sources=by_source,
        daily=_daily(per_day, start=start, end=end, zone=zone),
    )


def _daily(
    counts: Counter[tuple[date, str]], *, start: datetime, end: datetime, zone: ZoneInfo
) -> DailyChart:
    """Leads per local day and source, for a stacked chart."""
    per_source: Counter[str] = Counter()
    cells: dict[tuple[date, str], int] = Counter()
    for (day, source), n in counts.items():
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
