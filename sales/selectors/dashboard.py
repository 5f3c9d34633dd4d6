"""The hot-lead dashboard: hot first, then score, then latest activity, a page at a time.

Pages are keyset pages, not OFFSET/COUNT: each temperature is read on its own through the
(temperature, -score, -last_activity_at, -id) index, and the next page starts after the last
row shown. No query counts the table or sorts all of it, and ties on score cost nothing:
`Lead.last_activity_at` is stored (capture keeps it) rather than looked up per lead.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL

from capture.models import Activity, Lead
from nurture.models import Delivery
from sales import lead_sets
from sales.models import Handoff, Task
from sales.selectors.describe import delivery_ids, describe_activity
from sales.selectors.stats import grouped_with_median
from scoring.models import ScoreChange

logger = logging.getLogger(__name__)

TEMPERATURE_ORDER: tuple[str, ...] = (
    Lead.Temperature.HOT,
    Lead.Temperature.WARM,
    Lead.Temperature.COLD,
)
PAGE_SIZE = 25  # as HubSpot lists: a screenful, and half the rendering of 50
SEARCH_SET = 500  # a search matching at most this many leads reads them once (see below)
SPEED_WINDOW = timedelta(days=30)
SPEED_CACHE_KEY = "sales:rep-speed-to-contact"
SPEED_CACHE_SECONDS = 60
# A CRM's "closed" leads: done with, whichever way. The dashboard is a work list, so by
# default it shows the OPEN ones; its stage filter offers CLOSED and ANY_STAGE besides.
CLOSED_STAGES = (Lead.Stage.WON, Lead.Stage.LOST)
OPEN, CLOSED, ANY_STAGE = "open", "closed", ""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class DashboardFilters:
    temperature: str = ""
    stage: str = ANY_STAGE  # a stage, OPEN (not won or lost), CLOSED (won or lost)
    owner: str = ""  # "mine", "unassigned" or "" (anyone)
    campaign_id: int | None = None
    source: str = ""
    created_from: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    search: str = ""
    lead_set: str = ""  # one of lead_sets' choices (a segment), "" for any


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: just after this row in dashboard order."""

    temperature: str
    score: int
    last_activity_at: datetime
    lead_id: int

    def encode(self) -> str:
        micros = (self.last_activity_at - _EPOCH) // _MICROSECOND
        return f"{self.temperature}.{self.score}.{micros}.{self.lead_id}"

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """Raises ValueError for anything but a cursor this module wrote."""
        temperature, score, micros, lead_id = text.split(".")
        if temperature not in TEMPERATURE_ORDER:
            raise ValueError("unknown temperature")
        at = _EPOCH + int(micros) * _MICROSECOND
        return cls(temperature, int(score), at, int(lead_id))

    @classmethod
    def after(cls, lead: Lead) -> "Cursor":
        return cls(lead.temperature, lead.score, lead.last_activity_at, lead.pk)


@dataclass
class DashboardRow:
    lead: Lead
    last_activity: str = ""
    last_activity_at: datetime | None = None
    hot_since: datetime | None = None
    # Why it scores what it does: its biggest reasons, as the lead page words them.
    why: list[str] = field(default_factory=list)
    url: str = ""  # set by the view

    @property
    def score_percent(self) -> int:
        return max(0, min(100, self.lead.score))


@dataclass
class DashboardPage:
    rows: list[DashboardRow] = field(default_factory=list)
    next_cursor: Cursor | None = None


@dataclass(frozen=True)
class RepSpeed:
    rep: str
    median: timedelta | None
    episodes: int
    # The hand-offs' "call within 5 minutes" tasks of the same episodes: how many there were,
    # how many were done by their due time, and how many are still open past it.
    calls: int = 0
    called_on_time: int = 0
    calls_overdue: int = 0
    median_to_call: timedelta | None = None

    @property
    def on_time_rate(self) -> float | None:
        return 100 * self.called_on_time / self.calls if self.calls else None


