"""The saved views a user sees on the dashboard: their own, then the team's shared ones."""

from django.contrib.auth.models import User
from django.db.models import Q

from sales.models import SavedView


def views_for(*, user: User) -> tuple[list[SavedView], list[SavedView]]:
    """One query: the user's own views and the others' shared ones."""
    seen = SavedView.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner")
    views = list(seen)
    mine = [view for view in views if view.owner_id == user.pk]
    return mine, [view for view in views if view.owner_id != user.pk]
