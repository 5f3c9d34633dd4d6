"""The two staff groups and their permissions, set up by data migrations.

Each app's migration grants its own models' permissions, so the groups grow with the apps.
"""

from collections.abc import Iterable

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions

MARKETERS = "Marketers"
SALES_REPS = "Sales reps"
# Becoming a lead's owner: granted to Sales reps only (capture's migration 0006). Marketers
# hold capture.change_lead too, so that one cannot be what lets someone claim.
CLAIM_LEAD = "capture.claim_lead"


def grant(apps: Apps, *, group: str, app_label: str, codenames: Iterable[str]) -> None:
    """Give `group` these permissions of `app_label`, creating group and permissions."""
    # Permissions are normally made after migrate finishes; make them now for this app.
    app_config = apps.get_app_config(app_label)
    if getattr(app_config, "models_module", None) is None:  # a historical app has none
        app_config.models_module = True  # type: ignore[assignment]  # any truthy value
    create_permissions(app_config, apps=apps, verbosity=0)
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    permissions = permission_model.objects.filter(
        content_type__app_label=app_label, codename__in=list(codenames)
    )
    target, _ = group_model.objects.get_or_create(name=group)
    target.permissions.add(*permissions)


def crud(*models: str) -> list[str]:
    return [
        f"{action}_{model}" for model in models for action in ("add", "change", "delete", "view")
    ]