def _latest_activity() -> QuerySet[Activity]:
    # Reads the (lead, -occurred_at) index: one index probe per lead shown.
    return Activity.objects.filter(lead=OuterRef("pk")).order_by("-occurred_at")


def filtered_leads(*, filters: DashboardFilters, user: User | AnonymousUser) -> QuerySet[Lead]:
    leads = Lead.objects.all()
    if filters.temperature:
        leads = leads.filter(temperature=filters.temperature)
    if filters.stage == OPEN:
        leads = leads.exclude(stage__in=CLOSED_STAGES)
    elif filters.stage == CLOSED:
        leads = leads.filter(stage__in=CLOSED_STAGES)
    elif filters.stage:
        leads = leads.filter(stage=filters.stage)
    if filters.owner == "mine":
        leads = leads.filter(owner_id=user.pk)
    elif filters.owner == "unassigned":
        leads = leads.filter(owner__isnull=True)
    if filters.campaign_id is not None:
        leads = leads.filter(campaign_id=filters.campaign_id)
    if filters.source:
        leads = leads.filter(source=filters.source)
    if filters.created_from is not None:
        leads = leads.filter(created_at__gte=filters.created_from)
    if filters.created_before is not None:
        leads = leads.filter(created_at__lt=filters.created_before)
    sets = lead_sets.provider()
    if filters.lead_set and sets is not None:
        leads = leads.filter(pk__in=sets.lead_ids(filters.lead_set))
    for term in filters.search.split()[:5]:
        leads = leads.filter(
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(email__icontains=term)
            | Q(company__icontains=term)
        )
    return leads


def dashboard_page(
    *,
    filters: DashboardFilters,
    user: User | AnonymousUser,
    after: Cursor | None = None,
    size: int | None = None,
) -> DashboardPage:
    """One page of leads in dashboard order, with what each did last and since when hot.

    At most three reads for the rows (one per temperature) and three for their details,
    whatever the number of leads and activities.
    """
    size = size or PAGE_SIZE
    base = filtered_leads(filters=filters, user=user)
    if filters.search:
        base = _narrowed_to_matches(base)
    base = (
        base.select_related("owner", "campaign")
        # Computed only for the rows on the page: the LIMIT stops the scan before it.
        .annotate(last_activity_id=Subquery(_latest_activity().values("pk")[:1]))
    )
    temperatures = [t for t in TEMPERATURE_ORDER if filters.temperature in ("", t)]
    if after is not None:
        temperatures = (
            temperatures[temperatures.index(after.temperature) :]
            if (after.temperature in temperatures)
            else []
        )
    leads: list[Lead] = []
    for temperature in temperatures:
        rows = base.filter(temperature=temperature)
        if after is not None and temperature == after.temperature:
            # A row-value comparison: PostgreSQL seeks the index straight to the cursor,
            # where the equivalent OR of three conditions read every lead sharing the
            # cursor's score before it (6 ms instead of 0.2 with 25,000 leads on one score).
            rows = rows.filter(_after_in_order(after))
        rows = rows.order_by("-score", "-last_activity_at", "-id")
        leads += list(rows[: size + 1 - len(leads)])
        if len(leads) > size:
            break
    more = len(leads) > size
    leads = leads[:size]
    return DashboardPage(
        rows=_rows_for(leads),
        next_cursor=Cursor.after(leads[-1]) if more and leads else None,
    )


