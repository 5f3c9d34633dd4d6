from django.db import migrations

from leadfunnel.groups import MARKETERS, SALES_REPS, crud, grant


def grant_segments_permissions(apps, schema_editor):
    # Marketers build segments; reps read them (and who is in them) for their saved views.
    grant(
        apps,
        group=MARKETERS,
        app_label="segments",
        codenames=[*crud("segment"), "view_segmentmember"],
    )
    grant(
        apps,
        group=SALES_REPS,
        app_label="segments",
        codenames=["view_segment", "view_segmentmember"],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0001_initial"),
        ("capture", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant_segments_permissions, migrations.RunPython.noop)]
