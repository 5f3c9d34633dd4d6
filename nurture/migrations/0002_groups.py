from django.db import migrations

from leadfunnel.groups import MARKETERS, SALES_REPS, crud, grant


def grant_nurture_permissions(apps, schema_editor):
    grant(
        apps,
        group=MARKETERS,
        app_label="nurture",
        codenames=[
            *crud("sequence", "step", "suppression"),
            "view_enrollment",
            "change_enrollment",
            "view_delivery",
        ],
    )
    grant(
        apps,
        group=SALES_REPS,
        app_label="nurture",
        codenames=[
            "view_sequence",
            "view_step",
            "view_enrollment",
            "change_enrollment",
            "view_delivery",
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("nurture", "0001_initial"),
        ("capture", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant_nurture_permissions, migrations.RunPython.noop)]
