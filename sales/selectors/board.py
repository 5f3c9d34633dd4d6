"""The pipeline board: leads as cards in one column per stage, a capped number per column.

A column shows its count and its best leads (score first); the rest are one "n more" link
to the dashboard filtered on that stage, so the page stays the same size with a million
leads. One grouped count for all columns and one LIMITed read per column, whatever the
number of leads.
"""

from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count

from capture.models import Lead
from sales.selectors.dashboard import DashboardFilters, filtered_leads

CARDS_PER_COLUMN = 25  # a screenful or two of cards; the dashboard pages the rest
# What a card shows: the rest of a lead (consent, UTM fields, addresses) is not read.
CARD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "company",
    "phone",
    "score",
    "temperature",
    "stage",
    "owner__username",
)
OWNER_CHOICES = (("", "Everyone's"), ("mine", "Mine"), ("unassigned", "Unassigned"))


@dataclass
class BoardColumn:
    stage: str
    label: str
    count: int
    cards: list[Lead] = field(default_factory=list)
    more_url: str = ""  # set by the view: the dashboard filtered on this stage

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


def pipeline_board(
    *,
    user: User | AnonymousUser,
    owner: str = "",
    per_column: int = CARDS_PER_COLUMN,
) -> list[BoardColumn]:
    """A column per stage in pipeline order; `owner` filters as the dashboard's owner filter."""
    leads = filtered_leads(filters=DashboardFilters(owner=owner), user=user)
    counts = dict(
        leads.order_by().values("stage").annotate(n=Count("pk")).values_list("stage", "n")
    )
    columns = []
    for stage, label in Lead.Stage.choices:
        count = counts.get(stage, 0)
        cards = (
            list(
                leads.filter(stage=stage)
                .select_related("owner")
                .only(*CARD_FIELDS)
                .order_by("-score", "-id")[:per_column]
            )
            if count
            else []
        )
        columns.append(BoardColumn(stage=stage, label=label, count=count, cards=cards))
    return columns