def _narrowed_to_matches(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """A search usually matches a few dozen leads: find them once (one trigram read, ids
    only) and read each temperature's page among those ids, instead of repeating the trigram
    read for hot, warm and cold (two thirds of a search's SQL at 1,000,000 leads). A search
    matching more than SEARCH_SET leads keeps the three reads: walking each temperature's
    index in dashboard order finds a page of such common matches at once."""
    ids = list(leads.order_by().values_list("pk", flat=True)[: SEARCH_SET + 1])
    if len(ids) > SEARCH_SET:
        return leads
    return Lead.objects.filter(pk__in=ids)


def _after_in_order(after: Cursor) -> RawSQL:
    # Django has no documented row-value lookup; the values are parameters, the names ours.
    table = Lead._meta.db_table
    return RawSQL(  # noqa: S611
        f'("{table}"."score", "{table}"."last_activity_at", "{table}"."id") < (%s, %s, %s)',
        (after.score, after.last_activity_at, after.lead_id),
        output_field=BooleanField(),
    )


def _rows_for(leads: list[Any]) -> list[DashboardRow]:
    # The leads of dashboard_page, each annotated with its last_activity_id.
    if not leads:
        return []
    activities = Activity.objects.in_bulk(
        [lead.last_activity_id for lead in leads if lead.last_activity_id]
    )
    deliveries = (
        Delivery.objects.select_related("step__node").in_bulk(
            delivery_ids(list(activities.values()))
        )
        if activities
        else {}
    )
    hot_since = hot_since_by_lead(lead_ids=[lead.pk for lead in leads if lead.temperature == "hot"])
    why = top_reasons_by_lead(lead_ids=[lead.pk for lead in leads if lead.score > 0])
    rows = []
    for lead in leads:
        activity = activities.get(lead.last_activity_id) if lead.last_activity_id else None
        rows.append(
            DashboardRow(
                lead=lead,
                last_activity=describe_activity(activity, lead=lead, deliveries=deliveries)
                if activity
                else "captured",
                last_activity_at=activity.occurred_at if activity else lead.created_at,
                hot_since=hot_since.get(lead.pk),
                why=why.get(lead.pk, []),
            )
        )
    return rows


# A row names this many reasons, biggest first (the lead page has them all).
ROW_REASONS = 2


def top_reasons_by_lead(*, lead_ids: list[int]) -> dict[int, list[str]]:
    """Each lead's biggest positive reasons at its latest score change, in one query (the
    latest change per lead through its (lead, -at) index)."""
    if not lead_ids:
        return {}
    latest = ScoreChange.objects.filter(lead=OuterRef("pk")).order_by("-at", "-id")
    found = Lead.objects.filter(pk__in=lead_ids).annotate(
        reasons=Subquery(latest.values("reasons")[:1])
    )
    why: dict[int, list[str]] = {}
    for lead_id, reasons in found.values_list("pk", "reasons"):
        ranked = sorted(
            (r for r in reasons or [] if isinstance(r, dict) and (r.get("points") or 0) > 0),
            key=lambda r: -float(r.get("points") or 0),
        )
        why[lead_id] = [str(r.get("text", "")) for r in ranked[:ROW_REASONS] if r.get("text")]
    return why


def hot_since_by_lead(*, lead_ids: Iterable[int]) -> dict[int, datetime]:
    """When each hot lead's current episode began: its open hand-off, else the score change
    that made it hot (leads that turned hot before hand-offs were recorded)."""
    lead_ids = list(lead_ids)
    if not lead_ids:
        return {}
    since = dict(
        Handoff.objects.filter(lead_id__in=lead_ids, ended_at__isnull=True).values_list(
            "lead_id", "turned_hot_at"
        )
    )
    missing = [lead_id for lead_id in lead_ids if lead_id not in since]
    if missing:
        changes = (
            ScoreChange.objects.filter(lead_id__in=missing, new_temperature=Lead.Temperature.HOT)
            .exclude(old_temperature=Lead.Temperature.HOT)
            .values_list("lead_id", "at")
        )
        for lead_id, at in changes:
            if lead_id not in since or at > since[lead_id]:
                since[lead_id] = at
    return since


def new_hot_leads(*, since: datetime, limit: int = 5) -> tuple[int, list[Handoff]]:
    """Leads that turned hot after `since` and still are: how many, and the newest few."""
    episodes = Handoff.objects.filter(turned_hot_at__gt=since, ended_at__isnull=True)
    newest = list(episodes.select_related("lead", "rep").order_by("-turned_hot_at")[:limit])
    count = len(newest) if len(newest) < limit else episodes.count()
    return count, newest


def recent_rep_speeds(*, now: datetime) -> list[RepSpeed]:
    """`rep_speed_to_contact` for the dashboard, computed at most once a minute.

    A 30-day median barely moves in a minute, and over a busy month (thousands of hot
    episodes) these two aggregates were the dashboard's costliest queries. A call logged, a
    task completed or a new hot episode forgets them at once (`forget_rep_speeds`), so the
    minute only ever hides tasks falling overdue. Without a cache (Redis down) it is
    computed each time, as before.
    """
    try:
        speeds: list[RepSpeed] | None = cache.get(SPEED_CACHE_KEY)  # only set below
    except Exception:  # the cache client's connection errors vary by backend
        logger.warning("rep speeds: cache unavailable, computing", exc_info=True)
        return rep_speed_to_contact(now=now)
    if speeds is None:
        speeds = rep_speed_to_contact(now=now)
        try:
            cache.set(SPEED_CACHE_KEY, speeds, SPEED_CACHE_SECONDS)
        except Exception:
            logger.warning("rep speeds: could not cache", exc_info=True)
    return speeds


def forget_rep_speeds() -> None:
    """Drop the cached figures: a rep who has just called (or completed the call task) must
    not read "Calls overdue 1" for another minute. Called on commit by the services that
    move them; a cache that is down has nothing to forget."""
    try:
        cache.delete(SPEED_CACHE_KEY)
    except Exception:  # the cache client's connection errors vary by backend
        logger.warning("rep speeds: could not forget the cached figures", exc_info=True)


def rep_speed_to_contact(*, now: datetime, window: timedelta = SPEED_WINDOW) -> list[RepSpeed]:
    """Each rep's median time from a lead turning hot to the first call or contact logged,
    over the episodes of the last `window`, with their hand-off call tasks: done in time,
    still overdue, and the median from turning hot to the task's completion."""
    episodes = Handoff.objects.filter(
        turned_hot_at__gte=now - window, turned_hot_at__lt=now, rep__isnull=False
    )
    # One grouped read each for the episodes and their call tasks (two on SQLite).
    contacts = grouped_with_median(
        episodes,
        key="rep__username",
        start="turned_hot_at",
        end="first_contact_at",
        n=Count("pk"),
    )
    # The task's owner, not the episode's rep: a reassigned lead's call is the new rep's.
    # A call task the lead's booking, win or loss closed was no call (CLOSED_BY_STAGE).
    tasks = Task.objects.filter(
        source=Task.Source.HANDOFF,
        handoff__turned_hot_at__gte=now - window,
        handoff__turned_hot_at__lt=now,
    ).exclude(outcome=Task.Outcome.CLOSED_BY_STAGE)
    calls = grouped_with_median(
        tasks,
        key="owner__username",
        start="handoff__turned_hot_at",
        end="completed_at",
        n=Count("pk"),
        on_time=Count("pk", filter=Q(completed_at__lte=F("due_at"))),
        overdue=Count("pk", filter=Q(completed_at__isnull=True, due_at__lt=now)),
    )
    speeds = []
    for rep in set(contacts) | set(calls):
        contact, call = contacts.get(rep, {}), calls.get(rep, {})
        speeds.append(
            RepSpeed(
                rep=str(rep),
                median=contact.get("median"),
                episodes=contact.get("n", 0),
                calls=call.get("n", 0),
                called_on_time=call.get("on_time", 0),
                calls_overdue=call.get("overdue", 0),
                median_to_call=call.get("median"),
            )
        )
    return sorted(
        speeds, key=lambda speed: (speed.median is None, speed.median or timedelta(0), speed.rep)
    )


_TEMPERATURE_RANK = Case(
    When(temperature=Lead.Temperature.HOT, then=Value(0)),
    When(temperature=Lead.Temperature.WARM, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def leads_for_dashboard() -> QuerySet[Lead]:
    """Hot leads first, then by score, then newest (a plain queryset, for exports)."""
    return (
        Lead.objects.select_related("owner", "campaign")
        .annotate(temperature_rank=_TEMPERATURE_RANK)
        .order_by("temperature_rank", "-score", "-created_at")
    )
