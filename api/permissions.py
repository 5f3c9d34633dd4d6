"""API access follows the two groups' model permissions, the same ones the admin uses.

Sales reps hold view/change on leads and add on notes; Marketers also hold add/change/delete
on landing pages, campaigns, sequences and steps (see each app's groups migration). So a
Sales rep can read a sequence and gets 403 on writing one, with no second table to keep.
"""

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView


class ModelPermissions(DjangoModelPermissions):
    """DjangoModelPermissions, with reading requiring the `view` permission too."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class HasPermissions:
    """Permission class for views without a queryset: `HasPermissions.of("capture.view_lead")`."""

    @staticmethod
    def of(*perms: str) -> type:
        class _HasPermissions:
            def has_permission(self, request: Request, view: "APIView") -> bool:
                user = request.user
                return bool(user and user.is_authenticated and user.has_perms(perms))

            def has_object_permission(self, request: Request, view: "APIView", obj: Any) -> bool:
                return True

        _HasPermissions.__name__ = "Has_" + "_".join(p.split(".")[-1] for p in perms)
        return _HasPermissions
