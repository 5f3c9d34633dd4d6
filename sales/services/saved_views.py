"""Saved dashboard views: a rep's named filters, theirs alone or shared with the team."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from sales.models import SavedView


class ViewNameTaken(Exception):
    pass


def save_view(*, owner: User, name: str, query: str, shared: bool) -> SavedView:
    """`query` is the filter form's own, already checked (SavedViewForm)."""
    try:
        with transaction.atomic():
            return SavedView.objects.create(owner=owner, name=name, query=query, shared=shared)
    except IntegrityError:
        raise ViewNameTaken(f"You already have a view named “{name}”.") from None


def delete_view(*, owner: User, view_id: int) -> bool:
    """Only the owner's own view; False when there is none of theirs by that id."""
    deleted, _ = SavedView.objects.filter(pk=view_id, owner=owner).delete()
    return bool(deleted)
