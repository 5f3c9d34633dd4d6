"""Capture's reads shared by views, admin and exports."""

from collections.abc import Iterator

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, QuerySet
from django.http import Http404

from capture.models import LandingPage, Lead
from leadfunnel.csvcells import neutralise_csv_cell

LEAD_EXPORT_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "job_title",
    "company_size",
    "industry",
    "country",
    "time_zone",
    "stage",
    "score",
    "temperature",
    "source",
    "campaign",
    "created_at",
)


def landing_page_get_for_visitor(
    *, user: User | AnonymousUser, slug: str
) -> tuple[LandingPage, bool]:
    """The page at `slug` and whether this is a preview of an unpublished page.

    Anyone sees a published page; only people who may view landing pages in the admin
    see an unpublished one, marked as a preview.
    """
    page = LandingPage.objects.select_related("campaign").filter(slug=slug).first()
    if page is None:
        raise Http404("No such page")
    if page.published:
        return page, False
    if user.has_perm("capture.view_landingpage"):
        return page, True
    raise Http404("No such page")


def landing_pages_with_counts() -> QuerySet[LandingPage]:
    return LandingPage.objects.annotate(submission_count=Count("submissions"))


def lead_export_rows(*, leads: QuerySet[Lead]) -> Iterator[list[str]]:
    yield list(LEAD_EXPORT_COLUMNS)
    for lead in leads.select_related("campaign").iterator(chunk_size=2000):
        row = [getattr(lead, column) for column in LEAD_EXPORT_COLUMNS]
        row[LEAD_EXPORT_COLUMNS.index("campaign")] = lead.campaign.name if lead.campaign else ""
        row[LEAD_EXPORT_COLUMNS.index("created_at")] = lead.created_at.isoformat()
        yield [neutralise_csv_cell(cell) for cell in row]
