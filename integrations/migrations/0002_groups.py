from django.db import migrations

from leadfunnel.groups import MARKETERS, grant


def grant_integrations_permissions(apps, schema_editor):
    """Marketers import leads, export audiences and fulfil privacy requests (the audit
    rows are made by those workflows, never edited; imports may be deleted)."""
    grant(
        apps,
        group=MARKETERS,
        app_label="integrations",
        codenames=[
            "add_leadimport",
            "view_leadimport",
            "delete_leadimport",
            "add_audienceexport",
            "view_audienceexport",
            "add_privacyrequest",
            "view_privacyrequest",
            "fulfil_privacy_request",
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("capture", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant_integrations_permissions, migrations.RunPython.noop)]
