from django.db import migrations

from leadfunnel.groups import MARKETERS, SALES_REPS, grant


def grant_sales_permissions(apps, schema_editor):
    grant(
        apps,
        group=MARKETERS,
        app_label="sales",
        codenames=[
            "view_note",
            "add_note",
            "view_leadchange",
            "view_booking",
            "view_handoff",
            "view_salessettings",
            "change_salessettings",
        ],
    )
    grant(
        apps,
        group=SALES_REPS,
        app_label="sales",
        codenames=["view_note", "add_note", "view_leadchange", "view_booking", "view_handoff"],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0002_leadchange_sequence_handoff_index"),
        ("capture", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant_sales_permissions, migrations.RunPython.noop)]
